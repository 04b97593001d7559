package e2e

import (
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/nats-io/nats.go/jetstream"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
)

// TestForeignCommandLeavesTheOperationAlone: a holder of the api role's
// NATS credentials publishes, under the id of an operation still running,
// commands that are not that operation's: one that fails validation (had
// it been refused as its own, the running operation would have ended
// FAILED), and one that passes it, copying the real command's caller and
// request hash but opening tcp 0-65535 to 0.0.0.0/0 on another group.
// Both are dead-lettered and counted, EC2 sees no call for them, and the
// operation runs to its own end untouched.
func TestForeignCommandLeavesTheOperationAlone(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{Infra: infratest.Options{Auth: true, AckWait: ackWait}, Workers: 1})
	e := &env{t: t, ctx: s.Context(), stack: s, js: s.JetStream, sim: s.Sim, ec2: s.EC2, sg: s.SecurityGroups, ops: s.Operations}
	ids := e.makeGroups(account, region, "foreign", 2, nil)
	real, other := ids[0], ids[1]
	// Every EC2 call of the real operation takes a while: it is still
	// running when the foreign commands are handled (they make no call).
	e.sim.SetFaults(0, 3*time.Second, 0)
	e.sim.ResetCounters()
	before := deadLetteredForeign(t)

	op, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: real, IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(op.GetName(), operations.NamePrefix)
	// Records are readable by the api role: the real command is there.
	entry, err := mustKV(t, e).Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := &palisadev1.OperationRecord{}
	if err := proto.Unmarshal(entry.Value(), rec); err != nil {
		t.Fatal(err)
	}
	original := rec.GetCommand()
	if original.GetAuthorizeIngress().GetGroupId() != real {
		t.Fatalf("the real command: %v", original)
	}

	zero, all := int32(0), int32(65535)
	wide := proto.Clone(original).(*palisadev1.Command)
	wide.Request = &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: other, IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &zero, ToPort: &all,
			IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}}}}}
	invalid := proto.Clone(wide).(*palisadev1.Command)
	invalid.Caller = ""

	_, forger := s.ConnectAs("forger", bus.RoleAPI)
	for i, cmd := range []*palisadev1.Command{invalid, wide} {
		body, err := proto.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		_, subject := command.Destination(cmd)
		if _, err := forger.Publish(e.ctx, subject, body, jetstream.WithMsgID("forged-"+itoa(i))); err != nil {
			t.Fatalf("publish as the api role: %v", err)
		}
	}

	e.deadLetter(id)
	deadline := time.Now().Add(30 * time.Second)
	for deadLetteredForeign(t)-before < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("foreign commands counted: %v, want 2", deadLetteredForeign(t)-before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.wait(&longrunningpb.Operation{Name: op.GetName()}); got.GetError() != nil {
		t.Fatalf("the real operation ended with %v", got.GetError())
	}
	e.sim.SetFaults(0, 0, 0)
	if n := len(e.ingress(account, region, real)); n != 1 {
		t.Fatalf("the real group has %d inbound rules, want its 1", n)
	}
	for _, c := range e.sim.CallLog() {
		if c.GroupID == other {
			t.Fatalf("a foreign command reached EC2: %+v", c)
		}
	}
	if entry, err = mustKV(t, e).Get(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	rec = &palisadev1.OperationRecord{}
	if err := proto.Unmarshal(entry.Value(), rec); err != nil {
		t.Fatal(err)
	}
	if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED || rec.GetCommand().GetAuthorizeIngress().GetGroupId() != real {
		t.Fatalf("the real operation's record: %v", rec.GetMetadata())
	}
	for _, ev := range rec.GetHistory() {
		if ev.GetState() == palisadev1.OperationState_OPERATION_STATE_FAILED {
			t.Fatalf("the real operation's history shows a failure: %v", rec.GetHistory())
		}
	}
	out, err := e.ec2.Client(account, region).DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{other}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 || len(out.SecurityGroups[0].IpPermissions) != 0 {
		t.Fatalf("the other group %s has inbound rules %v", other, out.SecurityGroups)
	}
}

// deadLetteredForeign reads the count of commands dead-lettered for not
// being their operation's.
func deadLetteredForeign(t *testing.T) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return value(byName, metrics.Namespace+"_commands_dead_lettered_total", "reason="+metrics.DeadLetterForeign)
}

// TestForeignRolloutLeavesTheRolloutAlone: the same on the rollout stream.
// A StartRollout published with the api role under the id of a running
// rollout, failing validation, is refused without ending that rollout's
// operation, which runs to its own end.
func TestForeignRolloutLeavesTheRolloutAlone(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{Infra: infratest.Options{Auth: true, AckWait: ackWait}, Workers: 1, Rollouts: 1})
	e := &env{t: t, ctx: s.Context(), stack: s, js: s.JetStream, sim: s.Sim, ec2: s.EC2, sg: s.SecurityGroups, ops: s.Operations}
	ids := e.makeGroups(account, region, "foreign-rollout", 2, nil)
	e.sim.SetFaults(0, 2*time.Second, 0)
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/8")}},
		Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	})
	id := strings.TrimPrefix(name, operations.RolloutNamePrefix)
	entry, err := mustKV(t, e).Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := &palisadev1.OperationRecord{}
	if err := proto.Unmarshal(entry.Value(), rec); err != nil {
		t.Fatal(err)
	}
	forged := proto.Clone(rec.GetCommand()).(*palisadev1.Command)
	if forged.GetStartRollout() == nil {
		t.Fatalf("the rollout's command: %v", forged)
	}
	forged.GetStartRollout().Change = &palisadev1.RuleChange{} // invalid: empty
	body, err := proto.Marshal(forged)
	if err != nil {
		t.Fatal(err)
	}
	_, subject := command.Destination(forged)
	_, forger := s.ConnectAs("forger", bus.RoleAPI)
	if _, err := forger.Publish(e.ctx, subject, body, jetstream.WithMsgID("forged-rollout")); err != nil {
		t.Fatalf("publish as the api role: %v", err)
	}
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != 2 {
		t.Fatalf("the rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	if op := e.rolloutOp(ro); op.GetError() != nil {
		t.Fatalf("the rollout's operation ended with %v", op.GetError())
	}
	e.sim.SetFaults(0, 0, 0)
	stream, err := e.js.Stream(e.ctx, bus.RolloutStream)
	if err != nil {
		t.Fatal(err)
	}
	// Both commands leave the stream: the rollout acked, the forged one
	// removed.
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := stream.Info(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout stream keeps %d commands, want none", info.State.Msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
