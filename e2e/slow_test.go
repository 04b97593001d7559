package e2e

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/workers"
)

// TestSlowEC2KeepsTheClaim: every EC2 call takes longer than the command's
// ack wait. The worker's heartbeat keeps the command its own, so a second
// worker never runs it and EC2 sees one create.
func TestSlowEC2KeepsTheClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("every EC2 call takes 3 s: long; make test runs it")
	}
	e := newEnv(t, envOptions{sim: ec2sim.Options{Latency: 3 * time.Second}})
	if e.topology.AckWait >= 3*time.Second {
		t.Fatalf("ack wait %v must be shorter than the latency for this test to mean anything", e.topology.AckWait)
	}
	e.startWorker(workers.Options{})
	e.startWorker(workers.Options{})
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "slow", Description: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	e.succeeded(op)
	if got := e.sim.Counters()["CreateSecurityGroup"]; got["OK"] != 1 || len(got) != 1 {
		t.Fatalf("creates seen by EC2: %v, want exactly one", got)
	}
	if md := metadata(t, e.wait(op)); md.GetAttempts() != 1 {
		t.Fatalf("%d attempts, want 1", md.GetAttempts())
	}
}

// TestNATSDownMeansUnavailable: with the NATS server gone, a request is
// answered UNAVAILABLE, never accepted.
func TestNATSDownMeansUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ns.Shutdown()
	e.ns.WaitForShutdown()
	start := time.Now()
	_, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "nowhere", Description: "nats is down"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("with NATS down: %v, want Unavailable", err)
	}
	t.Logf("answered in %v", time.Since(start))
}
