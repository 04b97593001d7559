package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2limits"
)

// Fleet benchmark shape: a platform team's estate, 8 accounts × 12
// regions × 60 groups (5,760), one rule added to all of it, against the
// local EC2 endpoint throttling at EC2's own rates (factor 1) and taking
// 100 ms per call, with a role assumed in each account.
const (
	fleetGroupsPerPlace = 60
	fleetLatency        = 100 * time.Millisecond
)

// fleetAccounts sizes the fleet. The minimum does not depend on it (every
// account-region's buckets run in parallel) while the CPU a rollout needs
// grows with it, so smaller fleets show where one machine's cores, not
// EC2's buckets, start to set the pace.
var fleetAccounts = flag.Int("fleet-accounts", 8, "accounts of the fleet benchmark, 12 regions of 60 groups each")

var fleetRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
	"eu-west-3", "eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
}

func fleetAccount(i int) string { return fmt.Sprintf("1000000000%02d", i+1) }

// BenchmarkRolloutFleet rolls one rule out to 5,760 groups in 96
// account-regions through `palisade worker` processes (1 and 3) and
// reports the completion time against the minimum EC2's buckets allow
// (every account-region's in parallel). -fleet-accounts sizes the fleet
// (8 accounts of 12 regions by default).
//
//	go test -run '^$' -bench RolloutFleet -benchtime 1x -timeout 30m ./e2e/
//	go test -run '^$' -bench RolloutFleet -benchtime 1x ./e2e/ -fleet-accounts 2
func BenchmarkRolloutFleet(b *testing.B) {
	for _, procs := range []int{1, 3} {
		b.Run(fmt.Sprintf("worker-processes=%d", procs), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchFleet(b, procs)
			}
		})
	}
}

func benchFleet(b *testing.B, procs int) {
	if *fleetAccounts < 1 || *fleetAccounts > 99 {
		b.Fatalf("-fleet-accounts %d: from 1 to 99", *fleetAccounts)
	}
	bin := palisadeBinary(b)
	b.StopTimer()
	const externalID = "palisade-bench"
	e := newEnv(b, envOptions{assumeRole: roleTemplate, externalID: externalID})
	targets := makeFleet(b, e, *fleetAccounts, fleetRegions, fleetGroupsPerPlace, "fleet")
	workers := make([]*exec.Cmd, procs)
	for p := range procs {
		workers[p] = startWorkerProcessWith(b, bin, e, p, "--ec2-rate-factor", "1",
			"--assume-role", roleTemplate, "--assume-role-external-id", externalID)
	}
	waitWorkersReady(b, e, procs)
	e.sim.ResetCounters()
	e.sim.SetThrottle(true, 1)
	e.sim.SetFaults(0, fleetLatency, 0)

	b.StartTimer()
	start, startCPU, startMsgs := time.Now(), processCPU(b), natsMessages(b, e)
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets:  targets,
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 1000},
	})
	ro := e.watchRollout(name, func(r *palisadev1.Rollout) bool {
		if testing.Verbose() { // the rollout's course, for finding where time goes
			p := r.GetProgress()
			fmt.Printf("%6.2fs %v q=%d r=%d s=%d\n", time.Since(start).Seconds(), r.GetState(), p.GetQueued(), p.GetRunning(), p.GetSucceeded())
		}
		return false
	})
	elapsed := time.Since(start)
	b.StopTimer()
	// CPU per child over all processes: this one's over the rollout's span
	// (NATS, the endpoint, the API, the watch), the workers' whole lives
	// (they start idle and stop at once). It does not depend on what else
	// runs on the machine, as the time does. The workers' share is
	// reported too: several worker processes on one machine each carry a
	// Go runtime and a connection of their own, which costs CPU on both
	// sides that a process per host would not take from the others.
	hostCPU := processCPU(b) - startCPU
	msgs := natsMessages(b, e) - startMsgs
	var workerCPU time.Duration
	var workerPeak float64 // the largest worker process's peak memory, MiB
	for _, w := range workers {
		workerPeak = max(workerPeak, peakMemoryMiB(w.Process.Pid))
		_ = w.Process.Signal(syscall.SIGTERM)
		if err := w.Wait(); w.ProcessState == nil {
			b.Fatalf("worker process not stopped: %v", err)
		}
		workerCPU += w.ProcessState.UserTime() + w.ProcessState.SystemTime()
	}
	cpu := hostCPU + workerCPU
	e.sim.SetFaults(0, 0, 0)
	e.sim.SetThrottle(false, 1)
	total := *fleetAccounts * len(fleetRegions) * fleetGroupsPerPlace
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != int32(total) {
		b.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	throttled, calls := throttledCalls(e.sim)
	// Check the end state in one account-region per account.
	for a := range *fleetAccounts {
		out, err := e.ec2.Client(fleetAccount(a), fleetRegions[a%len(fleetRegions)]).DescribeSecurityGroupRules(e.ctx, &ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(1000)})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, r := range out.SecurityGroupRules {
			if aws.ToInt32(r.FromPort) == 9100 {
				n++
			}
		}
		if n != fleetGroupsPerPlace {
			b.Fatalf("%s %s: %d groups hold the rule, want %d", fleetAccount(a), fleetRegions[a%len(fleetRegions)], n, fleetGroupsPerPlace)
		}
	}
	minimum := ec2limits.Slowest(map[string]int{"AuthorizeSecurityGroupIngress": fleetGroupsPerPlace}, 1)
	b.ReportMetric(elapsed.Seconds(), "s")
	b.ReportMetric(minimum.Seconds(), "min-s")
	b.ReportMetric(elapsed.Seconds()/minimum.Seconds(), "ratio")
	b.ReportMetric(float64(total)/elapsed.Seconds(), "groups/s")
	b.ReportMetric(float64(calls), "ec2-calls")
	b.ReportMetric(100*float64(throttled)/float64(max(calls, 1)), "throttled-%")
	perChild := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(total) }
	b.ReportMetric(perChild(cpu), "cpu-ms/child")
	b.ReportMetric(perChild(workerCPU), "worker-cpu-ms/child")
	// The cores the rollout kept busy on average: near the machine's
	// count, the rollout waits for CPU rather than for EC2.
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores-busy")
	b.ReportMetric(workerPeak, "worker-peak-MiB")
	b.ReportMetric(float64(msgs)/float64(total), "nats-msgs/child")
	b.ReportMetric(0, "ns/op")
}

