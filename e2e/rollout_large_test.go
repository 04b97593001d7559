package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/rollout"
)

// Large estate: 400 groups holding 50 described inbound rules each, about
// 2 MB of rules read while planning, twice NATS's 1 MB max payload.
const (
	largeGroups = 400
	largeRules  = 50
)

// TestRolloutLargePlan rolls a rule out to groups whose rules, as read
// while planning, are far more than one NATS message can hold, stops the
// driver and the worker midway and starts new ones. The rollout record
// stays small (the rules are in plan parts of their own), the resumed
// driver reads the parts back for the groups it starts, every group is
// changed exactly once, and the parts are dropped when the rollout ends.
func TestRolloutLargePlan(t *testing.T) {
	if testing.Short() {
		t.Skip("a rollout over many groups, restarted midway: long; make test runs it")
	}
	e := newEnv(t, envOptions{})
	stopWorker := e.startWorker(envWorker())
	stopRollouts := e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "large", largeGroups, map[string]string{"team": "payments"})
	client := e.ec2.Client(account, region)
	for i, id := range ids {
		perms := make([]types.IpPermission, largeRules)
		for r := range perms {
			perms[r] = types.IpPermission{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(int32(20000 + r)), ToPort: aws.Int32(int32(20000 + r)),
				IpRanges: []types.IpRange{{
					CidrIp:      aws.String(fmt.Sprintf("10.%d.%d.0/24", i%200, r)),
					Description: aws.String(fmt.Sprintf("service %03d port %d from the build farm, change ticket NET-%05d", r, 20000+r, i)),
				}},
			}
		}
		if _, err := client.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms}); err != nil {
			t.Fatal(err)
		}
	}
	e.sim.ResetCounters()

	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.250.0.0/16")}},
		Targets:  []*palisadev1.RolloutTarget{{Location: loc, Tags: map[string]string{"team": "payments"}}},
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 20},
	})
	id := strings.TrimPrefix(name, "rollouts/")
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool { return ro.GetProgress().GetSucceeded() >= 100 })
	stopRollouts()
	stopWorker()

	// Midway: a small record, and the rules read in parts that together
	// exceed what one message may carry.
	kv, err := e.js.KeyValue(e.ctx, bus.RolloutsBucket)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := &palisadev1.RolloutRecord{}
	if err := proto.Unmarshal(entry.Value(), rec); err != nil {
		t.Fatal(err)
	}
	if rollout.Terminal(rec.GetRollout().GetState()) || !rec.GetResolved() || len(rec.GetChildren()) != largeGroups {
		t.Fatalf("record midway: state %v, resolved %v, %d children", rec.GetRollout().GetState(), rec.GetResolved(), len(rec.GetChildren()))
	}
	maxPayload := int(e.js.Conn().MaxPayload())
	planBytes, parts := planPartBytes(t, e, kv, id, rec)
	t.Logf("record %d bytes; rules read %d bytes in %d parts; max payload %d", len(entry.Value()), planBytes, parts, maxPayload)
	if planBytes <= maxPayload || len(entry.Value()) > maxPayload/8 {
		t.Fatalf("rules read %d bytes, record %d bytes, max payload %d", planBytes, len(entry.Value()), maxPayload)
	}

	e.startWorker(envWorker())
	e.startRollouts(envWorker())
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != largeGroups {
		t.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}

	// Each group changed once, from the rules read while planning: every
	// child command (queued before or after the restart) carried them.
	authorized := map[string]int{}
	for _, c := range e.sim.CallLog() {
		if c.Action == "AuthorizeSecurityGroupIngress" && c.Outcome == "OK" {
			authorized[c.GroupID]++
		}
	}
	ops, err := e.js.KeyValue(e.ctx, bus.OperationsBucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range ids {
		if authorized[g] != 1 {
			t.Fatalf("group %s authorized %d times", g, authorized[g])
		}
		child, err := ops.Get(e.ctx, command.ChildID(id, account, region, g))
		if err != nil {
			t.Fatalf("child of %s: %v", g, err)
		}
		op := &palisadev1.OperationRecord{}
		if err := proto.Unmarshal(child.Value(), op); err != nil {
			t.Fatal(err)
		}
		apply := op.GetCommand().GetApplyRuleChange()
		if !apply.GetObserved() || len(apply.GetObservedIngress()) != largeRules {
			t.Fatalf("child of %s: observed %v, %d inbound permissions", g, apply.GetObserved(), len(apply.GetObservedIngress()))
		}
		if op.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Fatalf("child of %s ended %v", g, op.GetMetadata().GetState())
		}
	}
	in := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("tag:team"), Values: []string{"payments"}}}, MaxResults: aws.Int32(1000)}
	seen := 0
	for p := ec2.NewDescribeSecurityGroupsPaginator(client, in); p.HasMorePages(); {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.SecurityGroups {
			seen++
			if n := ingressRuleCount(g.IpPermissions); n != largeRules+1 {
				t.Fatalf("group %s has %d inbound rules, want %d", aws.ToString(g.GroupId), n, largeRules+1)
			}
		}
	}
	if seen != largeGroups {
		t.Fatalf("%d groups, want %d", seen, largeGroups)
	}

	// Nothing reads the parts once the rollout has ended.
	lister, err := kv.ListKeysFiltered(e.ctx, bus.RolloutPlanKeys(id))
	if err != nil {
		t.Fatal(err)
	}
	for k := range lister.Keys() {
		t.Errorf("plan part %s left after the rollout ended", k)
	}
}

// planPartBytes sums the plan parts the record names, checking each fits
// in a message.
func planPartBytes(t *testing.T, e *env, kv jetstream.KeyValue, id string, rec *palisadev1.RolloutRecord) (int, int) {
	t.Helper()
	total := 0
	for n := range int(rec.GetPlanParts()) {
		part, err := kv.Get(e.ctx, bus.RolloutPlanPartKey(id, rec.GetPlanDelivery(), n))
		if err != nil {
			t.Fatalf("plan part %d: %v", n, err)
		}
		if len(part.Value()) > rollout.MaxPartBytes {
			t.Fatalf("plan part %d: %d bytes", n, len(part.Value()))
		}
		total += len(part.Value())
	}
	return total, int(rec.GetPlanParts())
}

// ingressRuleCount counts rules the way EC2's quota does: one per source.
func ingressRuleCount(perms []types.IpPermission) int {
	n := 0
	for _, p := range perms {
		n += len(p.IpRanges) + len(p.Ipv6Ranges) + len(p.PrefixListIds) + len(p.UserIdGroupPairs)
	}
	return n
}
