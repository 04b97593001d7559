package bus

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestPositionsCoalesce: takes of one list that arrive while an increment
// is in flight share the next one, each with its own position of a dense
// run; takes of another list are not held up; an increment's error
// reaches every take it served; a take whose caller leaves returns.
func TestPositionsCoalesce(t *testing.T) {
	type call struct {
		key string
		by  uint64
	}
	var (
		mu      sync.Mutex
		calls   []call
		counter = map[string]uint64{}
		fail    error
	)
	release := make(chan struct{})
	p := newPositions(func(_ context.Context, key string, by uint64) (uint64, error) {
		mu.Lock()
		calls = append(calls, call{key, by})
		first, held := len(calls) == 1, release
		mu.Unlock()
		if first {
			<-held // hold the first increment in flight
		}
		mu.Lock()
		defer mu.Unlock()
		if fail != nil {
			return 0, fail
		}
		counter[key] += by
		return counter[key], nil
	}, nil)
	ctx := context.Background()

	results := make(chan uint64, 11)
	go func() {
		pos, err := p.take(ctx, "a")
		if err != nil {
			t.Error(err)
		}
		results <- pos
	}()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(calls) == 1 })
	for range 10 {
		go func() {
			pos, err := p.take(ctx, "a")
			if err != nil {
				t.Error(err)
			}
			results <- pos
		}()
	}
	waitFor(t, func() bool { return p.takes.Waiting("a") == 10 })
	// Another list is served while "a" waits.
	if pos, err := p.take(ctx, "b"); err != nil || pos != 1 {
		t.Fatalf("take of b while a waits: %d, %v", pos, err)
	}
	close(release) // the first increment's
	var got []uint64
	for range 11 {
		got = append(got, <-results)
	}
	slices.Sort(got)
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}; !slices.Equal(got, want) {
		t.Fatalf("positions %v, want %v", got, want)
	}
	mu.Lock()
	if want := []call{{"a", 1}, {"b", 1}, {"a", 10}}; !slices.Equal(calls, want) {
		t.Fatalf("increments %v, want %v", calls, want)
	}
	fail = errors.New("counter unavailable")
	mu.Unlock()
	if _, err := p.take(ctx, "a"); !errors.Is(err, fail) {
		t.Fatalf("take when the increment fails: %v", err)
	}

	// A caller that leaves does not wait for the increment.
	mu.Lock()
	fail, calls, release = nil, nil, make(chan struct{})
	defer close(release)
	mu.Unlock()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.take(gone, "c"); !errors.Is(err, context.Canceled) {
		t.Fatalf("take of a caller gone: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
	}
}
