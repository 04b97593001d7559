package ratebudget

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2limits"
)

// leaseTTL bounds how long a process keeps tokens it took but has not
// spent. Tokens held while EC2's bucket is full would let the shared
// bucket refill past what EC2 holds, so unspent ones are dropped (wasted,
// never overspent); they are only taken for callers already waiting, so
// this rarely happens.
const leaseTTL = 250 * time.Millisecond

// maxLease bounds the tokens one process takes in one compare-and-set.
const maxLease = 16

// refillDelay is how much later than a take from a full bucket the
// bucket's refill is counted from. EC2's bucket starts refilling when the
// call that took it below full arrives, some time after the take, and
// that call is often slower on its way than the ones after it (the first
// of a burst, queued behind the others or opening a connection). A refill
// counted from the take then runs ahead of EC2's by the difference, and
// the first call that spends a refilled token may find EC2's not there
// yet: throttled, and retried seconds later. Counting from later costs at
// most refillDelay × the refill rate once per bucket drained from full:
// half a token at EC2's mutating rates.
const refillDelay = 100 * time.Millisecond

// maxClockSkew is how far ahead of this process's clock a stored
// timestamp may be and still be believed: hosts keep their clocks in sync
// to milliseconds, so anything further ahead was not written by a process
// that keeps the budget.
const maxClockSkew = 2 * time.Second

// sharedBudget is a token bucket per account, region and EC2 bucket, kept
// in the budget bucket and updated with compare-and-set, so every
// process spends from the same budget EC2 keeps for the account. Each
// process takes tokens only for callers already waiting, one
// compare-and-set for all of them, and hands them out locally.
//
// The refill is computed from the clocks of the processes taking tokens;
// hosts must keep their clocks in sync (NTP's milliseconds are plenty).
//
// Whoever can write to the budget bucket could write anything into it, so
// a stored value is checked before it is believed (see check): one out of
// its bounds is repaired, not obeyed, and no wait is ever longer than one
// token's refill.
type sharedBudget struct {
	kv     jetstream.KeyValue
	factor float64
	now    func() time.Time
	log    *slog.Logger
	// repaired counts stored values found out of bounds and rewritten.
	repaired atomic.Uint64
	// waited, when set, hears every wait take computes (tests).
	waited func(time.Duration)

	mu    sync.Mutex
	pools map[string]*pool
}

// pool is this process's side of one bucket.
type pool struct {
	turn    chan struct{} // held by the goroutine taking from the bucket
	mu      sync.Mutex
	waiting int
	tokens  int
	leased  time.Time

	// The bucket as this process last saw or left it, refilled to
	// trustedAt: what a damaged stored value is repaired to. Guarded by
	// turn.
	trustedTokens float64
	trustedAt     time.Time
	// written is the revision at which the stored bucket is known to be
	// trustedTokens at trustedAt (this process wrote or read it there), 0
	// when unknown. While nobody else writes, the next take
	// compares-and-sets against it without reading the bucket first; a
	// conflict says someone did, and the bucket is read. Guarded by turn.
	written uint64
}

// NewShared paces every process sharing js at EC2's default rates
// multiplied by factor (bucket sizes stay EC2's). factor <= 0 means
// no pacing.
func NewShared(ctx context.Context, js jetstream.JetStream, factor float64) (*Budget, error) {
	b := New(factor)
	if factor <= 0 {
		return b, nil
	}
	kv, err := js.KeyValue(ctx, bus.BudgetBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", bus.BudgetBucket, err)
	}
	b.shared = &sharedBudget{kv: kv, factor: factor, now: time.Now, log: slog.Default(), pools: map[string]*pool{}}
	return b, nil
}

func (s *sharedBudget) pool(key string) *pool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[key]
	if p == nil {
		p = &pool{turn: make(chan struct{}, 1)}
		s.pools[key] = p
	}
	return p
}

