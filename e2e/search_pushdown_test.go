package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// TestSearchPushedFiltersLoseNothing: a search sends EC2 filters derived
// from its predicates; on a mixed world (both directions, supernets,
// IPv6, all-protocols rules, a protocol given by number, a CIDR given
// with host bits, rules met by different rules of one group, a caller's
// filter of the same name) it finds exactly the groups and rules that
// the predicates select among every group EC2 holds, read without those
// filters.
func TestSearchPushedFiltersLoseNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	client := e.ec2.Client(account, region)
	g := e.makeGroups(account, region, "pushdown", 13, nil)
	v4 := func(proto string, from, to int32, cidr string) types.IpPermission {
		p := types.IpPermission{IpProtocol: aws.String(proto), IpRanges: []types.IpRange{{CidrIp: aws.String(cidr)}}}
		if from != -2 {
			p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
		}
		return p
	}
	v6 := func(proto string, from, to int32, cidr string) types.IpPermission {
		p := types.IpPermission{IpProtocol: aws.String(proto), Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String(cidr)}}}
		if from != -2 {
			p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
		}
		return p
	}
	const noPorts = -2
	ingress := func(i int, perms ...types.IpPermission) {
		t.Helper()
		if _, err := client.AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g[i]), IpPermissions: perms}); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	egress := func(i int, perms ...types.IpPermission) {
		t.Helper()
		if _, err := client.AuthorizeSecurityGroupEgress(e.ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(g[i]), IpPermissions: perms}); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	noDefaultEgress := func(i int) {
		t.Helper()
		if _, err := client.RevokeSecurityGroupEgress(e.ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(g[i]),
			IpPermissions: []types.IpPermission{v4("-1", noPorts, 0, "0.0.0.0/0")}}); err != nil {
			t.Fatalf("group %d: %v", i, err)
		}
	}
	ingress(0, v4("tcp", 22, 22, "0.0.0.0/0"))
	ingress(1, v4("tcp", 0, 1024, "10.0.0.0/8"))
	ingress(2, v4("-1", noPorts, 0, "0.0.0.0/0"))
	noDefaultEgress(3)
	egress(3, v4("tcp", 22, 22, "0.0.0.0/0"))
	ingress(4, v4("tcp", 22, 22, "10.9.8.7/16")) // EC2 keeps 10.9.0.0/16
	ingress(5, v6("tcp", 22, 22, "::/0"))
	ingress(6, v6("-1", noPorts, 0, "2001:db8::/32"))
	ingress(7, v4("udp", 53, 53, "10.1.0.0/16"), v4("6", 8443, 8443, "10.1.2.0/24"))
	ingress(8, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(g[0])}}})
	noDefaultEgress(9)
	ingress(10, v4("icmp", -1, -1, "0.0.0.0/0"))
	noDefaultEgress(11)
	egress(11, v4("udp", 53, 53, "10.0.0.0/8"), v6("tcp", 443, 443, "2001:db8:1::/48"))
	ingress(12, v4("tcp", 443, 443, "0.0.0.0/0"), v4("udp", 53, 53, "10.1.0.0/16"))

	in, out := palisadev1.RulePredicate_DIRECTION_INGRESS, palisadev1.RulePredicate_DIRECTION_EGRESS
	for _, tc := range []struct {
		name    string
		preds   []*palisadev1.RulePredicate
		filters []*palisadev1.Filter
		// must: groups the answer must hold, by index, whatever the
		// unfiltered reading says (so both cannot be wrong alike).
		must []int
	}{
		{name: "world-open ssh", preds: []*palisadev1.RulePredicate{worldSSH}, must: []int{0, 2}},
		{name: "an address inside a range given with host bits", preds: []*palisadev1.RulePredicate{{Direction: in, CidrContains: "10.9.200.1/32"}}, must: []int{1, 2, 4}},
		{name: "ipv6 world", preds: []*palisadev1.RulePredicate{{Direction: in, CidrContains: "::/0"}}, must: []int{5}},
		{name: "ipv6 supernets", preds: []*palisadev1.RulePredicate{{Direction: in, CidrContains: "2001:db8:1::5/128"}}, must: []int{5, 6}},
		{name: "egress ssh to the world", preds: []*palisadev1.RulePredicate{{Direction: out, Protocol: "tcp", Port: int32p(22), CidrContains: "0.0.0.0/0"}}, must: []int{0, 3}},
		{name: "egress ipv6 inside", preds: []*palisadev1.RulePredicate{{Direction: out, CidrContains: "2001:db8:1:2::/64"}}, must: []int{11}},
		{name: "egress dns", preds: []*palisadev1.RulePredicate{{Direction: out, Protocol: "udp", Port: int32p(53)}}, must: []int{0, 11}},
		{name: "all protocols", preds: []*palisadev1.RulePredicate{{Direction: in, Protocol: "-1"}}, must: []int{2, 6}},
		{name: "icmp", preds: []*palisadev1.RulePredicate{{Direction: in, Protocol: "icmp"}}, must: []int{2, 6, 10}},
		{name: "a port given by a rule's protocol number", preds: []*palisadev1.RulePredicate{{Direction: in, Port: int32p(8443)}}, must: []int{2, 6, 7}},
		{name: "two predicates met by different rules", preds: []*palisadev1.RulePredicate{
			{Direction: in, CidrContains: "0.0.0.0/0", Port: int32p(443)}, {Direction: in, Protocol: "udp", CidrContains: "10.1.2.3/32"}}, must: []int{2, 12}},
		{name: "no direction", preds: []*palisadev1.RulePredicate{{Protocol: "tcp", Port: int32p(22), CidrContains: "0.0.0.0/0"}}, must: []int{0, 2, 3}},
		{name: "the caller's filter of the same name", preds: []*palisadev1.RulePredicate{{Direction: in, Protocol: "udp", CidrContains: "10.1.2.3/32"}},
			filters: []*palisadev1.Filter{{Name: "ip-permission.cidr", Values: []string{"0.0.0.0/0"}}}, must: []int{2, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.search(&palisadev1.SearchSecurityGroupsRequest{Targets: []*palisadev1.Location{loc}, RulePredicates: tc.preds, Filters: tc.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				if r.GetError() != nil {
					t.Fatalf("search: %v", r.GetError())
				}
				var ids []string
				for _, m := range r.GetMatchingRules() {
					ids = append(ids, m.GetSecurityGroupRuleId())
				}
				slices.Sort(ids)
				got = append(got, r.GetSecurityGroup().GetGroupId()+" "+strings.Join(ids, ","))
			}
			slices.Sort(got)
			want := unfilteredMatches(t, e, tc.preds, tc.filters)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("search found\n %v\nevery group read without the derived filters gives\n %v", got, want)
			}
			for _, i := range tc.must {
				if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, g[i]+" ") }) {
					t.Errorf("group %d (%s) not found: %v", i, g[i], got)
				}
			}
		})
	}
}

