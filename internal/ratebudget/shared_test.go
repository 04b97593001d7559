package ratebudget

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/internal/bus"
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
