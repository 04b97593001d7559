package e2e

import (
	"context"
	"errors"
	"io"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// failedWith waits for op and checks it FAILED with EC2's code.
func (e *env) failedWith(op *longrunningpb.Operation, ec2Code string, grpcCode codes.Code) {
	e.t.Helper()
	done := e.wait(op)
	if done.GetError() == nil {
		e.t.Fatalf("operation %s succeeded, want FAILED with %s", op.GetName(), ec2Code)
	}
	st := status.FromProto(done.GetError())
	if st.Code() != grpcCode {
		e.t.Errorf("error code %v, want %v (%s)", st.Code(), grpcCode, st.Message())
	}
	var reason string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reason = info.GetReason()
		}
	}
	if reason != ec2Code {
		e.t.Errorf("ErrorInfo reason %q, want EC2's %q (%s)", reason, ec2Code, st.Message())
	}
	if md := metadata(e.t, done); md.GetState() != palisadev1.OperationState_OPERATION_STATE_FAILED {
		e.t.Errorf("state %v, want FAILED", md.GetState())
	}
}

// TestEC2TerminalErrorsFailTheOperation: EC2 refusals that no retry can
// fix end the operation as FAILED with EC2's code, at once.
func TestEC2TerminalErrorsFailTheOperation(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	c := e.ec2.Client(account, region)

	// A name someone else already took in the VPC (EC2 compares names
	// case-insensitively).
	if _, err := c.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("taken"), Description: aws.String("not ours")}); err != nil {
		t.Fatal(err)
	}
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "TAKEN", Description: "ours"})
	if err != nil {
		t.Fatal(err)
	}
	e.failedWith(op, "InvalidGroup.Duplicate", codes.AlreadyExists)

	// The rules quota: 60 inbound IPv4 rules fit, the 61st does not.
	op, err = e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "full", Description: "full",
		IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, manyCIDRs(60)...)}})
	if err != nil {
		t.Fatal(err)
	}
	full := e.succeeded(op).GetGroupId()
	op, err = e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: full,
		IpPermissions: []*palisadev1.IpPermission{tcp(80, 80, "192.168.0.0/16")}})
	if err != nil {
		t.Fatal(err)
	}
	e.failedWith(op, "RulesPerSecurityGroupLimitExceeded", codes.ResourceExhausted)

	// The default group cannot be deleted.
	def, err := c.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"default"}}}})
	if err != nil || len(def.SecurityGroups) != 1 {
		t.Fatalf("default group: %v %v", def, err)
	}
	op, err = e.sg.DeleteSecurityGroup(e.ctx, &palisadev1.DeleteSecurityGroupRequest{Location: loc, GroupId: aws.ToString(def.SecurityGroups[0].GroupId)})
	if err != nil {
		t.Fatal(err)
	}
	e.failedWith(op, "CannotDelete", codes.FailedPrecondition)
	if n := e.sim.Counters()["DeleteSecurityGroup"]["CannotDelete"]; n != 1 {
		t.Errorf("a terminal error was tried %d times, want once", n)
	}
}

// TestRetriesThroughEC2Faults: with a third of EC2's answers failing,
// operations still succeed, with the retries in their history.
func TestRetriesThroughEC2Faults(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1, sim: ec2sim.Options{FaultRate: 0.3, Seed: 7}})
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "flaky", Description: "flaky",
		IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	res := e.succeeded(op)
	for i := 0; i < 5; i++ {
		op, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: res.GetGroupId(),
			IpPermissions: []*palisadev1.IpPermission{tcp(int32(1000+i), int32(1000+i), "10.0.0.0/8")}})
		if err != nil {
			t.Fatal(err)
		}
		e.succeeded(op)
	}
	faults := e.sim.Counters()
	var injected int64
	for _, outcomes := range faults {
		injected += outcomes["InternalError"] + outcomes["Unavailable"]
	}
	if injected == 0 {
		t.Fatalf("no fault was injected: %v", faults)
	}
	e.sim.SetFaults(0, 0, 0)
	assertRules(t, e.ec2.Client(account, region), res.GetGroupId(), 6, 1)
}

