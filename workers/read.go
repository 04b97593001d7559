package workers

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/palisadehq/palisade/internal/ec2errors"
)

// readRetries is how many more times a read EC2 faulted or throttled is
// made again before the fault ends the attempt.
//
// A read changes nothing, so making it again is always safe, and a fault
// on it says nothing about the change the attempt makes. Without this an
// attempt of an authorize (a read of the group's rules, the authorize, a
// read confirming it) failed whenever any of its three calls did: with a
// fifth of EC2's calls failing, half the attempts, and ten in a row (the
// default --max-attempts) ended one operation in a few thousand. With
// reads made again, an attempt fails about as often as its one write.
const readRetries = 3

// readBackoffBase is the first of the full-jitter waits between tries of a
// read; they double from there.
const readBackoffBase = 50 * time.Millisecond

// read is call for an EC2 call that only reads: a fault or throttling is
// met by trying again, up to readRetries more times, each try paced by the
// budget like any call. Every other error, and the last fault, is
// returned as call returns it.
func read[T any](ctx context.Context, x *executor, t target, action string, f func(context.Context) (T, error)) (T, error) {
	for try := 0; ; try++ {
		out, err := call(ctx, x, t, action, f)
		if err == nil || try == readRetries || ctx.Err() != nil {
			return out, err
		}
		switch classify(err).class {
		case ec2errors.Transient, ec2errors.Throttled:
		default:
			return out, err
		}
		wait := time.Duration(rand.Int64N(int64(readBackoffBase<<try))) + 1
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
	}
}
