package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// In-flight benchmark shape: a rollout bound by neither EC2's budget nor
// the machine's CPU, only by how many commands the workers keep in flight
// while each EC2 call takes inFlightLatency.
const (
	inFlightAccounts    = 4
	inFlightRegions     = 6
	inFlightGroups      = 50 // per account-region: 1,200 in all
	inFlightLatency     = 500 * time.Millisecond
	inFlightMaxCommands = 48 // per worker process
)

// BenchmarkRolloutInFlight rolls one rule out to 1,200 groups in 24
// account-regions through 1, 2 and 3 `palisade worker` processes of 48
// slots each, with every EC2 call taking 500 ms and no rate limit at the
// endpoint or in the workers. It shows what the fleet benchmark cannot on
// one two-core machine, where the work is bound by CPU: the commands in
// flight (the most calls the endpoint held at once) and the rollout's
// speed grow with the worker processes, past the 32 command partitions.
// The ideal is every slot busy: 96 groups a second per process.
//
//	go test -run '^$' -bench RolloutInFlight -benchtime 1x ./e2e/
func BenchmarkRolloutInFlight(b *testing.B) {
	for _, procs := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("worker-processes=%d", procs), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchInFlight(b, procs)
			}
		})
	}
}

func benchInFlight(b *testing.B, procs int) {
	bin := palisadeBinary(b)
	b.StopTimer()
	e := newEnv(b, envOptions{})
	targets := makeFleet(b, e, inFlightAccounts, fleetRegions[:inFlightRegions], inFlightGroups, "inflight")
	for p := range procs {
		startWorkerProcessWith(b, bin, e, p, "--ec2-rate-factor", "0", "--max-commands", strconv.Itoa(inFlightMaxCommands))
	}
	waitWorkersReady(b, e, procs)
	e.sim.SetFaults(0, inFlightLatency, 0)
	defer e.sim.SetFaults(0, 0, 0)

	b.StartTimer()
	start := time.Now()
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets:  targets,
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 1000},
	})
	// The groups are applied from the first time the rollout is seen
	// past planning (24 reads of 500 ms each, in parallel); the endpoint's
	// peak is taken over that span only.
	var applying time.Time
	ro := e.watchRollout(name, func(r *palisadev1.Rollout) bool {
		if applying.IsZero() && r.GetState() >= palisadev1.RolloutState_ROLLOUT_STATE_CANARY {
			applying = time.Now()
			e.sim.ResetCounters()
		}
		return false
	})
	end := time.Now()
	b.StopTimer()
	total := inFlightAccounts * inFlightRegions * inFlightGroups
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != int32(total) {
		b.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	if applying.IsZero() {
		b.Fatal("the rollout was never seen past planning")
	}
	slots := procs * inFlightMaxCommands
	apply := end.Sub(applying)
	ideal := time.Duration(float64(total) / float64(slots) * float64(inFlightLatency))
	b.ReportMetric(end.Sub(start).Seconds(), "s")
	b.ReportMetric(apply.Seconds(), "apply-s")
	b.ReportMetric(float64(total)/apply.Seconds(), "groups/s")
	b.ReportMetric(apply.Seconds()/ideal.Seconds(), "apply/ideal")
	b.ReportMetric(float64(e.sim.PeakInFlight()), "peak-in-flight")
	b.ReportMetric(float64(slots), "slots")
	b.ReportMetric(0, "ns/op")
}
