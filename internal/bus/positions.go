package bus

import (
	"context"
	"time"
)

// positions hands out the positions of lists, taking those wanted for
// one list at once with one counter increment (a Coalescer): while an
// increment is in flight, every take of the same list waits for the
// next, which adds how many wait. A list many creates append to at once
// (a caller's, a rollout's) then costs a counter write per round trip,
// not one per entry.
//
// Positions stay dense and in the order the increments were stored;
// within one increment the waiting takes share its run in no particular
// order, as concurrent appends have none.
type positions struct {
	takes *Coalescer[struct{}, uint64]
}

// maxPerIncrement bounds the positions one increment hands out, so one
// answer never serves an unbounded crowd.
const maxPerIncrement = 256

// incrementTimeout bounds one shared increment. It is not any one
// caller's: a caller that stops waiting leaves its position unused,
// which readers skip. It ends at once when the connection drops, so the
// takes queued behind it are not held after the connection is back.
const incrementTimeout = 5 * time.Second

// newPositions takes positions with increment, which adds by to a list's
// counter and returns its new value, over the connection link follows.
func newPositions(increment func(ctx context.Context, key string, by uint64) (uint64, error), link *Link) *positions {
	call := func(key string, batch []struct{}) ([]uint64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), incrementTimeout)
		defer link.Bind(ctx, cancel)()
		last, err := increment(ctx, key, uint64(len(batch)))
		if err != nil {
			return nil, err
		}
		out := make([]uint64, len(batch))
		for i := range out {
			out[i] = last - uint64(len(batch)-1-i)
		}
		return out, nil
	}
	fits := func(batch []struct{}, _ struct{}) bool { return len(batch) < maxPerIncrement }
	return &positions{takes: NewCoalescer(call, fits)}
}

// take returns a new position at the end of list key.
func (p *positions) take(ctx context.Context, key string) (uint64, error) {
	return p.takes.Do(ctx, key, struct{}{})
}
