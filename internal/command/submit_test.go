package command

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"github.com/palisadehq/palisade/internal/operations"
)

const (
	account   = "111122223333"
	region    = "us-east-1"
	groupID   = "sg-0123456789abcdef0"
	requestID = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"
)

var loc = &palisadev1.Location{AccountId: account, Region: region}

type env struct {
	ctx     context.Context
	js      jetstream.JetStream
	records *operations.Store
	sub     *Submitter
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, bus.DefaultTopology(1))
}

// newEnvOn is newEnv on a bus declared with top.
func newEnvOn(t *testing.T, top bus.Topology) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, js := natstest.Bus(t, top)
	records, err := operations.Open(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := NewSubmitter(ctx, js, records, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: ctx, js: js, records: records, sub: sub}
}

// authorize builds the command of an ingress authorize for port, as the
// API does: the hash covers the request, the id the caller and request_id.
func authorize(t *testing.T, requestID string, port int32) *palisadev1.Command {
	t.Helper()
	req := &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: groupID, RequestId: requestID,
		IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &port, ToPort: &port,
			IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
	}
	hash, err := RequestHash(req)
	if err != nil {
		t.Fatal(err)
	}
	return &palisadev1.Command{
		OperationId: OperationID("alice", requestID), Caller: "alice", RequestId: requestID,
		RequestHash: hash, AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: req},
	}
}

// child builds the command of rollout r1's child on the group, as a
// rollout driver does; observed says whether it carries the rules read.
func child(t *testing.T, observed bool) *palisadev1.Command {
	t.Helper()
	apply := &palisadev1.ApplyRuleChange{Location: loc, GroupId: groupID, Rollout: "rollouts/r1", Observed: observed}
	h, err := RequestHash(apply)
	if err != nil {
		t.Fatal(err)
	}
	return &palisadev1.Command{OperationId: ChildID("r1", account, region, groupID), Caller: "alice", RequestHash: h,
		Request: &palisadev1.Command_ApplyRuleChange{ApplyRuleChange: apply}}
}

