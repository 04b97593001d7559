package chaos

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// TestGracefulShutdown: SIGTERM makes a worker stop taking work and
// finish or hand back, within --shutdown-grace, every command it holds,
// including those already delivered into its buffer and not yet started:
// once it has exited no command waits out the ack wait (30 s here) for
// a worker that is gone. SIGTERM makes `palisade api` stop accepting and
// drain: every request it accepted is stored and ends.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	const grace = 3 * time.Second
	n := size(20, 60)
	s := newStack(t, stackOptions{workers: 1, sim: ec2sim.Options{Latency: 300 * time.Millisecond},
		workerFlags: []string{"--ec2-rate-factor", "0", "--shutdown-grace", grace.String()}})
	start := time.Now()

	// Worker: SIGTERM in the middle of a batch of creates on many groups.
	var st loadStats
	var ops []*plannedOp
	for i := range n {
		op := &plannedOp{group: &plannedGroup{name: fmt.Sprintf("graceful-%03d", i)}, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
		op.requestID, op.id = newRequest()
		if err := s.submit(op, &st); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	time.Sleep(time.Second)
	w := s.workers[0]
	stopTook := w.terminate()
	if code := w.exitCode(); code != 0 {
		t.Errorf("worker exited with %d after SIGTERM, want 0", code)
	}
	if stopTook > grace+5*time.Second {
		t.Errorf("worker took %v to stop, more than --shutdown-grace %v and a few seconds", stopTook, grace)
	}
	held := s.ackPending()
	if held != 0 {
		t.Errorf("%d commands still held by the stopped worker: they wait out the ack wait", held)
	}
	doneAtStop := 0
	for _, op := range ops {
		if rec, _, err := s.store.Get(s.ctx, op.id); err == nil && rec.GetMetadata().GetState() == palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			doneAtStop++
		}
	}
	w.start()
	afterRestart := time.Now()
	for _, op := range ops {
		rec, err := s.awaitEnd(op.id, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Errorf("%s ended %v: %v", op.group.name, rec.GetMetadata().GetState(), rec.GetError())
		}
	}
	resumed := time.Since(afterRestart)
	if c := s.ec2.sim.Counters()["CreateSecurityGroup"]; c["OK"] != int64(n) {
		t.Errorf("CreateSecurityGroup outcomes %v, want %d OK", c, n)
	}

	// API: SIGTERM while clients send creates as fast as they can.
	port := freePort(t)
	api := startWorkerProc(t, "api", append(append([]string{"api"}, s.nats.args(bus.RoleAPI)...), "--ec2-endpoint", s.ec2.url,
		"--grpc-listen", "127.0.0.1:"+strconv.Itoa(port), "--replicas", "1",
		"--ack-wait", s.topology.AckWait.String(), "--max-deliver", strconv.Itoa(s.topology.MaxDeliver)))
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := palisadev1.NewSecurityGroupServiceClient(conn)
	ops2 := longrunningpb.NewOperationsClient(conn)
	for {
		_, err := ops2.GetOperation(s.ctx, &longrunningpb.GetOperationRequest{Name: "operations/00000000000000000000000000000000"})
		if status.Code(err) == codes.NotFound {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var mu sync.Mutex
	var accepted []*plannedOp
	refused := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	s.ec2.sim.SetFaults(0, 0, 0)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				op := &plannedOp{group: &plannedGroup{name: fmt.Sprintf("drain-%d-%04d", c, i)}, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
				op.requestID, op.id = newRequest()
				op.group.ops = []*plannedOp{op}
				ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
				_, err := client.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: op.group.name,
					Description: "drain", IpPermissions: perms(22, op.cidrs), RequestId: op.requestID})
				cancel()
				mu.Lock()
				if err == nil {
					op.accepted = time.Now()
					accepted = append(accepted, op)
				} else {
					refused++
				}
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	apiStop := api.terminate()
	close(stop)
	wg.Wait()
	if code := api.exitCode(); code != 0 {
		t.Errorf("api exited with %d after SIGTERM, want 0", code)
	}
	var groups []*plannedGroup
	for _, op := range accepted {
		groups = append(groups, op.group)
	}
	lost := s.awaitAll(groups, 2*time.Minute)
	for _, g := range groups {
		if rec := g.ops[0].record; rec != nil {
			g.id = rec.GetResult().GetGroupId()
		}
	}
	v := s.check(groups, lost)
	report(t, "graceful-shutdown", figure{"worker_ops", n}, figure{"worker_stop", stopTook}, figure{"grace", grace},
		figure{"done_by_stop", doneAtStop}, figure{"held_after_exit", held}, figure{"rest_done_after_restart", resumed},
		figure{"api_accepted", len(accepted)}, figure{"api_refused", refused}, figure{"api_stop", apiStop},
		figure{"api_lost", v.lost}, figure{"api_failed", v.notOK}, figure{"wall", time.Since(start)})
	if !v.ok() {
		t.Errorf("invariants broken: %v", v.problems)
	}
}

// ackPending counts commands delivered and not yet acknowledged, over
// every partition.
func (s *stack) ackPending() int {
	s.t.Helper()
	total := 0
	for p := range bus.Partitions {
		c, err := s.js.Consumer(s.ctx, bus.CommandStream, bus.ConsumerName(p))
		if err != nil {
			s.t.Fatal(err)
		}
		info, err := c.Info(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		total += info.NumAckPending
	}
	return total
}
