package e2e

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// ruleIDsIn lists every rule id of the groups in one account and region.
func (e *env) ruleIDsIn(account, region string, groups []string) []string {
	e.t.Helper()
	var ids []string
	for _, g := range groups {
		for _, r := range e.ingress(account, region, g) {
			ids = append(ids, aws.ToString(r.SecurityGroupRuleId))
		}
	}
	slices.Sort(ids)
	return ids
}

// planOf asks for a rollout's plan (validate_only) and returns it.
func (e *env) planOf(req *palisadev1.StartRolloutRequest) *palisadev1.Rollout {
	e.t.Helper()
	op, err := e.rollouts().StartRollout(e.ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	plan := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(plan); err != nil {
		e.t.Fatal(err)
	}
	return plan
}

// TestRemediation finds world-open SSH in two accounts and regions, plans
// its removal (each group's losses by rule id, nothing stored), then runs
// it: exactly the planted rules are gone, every other rule is kept.
func TestRemediation(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	places := []*palisadev1.Location{loc, {AccountId: "444455556666", Region: "eu-west-1"}}
	planted := map[string]string{} // rule id → group
	all := map[int][]string{}
	for i, p := range places {
		groups := e.makeGroups(p.GetAccountId(), p.GetRegion(), "fix", 3, nil)
		all[i] = groups
		e.plant(p.GetAccountId(), p.GetRegion(), groups[0], ec2TCP(443, "0.0.0.0/0"))
		e.plant(p.GetAccountId(), p.GetRegion(), groups[1], ec2TCP(22, "10.0.0.0/8"))
		planted[e.plant(p.GetAccountId(), p.GetRegion(), groups[1], ec2TCP(22, "0.0.0.0/0"))] = groups[1]
		planted[e.plant(p.GetAccountId(), p.GetRegion(), groups[2], types.IpPermission{IpProtocol: aws.String("tcp"),
			FromPort: aws.Int32(0), ToPort: aws.Int32(1024), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})] = groups[2]
	}
	var before []string
	for i, p := range places {
		before = append(before, e.ruleIDsIn(p.GetAccountId(), p.GetRegion(), all[i])...)
	}
	remediation := &palisadev1.RolloutRemediation{
		Search: &palisadev1.SearchSecurityGroupsRequest{Targets: places, RulePredicates: []*palisadev1.RulePredicate{worldSSH}},
		Action: palisadev1.RolloutRemediation_ACTION_REVOKE_MATCHING_RULES,
	}

	// The plan: each group's losses, by id; nothing stored.
	stored := e.commandsStored()
	plan := e.planOf(&palisadev1.StartRolloutRequest{ValidateOnly: true, Remediation: remediation})
	lost := map[string]string{}
	for _, lp := range plan.GetPlan().GetLocations() {
		for _, gp := range lp.GetGroupPlans() {
			for _, r := range gp.GetLosses() {
				lost[r.GetSecurityGroupRuleId()] = gp.GetGroupId()
			}
			if len(gp.GetGains()) != 0 || gp.GetIngressRemoved() != int32(len(gp.GetLosses())) {
				t.Errorf("group %s: plan removes %d, loses %v, gains %v", gp.GetGroupId(), gp.GetIngressRemoved(), gp.GetLosses(), gp.GetGains())
			}
		}
	}
	if fmt.Sprint(lost) != fmt.Sprint(planted) {
		t.Fatalf("the plan loses %v, want the planted %v", lost, planted)
	}
	if e.commandsStored() != stored {
		t.Fatal("the plan stored a command")
	}

	// The rollout: the derived change and targets are what it shows.
	name := e.startRollout(&palisadev1.StartRolloutRequest{RequestId: "5b0d9c3e-2f6a-4e1b-8c7d-9a0b1c2d3e4f", Remediation: remediation})
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != 4 {
		t.Fatalf("rollout ended %v (%s), progress %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	if n := len(ro.GetChange().GetRevokeIngress()); n != 2 || len(ro.GetTargets()) != 2 {
		t.Errorf("derived change %v, targets %v", ro.GetChange(), ro.GetTargets())
	}
	var after []string
	for i, p := range places {
		after = append(after, e.ruleIDsIn(p.GetAccountId(), p.GetRegion(), all[i])...)
	}
	var want []string
	for _, id := range before {
		if _, gone := planted[id]; !gone {
			want = append(want, id)
		}
	}
	if !slices.Equal(after, want) {
		t.Fatalf("rules after %v, want %v", after, want)
	}

	// Nothing left to remediate; bad input names its fields.
	if _, err := e.rollouts().StartRollout(e.ctx, &palisadev1.StartRolloutRequest{Remediation: remediation}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("remediating a clean fleet: %v, want FailedPrecondition", err)
	}
	_, err := e.rollouts().StartRollout(e.ctx, &palisadev1.StartRolloutRequest{
		Change:  &palisadev1.RuleChange{RevokeIngress: []*palisadev1.IpPermission{tcp(22, 22, "0.0.0.0/0")}},
		Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: all[0]}},
		Remediation: &palisadev1.RolloutRemediation{Search: &palisadev1.SearchSecurityGroupsRequest{
			Targets: []*palisadev1.Location{{AccountId: "1", Region: region}}}},
	})
	named := fieldsOf(t, err)
	for _, f := range []string{"change", "targets", "remediation.search.targets[0].account_id", "remediation.search.rule_predicates", "remediation.action"} {
		if !slices.Contains(named, f) {
			t.Errorf("field %s not named; violations: %v", f, named)
		}
	}
}

