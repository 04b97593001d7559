package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2limits"
)

// Rollout benchmark shape: 1,000 groups in 2 regions, 10 rules each,
// against the local EC2 endpoint throttling with EC2's bucket sizes and
// its refill rates × benchSpeed; the workers' shared budget paces at the
// same rates (--ec2-rate-factor benchSpeed).
const (
	benchSpeed        = 10
	benchGroupsPerReg = 500
	benchRules        = 10
)

var benchRegions = []string{region, region2}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// palisadeBinary builds cmd/palisade once per benchmark run.
func palisadeBinary(b *testing.B) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "palisade-bench")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "palisade")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/palisadehq/palisade/cmd/palisade").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build palisade: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		b.Fatal(binErr)
	}
	return binPath
}

// benchRuleSet is the change: 10 TCP rules on port 9100.
func benchRuleSet() []*palisadev1.IpPermission {
	p := tcp(9100, 9100)
	for i := 0; i < benchRules; i++ {
		p.IpRanges = append(p.IpRanges, &palisadev1.IpRange{CidrIp: fmt.Sprintf("10.%d.0.0/16", 50+i)})
	}
	return []*palisadev1.IpPermission{p}
}

// benchEstate starts the stack (no in-process workers) and creates the
// groups, tagged team=payments, before throttling is turned on.
func benchEstate(b *testing.B, groupsPerRegion int) (*env, map[string][]string) {
	e := newEnv(b, envOptions{})
	groups := map[string][]string{}
	for _, r := range benchRegions {
		groups[r] = e.makeGroups(account, r, "bench", groupsPerRegion, map[string]string{"team": "payments"})
	}
	return e, groups
}

// throttledCalls sums the calls EC2 refused for the rate limit, and all
// calls.
func throttledCalls(sim *ec2sim.Sim) (throttled, total int64) {
	for _, outcomes := range sim.Counters() {
		for o, n := range outcomes {
			total += n
			if o == "RequestLimitExceeded" {
				throttled += n
			}
		}
	}
	return throttled, total
}

// theoreticalMinimum is the least time the calls can take: per region in
// parallel, each action's calls less its bucket's burst, at the refill
// rate × speed.
func theoreticalMinimum(callsPerRegion map[string]int) time.Duration {
	return ec2limits.Slowest(callsPerRegion, benchSpeed)
}

// BenchmarkRolloutThrottled rolls 10 rules out to 1,000 groups in 2
// regions through `palisade worker` processes (1 and 3) against one NATS,
// and reports the completion time against the theoretical minimum and the
// throttled calls.
//
//	go test -run '^$' -bench RolloutThrottled -benchtime 1x ./e2e/
func BenchmarkRolloutThrottled(b *testing.B) {
	for _, procs := range []int{1, 3} {
		b.Run(fmt.Sprintf("worker-processes=%d", procs), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchRollout(b, procs)
			}
		})
	}
}

func benchRollout(b *testing.B, procs int) {
	r := runPalisadeRollout(b, procs)
	if r.inPlace != r.rules {
		b.Fatalf("%d of %d rules in place", r.inPlace, r.rules)
	}
	minimum := theoreticalMinimum(map[string]int{"AuthorizeSecurityGroupIngress": benchGroupsPerReg})
	b.ReportMetric(r.elapsed.Seconds(), "s")
	b.ReportMetric(minimum.Seconds(), "min-s")
	b.ReportMetric(r.elapsed.Seconds()/minimum.Seconds(), "ratio")
	b.ReportMetric(float64(r.calls), "ec2-calls")
	b.ReportMetric(float64(r.throttled), "throttled")
	b.ReportMetric(100*float64(r.throttled)/float64(r.calls), "throttled-%")
	b.ReportMetric(0, "ns/op")
}

// runPalisadeRollout rolls the change out to 1,000 fresh groups through
// procs `palisade worker` processes against throttled EC2 and measures it,
// from StartRollout to the rollout's end (planning included).
func runPalisadeRollout(b *testing.B, procs int) benchResult {
	bin := palisadeBinary(b)
	b.StopTimer()
	e, groups := benchEstate(b, benchGroupsPerReg)
	for p := 0; p < procs; p++ {
		startWorkerProcess(b, bin, e, p)
	}
	waitWorkersReady(b, e, procs)
	e.sim.ResetCounters()
	e.sim.SetThrottle(true, benchSpeed)

	var targets []*palisadev1.RolloutTarget
	for _, r := range benchRegions {
		targets = append(targets, &palisadev1.RolloutTarget{Location: &palisadev1.Location{AccountId: account, Region: r}, Tags: map[string]string{"team": "payments"}})
	}
	b.StartTimer()
	start := time.Now()
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   &palisadev1.RuleChange{AuthorizeIngress: benchRuleSet()},
		Targets:  targets,
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 1000},
	})
	ro := e.watchRollout(name, nil)
	elapsed := time.Since(start)
	b.StopTimer()
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != 2*benchGroupsPerReg {
		b.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	r := benchResult{groups: 2 * benchGroupsPerReg, rules: 2 * benchGroupsPerReg * benchRules, elapsed: elapsed}
	r.throttled, r.calls = throttledCalls(e.sim)
	// A failed group is every one of its rules not added.
	r.failed = int(ro.GetProgress().GetFailed()) * benchRules
	e.sim.SetThrottle(false, 1) // the count below is not the contestant's
	r.inPlace = benchRulesInPlace(e.ctx, b, e.ec2.Client, groups)
	return r
}

// startWorkerProcess runs `palisade worker` against the env's NATS and EC2
// endpoint, paced at the benchmark's rate factor, until the benchmark ends.
func startWorkerProcess(b *testing.B, bin string, e *env, n int) {
	startWorkerProcessWith(b, bin, e, n, "--ec2-rate-factor", fmt.Sprint(benchSpeed))
}

// waitWorkersReady waits until every worker process is pulling rollouts,
// so process start-up is not part of the measured time.
func waitWorkersReady(b *testing.B, e *env, procs int) {
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	cons, err := e.js.Consumer(ctx, bus.RolloutStream, bus.RolloutConsumer)
	if err != nil {
		b.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err == nil && info.NumWaiting >= procs {
			return
		}
		if ctx.Err() != nil {
			b.Fatalf("worker processes not ready: %v", err)
		}
		sleep(ctx, 50)
	}
}
