package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestEC2Faults: a fifth of EC2's answers are InternalError or
// Unavailable, EC2 throttles with its published bucket sizes (refill
// sped up by speed), and new groups and rules stay invisible to reads for
// 2 s, all at once. Every operation still succeeds, exactly once and in
// order; retries after faults stay bounded by --max-attempts (waits for
// visibility by time); and three worker processes, spending from one rate
// budget kept in JetStream, pace their calls together within the
// buckets' refill rates, so throttling stays the exception (under 2% of
// calls).
func TestEC2Faults(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	const speed = 2.0
	// Each group's operations wait out the consistency delay one after
	// another, so the short version has short groups.
	groups, perGroup := size(6, 50), size(3, 10)
	s := newStack(t, stackOptions{
		workers: 3,
		ackWait: 5 * time.Second,
		sim: ec2sim.Options{FaultRate: 0.2, Throttle: true, SpeedFactor: speed,
			ConsistencyDelay: 2 * time.Second, Seed: 3},
		workerFlags: []string{"--ec2-rate-factor", fmt.Sprint(speed), "--max-attempts", "10"},
	})
	rng := rand.New(rand.NewPCG(seed(t), 0))
	load := plan(rng, groups, perGroup)
	start := time.Now()
	var st loadStats
	s.run(load, &st)
	for err := range st.errs {
		t.Error(err)
	}
	lost := s.awaitAll(load, 10*time.Minute)
	wall := time.Since(start)
	throttled, calls := s.ec2.throttled()
	faults := s.faultsInjected()
	// Reads of the check must see everything.
	time.Sleep(2 * time.Second)
	v := s.check(load, lost)
	maxAttempts, sumAttempts := attempts(load)
	peak := s.peakRate(10*time.Second, "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress")
	pct := 100 * float64(throttled) / float64(max(calls, 1))
	report(t, "ec2-faults", append(v.figures(),
		figure{"ec2_calls", calls}, figure{"faults", faults}, figure{"throttled", throttled},
		figure{"throttled_pct", fmt.Sprintf("%.2f", pct)},
		figure{"max_attempts", maxAttempts}, figure{"max_fault_retries", faultRetries(load)}, figure{"mean_attempts", fmt.Sprintf("%.2f", float64(sumAttempts)/float64(max(v.ops, 1)))},
		figure{"peak_ingress_calls_per_s_10s", fmt.Sprintf("%.1f", peak)}, figure{"refill_per_s", 5 * speed},
		figure{"wall", wall})...)
	if !v.ok() {
		t.Errorf("invariants broken:\n  %s", strings.Join(v.problems, "\n  "))
	}
	if pct >= 2 {
		t.Errorf("%d of %d calls throttled (%.2f%%): the budget did not keep the worker inside EC2's rates", throttled, calls, pct)
	}
	// --max-attempts bounds the retries after faults and throttling; waits
	// for EC2 to show a change are bounded by time instead.
	if most := faultRetries(load); most >= 10 {
		t.Errorf("an operation retried %d times after faults or throttling, --max-attempts is 10", most)
	}
}

// faultsInjected counts the InternalError and Unavailable answers.
func (s *stack) faultsInjected() int64 {
	var n int64
	for _, outcomes := range s.ec2.sim.Counters() {
		n += outcomes["InternalError"] + outcomes["Unavailable"]
	}
	return n
}

// attempts returns the most attempts any operation took, and their sum.
func attempts(groups []*plannedGroup) (most, sum int) {
	for _, g := range groups {
		for _, op := range g.ops {
			a := int(op.record.GetMetadata().GetAttempts())
			most, sum = max(most, a), sum+a
		}
	}
	return most, sum
}

// peakRate is the highest rate, in calls per second over any window of
// the given length after the first (the bucket's burst), of calls to the
// actions that share one throttle bucket per action, summed.
func (s *stack) peakRate(window time.Duration, actions ...string) float64 {
	var times []time.Time
	for _, c := range s.ec2.sim.CallLog() {
		for _, a := range actions {
			if c.Action == a {
				times = append(times, c.Time)
			}
		}
	}
	if len(times) == 0 {
		return 0
	}
	skipUntil := times[0].Add(window) // the burst capacity is spent in the first window
	peak, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) > window {
			j++
		}
		if times[i].After(skipUntil) {
			peak = max(peak, i-j+1)
		}
	}
	return float64(peak) / window.Seconds()
}

// faultRetries is the most retries any operation made after EC2 faults or
// throttling, from the reasons in its history.
func faultRetries(groups []*plannedGroup) int {
	most := 0
	for _, g := range groups {
		for _, op := range g.ops {
			n := 0
			for _, ev := range op.record.GetHistory() {
				if ev.GetState() != palisadev1.OperationState_OPERATION_STATE_RETRYING {
					continue
				}
				for _, code := range []string{"InternalError", "Unavailable", "RequestLimitExceeded"} {
					if strings.HasPrefix(ev.GetReason(), "EC2 "+code+":") {
						n++
					}
				}
			}
			most = max(most, n)
		}
	}
	return most
}
