package services

import (
	"fmt"
	"regexp"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// uuidPattern is the textual form AIP-155 asks request ids to take.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func validateRequestID(id string) rules.Violations {
	if id == "" || uuidPattern.MatchString(id) {
		return nil
	}
	return rules.Violations{{Field: "request_id", Description: fmt.Sprintf("request_id %q is not a UUID (e.g. 3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f); leave it empty to get a fresh one", id)}}
}

func validateLocation(loc *palisadev1.Location) rules.Violations {
	if loc == nil {
		return rules.Violations{{Field: "location", Description: "location is required: the account_id and region the request applies to"}}
	}
	v := rules.ValidateAccountID("location.account_id", loc.GetAccountId())
	return append(v, rules.ValidateRegion("location.region", loc.GetRegion())...)
}

func validateTags(tags map[string]string) rules.Violations {
	v := rules.ValidateTags("tags", tags)
	if _, ok := tags[command.MarkerTagKey]; ok {
		v = append(v, rules.Violation{Field: "tags", Description: fmt.Sprintf("tag key %q is reserved: Palisade sets it to the id of the operation that created the group", command.MarkerTagKey)})
	}
	return v
}

func expand(field string, dir rules.Direction, perms []*palisadev1.IpPermission, required bool) rules.Violations {
	if len(perms) == 0 {
		if required {
			return rules.Violations{{Field: field, Description: field + " is required: give at least one permission"}}
		}
		return nil
	}
	_, v := rules.Expand(field, dir, ruleconv.Permissions(perms))
	return v
}

func validateCreate(r *palisadev1.CreateSecurityGroupRequest) rules.Violations {
	v := validateRequestID(r.GetRequestId())
	v = append(v, validateLocation(r.GetLocation())...)
	if r.GetVpcId() != "" {
		v = append(v, rules.ValidateVpcID("vpc_id", r.GetVpcId())...)
	}
	v = append(v, rules.ValidateGroupName("group_name", r.GetGroupName())...)
	v = append(v, rules.ValidateGroupDescription("description", r.GetDescription())...)
	v = append(v, validateTags(r.GetTags())...)
	v = append(v, expand("ip_permissions", rules.Ingress, r.GetIpPermissions(), false)...)
	return append(v, expand("ip_permissions_egress", rules.Egress, r.GetIpPermissionsEgress(), false)...)
}

// groupRequest is what every request on an existing group has.
type groupRequest interface {
	GetRequestId() string
	GetLocation() *palisadev1.Location
	GetGroupId() string
}

func validateGroupRequest(r groupRequest) rules.Violations {
	v := validateRequestID(r.GetRequestId())
	v = append(v, validateLocation(r.GetLocation())...)
	return append(v, rules.ValidateGroupID("group_id", r.GetGroupId())...)
}

func validateAuthorize(r interface {
	groupRequest
	GetIpPermissions() []*palisadev1.IpPermission
}, dir rules.Direction) rules.Violations {
	return append(validateGroupRequest(r), expand("ip_permissions", dir, r.GetIpPermissions(), true)...)
}

func validateRevoke(r interface {
	groupRequest
	GetIpPermissions() []*palisadev1.IpPermission
	GetSecurityGroupRuleIds() []string
}, dir rules.Direction) rules.Violations {
	v := validateGroupRequest(r)
	perms, ids := r.GetIpPermissions(), r.GetSecurityGroupRuleIds()
	switch {
	case len(perms) == 0 && len(ids) == 0:
		return append(v, rules.Violation{Field: "ip_permissions", Description: "name the rules to revoke, either by ip_permissions or by security_group_rule_ids"})
	case len(perms) > 0 && len(ids) > 0:
		return append(v, rules.Violation{Field: "security_group_rule_ids", Description: "give either ip_permissions or security_group_rule_ids, not both"})
	}
	v = append(v, expand("ip_permissions", dir, perms, false)...)
	seen := map[string]bool{}
	for i, id := range ids {
		field := fmt.Sprintf("security_group_rule_ids[%d]", i)
		v = append(v, rules.ValidateRuleID(field, id)...)
		if seen[id] {
			v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("rule id %s appears more than once", id)})
		}
		seen[id] = true
	}
	return v
}
