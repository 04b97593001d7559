package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestNATSRestart: the NATS server is stopped and started again on the
// same store, several times, while the same kind of load runs. No
// accepted operation is lost; while NATS is down the API answers
// UNAVAILABLE at once (the load retries with the same request_id, as a
// client should) and never "accepted"; API and worker processes
// reconnect by themselves.
func TestNATSRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	groups, perGroup := size(10, 50), 10
	s := newStack(t, stackOptions{workers: 3, ackWait: 2 * time.Second,
		sim: ec2sim.Options{Latency: 80 * time.Millisecond}, workerFlags: []string{"--ec2-rate-factor", "0"}})
	rng := rand.New(rand.NewPCG(seed(t), 0))
	load := plan(rng, groups, perGroup)
	start := time.Now()

	stop := make(chan struct{})
	var restarts int
	var down time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		node := s.nats.nodes[0]
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(500+rng.IntN(1000)) * time.Millisecond):
			}
			t0 := time.Now()
			node.stop()
			time.Sleep(time.Duration(500+rng.IntN(1500)) * time.Millisecond)
			if err := node.start(); err != nil {
				t.Errorf("restart NATS: %v", err)
				return
			}
			restarts++
			down += time.Since(t0)
		}
	}()
	// A prober sends one create every 50 ms, each tried once: what the API
	// answers while NATS is down or coming back. Every create it accepted
	// joins the load's checks.
	var probes []*plannedGroup
	var refused, probeErrs int
	var slowest time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		run := uuid.NewString()[:8]
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			g := &plannedGroup{name: fmt.Sprintf("probe-%s-%04d", run, i)}
			op := &plannedOp{group: g, kind: opCreate, port: 22, cidrs: []string{"10.9.0.0/16"}}
			op.requestID, op.id = newRequest()
			g.ops = []*plannedOp{op}
			ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
			t0 := time.Now()
			_, err := s.call(ctx, op)
			took := time.Since(t0)
			cancel()
			switch status.Code(err) {
			case codes.OK:
				op.accepted = time.Now()
				probes = append(probes, g)
			case codes.Unavailable:
				refused++
				slowest = max(slowest, took)
			default:
				probeErrs++
				t.Errorf("probe answered %v after %v, want OK or UNAVAILABLE", err, took)
			}
		}
	}()
	var st loadStats
	s.run(load, &st)
	for err := range st.errs {
		t.Error(err)
	}
	// Keep restarting until every operation ended.
	lost := s.awaitAll(load, 3*time.Minute)
	close(stop)
	wg.Wait()
	for _, g := range probes {
		rec, err := s.awaitEnd(g.ops[0].id, 5*time.Minute)
		if err != nil {
			lost = append(lost, g.ops[0])
			continue
		}
		g.ops[0].record, g.id = rec, rec.GetResult().GetGroupId()
	}
	load = append(load, probes...)
	wall := time.Since(start)
	calls := s.ec2.callFigures()
	v := s.check(load, lost)
	report(t, "nats-restart", append(append(v.figures(),
		figure{"restarts", restarts}, figure{"nats_down", down},
		figure{"probes_accepted", len(probes)}, figure{"probes_unavailable", refused},
		figure{"slowest_unavailable", max(slowest, time.Duration(st.slowestRefusal.Load()))},
		figure{"load_retries_on_unavailable", st.unavailable.Load()},
		figure{"retried_ops", retried(load)}), append(calls, figure{"wall", wall})...)...)
	if !v.ok() {
		t.Errorf("invariants broken:\n  %s", strings.Join(v.problems, "\n  "))
	}
	if restarts == 0 {
		t.Error("NATS was never restarted: the run was too short to mean anything")
	}
}

// TestUnavailableAtOnceWithRequestID: with NATS down, a request carrying a
// request_id is refused UNAVAILABLE at once. It used to look its
// request_id up first, a KeyValue read that waited in the reconnect
// buffer until the caller's deadline, which then saw DEADLINE_EXCEEDED:
// no answer a client can act on.
func TestUnavailableAtOnceWithRequestID(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.nats.nodes[0].stop()
	for s.apiNC.IsConnected() {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.api.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "down",
		Description: "NATS is down", RequestId: uuid.NewString()})
	took := time.Since(start)
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("with NATS down: %v after %v, want UNAVAILABLE", err, took)
	}
	t.Logf("UNAVAILABLE in %v", took)
}
