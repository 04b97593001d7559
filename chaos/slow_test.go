package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestSlowEC2: EC2 first answers every call after two and a half ack waits, then
// hangs for good.
//
// Slow phase: two worker processes with their default heartbeat (5 s)
// and a bus declared with a 1 s ack wait. The holder must keep its
// claim alive the whole time, so no second worker runs the same command:
// EC2 sees each create once, each operation takes one attempt. (Workers
// used to beat every 5 s whatever the ack wait, and lost every slow
// command to the other worker.)
//
// Hung phase: every call hangs; --ec2-call-timeout cuts each at 1 s, the
// operation retries (RETRYING, with the reason) instead of holding its
// group for ever, and succeeds once EC2 answers again.
func TestSlowEC2(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	const ackWait = time.Second
	n := size(2, 8)
	s := newStack(t, stackOptions{workers: 2, ackWait: ackWait,
		sim:         ec2sim.Options{Latency: 5 * ackWait / 2},
		workerFlags: []string{"--ec2-rate-factor", "0", "--ec2-call-timeout", "20s"}})
	start := time.Now()
	var st loadStats
	var ops []*plannedOp
	for i := range n {
		pg := &plannedGroup{name: "slow-" + string(rune('a'+i))}
		op := &plannedOp{group: pg, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
		op.requestID, op.id = newRequest()
		if err := s.submit(op, &st); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	twice := 0
	for _, op := range ops {
		rec, err := s.awaitEnd(op.id, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Errorf("%s ended %v: %v", op.group.name, rec.GetMetadata().GetState(), rec.GetError())
		}
		if rec.GetMetadata().GetAttempts() != 1 {
			twice++
			t.Errorf("%s took %d attempts, want 1: the claim lapsed", op.group.name, rec.GetMetadata().GetAttempts())
		}
	}
	creates := s.ec2.sim.Counters()["CreateSecurityGroup"]
	if creates["OK"] != int64(n) || len(creates) != 1 {
		t.Errorf("CreateSecurityGroup outcomes %v, want %d OK and nothing else", creates, n)
	}
	slowWall := time.Since(start)

	// Hung phase, on fresh workers with a short call deadline.
	for _, w := range s.workers {
		w.kill()
	}
	w := startWorkerProc(t, "hung", s.workerArgs("--ec2-rate-factor", "0", "--ec2-call-timeout", "1s"))
	s.workers = []*workerProc{w}
	s.ec2.sim.SetFaults(0, time.Hour, 0)
	pg := &plannedGroup{name: "hung"}
	op := &plannedOp{group: pg, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
	op.requestID, op.id = newRequest()
	if err := s.submit(op, &st); err != nil {
		t.Fatal(err)
	}
	// Wait until the operation says it retries after a cut call.
	var reason string
	for reason == "" {
		rec, _, err := s.store.Get(s.ctx, op.id)
		if err == nil && rec.GetMetadata().GetState() == palisadev1.OperationState_OPERATION_STATE_RETRYING {
			reason = rec.GetMetadata().GetRetryReason()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(reason, "deadline") {
		t.Errorf("retry reason %q does not name the call's deadline", reason)
	}
	s.ec2.sim.SetFaults(0, 0, 0)
	rec, err := s.awaitEnd(op.id, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Errorf("hung create ended %v: %v", rec.GetMetadata().GetState(), rec.GetError())
	}
	report(t, "slow-ec2", figure{"slow_ops", n}, figure{"ec2_latency", 5 * ackWait / 2}, figure{"ack_wait", ackWait},
		figure{"second_runs", twice}, figure{"creates", creates["OK"]}, figure{"slow_wall", slowWall},
		figure{"hung_cut_attempts", rec.GetMetadata().GetAttempts() - 1}, figure{"hung_ended", rec.GetMetadata().GetState()},
		figure{"wall", time.Since(start)})
}