// unfilteredMatches reads the groups the caller's filters select and
// every rule of theirs, without any other filter, and returns the groups
// all of preds select with the ids of the rules that meet one, as
// "group-id rule-id,rule-id" sorted.
func unfilteredMatches(t *testing.T, e *env, preds []*palisadev1.RulePredicate, filters []*palisadev1.Filter) []string {
	t.Helper()
	client := e.ec2.Client(account, region)
	in := &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1000)}
	for _, f := range filters {
		in.Filters = append(in.Filters, types.Filter{Name: aws.String(f.GetName()), Values: f.GetValues()})
	}
	groups, err := client.DescribeSecurityGroups(e.ctx, in)
	if err != nil || groups.NextToken != nil {
		t.Fatalf("describe groups: %v", err)
	}
	var ids []string
	for _, sg := range groups.SecurityGroups {
		ids = append(ids, aws.ToString(sg.GroupId))
	}
	rulesOut, err := client.DescribeSecurityGroupRules(e.ctx, &ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(1000),
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: ids}}})
	if err != nil || rulesOut.NextToken != nil {
		t.Fatalf("describe rules: %v", err)
	}
	model := make([]rules.Predicate, len(preds))
	for i, p := range preds {
		model[i] = ruleconv.Predicate(p, account)
	}
	var out []string
	for _, id := range ids {
		met := make([]bool, len(model))
		var hits []string
		for _, r := range rulesOut.SecurityGroupRules {
			if aws.ToString(r.GroupId) != id {
				continue
			}
			hit := false
			for j, p := range model {
				if p.Matches(ruleconv.Canonical(r)) {
					met[j], hit = true, true
				}
			}
			if hit {
				hits = append(hits, aws.ToString(r.SecurityGroupRuleId))
			}
		}
		if !slices.Contains(met, false) {
			slices.Sort(hits)
			out = append(out, id+" "+strings.Join(hits, ","))
		}
	}
	slices.Sort(out)
	return out
}