// wait returns once one token of the bucket is this caller's.
func (s *sharedBudget) wait(ctx context.Context, account, region, action string) error {
	key := budgetKey(account, region, action)
	spec := ec2limits.For(action)
	p := s.pool(key)
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
	}()
	for {
		if p.spend(s.now()) {
			return nil
		}
		select {
		case p.turn <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// Someone may have refilled the pool while we queued for the turn.
		if p.spend(s.now()) {
			<-p.turn
			return nil
		}
		p.mu.Lock()
		want := min(p.waiting, maxLease)
		p.mu.Unlock()
		got, retry, err := s.take(ctx, key, spec, p, want)
		if got > 0 {
			p.mu.Lock()
			p.tokens, p.leased = got-1, s.now()
			p.mu.Unlock()
			<-p.turn
			return nil
		}
		<-p.turn
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retry):
		}
	}
}

// spend takes a leased token if one is left and fresh.
func (p *pool) spend(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tokens > 0 && now.Sub(p.leased) > leaseTTL {
		p.tokens = 0
	}
	if p.tokens == 0 {
		return false
	}
	p.tokens--
	return true
}

// take takes up to want tokens from the shared bucket. With none to give
// it says how long until the next one. The caller holds p's turn.
//
// A stored value out of its bounds (see check) is not obeyed: the bucket
// is put back as this process last saw it, refilled since, or as empty
// from now if it never saw it, and that is written back in the same
// compare-and-set that takes the tokens.
func (s *sharedBudget) take(ctx context.Context, key string, spec ec2limits.Bucket, p *pool, want int) (int, time.Duration, error) {
	rate := spec.Refill * s.factor
	if got, wait, ok := s.takeAsWritten(ctx, key, spec, p, want); ok {
		return got, wait, nil
	}
	repairs := 0
	for {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			// A bucket starts full, as EC2's does: created with the
			// tokens taken already gone.
			at := refillFrom(spec.Capacity, spec.Capacity, s.now())
			got := min(want, int(spec.Capacity))
			rev, err := s.kv.Create(ctx, key, encodeBucket(spec.Capacity-float64(got), at))
			if err == nil {
				p.trustedTokens, p.trustedAt, p.written = spec.Capacity-float64(got), at, rev
				return got, 0, nil
			}
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, 0, fmt.Errorf("rate budget %s: %w", key, err)
			}
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("rate budget %s: %w", key, err)
		}
		p.written = 0
		now := s.now()
		tokens, last, problem := check(e.Value(), spec.Capacity, now)
		if problem != "" {
			s.repaired.Add(1)
			repairs++
			if p.trustedAt.IsZero() {
				p.trustedTokens, p.trustedAt = 0, now
			}
			tokens, last = p.trustedTokens, p.trustedAt
			s.log.WarnContext(ctx, "rate budget value out of bounds; repairing it",
				"key", key, "problem", problem, "revision", e.Revision(), "tokens", tokens, "as_of", last)
		}
		if elapsed := now.Sub(last).Seconds(); elapsed > 0 {
			tokens = min(spec.Capacity, tokens+elapsed*rate)
		} else {
			now = last // a clock behind the last writer's adds nothing
		}
		got := min(want, int(math.Floor(tokens)))
		if got <= 0 {
			if problem != "" {
				if _, err := s.kv.Update(ctx, key, encodeBucket(tokens, now), e.Revision()); err != nil && !isConflict(err) {
					return 0, 0, fmt.Errorf("rate budget %s: repair: %w", key, err)
				}
			}
			p.trustedTokens, p.trustedAt = tokens, now
			if problem == "" {
				// What was read, refilled to now: the next take may
				// compare-and-set on it.
				p.written = e.Revision()
			}
			// tokens is within [0, 1) here, so this is at most one
			// token's refill; the bound is kept whatever was read.
			wait := time.Duration((1 - tokens) / rate * float64(time.Second))
			return 0, s.bound(wait, rate), nil
		}
		at := refillFrom(tokens, spec.Capacity, now)
		rev, err := s.kv.Update(ctx, key, encodeBucket(tokens-float64(got), at), e.Revision())
		if err != nil {
			if !isConflict(err) {
				return 0, 0, fmt.Errorf("rate budget %s: %w", key, err)
			}
			if repairs >= maxRepairs {
				// Someone keeps writing damage faster than it is
				// repaired: come back after a token's refill.
				return 0, s.bound(refillPeriod(rate), rate), nil
			}
			continue // another process took tokens meanwhile
		}
		p.trustedTokens, p.trustedAt, p.written = tokens-float64(got), at, rev
		return got, 0, nil
	}
}

