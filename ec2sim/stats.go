package ec2sim

import "sync"

// Outcomes recorded besides error codes.
const (
	outcomeOK      = "OK"
	outcomeDropped = "Dropped" // the connection was closed unanswered
)

// stats keeps the outcome counters, the call log and the calls in flight.
// A call is entered in the log when it arrives, so the log is in arrival
// order even when calls finish out of order, and completed when it ends.
type stats struct {
	limit  int // most calls kept in the log
	mu     sync.Mutex
	counts map[string]map[string]int64
	calls  []Call
	base   int // absolute index of calls[0]; grows when old entries are trimmed
	// inFlight is the calls arrived and not finished; peak the most there
	// were at once since the last reset: how many calls the clients kept
	// going in parallel, which is what a client's concurrency is worth
	// when every call takes the endpoint's latency.
	inFlight, peak int
}

func (st *stats) arrive(c Call) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.calls) >= st.limit {
		// Trim the oldest half at once so trimming stays amortised O(1).
		n := len(st.calls) / 2
		st.calls = append(st.calls[:0:0], st.calls[n:]...)
		st.base += n
	}
	st.calls = append(st.calls, c)
	st.inFlight++
	st.peak = max(st.peak, st.inFlight)
	return st.base + len(st.calls) - 1
}

// finish records the outcome of the call entered at index idx.
func (st *stats) finish(idx int, c Call) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.counts == nil {
		st.counts = make(map[string]map[string]int64)
	}
	m := st.counts[c.Action]
	if m == nil {
		m = make(map[string]int64)
		st.counts[c.Action] = m
	}
	m[c.Outcome]++
	st.inFlight--
	if i := idx - st.base; i >= 0 && i < len(st.calls) {
		st.calls[i] = c
	}
}

func (st *stats) counters() map[string]map[string]int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]map[string]int64, len(st.counts))
	for a, m := range st.counts {
		c := make(map[string]int64, len(m))
		for k, v := range m {
			c[k] = v
		}
		out[a] = c
	}
	return out
}

func (st *stats) log() []Call {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]Call(nil), st.calls...)
}

// peakInFlight is the most calls in flight at once since the last reset.
func (st *stats) peakInFlight() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.peak
}

// reset forgets the counters and the log; the peak starts again from the
// calls in flight now.
func (st *stats) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.peak = st.inFlight
	st.counts = nil
	st.base += len(st.calls)
	st.calls = nil
}
