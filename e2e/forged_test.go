package e2e

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/services"
	"github.com/palisadehq/palisade/workers"
)

// TestForgedCommandsNeverReachEC2 publishes commands the way an attacker
// with access to the command subjects would: straight onto the subject the
// API uses (command.Destination), with ids of Palisade's shape, bypassing
// the API's validation and policy. The worker re-validates each: the
// operation ends FAILED (INVALID_ARGUMENT with a BadRequest, or
// PERMISSION_DENIED for reserved tags), the command is dead-lettered, and
// the local EC2 endpoint's call log shows no call at all.
func TestForgedCommandsNeverReachEC2(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.startWorker(workers.Options{})

	zero, full := int32(0), int32(65535)
	forged := []struct {
		name  string
		cmd   *palisadev1.Command
		code  codes.Code
		field string // a field the BadRequest names
	}{
		{"create with aws: and marker tags", &palisadev1.Command{
			Caller: services.LocalCaller,
			Request: &palisadev1.Command_CreateSecurityGroup{CreateSecurityGroup: &palisadev1.CreateSecurityGroupRequest{
				Location: loc, GroupName: "forged", Description: "forged",
				Tags: map[string]string{"aws:cloudformation:stack-name": "x", command.MarkerTagKey: "0123456789abcdef0123456789abcdef"},
			}},
		}, codes.PermissionDenied, "tags"},
		{"authorize of an invalid rule", &palisadev1.Command{
			Caller: services.LocalCaller,
			Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
				Location: loc, GroupId: "sg-0123456789abcdef0",
				IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &full, ToPort: &zero,
					IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}, {CidrIp: "300.0.0.0/8"}}}},
			}},
		}, codes.InvalidArgument, "ip_permissions[0].ip_ranges[1].cidr_ip"},
		{"command without caller", &palisadev1.Command{
			Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
				Location: loc, GroupId: "sg-0123456789abcdef0", IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.0.0.0/8")},
			}},
		}, codes.InvalidArgument, "caller"},
		{"rule change of no rollout", &palisadev1.Command{
			Caller: services.LocalCaller,
			Request: &palisadev1.Command_ApplyRuleChange{ApplyRuleChange: &palisadev1.ApplyRuleChange{
				Location: loc, GroupId: "sg-0123456789abcdef0",
				Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(22, 22, "0.0.0.0/0")}},
			}},
		}, codes.InvalidArgument, "rollout"},
		{"command of no kind", &palisadev1.Command{Caller: services.LocalCaller}, codes.InvalidArgument, "request"},
	}
	for i, f := range forged {
		f.cmd.OperationId = command.OperationID(f.cmd.GetCaller(), "forged-"+f.name)
		f.cmd.RequestHash = []byte{byte(i)}
		_, subject := command.Destination(f.cmd)
		if f.cmd.GetRequest() == nil {
			subject = bus.CommandSubject(account, region, "sg-0123456789abcdef0")
		}
		body, err := proto.Marshal(f.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.js.Publish(e.ctx, subject, body, jetstream.WithMsgID(f.cmd.GetOperationId())); err != nil {
			t.Fatalf("%s: publish: %v", f.name, err)
		}
	}
	garbage, err := e.js.Publish(e.ctx, bus.CommandSubject(account, region, "sg-0123456789abcdef0"), []byte("\xff\xff not a command"))
	if err != nil {
		t.Fatal(err)
	}

	for _, f := range forged {
		id := f.cmd.GetOperationId()
		e.deadLetter(id)
		// The dead letter is written before the record that says why.
		e.awaitRecord(operations.Name(id))
		op := e.wait(&longrunningpb.Operation{Name: operations.Name(id)})
		st := status.FromProto(op.GetError())
		if !op.GetDone() || st.Code() != f.code {
			t.Errorf("%s: operation done=%v error %v, want %v", f.name, op.GetDone(), st, f.code)
			continue
		}
		named := false
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					named = named || v.GetField() == f.field
				}
			}
		}
		if !named {
			t.Errorf("%s: the BadRequest of %v does not name %s", f.name, st.Details(), f.field)
		}
	}
	e.deadLetter("undecodable-" + strconv.FormatUint(garbage.Sequence, 10))

	if calls := e.sim.CallLog(); len(calls) != 0 {
		t.Fatalf("forged commands reached EC2: %+v", calls)
	}
	cmds, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cmds.Info(e.ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("work queue after the refusals: %v %v, want empty", info.State.Msgs, err)
	}
}