// TestRemediationReplacesThePeer narrows world-open SSH to 10.0.0.0/8:
// each matching rule is replaced by the same rule from the new peer, its
// description kept; a group already holding the narrow rule only loses
// the open one; a rule of the other family cannot be replaced, and nothing
// is stored.
func TestRemediationReplacesThePeer(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	groups := e.makeGroups(account, region, "narrow", 2, nil)
	open := ec2TCP(22, "0.0.0.0/0")
	open.IpRanges[0].Description = aws.String("bastion")
	e.plant(account, region, groups[0], open)
	e.plant(account, region, groups[1], ec2TCP(22, "0.0.0.0/0"))
	e.plant(account, region, groups[1], ec2TCP(22, "10.0.0.0/8"))
	remediation := &palisadev1.RolloutRemediation{
		Search: &palisadev1.SearchSecurityGroupsRequest{Targets: []*palisadev1.Location{loc}, RulePredicates: []*palisadev1.RulePredicate{worldSSH}},
		Action: palisadev1.RolloutRemediation_ACTION_REPLACE_PEER_CIDR, ReplacementCidr: "10.0.0.0/8",
	}
	plan := e.planOf(&palisadev1.StartRolloutRequest{ValidateOnly: true, Remediation: remediation})
	for _, gp := range plan.GetPlan().GetLocations()[0].GetGroupPlans() {
		if len(gp.GetLosses()) != 1 || len(gp.GetGains()) != 1 || gp.GetGains()[0].GetCidrIpv4() != "10.0.0.0/8" {
			t.Errorf("group %s: loses %v, gains %v", gp.GetGroupId(), gp.GetLosses(), gp.GetGains())
		}
		// The group holding the narrow rule already adds nothing.
		if want := map[string]int32{groups[0]: 1, groups[1]: 0}[gp.GetGroupId()]; gp.GetIngressAdded() != want || gp.GetIngressRemoved() != 1 {
			t.Errorf("group %s: adds %d, removes %d", gp.GetGroupId(), gp.GetIngressAdded(), gp.GetIngressRemoved())
		}
	}

	ro := e.watchRollout(e.startRollout(&palisadev1.StartRolloutRequest{Remediation: remediation}), nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || len(ro.GetGroupChanges()) != 2 {
		t.Fatalf("rollout ended %v (%s), group changes %v", ro.GetState(), ro.GetStateReason(), ro.GetGroupChanges())
	}
	for i, g := range groups {
		rs := e.ingress(account, region, g)
		if len(rs) != 1 || aws.ToString(rs[0].CidrIpv4) != "10.0.0.0/8" || aws.ToInt32(rs[0].FromPort) != 22 {
			t.Fatalf("group %d ingress %v", i, rs)
		}
		if want := []string{"bastion", ""}[i]; aws.ToString(rs[0].Description) != want {
			t.Errorf("group %d: description %q, want %q", i, aws.ToString(rs[0].Description), want)
		}
	}

	// An IPv6 rule cannot take an IPv4 peer: refused, nothing stored.
	e.plant(account, region, groups[0], types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}})
	v6 := &palisadev1.RulePredicate{Direction: palisadev1.RulePredicate_DIRECTION_INGRESS, Port: int32p(22), CidrContains: "::/0"}
	stored := e.commandsStored()
	_, err := e.rollouts().StartRollout(e.ctx, &palisadev1.StartRolloutRequest{Remediation: &palisadev1.RolloutRemediation{
		Search: &palisadev1.SearchSecurityGroupsRequest{Targets: []*palisadev1.Location{loc}, RulePredicates: []*palisadev1.RulePredicate{v6}},
		Action: palisadev1.RolloutRemediation_ACTION_REPLACE_PEER_CIDR, ReplacementCidr: "10.0.0.0/8",
	}})
	if status.Code(err) != codes.FailedPrecondition || e.commandsStored() != stored {
		t.Fatalf("replacing an IPv6 peer with an IPv4 one: %v", err)
	}
	_, err = e.rollouts().StartRollout(e.ctx, &palisadev1.StartRolloutRequest{Remediation: &palisadev1.RolloutRemediation{
		Search: remediation.GetSearch(), Action: palisadev1.RolloutRemediation_ACTION_REPLACE_PEER_CIDR, ReplacementCidr: "10.1.2.3/8",
	}})
	if named := fieldsOf(t, err); !slices.Contains(named, "remediation.replacement_cidr") {
		t.Errorf("a replacement with host bits: violations %v", named)
	}
}
