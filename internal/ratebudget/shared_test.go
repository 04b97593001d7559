package ratebudget

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2limits"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

func sharedBudgets(t *testing.T, n int, factor float64) []*Budget {
	t.Helper()
	budgets, _ := tamperBus(t, n, factor)
	return budgets
}

// TestSharedBudgetIsOneBucket: three processes' budgets drawing from the
// same account, region and action share EC2's one bucket: together they
// get its burst of 50 and no more (the refill is slowed to nothing), while
// another action and another region have buckets of their own.
func TestSharedBudgetIsOneBucket(t *testing.T) {
	budgets := sharedBudgets(t, 3, 1e-6)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 90; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if budgets[i%3].Wait(ctx, "111122223333", "us-east-1", "AuthorizeSecurityGroupIngress") == nil {
				granted.Add(1)
			}
		}()
	}
	wg.Wait()
	if got := granted.Load(); got != 50 {
		t.Fatalf("%d calls granted from one bucket of 50", got)
	}
	other, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	for _, where := range [][2]string{{"us-east-1", "RevokeSecurityGroupIngress"}, {"eu-west-1", "AuthorizeSecurityGroupIngress"}} {
		if err := budgets[0].Wait(other, "111122223333", where[0], where[1]); err != nil {
			t.Fatalf("%v: %v", where, err)
		}
	}
}

// TestSharedBudgetRefills: once the burst is spent, tokens come at the
// refill rate to whichever process asks.
func TestSharedBudgetRefills(t *testing.T) {
	budgets := sharedBudgets(t, 2, 100) // 500 tokens/s for resource-intensive calls
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 50+100; i++ {
		if err := budgets[i%2].Wait(ctx, "111122223333", "us-east-1", "AuthorizeSecurityGroupIngress"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// TestSharedBudgetTakesWithoutReading: a process that alone takes from a
// bucket compares-and-sets on the value it last wrote, so each take is one
// round trip (it was a read and a write): 30 calls one after another cost
// the bucket's creation (a read finding nothing, a create) and 29 writes.
// Another process taking meanwhile makes the next take read the bucket,
// and the two together still get EC2's burst of 50 and no more.
func TestSharedBudgetTakesWithoutReading(t *testing.T) {
	srv, _ := natstest.Bus(t, bus.DefaultTopology(1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var conns []*nats.Conn
	var budgets []*Budget
	for range 2 {
		js := natstest.Connect(t, srv)
		b, err := NewShared(ctx, js, 1e-6) // no refill within the test
		if err != nil {
			t.Fatal(err)
		}
		conns, budgets = append(conns, js.Conn()), append(budgets, b)
	}
	before := conns[0].Stats().OutMsgs
	for i := range 30 {
		if err := budgets[0].Wait(ctx, tamperAccount, tamperRegion, tamperAction); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if sent := conns[0].Stats().OutMsgs - before; sent != 2+29 {
		t.Fatalf("30 takes sent %d requests, want 31", sent)
	}
	for i := range 10 {
		if err := budgets[1].Wait(ctx, tamperAccount, tamperRegion, tamperAction); err != nil {
			t.Fatalf("other process, call %d: %v", i, err)
		}
	}
	granted := 40
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	for budgets[0].Wait(short, tamperAccount, tamperRegion, tamperAction) == nil {
		granted++
	}
	if granted != 50 {
		t.Fatalf("%d calls granted from one bucket of 50", granted)
	}
}

func TestBudgetOff(t *testing.T) {
	b := New(0)
	if err := b.Wait(context.Background(), "1", "r", "x"); err != nil {
		t.Fatal(err)
	}
	var nilBudget *Budget
	if err := nilBudget.Wait(context.Background(), "1", "r", "x"); err != nil {
		t.Fatal(err)
	}
	if got := budgetKey("1.2", "us east", "A*"); got != "1_2.us_east.A_" {
		t.Fatalf("key = %q", got)
	}
	if _, _, ok := decodeBucket([]byte("short")); ok {
		t.Fatal("a value of the wrong size must not decode")
	}
}

// TestDrainedBucketRefillsFromLater: the take that empties a full bucket
// starts its refill refillDelay later, as EC2's starts when the call
// arrives, not when the budget gave its token; a take from a bucket not
// full starts nothing later. Both ways of taking are checked: on what the
// process last wrote, and after reading the bucket.
func TestDrainedBucketRefillsFromLater(t *testing.T) {
	for _, read := range []bool{false, true} {
		name := "as written"
		if read {
			name = "read first"
		}
		t.Run(name, func(t *testing.T) {
			budgets, kv := tamperBus(t, 1, 1)
			s := budgets[0].shared
			spec := ec2limits.For(tamperAction) // 50 tokens, 5 a second
			key := budgetKey(tamperAccount, tamperRegion, tamperAction)
			p := s.pool(key)
			t0 := time.Now()
			clock := t0
			s.now = func() time.Time { return clock }
			ctx := context.Background()
			take := func(want int) int {
				t.Helper()
				if read {
					p.written = 0
				}
				got, _, err := s.take(ctx, key, spec, p, want)
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			stored := func() (float64, time.Time) {
				t.Helper()
				e, err := kv.Get(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				tokens, at, problem := check(e.Value(), spec.Capacity, clock)
				if problem != "" {
					t.Fatal(problem)
				}
				return tokens, at
			}

			if got := take(50); got != 50 {
				t.Fatalf("took %d from a new bucket, want its 50", got)
			}
			if _, at := stored(); !at.Equal(t0.Add(refillDelay)) {
				t.Fatalf("a bucket drained from full refills from %v, want %v after the take", at.Sub(t0), refillDelay)
			}
			// One refill period after the take, EC2 may have refilled
			// less than a token: nothing to give.
			clock = t0.Add(refillPeriod(spec.Refill))
			if got := take(1); got != 0 {
				t.Fatalf("took %d one refill period after the take that drained the bucket, want 0", got)
			}
			// One refill period after the delay, a token.
			clock = t0.Add(refillDelay + refillPeriod(spec.Refill))
			if got := take(1); got != 1 {
				t.Fatalf("took %d a refill period after the delay, want 1", got)
			}
			if tokens, at := stored(); tokens != 0 || !at.Equal(clock) {
				t.Fatalf("stored %g tokens at %v, want 0 at the take (the bucket was not full)", tokens, at.Sub(t0))
			}
			// Full again after the refill of all 50: the next drain starts
			// later again.
			clock = clock.Add(11 * time.Second)
			if got := take(50); got != 50 {
				t.Fatalf("took %d from a refilled bucket, want 50", got)
			}
			if _, at := stored(); !at.Equal(clock.Add(refillDelay)) {
				t.Fatalf("drained again: refills from %v after the take, want %v", at.Sub(clock), refillDelay)
			}
		})
	}
}
