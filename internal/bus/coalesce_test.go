package bus

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestCoalescerBound: a crowd larger than one call may carry is served
// in calls that each take as much as fits, in arrival order, every item
// answered with its own value.
func TestCoalescerBound(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	release := make(chan struct{})
	c := NewCoalescer(func(_ string, batch []int) ([]string, error) {
		mu.Lock()
		sizes = append(sizes, len(batch))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
		out := make([]string, len(batch))
		for i, v := range batch {
			out[i] = fmt.Sprint("v", v)
		}
		return out, nil
	}, func(batch []int, _ int) bool { return len(batch) < 4 })

	ctx := context.Background()
	answers := make([]chan string, 11)
	ask := func(i int) {
		answers[i] = make(chan string, 1)
		go func() {
			v, err := c.Do(ctx, "k", i)
			if err != nil {
				t.Error(err)
			}
			answers[i] <- v
		}()
	}
	ask(0)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 1; i <= 10; i++ {
		ask(i)
		waitFor(t, func() bool { return c.Waiting("k") == i })
	}
	close(release)
	for i, a := range answers {
		if v := <-a; v != fmt.Sprint("v", i) {
			t.Errorf("item %d answered %q", i, v)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(sizes) != "[1 4 4 2]" {
		t.Errorf("calls of %v items, want [1 4 4 2]", sizes)
	}
	if c.Waiting("k") != 0 {
		t.Error("items left waiting")
	}
}
