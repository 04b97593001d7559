package e2e

import (
	"testing"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/services"
)

// TestRequestIDReturnsTheSameOperation: the same request_id with the same
// payload returns the same operation and queues one command; a different
// payload under it is refused.
func TestRequestIDReturnsTheSameOperation(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	req := &palisadev1.CreateSecurityGroupRequest{
		RequestId: uuid.NewString(), Location: loc, GroupName: "idem", Description: "idempotent create",
	}
	before := queued(t, e)
	first, err := e.sg.CreateSecurityGroup(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.sg.CreateSecurityGroup(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetName() != again.GetName() {
		t.Fatalf("same request_id gave %s and %s", first.GetName(), again.GetName())
	}
	res := e.succeeded(first)
	// After it ended, the retry still returns it, done, with its result.
	late, err := e.sg.CreateSecurityGroup(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if late.GetName() != first.GetName() || !late.GetDone() {
		t.Fatalf("retry after the end: %v", late)
	}
	if n := queued(t, e) - before; n != 1 {
		t.Fatalf("%d commands stored for one request id, want 1", n)
	}
	if got := e.sim.Counters()["CreateSecurityGroup"]["OK"]; got != 1 {
		t.Fatalf("EC2 saw %d creates, want 1", got)
	}

	changed := proto.Clone(req).(*palisadev1.CreateSecurityGroupRequest)
	changed.Description = "something else"
	_, err = e.sg.CreateSecurityGroup(e.ctx, changed)
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("different payload, same request_id: %v, want FailedPrecondition", err)
	}
	var pf bool
	for _, d := range st.Details() {
		if p, ok := d.(*errdetails.PreconditionFailure); ok && len(p.GetViolations()) > 0 && p.GetViolations()[0].GetSubject() == "request_id" {
			pf = true
		}
	}
	if !pf {
		t.Errorf("no PreconditionFailure naming request_id in %v", st.Details())
	}

	// No request_id: every request is new.
	a, err := e.sg.DeleteSecurityGroup(e.ctx, &palisadev1.DeleteSecurityGroupRequest{Location: loc, GroupId: res.GetGroupId(), ValidateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.GetName() != "" || !a.GetDone() {
		t.Fatalf("validate_only stored an operation: %v", a)
	}
}

// TestCommandStoredButRecordNotWritten covers the API dying after
// JetStream stored the command and before it wrote the record: the worker
// writes the record and runs the command, and a retry of the request finds
// that operation.
func TestCommandStoredButRecordNotWritten(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	req := &palisadev1.CreateSecurityGroupRequest{
		RequestId: uuid.NewString(), Location: loc, GroupName: "orphan", Description: "stored without a record",
	}
	id := command.OperationID(services.LocalCaller, req.GetRequestId())
	hash := requestHashOf(t, req)
	cmd := &palisadev1.Command{
		OperationId: id, Caller: services.LocalCaller, RequestId: req.GetRequestId(), RequestHash: hash,
		AcceptTime: timestamppb.Now(),
		Request:    &palisadev1.Command_CreateSecurityGroup{CreateSecurityGroup: req},
	}
	b, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.Publish(e.ctx, bus.CommandSubject(account, region, "new-orphan"), b); err != nil {
		t.Fatal(err)
	}
	op, err := e.sg.CreateSecurityGroup(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if op.GetName() != "operations/"+id {
		t.Fatalf("retry got %s, want operations/%s", op.GetName(), id)
	}
	e.succeeded(op)
	if got := e.sim.Counters()["CreateSecurityGroup"]["OK"]; got != 1 {
		t.Fatalf("EC2 saw %d creates, want 1", got)
	}
}

// requestHashOf fingerprints a request the way the API does.
func requestHashOf(t *testing.T, req *palisadev1.CreateSecurityGroupRequest) []byte {
	t.Helper()
	h, err := command.RequestHash(req)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