// makeFleet creates perPlace groups tagged team=platform in each region
// of each of accounts accounts (the places in parallel, before any
// throttling is on) and returns the rollout's targets: every place, by
// that tag.
func makeFleet(b *testing.B, e *env, accounts int, regions []string, perPlace int, name string) []*palisadev1.RolloutTarget {
	var targets []*palisadev1.RolloutTarget
	var wg sync.WaitGroup
	for a := range accounts {
		for _, reg := range regions {
			targets = append(targets, &palisadev1.RolloutTarget{
				Location: &palisadev1.Location{AccountId: fleetAccount(a), Region: reg}, Tags: map[string]string{"team": "platform"}})
			wg.Go(func() {
				if ids := e.makeGroups(fleetAccount(a), reg, name, perPlace, map[string]string{"team": "platform"}); len(ids) != perPlace {
					b.Errorf("%d groups made in %s %s", len(ids), fleetAccount(a), reg)
				}
			})
		}
	}
	wg.Wait()
	return targets
}

// natsMessages counts the messages the NATS server has received from its
// clients and sent to them: the traffic the rollout's work costs it.
func natsMessages(b *testing.B, e *env) int64 {
	v, err := e.ns.Varz(nil)
	if err != nil {
		b.Fatal(err)
	}
	return v.InMsgs + v.OutMsgs
}

// peakMemoryMiB is the most resident memory a running process has held
// (what the garbage collector's setting trades CPU for), from Linux's
// VmHWM, or 0 where the system does not say. Not the rusage of its end:
// Linux counts there the memory of the process that started it, as it
// was when it did.
func peakMemoryMiB(pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%f kB", &kib); err == nil {
				return kib / 1024
			}
		}
	}
	return 0
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// workerEnv is added to the environment of the `palisade worker` processes
// the benchmarks start, to compare runtime settings on the same binary:
//
//	go test -run '^$' -bench RolloutFleet -benchtime 1x ./e2e/ -worker-env GOGC=100
var workerEnv = flag.String("worker-env", "", "comma-separated `KEY=VALUE`s added to the environment of benchmarks' worker processes")

// startWorkerProcessWith runs `palisade worker` against the env's NATS and
// EC2 endpoint with args until the benchmark ends, or until it is stopped
// earlier.
func startWorkerProcessWith(b *testing.B, bin string, e *env, n int, args ...string) *exec.Cmd {
	logf, err := os.Create(filepath.Join(b.TempDir(), fmt.Sprintf("worker-%d.log", n)))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"worker", "--nats-url", e.ns.ClientURL(), "--ec2-endpoint", e.simURL,
		"--log-level", "warn"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if *workerEnv != "" {
		cmd.Env = append(os.Environ(), strings.Split(*workerEnv, ",")...)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if cmd.ProcessState == nil { // not stopped yet
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		_ = logf.Close()
	})
	return cmd
}
