package e2e

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/policy"
)

func ruleUpdate(id string, from, to int32, cidr, desc string) *palisadev1.SecurityGroupRuleUpdate {
	return &palisadev1.SecurityGroupRuleUpdate{SecurityGroupRuleId: id, SecurityGroupRule: &palisadev1.SecurityGroupRuleRequest{
		IpProtocol: "tcp", FromPort: &from, ToPort: &to, CidrIpv4: cidr, Description: desc}}
}

// liveRule reads one rule by id.
func (e *env) liveRule(id string) *palisadev1.SecurityGroupRule {
	e.t.Helper()
	resp, err := e.sg.ListSecurityGroupRules(e.ctx, &palisadev1.ListSecurityGroupRulesRequest{Location: loc, SecurityGroupRuleIds: []string{id}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(resp.GetSecurityGroupRules()) != 1 {
		e.t.Fatalf("rule %s: %d rules read", id, len(resp.GetSecurityGroupRules()))
	}
	return resp.GetSecurityGroupRules()[0]
}

// TestModifySecurityGroupRules changes a rule in place (same id, same
// number of rules), converges when repeated, and refuses a change that
// would duplicate another rule, change the kind of peer, or name a rule
// the group does not hold, changing nothing.
func TestModifySecurityGroupRules(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	group, ids := e.newGroupWithRules("modify", tcp(22, 22, "10.1.0.0/16", "10.2.0.0/16"))
	other, otherIDs := e.newGroupWithRules("modify-other", tcp(22, 22, "10.3.0.0/16"))
	r1, r2 := ids["10.1.0.0/16"], ids["10.2.0.0/16"]
	before, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: group})
	if err != nil {
		t.Fatal(err)
	}

	modify := &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{ruleUpdate(r1, 2222, 2223, "10.8.1.2/16", "moved")}}
	op := e.accepted(e.sg.ModifySecurityGroupRules(e.ctx, modify))
	if md := metadata(t, op); md.GetKind() != palisadev1.OperationKind_OPERATION_KIND_MODIFY_SECURITY_GROUP_RULES {
		t.Fatalf("kind %v", md.GetKind())
	}
	res := e.succeeded(op)
	if len(res.GetSecurityGroupRules()) != 1 || res.GetSecurityGroupRules()[0].GetSecurityGroupRuleId() != r1 {
		t.Fatalf("result %v", res)
	}
	got := e.liveRule(r1)
	if got.GetFromPort() != 2222 || got.GetToPort() != 2223 || got.GetCidrIpv4() != "10.8.0.0/16" || got.GetDescription() != "moved" || got.GetIsEgress() {
		t.Fatalf("rule after modify: %v", got)
	}
	after, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: group})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ruleIDsOf(after.GetSecurityGroupRules()), ruleIDsOf(before.GetSecurityGroupRules())) {
		t.Fatalf("rule ids changed: %v, were %v", ruleIDsOf(after.GetSecurityGroupRules()), ruleIDsOf(before.GetSecurityGroupRules()))
	}
	// The same change again (a retry under a new request id) converges.
	e.succeeded(e.accepted(e.sg.ModifySecurityGroupRules(e.ctx, modify)))

	// r2 made the same as r1: refused, r2 untouched.
	e.failedWith(e.accepted(e.sg.ModifySecurityGroupRules(e.ctx, &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{ruleUpdate(r2, 2222, 2223, "10.8.0.0/16", "")}})), "InvalidPermission.Duplicate", codes.AlreadyExists)
	// An IPv4 rule cannot become an IPv6 one.
	e.failedWith(e.accepted(e.sg.ModifySecurityGroupRules(e.ctx, &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{{SecurityGroupRuleId: r2, SecurityGroupRule: &palisadev1.SecurityGroupRuleRequest{
			IpProtocol: "tcp", FromPort: port(22), ToPort: port(22), CidrIpv6: "2001:db8::/32"}}}})), "InvalidParameter", codes.InvalidArgument)
	if got := e.liveRule(r2); got.GetFromPort() != 22 || got.GetCidrIpv4() != "10.2.0.0/16" {
		t.Fatalf("a refused modify changed the rule: %v", got)
	}

	// A rule the group does not hold (unknown, or another group's) is
	// NOT_FOUND before anything is stored.
	stored := queued(t, e)
	for _, id := range []string{"sgr-0123456789abcdef0", otherIDs["10.3.0.0/16"]} {
		_, err := e.sg.ModifySecurityGroupRules(e.ctx, &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
			SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{ruleUpdate(id, 80, 80, "10.0.0.0/8", "")}})
		if status.Code(err) != codes.NotFound {
			t.Errorf("modify of %s: %v, want NotFound", id, err)
		}
	}
	if got := e.liveRule(otherIDs["10.3.0.0/16"]); got.GetFromPort() != 22 || got.GetGroupId() != other {
		t.Fatalf("another group's rule changed: %v", got)
	}
	// Bad content names each field by its path.
	_, err = e.sg.ModifySecurityGroupRules(e.ctx, &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{
			ruleUpdate(r1, 80, 70000, "10.0.0.0/8", ""),
			ruleUpdate(r2, 80, 80, "10.0.0.0/33", ""),
			{SecurityGroupRuleId: r1, SecurityGroupRule: &palisadev1.SecurityGroupRuleRequest{IpProtocol: "tcp", CidrIpv4: "10.0.0.0/8", CidrIpv6: "::/0"}},
		}})
	named := fieldsOf(t, err)
	for _, f := range []string{"security_group_rules[0].security_group_rule.to_port", "security_group_rules[1].security_group_rule.cidr_ipv4",
		"security_group_rules[2].security_group_rule_id", "security_group_rules[2].security_group_rule"} {
		if !slices.Contains(named, f) {
			t.Errorf("field %s not named; violations: %v", f, named)
		}
	}
	if n := queued(t, e); n != stored {
		t.Fatalf("refused modifies stored %d commands", n-stored)
	}
}

