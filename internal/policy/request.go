package policy

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// Checks builds what must be decided for a validated API request: one
// Check for a call on one group, one per target group (or tag selector)
// for a rollout. Every rule the request adds or removes is in each Check,
// with its field path. A request it cannot map, or whose rules do not
// expand, is an error: the caller must refuse it, never let it through
// undecided.
func Checks(caller string, req proto.Message) ([]Check, error) {
	one := func(action string, g *Group, rs []Rule, ids []RuleID) []Check {
		return []Check{{Caller: caller, Action: action, Group: g, Rules: rs, RuleIDs: ids}}
	}
	var b ruleList
	switch r := req.(type) {
	case *palisadev1.CreateSecurityGroupRequest:
		g := groupAt(r.GetLocation(), r.GetVpcId(), "")
		g.Name, g.Tags = r.GetGroupName(), r.GetTags()
		b.add("ip_permissions", rules.Ingress, Add, r.GetIpPermissions())
		b.add("ip_permissions_egress", rules.Egress, Add, r.GetIpPermissionsEgress())
		return one(CreateSecurityGroup, g, b.rules, nil), b.err
	case *palisadev1.AuthorizeSecurityGroupIngressRequest:
		b.add("ip_permissions", rules.Ingress, Add, r.GetIpPermissions())
		return one(AuthorizeSecurityGroupIngress, groupAt(r.GetLocation(), "", r.GetGroupId()), b.rules, nil), b.err
	case *palisadev1.AuthorizeSecurityGroupEgressRequest:
		b.add("ip_permissions", rules.Egress, Add, r.GetIpPermissions())
		return one(AuthorizeSecurityGroupEgress, groupAt(r.GetLocation(), "", r.GetGroupId()), b.rules, nil), b.err
	case *palisadev1.RevokeSecurityGroupIngressRequest:
		b.add("ip_permissions", rules.Ingress, Remove, r.GetIpPermissions())
		return one(RevokeSecurityGroupIngress, groupAt(r.GetLocation(), "", r.GetGroupId()), b.rules, ruleIDs(r.GetSecurityGroupRuleIds())), b.err
	case *palisadev1.RevokeSecurityGroupEgressRequest:
		b.add("ip_permissions", rules.Egress, Remove, r.GetIpPermissions())
		return one(RevokeSecurityGroupEgress, groupAt(r.GetLocation(), "", r.GetGroupId()), b.rules, ruleIDs(r.GetSecurityGroupRuleIds())), b.err
	case *palisadev1.DeleteSecurityGroupRequest:
		return one(DeleteSecurityGroup, groupAt(r.GetLocation(), "", r.GetGroupId()), nil, nil), nil
	case *palisadev1.CreateTagsRequest:
		return one(CreateTags, groupAt(r.GetLocation(), "", r.GetGroupId()), nil, tagRuleIDs(r.GetResourceIds())), nil
	case *palisadev1.DeleteTagsRequest:
		return one(DeleteTags, groupAt(r.GetLocation(), "", r.GetGroupId()), nil, tagRuleIDs(r.GetResourceIds())), nil
	case *palisadev1.ModifySecurityGroupRulesRequest:
		return nil, ErrNeedsDirections
	case *palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest:
		return descriptionChecks(caller, UpdateRuleDescriptionsIngress, rules.Ingress, r.GetLocation(), r.GetGroupId(), r.GetIpPermissions(), r.GetSecurityGroupRuleDescriptions())
	case *palisadev1.UpdateSecurityGroupRuleDescriptionsEgressRequest:
		return descriptionChecks(caller, UpdateRuleDescriptionsEgress, rules.Egress, r.GetLocation(), r.GetGroupId(), r.GetIpPermissions(), r.GetSecurityGroupRuleDescriptions())
	case *palisadev1.GetSecurityGroupRequest:
		return one(GetSecurityGroup, groupAt(r.GetLocation(), "", r.GetGroupId()), nil, nil), nil
	case *palisadev1.ListSecurityGroupsRequest:
		return one(ListSecurityGroups, groupAt(r.GetLocation(), "", ""), nil, nil), nil
	case *palisadev1.ListSecurityGroupRulesRequest:
		return one(ListSecurityGroupRules, groupAt(r.GetLocation(), "", r.GetGroupId()), nil, nil), nil
	case *palisadev1.SearchSecurityGroupsRequest:
		// One decision per account and region searched.
		var out []Check
		for _, t := range r.GetTargets() {
			out = append(out, one(SearchSecurityGroups, groupAt(t, "", ""), nil, nil)...)
		}
		return out, nil
	case *palisadev1.StartRolloutRequest:
		if len(r.GetGroupChanges()) > 0 {
			return groupChangeChecks(caller, r)
		}
		c := r.GetChange()
		b.add("change.authorize_ingress", rules.Ingress, Add, c.GetAuthorizeIngress())
		b.add("change.authorize_egress", rules.Egress, Add, c.GetAuthorizeEgress())
		b.add("change.revoke_ingress", rules.Ingress, Remove, c.GetRevokeIngress())
		b.add("change.revoke_egress", rules.Egress, Remove, c.GetRevokeEgress())
		var out []Check
		for _, t := range r.GetTargets() {
			if len(t.GetGroupIds()) == 0 {
				// Every group the tags select carries them: a decision on
				// the selector holds for each.
				g := groupAt(t.GetLocation(), t.GetVpcId(), "")
				g.Tags = t.GetTags()
				out = append(out, one(StartRollout, g, b.rules, nil)...)
				continue
			}
			for _, id := range t.GetGroupIds() {
				out = append(out, one(StartRollout, groupAt(t.GetLocation(), t.GetVpcId(), id), b.rules, nil)...)
			}
		}
		return out, b.err
	}
	return nil, fmt.Errorf("policy: no checks for %T", req)
}

func groupAt(loc *palisadev1.Location, vpc, id string) *Group {
	return &Group{AccountID: loc.GetAccountId(), Region: loc.GetRegion(), VpcID: vpc, GroupID: id}
}

func ruleIDs(ids []string) []RuleID {
	out := make([]RuleID, len(ids))
	for i, id := range ids {
		out[i] = RuleID{Field: "security_group_rule_ids[" + strconv.Itoa(i) + "]", ID: id}
	}
	return out
}

// tagRuleIDs are the rules a tag request names among its resources, each
// decided on its own; the group itself is the check's resource.
func tagRuleIDs(resources []string) []RuleID {
	var out []RuleID
	for i, id := range resources {
		if strings.HasPrefix(id, "sgr-") {
			out = append(out, RuleID{Field: "resource_ids[" + strconv.Itoa(i) + "]", ID: id})
		}
	}
	return out
}

// ruleList gathers the rules of a request's permission lists.
type ruleList struct {
	rules []Rule
	err   error
}

func (l *ruleList) add(path string, dir rules.Direction, change Change, perms []*palisadev1.IpPermission) {
	if len(perms) == 0 || l.err != nil {
		return
	}
	rs, fields, v := rules.ExpandFields(path, dir, ruleconv.Permissions(perms))
	if len(v) > 0 {
		l.err = fmt.Errorf("policy: %s does not expand: %w", path, v)
		return
	}
	for i, r := range rs {
		l.rules = append(l.rules, Rule{Field: fields[i], Change: change, Rule: r})
	}
}
