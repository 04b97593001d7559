package ratebudget

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2limits"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

const (
	tamperAccount = "111122223333"
	tamperRegion  = "us-east-1"
	tamperAction  = "AuthorizeSecurityGroupIngress" // 50 tokens, 5 a second
)

// tamperBus gives n budgets of separate connections and a handle on the
// budget bucket as anyone who reaches NATS has it.
func tamperBus(t *testing.T, n int, factor float64) ([]*Budget, jetstream.KeyValue) {
	t.Helper()
	srv, js := natstest.Bus(t, bus.DefaultTopology(1))
	ctx := context.Background()
	var out []*Budget
	for i := 0; i < n; i++ {
		// One connection each, as separate processes have.
		b, err := NewShared(ctx, natstest.Connect(t, srv), factor)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	kv, err := js.KeyValue(ctx, bus.BudgetBucket)
	if err != nil {
		t.Fatal(err)
	}
	return out, kv
}

// damage is what an attacker writes into the budget bucket.
func damage(now time.Time) map[string][]byte {
	return map[string][]byte{
		"drained a day ahead": encodeBucket(-1e9, now.Add(24*time.Hour)),
		"below zero":          encodeBucket(-3, now),
		"beyond capacity":     encodeBucket(1e9, now),
		"an hour ahead":       encodeBucket(10, now.Add(time.Hour)),
		"NaN":                 encodeBucket(math.NaN(), now),
		"+Inf":                encodeBucket(math.Inf(1), now),
		"-Inf":                encodeBucket(math.Inf(-1), now),
		"undecodable":         []byte("not a budget"),
		"empty":               {},
	}
}

// TestTamperedBudgetIsRepaired: each value out of its bounds written into
// the bucket is repaired (the stored value is in bounds afterwards, and
// counted), never obeyed: the wait take computes from it is at most one
// token's refill (200ms at 5 tokens a second), where the drained value a
// day ahead used to ask for days.
func TestTamperedBudgetIsRepaired(t *testing.T) {
	budgets, kv := tamperBus(t, 1, 1)
	s := budgets[0].shared
	spec := ec2limits.For(tamperAction)
	period := refillPeriod(spec.Refill)
	key := budgetKey(tamperAccount, tamperRegion, tamperAction)
	ctx := context.Background()
	var longest time.Duration
	s.waited = func(d time.Duration) { longest = max(longest, d) }
	for name, bad := range damage(time.Now()) {
		t.Run(name, func(t *testing.T) {
			before := s.repaired.Load()
			p := s.pool(key)
			p.trustedTokens, p.trustedAt = 0, time.Time{} // as a process that never saw the bucket
			if _, err := kv.Put(ctx, key, bad); err != nil {
				t.Fatal(err)
			}
			got, wait, err := s.take(ctx, key, spec, p, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got != 0 || wait <= 0 || wait > period {
				t.Fatalf("take from a repaired empty bucket = %d tokens, wait %v; want none and a wait in (0, %v]", got, wait, period)
			}
			if n := s.repaired.Load() - before; n != 1 {
				t.Fatalf("%d repairs counted, want 1", n)
			}
			e, err := kv.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			tokens, at, problem := check(e.Value(), spec.Capacity, time.Now())
			if problem != "" {
				t.Fatalf("the stored value is still out of bounds: %s", problem)
			}
			if tokens < 0 || tokens >= 1 || time.Since(at) > time.Minute {
				t.Fatalf("stored after repair: %g tokens at %v; want an empty bucket as of now", tokens, at)
			}
		})
	}
	if longest > period {
		t.Fatalf("a wait of %v was computed, beyond one refill of %v", longest, period)
	}

	// A value in bounds is obeyed as it is, even slightly ahead (clocks
	// drift a little): no repair.
	before := s.repaired.Load()
	if _, err := kv.Put(ctx, key, encodeBucket(20, time.Now().Add(maxClockSkew/2))); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.take(ctx, key, spec, s.pool(key), 5); err != nil || got != 5 {
		t.Fatalf("take from a bucket of 20 = %d, %v; want 5", got, err)
	}
	if s.repaired.Load() != before {
		t.Fatal("a value in bounds was repaired")
	}
}

// TestRepairKeepsWhatThisProcessSaw: a process that has been spending
// from the bucket repairs damage back to the bucket as it last left it,
// refilled since, so damage does not hand out a full burst nor stall it.
func TestRepairKeepsWhatThisProcessSaw(t *testing.T) {
	budgets, kv := tamperBus(t, 1, 1)
	s := budgets[0].shared
	spec := ec2limits.For(tamperAction)
	key := budgetKey(tamperAccount, tamperRegion, tamperAction)
	ctx := context.Background()
	p := s.pool(key)
	if got, _, err := s.take(ctx, key, spec, p, 16); err != nil || got != 16 {
		t.Fatalf("first take = %d, %v", got, err)
	}
	left := p.trustedTokens // 34, as this process left it
	if _, err := kv.Put(ctx, key, encodeBucket(-1e9, time.Now().Add(24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.take(ctx, key, spec, p, 16)
	if err != nil || got != 16 {
		t.Fatalf("take after damage = %d, %v; want 16 of the %g left", got, err, left)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	tokens, _, problem := check(e.Value(), spec.Capacity, time.Now())
	// 34 left, 16 taken, plus whatever refilled in between (5 a second).
	if problem != "" || tokens < left-16 || tokens > left-16+5 {
		t.Fatalf("stored after repair: %g tokens (%s); want about %g", tokens, problem, left-16)
	}
}

// TestBudgetPacesThroughTampering: two processes pace 120 calls at 50 a
// second while someone keeps writing damage into their bucket. Every call
// still happens, no computed wait exceeds one token's refill, the calls
// never outrun the bucket (50 at once, 50 a second after) by more than
// a burst per process, and the bucket ends in bounds.
func TestBudgetPacesThroughTampering(t *testing.T) {
	const factor = 10 // 50 tokens a second: a refill of 20ms
	budgets, kv := tamperBus(t, 2, factor)
	spec := ec2limits.For(tamperAction)
	period := refillPeriod(spec.Refill * factor)
	key := budgetKey(tamperAccount, tamperRegion, tamperAction)
	var longest atomic.Int64
	for _, b := range budgets {
		b.shared.waited = func(d time.Duration) {
			for {
				cur := longest.Load()
				if int64(d) <= cur || longest.CompareAndSwap(cur, int64(d)) {
					return
				}
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stop := make(chan struct{})
	attacked := make(chan int)
	go func() {
		n := 0
		defer func() { attacked <- n }()
		for {
			for _, bad := range damage(time.Now()) {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				if _, err := kv.Put(context.Background(), key, bad); err == nil {
					n++
				}
			}
		}
	}()

	start := time.Now()
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if err := budgets[i%2].Wait(ctx, tamperAccount, tamperRegion, tamperAction); err != nil {
					t.Errorf("call %d.%d: %v", i, j, err)
					return
				}
				granted.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	writes := <-attacked

	if got := granted.Load(); got != 120 {
		t.Fatalf("%d of 120 calls granted", got)
	}
	if d := time.Duration(longest.Load()); d > period {
		t.Fatalf("a wait of %v was computed, beyond one refill of %v", d, period)
	}
	// 120 calls: a burst of 50, the other 70 at 50 a second. Each
	// process may at worst repair to what it last saw, so together they
	// get at most one burst each plus twice the rate.
	if least := time.Duration(float64(120-2*50) / (2 * 50) * float64(time.Second)); elapsed < least {
		t.Fatalf("120 calls in %v; two processes' budgets allow no fewer than %v", elapsed, least)
	}
	repaired := budgets[0].shared.repaired.Load() + budgets[1].shared.repaired.Load()
	if writes == 0 || repaired == 0 {
		t.Fatalf("%d damaging writes, %d repairs: the test did not test", writes, repaired)
	}
	t.Logf("120 calls in %v under %d damaging writes, %d repairs; longest wait %v", elapsed.Round(time.Millisecond), writes, repaired, time.Duration(longest.Load()))

	// Once the damage stops, the next take leaves the bucket in bounds.
	if err := budgets[0].Wait(ctx, tamperAccount, tamperRegion, tamperAction); err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, problem := check(e.Value(), spec.Capacity, time.Now()); problem != "" {
		t.Fatalf("the bucket is left out of bounds: %s", problem)
	}
}
