package chaos

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/workers"
)

// TestPoison: a command EC2 refuses for good fails at once, tried once;
// a command whose every delivery dies (its worker process is killed in
// the middle of its EC2 call, each time) runs out of deliveries, lands in
// the dead-letter stream, and its operation FAILS with the reason.
// Nothing is redelivered after that, and the group's next command runs.
func TestPoison(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	const maxDeliver = 3
	s := newStack(t, stackOptions{workers: 2, ackWait: time.Second, maxDeliver: maxDeliver,
		workerFlags: []string{"--ec2-rate-factor", "0"}})
	start := time.Now()
	c := s.ec2c.Client(account, region)

	// Terminal: the default group cannot be deleted.
	def, err := c.DescribeSecurityGroups(s.ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(def.SecurityGroups) != 1 {
		t.Fatalf("default group: %v %v", def, err)
	}
	del := &plannedOp{group: &plannedGroup{id: aws.ToString(def.SecurityGroups[0].GroupId)}, kind: opDelete}
	rec := s.submitAndWait(del)
	terminalOK := rec.GetMetadata().GetState() == palisadev1.OperationState_OPERATION_STATE_FAILED &&
		strings.Contains(rec.GetError().GetMessage(), "CannotDelete")
	if !terminalOK {
		t.Errorf("delete of the default group ended %v: %v, want FAILED with CannotDelete", rec.GetMetadata().GetState(), rec.GetError())
	}
	terminalTries := s.ec2.sim.Counters()["DeleteSecurityGroup"]["CannotDelete"]
	if terminalTries != 1 {
		t.Errorf("a terminal refusal was tried %d times, want once", terminalTries)
	}

	// Poison: every delivery's worker dies in its EC2 call.
	pg := &plannedGroup{name: "poison"}
	create := &plannedOp{group: pg, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
	if rec := s.submitAndWait(create); rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("create ended %v", rec.GetMetadata().GetState())
	} else {
		pg.id = rec.GetResult().GetGroupId()
	}
	var mu sync.Mutex
	kills := 0
	s.ec2.setBefore(func(n note) bool {
		if n.groupID != pg.id || n.action != "AuthorizeSecurityGroupIngress" {
			return true
		}
		for _, w := range s.workers {
			if w.current() == n.worker {
				w.kill()
				mu.Lock()
				kills++
				mu.Unlock()
				go w.start()
			}
		}
		return false
	})
	poison := &plannedOp{group: pg, kind: opAuthorize, port: 443, cidrs: []string{"10.1.0.0/16"}}
	next := &plannedOp{group: pg, kind: opRevoke, port: 22, cidrs: []string{"10.0.0.0/8"}}
	var st loadStats
	for _, op := range []*plannedOp{poison, next} {
		op.requestID, op.id = newRequest()
		if err := s.submit(op, &st); err != nil {
			t.Fatal(err)
		}
	}
	prec, err := s.awaitEnd(poison.id, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pst := status.FromProto(prec.GetError())
	if prec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_FAILED || pst.Code() != codes.Aborted ||
		!strings.Contains(pst.Message(), "deliveries") {
		t.Errorf("poison operation ended %v with %v, want FAILED, Aborted, naming its deliveries", prec.GetMetadata().GetState(), pst)
	}
	nrec, err := s.awaitEnd(next.id, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if nrec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Errorf("the group's next command ended %v: %v", nrec.GetMetadata().GetState(), nrec.GetError())
	}
	dl, err := s.js.Stream(s.ctx, bus.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	letter, err := dl.GetLastMsgForSubject(s.ctx, bus.DeadLetterSubject(poison.id))
	deliveries := ""
	if err != nil {
		t.Errorf("no dead letter for %s: %v", poison.id, err)
	} else {
		deliveries = letter.Header.Get(workers.HeaderDeliveries)
	}
	// Nothing comes back: wait several ack waits and count the kills.
	time.Sleep(4 * s.topology.AckWait)
	mu.Lock()
	finalKills := kills
	mu.Unlock()
	if finalKills != maxDeliver {
		t.Errorf("the poison command was delivered %d times, want --max-deliver %d", finalKills, maxDeliver)
	}
	left := s.pendingCommands(context.Background())
	if left != 0 {
		t.Errorf("%d commands left in the work queue", left)
	}
	report(t, "poison", figure{"terminal_tries", terminalTries}, figure{"poison_deliveries", finalKills},
		figure{"dead_letter_deliveries", deliveries}, figure{"queue_left", left}, figure{"next_on_group", nrec.GetMetadata().GetState()},
		figure{"wall", time.Since(start)})
}

// pendingCommands counts commands still in the work queue.
func (s *stack) pendingCommands(ctx context.Context) uint64 {
	s.t.Helper()
	cmds, err := s.js.Stream(ctx, bus.CommandStream)
	if err != nil {
		s.t.Fatal(err)
	}
	info, err := cmds.Info(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	return info.State.Msgs
}
