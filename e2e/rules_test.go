package e2e

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// newGroupWithRules creates a group with the given inbound rules through
// Palisade and returns its id and the rules' ids, by CIDR.
func (e *env) newGroupWithRules(name string, perms ...*palisadev1.IpPermission) (string, map[string]string) {
	e.t.Helper()
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: name, Description: name, IpPermissions: perms,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	res := e.succeeded(op)
	ids := map[string]string{}
	for _, r := range res.GetSecurityGroupRules() {
		ids[r.GetCidrIpv4()] = r.GetSecurityGroupRuleId()
	}
	return res.GetGroupId(), ids
}

// fieldsOf returns the field paths an INVALID_ARGUMENT answer names,
// failing the test on any other answer.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v (%v), want InvalidArgument", st.Code(), err)
	}
	var named []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetDescription() == "" {
					t.Errorf("violation of %s has no description", v.GetField())
				}
				named = append(named, v.GetField())
			}
		}
	}
	return named
}

func ruleIDsOf(rs []*palisadev1.SecurityGroupRule) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.GetSecurityGroupRuleId())
	}
	slices.Sort(out)
	return out
}

// TestListSecurityGroupRules reads rules with their ids by group, by id,
// by filter and page by page, and checks GetSecurityGroup names the same
// ids.
func TestListSecurityGroupRules(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	cidrs := []string{"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16", "10.6.0.0/16"}
	group, ids := e.newGroupWithRules("rules-read", tcp(443, 443, cidrs...))
	other, _ := e.newGroupWithRules("rules-other", tcp(80, 80, "10.9.0.0/16"))

	g, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: group})
	if err != nil {
		t.Fatal(err)
	}
	// Six inbound rules and EC2's default outbound rule, each with its id.
	if n := len(g.GetSecurityGroupRules()); n != 7 {
		t.Fatalf("GetSecurityGroup has %d rules with ids, want 7: %v", n, g.GetSecurityGroupRules())
	}
	for _, r := range g.GetSecurityGroupRules() {
		if !r.GetIsEgress() && ids[r.GetCidrIpv4()] != r.GetSecurityGroupRuleId() {
			t.Errorf("rule %v: the create reported id %s", r, ids[r.GetCidrIpv4()])
		}
	}

	// By group, five per page: two pages, every rule once.
	var all []*palisadev1.SecurityGroupRule
	req := &palisadev1.ListSecurityGroupRulesRequest{Location: loc, GroupId: group, PageSize: 5}
	pages := 0
	for {
		resp, err := e.sg.ListSecurityGroupRules(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, resp.GetSecurityGroupRules()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if pages != 2 || !slices.Equal(ruleIDsOf(all), ruleIDsOf(g.GetSecurityGroupRules())) {
		t.Fatalf("%d pages, rules %v; want 2 pages of %v", pages, ruleIDsOf(all), ruleIDsOf(g.GetSecurityGroupRules()))
	}

	// By rule ids, one unknown: the unknown one is simply absent.
	want := []string{ids["10.1.0.0/16"], ids["10.4.0.0/16"]}
	slices.Sort(want)
	resp, err := e.sg.ListSecurityGroupRules(e.ctx, &palisadev1.ListSecurityGroupRulesRequest{Location: loc,
		SecurityGroupRuleIds: append(slices.Clone(want), "sgr-0123456789abcdef0")})
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDsOf(resp.GetSecurityGroupRules()); !slices.Equal(got, want) {
		t.Fatalf("by id: %v, want %v", got, want)
	}

	// By filters, several values of one filter any, several filters all.
	resp, err = e.sg.ListSecurityGroupRules(e.ctx, &palisadev1.ListSecurityGroupRulesRequest{Location: loc, Filters: []*palisadev1.Filter{
		{Name: "group-id", Values: []string{group, other}},
		{Name: "security-group-rule-id", Values: []string{ids["10.2.0.0/16"], ids["10.3.0.0/16"]}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDsOf(resp.GetSecurityGroupRules()); len(got) != 2 {
		t.Fatalf("by filters: %v, want the two named", got)
	}

	// Bad input names each field; a filter EC2 does not have for rules is
	// named with the filters it has.
	_, err = e.sg.ListSecurityGroupRules(e.ctx, &palisadev1.ListSecurityGroupRulesRequest{Location: loc, GroupId: "sg-x",
		SecurityGroupRuleIds: []string{"sgr-zz"}, PageSize: 2, Filters: []*palisadev1.Filter{
			{Name: "ip-permission.cidr", Values: []string{"0.0.0.0/0"}}, {Name: "tag:team"},
		}})
	named := fieldsOf(t, err)
	for _, f := range []string{"group_id", "security_group_rule_ids[0]", "page_size", "filters[0].name", "filters[1].values"} {
		if !slices.Contains(named, f) {
			t.Errorf("field %s not named; violations: %v", f, named)
		}
	}
}
