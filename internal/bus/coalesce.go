package bus

import (
	"context"
	"sync"
)

// Coalescer runs one call at a time per key for everyone waiting on that
// key: what arrives while a call is in flight waits for the next, which
// takes it all at once (up to what one call may carry). It is a group
// commit, as a database commits the transactions waiting for its log:
// under load, one round trip serves a crowd, and while the crowd fits
// one call no one waits for more than the call in flight and its own.
type Coalescer[T, R any] struct {
	// call serves one batch of key's items and answers each, in order,
	// or fails them all.
	call func(key string, batch []T) ([]R, error)
	// fits says whether batch, not empty, may take next too.
	fits func(batch []T, next T) bool

	mu sync.Mutex
	// waiting holds, by key, what waits for the next call; a key is in it
	// while its server runs.
	waiting map[string][]waiter[T, R]
}

type waiter[T, R any] struct {
	item   T
	answer chan<- answer[R]
}

type answer[R any] struct {
	val R
	err error
}

// NewCoalescer serves keys with call, batches bounded by fits (nil: no
// bound).
func NewCoalescer[T, R any](call func(key string, batch []T) ([]R, error), fits func(batch []T, next T) bool) *Coalescer[T, R] {
	if fits == nil {
		fits = func([]T, T) bool { return true }
	}
	return &Coalescer[T, R]{call: call, fits: fits, waiting: map[string][]waiter[T, R]{}}
}

// Do adds item to key's next call and returns its answer. A caller whose
// ctx ends stops waiting; its item may still be served.
func (c *Coalescer[T, R]) Do(ctx context.Context, key string, item T) (R, error) {
	ch := make(chan answer[R], 1)
	c.mu.Lock()
	q, running := c.waiting[key]
	c.waiting[key] = append(q, waiter[T, R]{item, ch})
	c.mu.Unlock()
	if !running {
		go c.serve(key)
	}
	select {
	case a := <-ch:
		return a.val, a.err
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}

// Waiting is how many items wait for key's next call.
func (c *Coalescer[T, R]) Waiting(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiting[key])
}

// serve calls for the items waiting on key, as many at a time as fit,
// until none are left.
func (c *Coalescer[T, R]) serve(key string) {
	for {
		c.mu.Lock()
		q := c.waiting[key]
		if len(q) == 0 {
			delete(c.waiting, key)
			c.mu.Unlock()
			return
		}
		n := 1
		items := []T{q[0].item}
		for ; n < len(q) && c.fits(items, q[n].item); n++ {
			items = append(items, q[n].item)
		}
		batch := q[:n]
		c.waiting[key] = q[n:]
		c.mu.Unlock()

		vals, err := c.call(key, items)
		for i, w := range batch {
			if err != nil {
				w.answer <- answer[R]{err: err}
				continue
			}
			w.answer <- answer[R]{val: vals[i]}
		}
	}
}
