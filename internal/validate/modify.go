package validate

import (
	"fmt"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// ModifySecurityGroupRules checks a ModifySecurityGroupRulesRequest: each
// update names a rule once and gives its whole new content, one peer.
// The direction is the rule's own, known only to EC2; the content is
// checked as EC2 checks either.
func ModifySecurityGroupRules(r *palisadev1.ModifySecurityGroupRulesRequest) rules.Violations {
	v := Group(r)
	ups := r.GetSecurityGroupRules()
	switch {
	case len(ups) == 0:
		return append(v, rules.Violation{Field: "security_group_rules", Description: "security_group_rules is required: give at least one rule id with its new content"})
	case len(ups) > rules.MaxPeersPerRequest:
		return append(v, rules.Violation{Field: "security_group_rules", Description: fmt.Sprintf("%d rules given; a security group holds at most %d rules per direction", len(ups), rules.MaxPeersPerRequest)})
	}
	seen := map[string]bool{}
	for i, u := range ups {
		at := indexed("security_group_rules", i)
		idField := at + ".security_group_rule_id"
		if iv := rules.ValidateRuleID(idField, u.GetSecurityGroupRuleId()); len(iv) > 0 {
			v = append(v, iv...)
		} else if seen[u.GetSecurityGroupRuleId()] {
			v = append(v, rules.Violation{Field: idField, Description: fmt.Sprintf("rule %s is named twice", u.GetSecurityGroupRuleId())})
		}
		seen[u.GetSecurityGroupRuleId()] = true
		v = append(v, RuleRequest(at+".security_group_rule", u.GetSecurityGroupRule())...)
	}
	return v.Capped()
}

// RuleRequest checks one rule's new content at field path.
func RuleRequest(path string, r *palisadev1.SecurityGroupRuleRequest) rules.Violations {
	if r == nil {
		return rules.Violations{{Field: path, Description: "the rule's new content is required"}}
	}
	peers := 0
	for _, s := range []string{r.GetCidrIpv4(), r.GetCidrIpv6(), r.GetPrefixListId(), r.GetReferencedGroupId()} {
		if s != "" {
			peers++
		}
	}
	if peers != 1 {
		return rules.Violations{{Field: path, Description: fmt.Sprintf("give exactly one of cidr_ipv4, cidr_ipv6, prefix_list_id or referenced_group_id (%d given)", peers)}}
	}
	_, v := rules.Expand(path, rules.Ingress, []rules.Permission{ruleconv.RuleRequest(r)})
	for i := range v {
		v[i].Field = ruleRequestField(path, v[i].Field)
	}
	return v
}

// ruleRequestField renames a field path of the permission shape Expand
// checks to the SecurityGroupRuleRequest field it came from.
func ruleRequestField(path, field string) string {
	rest, ok := strings.CutPrefix(field, path+"[0]")
	if !ok {
		return field
	}
	for _, peer := range []string{".ip_ranges[0]", ".ipv6_ranges[0]", ".prefix_list_ids[0]", ".user_id_group_pairs[0]"} {
		if tail, ok := strings.CutPrefix(rest, peer); ok {
			switch tail {
			case ".cidr_ip":
				return path + ".cidr_ipv4"
			case ".group_id":
				return path + ".referenced_group_id"
			case "":
				return path
			}
			return path + tail // .cidr_ipv6, .prefix_list_id, .description
		}
	}
	return path + rest // .ip_protocol, .from_port, .to_port
}

// DescriptionsRequest is an UpdateSecurityGroupRuleDescriptions{Ingress,Egress} request.
type DescriptionsRequest interface {
	GroupRequest
	GetIpPermissions() []*palisadev1.IpPermission
	GetSecurityGroupRuleDescriptions() []*palisadev1.SecurityGroupRuleDescription
}

// UpdateDescriptions checks a description update of direction dir: rules
// named by content or by id, not both.
func UpdateDescriptions(r DescriptionsRequest, dir rules.Direction) rules.Violations {
	v := Group(r)
	perms, ds := r.GetIpPermissions(), r.GetSecurityGroupRuleDescriptions()
	switch {
	case len(perms) == 0 && len(ds) == 0:
		return append(v, rules.Violation{Field: "ip_permissions", Description: "name the rules, either by ip_permissions carrying the new descriptions or by security_group_rule_descriptions"})
	case len(perms) > 0 && len(ds) > 0:
		return append(v, rules.Violation{Field: "security_group_rule_descriptions", Description: "give either ip_permissions or security_group_rule_descriptions, not both"})
	case len(ds) > rules.MaxPeersPerRequest:
		return append(v, rules.Violation{Field: "security_group_rule_descriptions", Description: fmt.Sprintf("%d rules given; a security group holds at most %d rules per direction", len(ds), rules.MaxPeersPerRequest)})
	}
	v = append(v, permissions("ip_permissions", dir, perms, false)...)
	seen := map[string]bool{}
	for i, d := range ds {
		at := indexed("security_group_rule_descriptions", i)
		if iv := rules.ValidateRuleID(at+".security_group_rule_id", d.GetSecurityGroupRuleId()); len(iv) > 0 {
			v = append(v, iv...)
		} else if seen[d.GetSecurityGroupRuleId()] {
			v = append(v, rules.Violation{Field: at + ".security_group_rule_id", Description: fmt.Sprintf("rule %s is named twice", d.GetSecurityGroupRuleId())})
		}
		seen[d.GetSecurityGroupRuleId()] = true
		// A description is checked as Expand checks one on a new rule.
		p := rules.Permission{Protocol: "-1", IPv4Ranges: []rules.CIDR{{Value: "10.0.0.0/8", Description: d.GetDescription()}}}
		if _, dv := rules.Expand(at, dir, []rules.Permission{p}); len(dv) > 0 {
			for _, x := range dv {
				v = append(v, rules.Violation{Field: at + ".description", Description: x.Description})
			}
		}
	}
	return v.Capped()
}
