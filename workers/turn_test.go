package workers

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
)

// submitRevoke stores a revoke of the rule submit authorizes, and its
// record.
func (e *claimEnv) submitRevoke() string {
	e.t.Helper()
	id := fmt.Sprintf("%032x", time.Now().UnixNano())
	cmd := &palisadev1.Command{OperationId: id, Caller: "local", AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_RevokeIngress{RevokeIngress: &palisadev1.RevokeSecurityGroupIngressRequest{
			Location: &palisadev1.Location{AccountId: staleAccount, Region: staleRegion}, GroupId: e.group,
			IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: proto.Int32(22), ToPort: proto.Int32(22),
				IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}}}}}
	data, err := proto.Marshal(cmd)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, bus.CommandSubject(staleAccount, staleRegion, e.group), data, jetstream.WithMsgID(id)); err != nil {
		e.t.Fatal(err)
	}
	if err := e.w.store.Create(e.ctx, command.NewRecord(cmd)); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestLaterCommandWaitsForItsGroupsTurn: two commands of one group
// delivered at once (the consumer lets many be in flight); the later one
// makes no EC2 call while the earlier one is queued, also when the
// earlier one's holder dies and it waits for its redelivery, and runs
// once the earlier one has ended. The group ends as the order of acceptance says: authorized, then
// revoked.
func TestLaterCommandWaitsForItsGroupsTurn(t *testing.T) {
	e := newClaimEnv(t, nil)
	first, cons := e.submit()
	second := e.submitRevoke()
	d1 := e.fetch(cons, time.Second)
	d2 := e.fetch(cons, time.Second)
	e.sim.ResetCounters()

	done := make(chan struct{})
	go func() {
		defer close(done)
		e.handle(d2)
	}()
	// The later command waits, holding its claim, for longer than an ack
	// wait: nothing reaches EC2 and the command is not redelivered.
	select {
	case <-done:
		t.Fatal("the later command ended while the earlier one was queued")
	case <-time.After(2 * staleAckWait):
	}
	if calls := e.sim.CallLog(); len(calls) != 0 {
		t.Fatalf("the waiting command called EC2: %+v", calls)
	}
	if rec, _ := e.record(second); rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
		t.Fatalf("the waiting command's operation is %v", rec.GetMetadata().GetState())
	}

	// The earlier command's first delivery was never handled (as by a
	// worker that died holding it): its redelivery runs it.
	if deliveryNum(t, d1) != 1 {
		t.Fatal("first delivery is not the first")
	}
	e.handle(e.fetch(cons, 3*staleAckWait))
	select {
	case <-done:
	case <-time.After(5 * staleAckWait):
		t.Fatal("the later command did not run once the earlier one ended")
	}
	r1, _ := e.record(first)
	r2, _ := e.record(second)
	for i, r := range []*palisadev1.OperationRecord{r1, r2} {
		if st := r.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED || r.GetDelivery() != uint64(2-i) {
			t.Fatalf("operation %s: %v by delivery %d, want SUCCEEDED by delivery %d", r.GetId(), st, r.GetDelivery(), 2-i)
		}
	}
	if r2.GetMetadata().GetStartTime().AsTime().Before(r1.GetMetadata().GetEndTime().AsTime()) {
		t.Errorf("the later command started at %v, before the earlier ended at %v",
			r2.GetMetadata().GetStartTime().AsTime(), r1.GetMetadata().GetEndTime().AsTime())
	}
	if n := e.rules(); n != 0 {
		t.Fatalf("EC2 holds %d ingress rules, want 0 (authorized, then revoked)", n)
	}
	if n := e.ackPending(cons, 0); n != 0 {
		t.Fatalf("%d deliveries pending after both ended", n)
	}
}

// TestNegativeMaxCommandsIsRefused: the bound names itself.
func TestNegativeMaxCommandsIsRefused(t *testing.T) {
	e := newClaimEnv(t, nil)
	if _, err := New(e.ctx, Options{JetStream: e.js, EC2: e.ec2, MaxCommands: -1}); err == nil ||
		!strings.Contains(err.Error(), "max-commands") {
		t.Fatalf("New with MaxCommands -1: %v, want an error naming max-commands", err)
	}
}

// countingStream is the command stream, counting the looks for a group's
// earlier command.
type countingStream struct {
	jetstream.Stream
	looks atomic.Int32
}

func (s *countingStream) GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	s.looks.Add(1)
	return s.Stream.GetMsg(ctx, seq, opts...)
}

// TestCommandStoredFirstRunsWithoutALook: a command a driver stored while
// no other command of its group was queued runs without looking for an
// earlier one; one stored behind another looks, waits, and runs after it.
func TestCommandStoredFirstRunsWithoutALook(t *testing.T) {
	e := newClaimEnv(t, nil)
	looks := &countingStream{Stream: e.w.commands}
	e.w.commands = looks
	sub, err := command.NewSubmitter(e.ctx, e.js, e.w.store, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	sub.StoreFirstOfGroup() // as a rollout driver's
	var ids []string
	for _, port := range []int32{22, 443} {
		req := &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: &palisadev1.Location{AccountId: staleAccount, Region: staleRegion}, GroupId: e.group,
			IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: proto.Int32(port), ToPort: proto.Int32(port),
				IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}}}
		hash, err := command.RequestHash(req)
		if err != nil {
			t.Fatal(err)
		}
		cmd := &palisadev1.Command{OperationId: fmt.Sprintf("%032x", time.Now().UnixNano()), Caller: "local", RequestHash: hash,
			AcceptTime: timestamppb.Now(), Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: req}}
		if _, err := sub.Submit(e.ctx, cmd, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cmd.GetOperationId())
	}
	cons := e.consumerOf(1) // the stream is new: the commands are its messages 1 and 2
	d1 := e.fetch(cons, time.Second)
	d2 := e.fetch(cons, time.Second)
	if !command.StoredFirst(d1.Headers()) || command.StoredFirst(d2.Headers()) {
		t.Fatalf("stored first: %v and %v, want the first command only", command.StoredFirst(d1.Headers()), command.StoredFirst(d2.Headers()))
	}
	e.handle(d1)
	if n := looks.looks.Load(); n != 0 {
		t.Errorf("the command stored first looked for an earlier one %d times", n)
	}
	e.handle(d2)
	if n := looks.looks.Load(); n == 0 {
		t.Error("the command stored behind another did not look for it")
	}
	for _, id := range ids {
		if rec, _ := e.record(id); rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Errorf("operation %s: %v, want SUCCEEDED", id, rec.GetMetadata().GetState())
		}
	}
	if n := e.rules(); n != 2 {
		t.Fatalf("EC2 holds %d ingress rules, want 2", n)
	}
}