// takeAsWritten takes up to want tokens from the bucket as this process
// last wrote it, with a compare-and-set on that revision and no read: one
// round trip instead of two while no other process takes from the bucket.
// ok is false when the bucket must be read (its revision unknown, or
// someone wrote since); then nothing was taken. With no token to give,
// the wait it says is a lower bound (another process may have taken some
// since), and the next take finds out. The caller holds p's turn.
func (s *sharedBudget) takeAsWritten(ctx context.Context, key string, spec ec2limits.Bucket, p *pool, want int) (int, time.Duration, bool) {
	if p.written == 0 {
		return 0, 0, false
	}
	rate := spec.Refill * s.factor
	tokens, now := p.trustedTokens, s.now()
	if elapsed := now.Sub(p.trustedAt).Seconds(); elapsed > 0 {
		tokens = min(spec.Capacity, tokens+elapsed*rate)
	} else {
		now = p.trustedAt
	}
	got := min(want, int(math.Floor(tokens)))
	if got <= 0 {
		return 0, s.bound(time.Duration((1-tokens)/rate*float64(time.Second)), rate), true
	}
	at := refillFrom(tokens, spec.Capacity, now)
	rev, err := s.kv.Update(ctx, key, encodeBucket(tokens-float64(got), at), p.written)
	if err != nil {
		p.written = 0 // read it, and learn what happened, on the way back
		return 0, 0, false
	}
	p.trustedTokens, p.trustedAt, p.written = tokens-float64(got), at, rev
	return got, 0, true
}

// refillFrom is when the refill of a bucket holding tokens at now starts
// once tokens are taken from it: now, or refillDelay later if it was full.
func refillFrom(tokens, capacity float64, now time.Time) time.Time {
	if tokens >= capacity {
		return now.Add(refillDelay)
	}
	return now
}

// maxRepairs bounds the repairs one take makes before it waits.
const maxRepairs = 3

// bound keeps a wait within [1ms, one token's refill].
func (s *sharedBudget) bound(wait time.Duration, rate float64) time.Duration {
	wait = min(max(wait, time.Millisecond), refillPeriod(rate))
	if s.waited != nil {
		s.waited(wait)
	}
	return wait
}

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// budgetKey is the bucket's key: account.region.action, with anything a
// key may not hold replaced.
func budgetKey(account, region, action string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	return clean(account) + "." + clean(region) + "." + clean(action)
}

func encodeBucket(tokens float64, at time.Time) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, math.Float64bits(tokens))
	binary.BigEndian.PutUint64(b[8:], uint64(at.UnixNano()))
	return b
}

// refillPeriod is how long one token takes to come back at rate: the
// longest wait take ever asks for.
func refillPeriod(rate float64) time.Duration {
	return max(time.Duration(float64(time.Second)/rate), time.Millisecond)
}

func decodeBucket(b []byte) (float64, time.Time, bool) {
	if len(b) != 16 {
		return 0, time.Time{}, false
	}
	return math.Float64frombits(binary.BigEndian.Uint64(b)), time.Unix(0, int64(binary.BigEndian.Uint64(b[8:]))), true
}

// check decodes a stored value and says what is wrong with it, if
// anything: a value that does not decode, tokens that are not a number,
// below zero or beyond the bucket's capacity, or a time further ahead of
// now than clocks in sync drift apart.
func check(b []byte, capacity float64, now time.Time) (float64, time.Time, string) {
	tokens, at, ok := decodeBucket(b)
	switch {
	case !ok:
		return 0, time.Time{}, fmt.Sprintf("undecodable (%d bytes)", len(b))
	case math.IsNaN(tokens) || math.IsInf(tokens, 0):
		return 0, time.Time{}, fmt.Sprintf("tokens %v", tokens)
	case tokens < 0 || tokens > capacity:
		return 0, time.Time{}, fmt.Sprintf("tokens %g outside [0, %g]", tokens, capacity)
	case at.Sub(now) > maxClockSkew:
		return 0, time.Time{}, fmt.Sprintf("time %s is %s ahead", at.UTC().Format(time.RFC3339Nano), at.Sub(now))
	}
	return tokens, at, ""
}
