package bus

import (
	"context"
	"sync"
	"time"
)

// positions hands out the positions of lists, taking those wanted for
// one list at once with one counter increment: while an increment is in
// flight, every take of the same list waits for the next, which adds
// how many wait. A list many creates append to at once (a caller's, a
// rollout's children's group lists) then costs a counter write per
// round trip, not one per entry: on a server that syncs every write to
// disk, that is an fsync saved per entry but one.
//
// Positions stay dense and in the order the increments were stored;
// within one increment the waiting takes share its run in no particular
// order, as concurrent appends have none.
type positions struct {
	// increment adds by to a list's counter and returns its new value.
	increment func(ctx context.Context, key string, by uint64) (uint64, error)

	mu    sync.Mutex
	lists map[string]*positionQueue
}

// positionQueue is the takes of one list waiting for an increment.
type positionQueue struct {
	waiting []chan<- taken
}

// taken is one take's answer: its position, or why there is none.
type taken struct {
	pos uint64
	err error
}

// maxPerIncrement bounds the positions one increment hands out, so one
// answer never serves an unbounded crowd.
const maxPerIncrement = 256

// incrementTimeout bounds one shared increment. It is not any one
// caller's: a caller that stops waiting leaves its position unused,
// which readers skip.
const incrementTimeout = 5 * time.Second

func newPositions(increment func(context.Context, string, uint64) (uint64, error)) *positions {
	return &positions{increment: increment, lists: map[string]*positionQueue{}}
}

// take returns a new position at the end of list key.
func (p *positions) take(ctx context.Context, key string) (uint64, error) {
	answer := make(chan taken, 1)
	p.mu.Lock()
	q, running := p.lists[key]
	if !running {
		q = &positionQueue{}
		p.lists[key] = q
	}
	q.waiting = append(q.waiting, answer)
	p.mu.Unlock()
	if !running {
		go p.serve(key, q)
	}
	select {
	case t := <-answer:
		return t.pos, t.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// serve increments list key's counter for the takes waiting on q, one
// increment for all that wait at a time, until none are left.
func (p *positions) serve(key string, q *positionQueue) {
	for {
		p.mu.Lock()
		batch := q.waiting[:min(len(q.waiting), maxPerIncrement)]
		q.waiting = q.waiting[len(batch):]
		if len(batch) == 0 {
			delete(p.lists, key)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), incrementTimeout)
		last, err := p.increment(ctx, key, uint64(len(batch)))
		cancel()
		first := last - uint64(len(batch)) + 1
		for i, answer := range batch {
			if err != nil {
				answer <- taken{err: err}
				continue
			}
			answer <- taken{pos: first + uint64(i)}
		}
	}
}
