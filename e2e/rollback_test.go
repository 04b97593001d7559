package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// snapshot describes every rule (by content, with its description) and
// the tags of the groups, one line each, sorted: what a rollback must
// restore. Rule ids are left out: a rule added again gets a new one.
func (e *env) snapshot(places []*palisadev1.Location, groups map[int][]string) []string {
	e.t.Helper()
	var out []string
	for i, p := range places {
		client := e.ec2.Client(p.GetAccountId(), p.GetRegion())
		for _, g := range groups[i] {
			rs, err := client.DescribeSecurityGroupRules(e.ctx, &ec2.DescribeSecurityGroupRulesInput{
				Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g}}}})
			if err != nil {
				e.t.Fatal(err)
			}
			for _, r := range rs.SecurityGroupRules {
				out = append(out, fmt.Sprintf("%s egress=%v %s %d-%d %s%s desc=%q", g, aws.ToBool(r.IsEgress), aws.ToString(r.IpProtocol),
					aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), aws.ToString(r.CidrIpv4), aws.ToString(r.CidrIpv6), aws.ToString(r.Description)))
			}
			gs, err := client.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{
				Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g}}}})
			if err != nil {
				e.t.Fatal(err)
			}
			for _, t := range gs.SecurityGroups[0].Tags {
				out = append(out, fmt.Sprintf("%s tag %s=%s", g, aws.ToString(t.Key), aws.ToString(t.Value)))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestRollbackOfRemediation: a remediation followed by its rollback leaves
// every group as it was, rules (with their descriptions) and tags; a rule
// put back by hand meanwhile is reported, not added twice.
func TestRollbackOfRemediation(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	places := []*palisadev1.Location{loc, {AccountId: "444455556666", Region: "eu-west-1"}}
	groups := map[int][]string{}
	for i, p := range places {
		groups[i] = e.makeGroups(p.GetAccountId(), p.GetRegion(), "undo", 3, map[string]string{"team": "payments"})
		open := ec2TCP(22, "0.0.0.0/0")
		open.IpRanges[0].Description = aws.String("legacy bastion")
		e.plant(p.GetAccountId(), p.GetRegion(), groups[i][0], open)
		e.plant(p.GetAccountId(), p.GetRegion(), groups[i][0], ec2TCP(443, "0.0.0.0/0"))
		e.plant(p.GetAccountId(), p.GetRegion(), groups[i][1], types.IpPermission{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
		e.plant(p.GetAccountId(), p.GetRegion(), groups[i][2], ec2TCP(22, "10.0.0.0/8"))
	}
	before := e.snapshot(places, groups)

	fix := e.watchRollout(e.startRollout(&palisadev1.StartRolloutRequest{Remediation: &palisadev1.RolloutRemediation{
		Search: &palisadev1.SearchSecurityGroupsRequest{Targets: places, RulePredicates: []*palisadev1.RulePredicate{worldSSH}},
		Action: palisadev1.RolloutRemediation_ACTION_REVOKE_MATCHING_RULES,
	}}), nil)
	if fix.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || fix.GetProgress().GetSucceeded() != 4 {
		t.Fatalf("remediation ended %v (%s), progress %v", fix.GetState(), fix.GetStateReason(), fix.GetProgress())
	}
	if slices.Equal(e.snapshot(places, groups), before) {
		t.Fatal("the remediation changed nothing")
	}

	// The plan: each group gains back exactly what it lost.
	op, err := e.rollouts().RollbackRollout(e.ctx, &palisadev1.RollbackRolloutRequest{Name: fix.GetName(), ValidateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	plan := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(plan); err != nil {
		t.Fatal(err)
	}
	gains := 0
	for _, lp := range plan.GetPlan().GetLocations() {
		for _, gp := range lp.GetGroupPlans() {
			gains += len(gp.GetGains())
			if len(gp.GetLosses()) != 0 || gp.GetIngressAdded() != int32(len(gp.GetGains())) {
				t.Errorf("group %s: adds %d, gains %v, loses %v", gp.GetGroupId(), gp.GetIngressAdded(), gp.GetGains(), gp.GetLosses())
			}
		}
	}
	if gains != 4 || plan.GetRollbackOf() != fix.GetName() {
		t.Fatalf("the plan gains %d rules, rolls back %q", gains, plan.GetRollbackOf())
	}

	back := e.watchRollout(e.startRollback(&palisadev1.RollbackRolloutRequest{Name: fix.GetName(), RequestId: "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"}), nil)
	if back.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || back.GetProgress().GetSucceeded() != 4 {
		t.Fatalf("rollback ended %v (%s), progress %v", back.GetState(), back.GetStateReason(), back.GetProgress())
	}
	if after := e.snapshot(places, groups); !slices.Equal(after, before) {
		t.Fatalf("after the rollback:\n%s\nbefore:\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}

	// Rolling back the rollback removes them again; a rule put back by hand
	// meanwhile is reported as drift and left alone.
	again := e.watchRollout(e.startRollback(&palisadev1.RollbackRolloutRequest{Name: back.GetName()}), nil)
	if again.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("rollback of the rollback ended %v (%s)", again.GetState(), again.GetStateReason())
	}
	e.plant(account, region, groups[0][0], ec2TCP(22, "0.0.0.0/0"))
	op, err = e.rollouts().RollbackRollout(e.ctx, &palisadev1.RollbackRolloutRequest{Name: again.GetName(), ValidateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.GetResponse().UnmarshalTo(plan); err != nil {
		t.Fatal(err)
	}
	drift := 0
	for _, g := range plan.GetGroupChanges() {
		drift += len(g.GetDrift())
		if g.GetGroupId() == groups[0][0] && (len(g.GetDrift()) != 1 || len(g.GetChange().GetAuthorizeIngress()) != 0) {
			t.Errorf("the group with the rule back: %v", g)
		}
	}
	if drift != 1 || plan.GetPlan().GetTotalGroups() != 3 {
		t.Fatalf("drift %d, groups %d: %v", drift, plan.GetPlan().GetTotalGroups(), plan.GetGroupChanges())
	}

	// Bad input.
	if _, err := e.rollouts().RollbackRollout(e.ctx, &palisadev1.RollbackRolloutRequest{Name: "rollouts/0123456789abcdef0123456789abcdef"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown rollout: %v", err)
	}
	if named := fieldsOf(t, errOf(e.rollouts().RollbackRollout(e.ctx, &palisadev1.RollbackRolloutRequest{Name: "x", RequestId: "y"}))); !slices.Contains(named, "name") || !slices.Contains(named, "request_id") {
		t.Errorf("bad rollback: violations %v", named)
	}
	_, err = e.rollouts().StartRollout(e.ctx, &palisadev1.StartRolloutRequest{RollbackOf: fix.GetName(),
		Change: &palisadev1.RuleChange{RevokeIngress: []*palisadev1.IpPermission{tcp(22, 22, "0.0.0.0/0")}}, Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: groups[0]}}})
	if named := fieldsOf(t, err); !slices.Contains(named, "rollback_of") {
		t.Errorf("a caller's rollback_of: violations %v", named)
	}
}

// errOf drops a call's answer and keeps its error.
func errOf[T any](_ T, err error) error { return err }

// startRollback starts a rollback and returns the new rollout's name.
func (e *env) startRollback(req *palisadev1.RollbackRolloutRequest) string {
	e.t.Helper()
	op, err := e.rollouts().RollbackRollout(e.ctx, req)
	if err != nil {
		e.t.Fatalf("rollback: %v", err)
	}
	return metadata(e.t, op).GetRollout()
}
