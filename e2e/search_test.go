package e2e

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// search runs a fleet search to its end and returns its answers.
func (e *env) search(req *palisadev1.SearchSecurityGroupsRequest) ([]*palisadev1.SearchSecurityGroupsResponse, error) {
	e.t.Helper()
	stream, err := e.sg.SearchSecurityGroups(e.ctx, req)
	if err != nil {
		return nil, err
	}
	var out []*palisadev1.SearchSecurityGroupsResponse
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
}

// plant adds one inbound rule straight on the EC2 endpoint and returns
// its id.
func (e *env) plant(account, region, groupID string, perm types.IpPermission) string {
	e.t.Helper()
	out, err := e.ec2.Client(account, region).AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(groupID), IpPermissions: []types.IpPermission{perm}})
	if err != nil {
		e.t.Fatalf("plant a rule: %v", err)
	}
	return aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)
}

func ec2TCP(port int32, cidr string) types.IpPermission {
	return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []types.IpRange{{CidrIp: aws.String(cidr)}}}
}

var worldSSH = &palisadev1.RulePredicate{Direction: palisadev1.RulePredicate_DIRECTION_INGRESS, Protocol: "tcp", Port: int32p(22), CidrContains: "0.0.0.0/0"}

// TestSearchSecurityGroups asks three accounts and two regions which
// groups allow 22 from anywhere and which have no rules, and gets exactly
// the planted ones, with the matching rules' ids.
func TestSearchSecurityGroups(t *testing.T) {
	e := newEnv(t, envOptions{})
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	regions := []string{"us-east-1", "eu-west-1"}
	var targets []*palisadev1.Location
	wantSSH := map[string]string{} // group → rule id
	var empty string
	for ai, a := range accounts {
		for ri, r := range regions {
			targets = append(targets, &palisadev1.Location{AccountId: a, Region: r})
			groups := e.makeGroups(a, r, "search", 4, nil)
			e.plant(a, r, groups[0], ec2TCP(443, "0.0.0.0/0"))
			e.plant(a, r, groups[1], ec2TCP(22, "10.0.0.0/8"))
			if ai == ri { // (0, us-east-1) and (1, eu-west-1)
				wantSSH[groups[2]] = e.plant(a, r, groups[2], ec2TCP(22, "0.0.0.0/0"))
			}
			if ai == 2 && ri == 0 {
				wantSSH[groups[3]] = e.plant(a, r, groups[3], types.IpPermission{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
			}
			if ai == 0 && ri == 1 {
				out, err := e.ec2.Client(a, r).RevokeSecurityGroupEgress(e.ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(groups[3]),
					IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
				if err != nil || !aws.ToBool(out.Return) {
					t.Fatalf("revoke default egress: %v", err)
				}
				empty = groups[3]
			}
		}
	}

	res, err := e.search(&palisadev1.SearchSecurityGroupsRequest{Targets: targets, RulePredicates: []*palisadev1.RulePredicate{worldSSH}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res {
		if r.GetError() != nil {
			t.Fatalf("target %v failed: %v", r.GetLocation(), r.GetError())
		}
		if len(r.GetMatchingRules()) != 1 {
			t.Fatalf("group %s: matching rules %v", r.GetSecurityGroup().GetGroupId(), r.GetMatchingRules())
		}
		if r.GetLocation().GetAccountId() != r.GetSecurityGroup().GetOwnerId() {
			t.Errorf("group %s answered under %v", r.GetSecurityGroup().GetGroupId(), r.GetLocation())
		}
		got[r.GetSecurityGroup().GetGroupId()] = r.GetMatchingRules()[0].GetSecurityGroupRuleId()
	}
	if fmt.Sprint(got) != fmt.Sprint(wantSSH) {
		t.Fatalf("world-open 22: %v, want %v", got, wantSSH)
	}

	one := func(req *palisadev1.SearchSecurityGroupsRequest) []string {
		t.Helper()
		res, err := e.search(req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range res {
			ids = append(ids, r.GetSecurityGroup().GetGroupId())
		}
		slices.Sort(ids)
		return ids
	}
	// No group here references another account's: the predicate finds
	// none (search_crossaccount_test.go plants one across a peering).
	if got := one(&palisadev1.SearchSecurityGroupsRequest{Targets: targets, RulePredicates: []*palisadev1.RulePredicate{{ReferencesOtherAccount: true}}}); len(got) != 0 {
		t.Errorf("cross-account references: %v", got)
	}
	if got := one(&palisadev1.SearchSecurityGroupsRequest{Targets: targets, WithoutRules: true}); !slices.Equal(got, []string{empty}) {
		t.Errorf("groups without rules: %v, want %s", got, empty)
	}
	// EC2's filters narrow the search first.
	if got := one(&palisadev1.SearchSecurityGroupsRequest{Targets: targets[:1], RulePredicates: []*palisadev1.RulePredicate{worldSSH},
		Filters: []*palisadev1.Filter{{Name: "group-name", Values: []string{"search-3"}}}}); len(got) != 0 {
		t.Errorf("filtered by name: %v", got)
	}

	_, err = e.search(&palisadev1.SearchSecurityGroupsRequest{Targets: []*palisadev1.Location{loc, loc, {AccountId: "1", Region: "us-east-1"}},
		Filters:        []*palisadev1.Filter{{Name: "ip-permission.port", Values: []string{"22"}}},
		RulePredicates: []*palisadev1.RulePredicate{{Protocol: "all", Port: int32p(70000), CidrContains: "0.0.0.0"}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad search: %v", err)
	}
	named := fieldsOf(t, err)
	for _, f := range []string{"targets[1]", "targets[2].account_id", "filters[0].name", "rule_predicates[0].protocol", "rule_predicates[0].port", "rule_predicates[0].cidr_contains"} {
		if !slices.Contains(named, f) {
			t.Errorf("field %s not named; violations: %v", f, named)
		}
	}
}

// TestSearchReportsUnreadableTargets: a target EC2 does not answer is one
// answer carrying the error, not the end of the search.
func TestSearchReportsUnreadableTargets(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.sim.SetFaults(1, 0, 0) // every call fails with a 500 or 503
	defer e.sim.SetFaults(0, 0, 0)
	targets := []*palisadev1.Location{loc, {AccountId: account, Region: "eu-west-1"}}
	res, err := e.search(&palisadev1.SearchSecurityGroupsRequest{Targets: targets, RulePredicates: []*palisadev1.RulePredicate{worldSSH}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(targets) {
		t.Fatalf("%d answers for %d unreadable targets: %v", len(res), len(targets), res)
	}
	for _, r := range res {
		if r.GetError() == nil || r.GetSecurityGroup() != nil {
			t.Errorf("target %v: answer %v, want its error alone", r.GetLocation(), r)
		}
		if c := codes.Code(r.GetError().GetCode()); c != codes.Unavailable {
			t.Errorf("target %v: code %v (%s), want Unavailable", r.GetLocation(), c, r.GetError().GetMessage())
		}
	}
}