// TestUpdateRuleDescriptions changes descriptions by id and by content,
// and refuses rules the group does not hold in that direction.
func TestUpdateRuleDescriptions(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	group, ids := e.newGroupWithRules("describe", tcp(443, 443, "10.1.0.0/16", "10.2.0.0/16"))
	r1, r2 := ids["10.1.0.0/16"], ids["10.2.0.0/16"]

	op := e.accepted(e.sg.UpdateSecurityGroupRuleDescriptionsIngress(e.ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		Location: loc, GroupId: group, SecurityGroupRuleDescriptions: []*palisadev1.SecurityGroupRuleDescription{{SecurityGroupRuleId: r1, Description: "office"}}}))
	e.succeeded(op)
	if d := e.liveRule(r1).GetDescription(); d != "office" {
		t.Fatalf("by id: description %q", d)
	}
	perm := tcp(443, 443, "10.2.0.0/16")
	perm.IpRanges[0].Description = "vpn"
	e.succeeded(e.accepted(e.sg.UpdateSecurityGroupRuleDescriptionsIngress(e.ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		Location: loc, GroupId: group, IpPermissions: []*palisadev1.IpPermission{perm}})))
	if d := e.liveRule(r2).GetDescription(); d != "vpn" {
		t.Fatalf("by content: description %q", d)
	}
	// An inbound rule named on the outbound side, or a rule by content the
	// group lacks: FAILED, nothing changed.
	e.failedWith(e.accepted(e.sg.UpdateSecurityGroupRuleDescriptionsEgress(e.ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsEgressRequest{
		Location: loc, GroupId: group, SecurityGroupRuleDescriptions: []*palisadev1.SecurityGroupRuleDescription{{SecurityGroupRuleId: r1, Description: "x"}}})),
		"InvalidSecurityGroupRuleId.NotFound", codes.NotFound)
	e.failedWith(e.accepted(e.sg.UpdateSecurityGroupRuleDescriptionsIngress(e.ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		Location: loc, GroupId: group, IpPermissions: []*palisadev1.IpPermission{perm, tcp(80, 80, "10.2.0.0/16")}})),
		"InvalidPermission.NotFound", codes.FailedPrecondition)
	if d := e.liveRule(r1).GetDescription(); d != "office" {
		t.Fatalf("a refused update changed a description: %q", d)
	}
	_, err := e.sg.UpdateSecurityGroupRuleDescriptionsIngress(e.ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		Location: loc, GroupId: group, SecurityGroupRuleDescriptions: []*palisadev1.SecurityGroupRuleDescription{
			{SecurityGroupRuleId: r1, Description: "a & b"}, {SecurityGroupRuleId: r1}}})
	named := fieldsOf(t, err)
	for _, f := range []string{"security_group_rule_descriptions[0].description", "security_group_rule_descriptions[1].security_group_rule_id"} {
		if !slices.Contains(named, f) {
			t.Errorf("field %s not named; violations: %v", f, named)
		}
	}
}

// TestModifyUnderGuardrails: with the default policy, changing an inbound
// rule in place to SSH from the internet is denied as adding it would be,
// the rule named by its path and nothing stored; the same change to an
// outbound rule, and a description update, are allowed. Each decision is
// audited under its action.
func TestModifyUnderGuardrails(t *testing.T) {
	engine, err := policy.NewEngine("")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{workers: 1, policy: engine})
	group, ids := e.newGroupWithRules("guarded-modify", tcp(22, 22, "10.1.0.0/16"))
	r1 := ids["10.1.0.0/16"]
	stored := e.commandsStored()
	_, err = e.sg.ModifySecurityGroupRules(e.ctx, &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{ruleUpdate(r1, 22, 22, "0.0.0.0/0", "")}})
	fields, policies := deniedFields(t, err)
	if !slices.Equal(fields, []string{"security_group_rules[0].security_group_rule"}) || !strings.Contains(policies, "no-admin-ports-from-outside-10-8") {
		t.Fatalf("denied fields %v by %s", fields, policies)
	}
	if e.commandsStored() != stored {
		t.Fatal("a denied modify stored a command")
	}
	var egressID string
	g, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: group})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range g.GetSecurityGroupRules() {
		if r.GetIsEgress() {
			egressID = r.GetSecurityGroupRuleId()
		}
	}
	e.succeeded(e.accepted(e.sg.ModifySecurityGroupRules(e.ctx, &palisadev1.ModifySecurityGroupRulesRequest{Location: loc, GroupId: group,
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{ruleUpdate(egressID, 22, 22, "0.0.0.0/0", "")}})))
	e.succeeded(e.accepted(e.sg.UpdateSecurityGroupRuleDescriptionsIngress(e.ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		Location: loc, GroupId: group, SecurityGroupRuleDescriptions: []*palisadev1.SecurityGroupRuleDescription{{SecurityGroupRuleId: r1, Description: "bastion"}}})))
	seen := map[string]bool{}
	for _, rec := range e.auditTrail() {
		seen[rec.GetAction()+" "+rec.GetDecision().String()] = true
	}
	for _, want := range []string{
		"ModifySecurityGroupRules AUDIT_DECISION_DENY", "ModifySecurityGroupRules AUDIT_DECISION_ALLOW",
		"UpdateSecurityGroupRuleDescriptionsIngress AUDIT_DECISION_ALLOW",
	} {
		if !seen[want] {
			t.Errorf("no audit record %q", want)
		}
	}
}
