package ec2sim

import "testing"

func TestCallLogTrimsOldestHalf(t *testing.T) {
	st := &stats{limit: 4}
	var idx []int
	for i := range 6 {
		idx = append(idx, st.arrive(Call{Action: string(rune('a' + i))}))
	}
	// The first finish lands on a trimmed entry: counted, not logged.
	st.finish(idx[0], Call{Action: "a", Outcome: outcomeOK})
	st.finish(idx[5], Call{Action: "f", Outcome: "X"})
	log := st.log()
	if len(log) != 4 || log[0].Action != "c" || log[3].Outcome != "X" {
		t.Fatalf("log = %+v", log)
	}
	if c := st.counters(); c["a"][outcomeOK] != 1 || c["f"]["X"] != 1 {
		t.Fatalf("counters = %v", c)
	}
	st.reset()
	st.finish(idx[4], Call{Action: "e", Outcome: outcomeOK})
	if len(st.log()) != 0 || st.counters()["e"][outcomeOK] != 1 {
		t.Fatalf("after reset: %+v %v", st.log(), st.counters())
	}
}

func TestPeakInFlight(t *testing.T) {
	st := &stats{limit: 10}
	a := st.arrive(Call{Action: "a"})
	b := st.arrive(Call{Action: "b"})
	st.finish(a, Call{Action: "a", Outcome: outcomeOK})
	c := st.arrive(Call{Action: "c"})
	if got := st.peakInFlight(); got != 2 {
		t.Fatalf("peak = %d, want 2 (a and b, then b and c)", got)
	}
	// After a reset the peak starts from what is still in flight (b, c).
	st.reset()
	if got := st.peakInFlight(); got != 2 {
		t.Fatalf("peak after reset = %d, want the 2 still in flight", got)
	}
	st.finish(b, Call{Action: "b", Outcome: outcomeOK})
	st.finish(c, Call{Action: "c", Outcome: outcomeOK})
	st.reset()
	d := st.arrive(Call{Action: "d"})
	st.finish(d, Call{Action: "d", Outcome: outcomeOK})
	if got := st.peakInFlight(); got != 1 {
		t.Fatalf("peak = %d, want 1", got)
	}
}
