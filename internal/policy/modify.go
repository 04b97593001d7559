package policy

import (
	"errors"
	"fmt"
	"strconv"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// ErrNeedsDirections: a ModifySecurityGroupRules request is decided on its
// rules' new content in their own direction, which only EC2 knows; the
// caller reads it and asks ModifyChecks.
var ErrNeedsDirections = errors.New("policy: a rule modification is decided with its rules' directions (ModifyChecks)")

// ModifyChecks builds the check of a validated ModifySecurityGroupRules
// request. Each rule's new content is decided as a rule being added in
// the rule's direction (egress[id] true for an outbound rule), so every
// guardrail on additions holds for a rule changed in place, together with
// its id.
func ModifyChecks(caller string, r *palisadev1.ModifySecurityGroupRulesRequest, egress map[string]bool) ([]Check, error) {
	c := Check{Caller: caller, Action: ModifySecurityGroupRules, Group: groupAt(r.GetLocation(), "", r.GetGroupId())}
	for i, u := range r.GetSecurityGroupRules() {
		field := "security_group_rules[" + strconv.Itoa(i) + "]"
		id := u.GetSecurityGroupRuleId()
		isEgress, known := egress[id]
		if !known {
			return nil, fmt.Errorf("policy: the direction of rule %s is not known", id)
		}
		dir := rules.Ingress
		if isEgress {
			dir = rules.Egress
		}
		rs, v := rules.Expand(field+".security_group_rule", dir, []rules.Permission{ruleconv.RuleRequest(u.GetSecurityGroupRule())})
		if len(v) > 0 || len(rs) != 1 {
			return nil, fmt.Errorf("policy: %s does not expand: %w", field, v)
		}
		c.Rules = append(c.Rules, Rule{Field: field + ".security_group_rule", Change: Add, Rule: rs[0]})
		c.RuleIDs = append(c.RuleIDs, RuleID{Field: field + ".security_group_rule_id", ID: id})
	}
	return []Check{c}, nil
}

// descriptionChecks decides a description update: each rule named by
// content with change "describe", each rule named by id by its id.
func descriptionChecks(caller, action string, dir rules.Direction, loc *palisadev1.Location, groupID string, perms []*palisadev1.IpPermission, ds []*palisadev1.SecurityGroupRuleDescription) ([]Check, error) {
	var b ruleList
	b.add("ip_permissions", dir, Describe, perms)
	c := Check{Caller: caller, Action: action, Group: groupAt(loc, "", groupID), Rules: b.rules}
	for i, d := range ds {
		c.RuleIDs = append(c.RuleIDs, RuleID{Field: "security_group_rule_descriptions[" + strconv.Itoa(i) + "].security_group_rule_id", ID: d.GetSecurityGroupRuleId()})
	}
	return []Check{c}, b.err
}

// ruleIDWhat describes a decision on one rule named by id.
func ruleIDWhat(action, id string) string {
	switch action {
	case RevokeSecurityGroupIngress, RevokeSecurityGroupEgress:
		return "remove rule " + id
	case ModifySecurityGroupRules:
		return "modify rule " + id
	case CreateTags, DeleteTags:
		return "tag rule " + id
	}
	return "describe rule " + id
}

// groupChangeChecks decides a rollout whose groups each have their own
// change (a remediation, a rollback) group by group, each on its own rules.
func groupChangeChecks(caller string, r *palisadev1.StartRolloutRequest) ([]Check, error) {
	out := make([]Check, 0, len(r.GetGroupChanges()))
	for i, g := range r.GetGroupChanges() {
		if c := g.GetChange(); len(c.GetAuthorizeIngress())+len(c.GetAuthorizeEgress())+len(c.GetRevokeIngress())+len(c.GetRevokeEgress()) == 0 {
			continue // a group left alone: nothing to decide
		}
		path := "group_changes[" + strconv.Itoa(i) + "].change"
		var b ruleList
		c := g.GetChange()
		b.add(path+".authorize_ingress", rules.Ingress, Add, c.GetAuthorizeIngress())
		b.add(path+".authorize_egress", rules.Egress, Add, c.GetAuthorizeEgress())
		b.add(path+".revoke_ingress", rules.Ingress, Remove, c.GetRevokeIngress())
		b.add(path+".revoke_egress", rules.Egress, Remove, c.GetRevokeEgress())
		if b.err != nil {
			return nil, b.err
		}
		action := StartRollout // a remediation
		if r.GetRollbackOf() != "" {
			action = RollbackRollout
		}
		out = append(out, Check{Caller: caller, Action: action, Group: groupAt(g.GetLocation(), "", g.GetGroupId()), Rules: b.rules})
	}
	return out, nil
}
