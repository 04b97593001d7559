package e2e

import (
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// BenchmarkApply measures what one worker applies per second when EC2
// does not hold it back (no throttling, no pacing): b.N authorizations
// over 64 groups are accepted first, then a worker starts and the clock
// runs until the last has ended. Each operation costs the worker its
// claim (a renewal and a look at the consumer), two record updates, two
// events, an ack, and its EC2 calls (the authorize, then a read that
// confirms EC2 shows the rule).
//
//	go test -run '^$' -bench Apply -benchtime 2000x ./e2e/
func BenchmarkApply(b *testing.B) {
	const groups = 64
	e := newEnv(b, envOptions{})
	ids := e.makeGroups(account, region, "apply", groups, nil)
	last := make([]string, groups)
	for i := 0; i < b.N; i++ {
		port := int32(1000 + i/groups) // a rule of its own in its group
		op, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: loc, GroupId: ids[i%groups], IpPermissions: []*palisadev1.IpPermission{tcp(port, port, "10.0.0.0/16")},
		})
		if err != nil {
			b.Fatal(err)
		}
		last[i%groups] = op.GetName()
	}
	e.sim.ResetCounters()
	b.ResetTimer()
	start := time.Now()
	e.startWorker(envWorker())
	// Each group's operations run in order: when its last has ended, all have.
	for _, name := range last {
		if name == "" {
			continue
		}
		for {
			op, err := e.ops.GetOperation(e.ctx, &longrunningpb.GetOperationRequest{Name: name})
			if err != nil {
				b.Fatal(err)
			}
			if op.GetDone() {
				if op.GetError() != nil {
					b.Fatalf("%s failed: %v", name, op.GetError())
				}
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	calls := 0
	for _, outcomes := range e.sim.Counters() {
		for _, n := range outcomes {
			calls += int(n)
		}
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(calls)/float64(b.N), "ec2-calls/op")
	b.ReportMetric(0, "ns/op")
}