// TestWatchAndCancel: a watcher sees every state in order; an operation
// no worker has started can be cancelled and is then never run.
func TestWatchAndCancel(t *testing.T) {
	e := newEnv(t, envOptions{workers: 0})
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "never", Description: "cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ops.CancelOperation(e.ctx, &longrunningpb.CancelOperationRequest{Name: op.GetName()}); err != nil {
		t.Fatal(err)
	}
	watched, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "watched", Description: "watched"})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := e.events.WatchOperation(e.ctx, &palisadev1.WatchOperationRequest{Name: watched.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if first.GetEvent().GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
		t.Fatalf("first event %v, want ACCEPTED", first.GetEvent())
	}
	e.startWorker(envWorker()) // the watcher now follows it live
	states := []palisadev1.OperationState{first.GetEvent().GetState()}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetEvent().GetSequence() != int32(len(states)+1) {
			t.Fatalf("event %d arrived as number %d", resp.GetEvent().GetSequence(), len(states)+1)
		}
		states = append(states, resp.GetEvent().GetState())
	}
	want := []palisadev1.OperationState{palisadev1.OperationState_OPERATION_STATE_ACCEPTED, palisadev1.OperationState_OPERATION_STATE_RUNNING, palisadev1.OperationState_OPERATION_STATE_SUCCEEDED}
	if len(states) != len(want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v", states, want)
		}
	}

	cancelled := e.wait(op)
	if md := metadata(t, cancelled); md.GetState() != palisadev1.OperationState_OPERATION_STATE_CANCELLED {
		t.Fatalf("cancelled operation is %v", md.GetState())
	}
	if n := len(groupsNamed(t, e.ec2.Client(account, region), "never")); n != 0 {
		t.Fatalf("a cancelled create made a group")
	}
	_, err = e.ops.CancelOperation(e.ctx, &longrunningpb.CancelOperationRequest{Name: watched.GetName()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("cancel of a finished operation: %v, want FailedPrecondition", err)
	}
	_, err = e.ops.GetOperation(context.Background(), &longrunningpb.GetOperationRequest{Name: "operations/0123456789abcdef0123456789abcdef"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown operation: %v, want NotFound", err)
	}
	_, err = e.ops.GetOperation(context.Background(), &longrunningpb.GetOperationRequest{Name: "operations/nope"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("malformed operation name: %v, want InvalidArgument", err)
	}
	list, err := e.ops.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{Filter: "state=CANCELLED"})
	if err != nil || len(list.GetOperations()) != 1 || list.GetOperations()[0].GetName() != op.GetName() {
		t.Fatalf("list state=CANCELLED: %v %v", list, err)
	}
	if _, err := e.ops.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{Filter: "colour=red"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad filter: %v, want InvalidArgument", err)
	}
}

// TestListOperationsPages pages through operations (AIP-158): every page
// but the last is full, the token leads on, and nothing repeats.
func TestListOperationsPages(t *testing.T) {
	e := newEnv(t, envOptions{workers: 0})
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		op, err := e.sg.DeleteSecurityGroup(e.ctx, &palisadev1.DeleteSecurityGroupRequest{Location: loc, GroupId: "sg-0123456789abcdef0"})
		if err != nil {
			t.Fatal(err)
		}
		want[op.GetName()] = true
	}
	got := map[string]bool{}
	var pages []int
	req := &longrunningpb.ListOperationsRequest{PageSize: 2}
	for {
		resp, err := e.ops.ListOperations(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(resp.GetOperations()))
		for _, op := range resp.GetOperations() {
			if got[op.GetName()] {
				t.Fatalf("%s listed twice", op.GetName())
			}
			got[op.GetName()] = true
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(pages) != 3 || pages[0] != 2 || pages[1] != 2 || pages[2] != 1 {
		t.Fatalf("page sizes %v, want [2 2 1]", pages)
	}
	for name := range want {
		if !got[name] {
			t.Errorf("%s never listed", name)
		}
	}
}