// awaitRecord waits until the operation name has a record: one no API
// accepted gets it from the worker or driver that refuses its command.
func (e *env) awaitRecord(name string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := e.ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		if status.Code(err) != codes.NotFound {
			return
		}
		if ctx.Err() != nil {
			e.t.Fatalf("no record for %s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deadLetter waits until the dead-letter stream holds a message for id.
func (e *env) deadLetter(id string) {
	e.t.Helper()
	dl, err := e.js.Stream(e.ctx, bus.DeadLetterStream)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject(id))
		if err == nil {
			return
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) || ctx.Err() != nil {
			e.t.Fatalf("no dead letter for %s: %v", id, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestForgedRolloutNeverReachesEC2: rollouts published straight onto the
// rollout stream, past the API, that the API would refuse (a bad change;
// a malformed target the driver would otherwise look up in EC2) are
// refused by the driver before it reads a single group: each operation
// ends FAILED with the field named, and EC2 sees no call.
func TestForgedRolloutNeverReachesEC2(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.startRollouts(workers.Options{})
	https := &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/8")}}
	forged := []struct {
		name  string
		req   *palisadev1.StartRolloutRequest
		field string
	}{
		{"bad change", &palisadev1.StartRolloutRequest{
			Targets: []*palisadev1.RolloutTarget{{Location: loc, Tags: map[string]string{"team": "payments"}}},
			Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{{IpProtocol: "all", IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}}}},
		}, "change.authorize_ingress[0].ip_protocol"},
		{"malformed target", &palisadev1.StartRolloutRequest{
			Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: []string{"group-1"}}},
			Change:  https,
		}, "targets[0].group_ids[0]"},
	}
	for _, f := range forged {
		cmd := &palisadev1.Command{Caller: services.LocalCaller, RequestHash: []byte(f.name),
			Request: &palisadev1.Command_StartRollout{StartRollout: f.req}}
		cmd.OperationId = command.OperationID(cmd.GetCaller(), "forged-rollout-"+f.name)
		body, err := proto.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		_, subject := command.Destination(cmd)
		if _, err := e.js.Publish(e.ctx, subject, body, jetstream.WithMsgID(cmd.GetOperationId())); err != nil {
			t.Fatal(err)
		}
		// No API wrote its record: the driver does, as it refuses it.
		name := operations.Name(cmd.GetOperationId())
		e.awaitRecord(name)
		op := e.wait(&longrunningpb.Operation{Name: name})
		st := status.FromProto(op.GetError())
		if st.Code() != codes.InvalidArgument {
			t.Fatalf("%s: %v, want INVALID_ARGUMENT", f.name, st)
		}
		named := false
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					named = named || v.GetField() == f.field
				}
			}
		}
		if !named {
			t.Errorf("%s: the BadRequest of %v does not name %s", f.name, st.Details(), f.field)
		}
	}
	if calls := e.sim.CallLog(); len(calls) != 0 {
		t.Fatalf("a forged rollout reached EC2: %+v", calls)
	}
	rs, err := e.js.Stream(e.ctx, bus.RolloutStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := rs.Info(e.ctx); err != nil || info.State.Msgs != 0 {
		t.Fatalf("rollout stream after the refusals: %v %v, want empty", info.State.Msgs, err)
	}
}
