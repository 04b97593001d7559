package ratebudget

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