// stored counts the messages in stream (the command stream files each
// under its partition's subject, so a count by subject would find none).
func (e *env) stored(t *testing.T, stream string) uint64 {
	t.Helper()
	s, err := e.js.Stream(e.ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// TestSubmitStoresOnceAndAnswersTheSameOperation: the command lands on its
// group's subject with its record; the same request again returns the same
// operation and stores nothing more.
func TestSubmitStoresOnceAndAnswersTheSameOperation(t *testing.T) {
	e := newEnv(t)
	cmd := authorize(t, requestID, 443)
	rec, err := e.sub.Submit(e.ctx, cmd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetId() != cmd.GetOperationId() || rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED ||
		rec.GetMetadata().GetGroupId() != groupID || rec.GetMetadata().GetCaller() != "alice" {
		t.Fatalf("record %v", rec)
	}
	again, err := e.sub.Submit(e.ctx, authorize(t, requestID, 443), nil)
	if err != nil || again.GetId() != rec.GetId() {
		t.Fatalf("repeat: %v, %v; want the same operation", again.GetId(), err)
	}
	_, subject := Destination(cmd)
	if subject != bus.CommandSubject(account, region, groupID) {
		t.Errorf("subject %s", subject)
	}
	if got := e.stored(t, bus.CommandStream); got != 1 {
		t.Errorf("%d commands stored, want 1", got)
	}
}

// TestSubmitRefusesAReusedRequestID: a different request under a used
// request_id is refused, whether the record or only the command exists.
func TestSubmitRefusesAReusedRequestID(t *testing.T) {
	e := newEnv(t)
	if _, err := e.sub.Submit(e.ctx, authorize(t, requestID, 443), nil); err != nil {
		t.Fatal(err)
	}
	var reused *ReusedError
	if _, err := e.sub.Submit(e.ctx, authorize(t, requestID, 80), nil); !errors.As(err, &reused) || reused.Operation != operations.Name(OperationID("alice", requestID)) {
		t.Fatalf("different request under the same request_id: %v, want ReusedError naming the operation", err)
	}

	// A command stored by a submitter that stopped before its record:
	// the duplicate JetStream reports is checked against it.
	other := "0b7c1f0e-8d1c-4c43-9a55-3a8f3f1f6a10"
	first := authorize(t, other, 22)
	body, _ := proto.Marshal(first)
	_, subject := Destination(first)
	if _, err := e.js.Publish(e.ctx, subject, body, jetstream.WithMsgID(first.GetOperationId())); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sub.Submit(e.ctx, authorize(t, other, 23), nil); !errors.As(err, &reused) {
		t.Fatalf("different request over a stored command without record: %v, want ReusedError", err)
	}
	if _, _, err := e.records.Get(e.ctx, first.GetOperationId()); !errors.Is(err, operations.ErrNotFound) {
		t.Errorf("a refused request wrote a record: %v", err)
	}
	// The same request completes the record the first submitter left out.
	rec, err := e.sub.Submit(e.ctx, authorize(t, other, 22), nil)
	if err != nil || rec.GetId() != first.GetOperationId() {
		t.Fatalf("same request over a stored command: %v, %v", rec.GetId(), err)
	}
}

// TestSubmitWithoutNATSIsUnavailable: with the connection down the
// answer is UnavailableError at once, and nothing is stored.
func TestSubmitWithoutNATSIsUnavailable(t *testing.T) {
	e := newEnv(t)
	e.js.Conn().Close()
	start := time.Now()
	_, err := e.sub.Submit(e.ctx, authorize(t, requestID, 443), nil)
	var unavailable *UnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("Submit with NATS closed: %v, want UnavailableError", err)
	}
	if time.Since(start) >= StoreTimeout {
		t.Errorf("Submit waited out its timeout instead of answering at once")
	}
}

// TestSubmitRollout: a rollout goes to the rollout stream, and afterStore
// runs once it is stored, before its operation record exists.
func TestSubmitRollout(t *testing.T) {
	e := newEnv(t)
	cmd := &palisadev1.Command{
		OperationId: OperationID("alice", requestID), Caller: "alice", RequestId: requestID, RequestHash: []byte("h"),
		Request: &palisadev1.Command_StartRollout{StartRollout: &palisadev1.StartRolloutRequest{RequestId: requestID}},
	}
	ran := false
	rec, err := e.sub.Submit(e.ctx, cmd, func(ctx context.Context) {
		ran = true
		if _, _, err := e.records.Get(ctx, cmd.GetOperationId()); !errors.Is(err, operations.ErrNotFound) {
			t.Errorf("afterStore ran after the record was written (%v)", err)
		}
	})
	if err != nil || !ran {
		t.Fatalf("Submit: %v, afterStore ran: %v", err, ran)
	}
	if rec.GetMetadata().GetRollout() != operations.RolloutNamePrefix+cmd.GetOperationId() {
		t.Errorf("record names rollout %q", rec.GetMetadata().GetRollout())
	}
	if got := e.stored(t, bus.RolloutStream); got != 1 {
		t.Errorf("%d rollouts stored, want 1", got)
	}
}

// TestSubmitAdoptsAChild: a rollout's child is its group's whatever rules
// its command carries, so a driver resubmitting it (with the rules it
// read lost, say) adopts the existing operation.
func TestSubmitAdoptsAChild(t *testing.T) {
	e := newEnv(t)
	first, err := e.sub.Submit(e.ctx, child(t, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.sub.Submit(e.ctx, child(t, false), nil)
	if err != nil || again.GetId() != first.GetId() {
		t.Fatalf("resubmitted child: %v, %v; want the first operation", again.GetId(), err)
	}
	if first.GetMetadata().GetRollout() != "rollouts/r1" {
		t.Errorf("child names rollout %q", first.GetMetadata().GetRollout())
	}
}

// TestEnsureRecord: a command met without its record gets one; an
// existing record is returned as it is.
func TestEnsureRecord(t *testing.T) {
	e := newEnv(t)
	cmd := authorize(t, requestID, 443)
	cmd.AcceptTime = nil
	rec, err := EnsureRecord(e.ctx, e.records, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetMetadata().GetCreateTime() == nil {
		t.Error("a record made from a command without accept time has no create time")
	}
	if _, err := e.records.Transition(e.ctx, rec.GetId(), func(r *palisadev1.OperationRecord) (string, error) {
		r.Metadata.State = palisadev1.OperationState_OPERATION_STATE_RUNNING
		return "", nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := EnsureRecord(e.ctx, e.records, cmd)
	if err != nil || got.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_RUNNING {
		t.Fatalf("existing record: %v, %v", got.GetMetadata().GetState(), err)
	}
}

// TestDestinationOfACreate: a create is ordered by its name as EC2
// compares names (case-insensitively, without trailing spaces) in its VPC.
func TestDestinationOfACreate(t *testing.T) {
	create := func(vpc, name string) string {
		_, subject := Destination(&palisadev1.Command{Request: &palisadev1.Command_CreateSecurityGroup{
			CreateSecurityGroup: &palisadev1.CreateSecurityGroupRequest{Location: loc, VpcId: vpc, GroupName: name}}})
		return subject
	}
	if create("vpc-1", "Web") != create("vpc-1", "web  ") {
		t.Error("names EC2 takes for the same differ in subject")
	}
	if create("vpc-1", "web") == create("vpc-2", "web") || create("vpc-1", "web") == create("vpc-1", "db") {
		t.Error("different groups share a subject")
	}
}

// TestSubmitOfACallerWhoLeftIsTheCallersError: a caller whose context
// ended gets its context's error, not UNAVAILABLE: the queue was not at
// fault.
func TestSubmitOfACallerWhoLeftIsTheCallersError(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.sub.Submit(ctx, authorize(t, requestID, 443), nil)
	var unavailable *UnavailableError
	if !errors.Is(err, context.Canceled) || errors.As(err, &unavailable) {
		t.Fatalf("Submit with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestFullQueueRefusesNewCommands: a command queue at its limit refuses a
// new command with FullError and keeps every accepted one.
func TestFullQueueRefusesNewCommands(t *testing.T) {
	top := bus.DefaultTopology(1)
	top.CommandMaxMsgs = 2
	e := newEnvOn(t, top)
	ctx, records, sub := e.ctx, e.records, e.sub
	ids := []string{"0b7c1f0e-8d1c-4c43-9a55-3a8f3f1f6a11", "0b7c1f0e-8d1c-4c43-9a55-3a8f3f1f6a12", "0b7c1f0e-8d1c-4c43-9a55-3a8f3f1f6a13"}
	for _, id := range ids[:2] {
		if _, err := sub.Submit(ctx, authorize(t, id, 443), nil); err != nil {
			t.Fatal(err)
		}
	}
	var full *FullError
	if _, err := sub.Submit(ctx, authorize(t, ids[2], 443), nil); !errors.As(err, &full) {
		t.Fatalf("third command on a queue of two: %v, want FullError", err)
	}
	if got := e.stored(t, bus.CommandStream); got != 2 {
		t.Errorf("%d commands stored, want the 2 accepted", got)
	}
	if _, _, err := records.Get(ctx, OperationID("alice", ids[2])); !errors.Is(err, operations.ErrNotFound) {
		t.Errorf("a refused command has a record: %v", err)
	}
}

// TestSubmitAfterTheDuplicateWindow: once the command stream has
// forgotten a request's message id, the record's create-if-absent still
// makes a repeat the same operation and a different request under the
// used request_id a ReusedError.
func TestSubmitAfterTheDuplicateWindow(t *testing.T) {
	const other = "0b7c1f0e-8d1c-4c43-9a55-3a8f3f1f6a10"
	topo := bus.DefaultTopology(1)
	topo.DuplicateWindow = 100 * time.Millisecond
	e := newEnvOn(t, topo)
	ctx, js, records, sub := e.ctx, e.js, e.records, e.sub
	rec, err := sub.Submit(ctx, authorize(t, requestID, 443), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * topo.DuplicateWindow)
	again, err := sub.Submit(ctx, authorize(t, requestID, 443), nil)
	if err != nil || again.GetId() != rec.GetId() || again.GetMetadata().GetCreateTime().AsTime() != rec.GetMetadata().GetCreateTime().AsTime() {
		t.Fatalf("repeat after the window: %v, %v; want the first operation", again, err)
	}
	var reused *ReusedError
	if _, err := sub.Submit(ctx, authorize(t, requestID, 80), nil); !errors.As(err, &reused) {
		t.Fatalf("different request after the window: %v, want ReusedError", err)
	}
	// The repeats indexed the operation again; a list shows it once.
	if list, _, err := records.List(ctx, operations.Query{Caller: "alice"}, 50, "", nil); err != nil || len(list) != 1 {
		t.Fatalf("list after repeats past the window: %d operations (%v), want 1", len(list), err)
	}

	// A rollout is looked up first: stored again, its second delivery
	// would drive it beside the first.
	ro := &palisadev1.Command{
		OperationId: OperationID("alice", other), Caller: "alice", RequestId: other, RequestHash: []byte("h"),
		Request: &palisadev1.Command_StartRollout{StartRollout: &palisadev1.StartRolloutRequest{RequestId: other}},
	}
	if _, err := sub.Submit(ctx, ro, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * topo.DuplicateWindow)
	if _, err := sub.Submit(ctx, proto.CloneOf(ro), nil); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, bus.RolloutStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("rollout stream holds %v messages (%v) after a repeat past the window, want 1", info.State.Msgs, err)
	}
}
