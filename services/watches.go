package services

import (
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultMaxWatchesPerCaller bounds the watches (WatchOperation,
// WatchRollout, WaitOperation) one caller holds open at once, when
// Deps.MaxWatchesPerCaller does not say.
const DefaultMaxWatchesPerCaller = 100

// watchLimit counts each caller's open watches in this API process, so no
// caller can hold the event stream's consumers and the server's memory
// for the others (design invariant 10).
type watchLimit struct {
	max  int
	what string // "watches", "searches": what is counted, for the refusal
	mu   sync.Mutex
	open map[string]int
}

func newWatchLimit(max int) *watchLimit {
	if max <= 0 {
		max = DefaultMaxWatchesPerCaller
	}
	return &watchLimit{max: max, what: "watches", open: map[string]int{}}
}

// acquire counts one more watch of caller, or refuses it with
// RESOURCE_EXHAUSTED when the caller already holds the most it may. The
// release it returns must be called when the watch ends.
func (l *watchLimit) acquire(caller string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[caller] >= l.max {
		return nil, status.Error(codes.ResourceExhausted,
			fmt.Sprintf("%s already has %d %s open, the most one caller may; end one first", caller, l.max, l.what))
	}
	l.open[caller]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[caller]--; l.open[caller] <= 0 {
				delete(l.open, caller)
			}
		})
	}, nil
}
