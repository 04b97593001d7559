// Package validate checks Palisade's requests and commands: the API runs
// it on every request before anything else (design invariant 6), and the
// workers run it again on every command they consume (invariant 8), so
// both sides refuse the same things with the same words.
//
// Every exported check returns rules.Violations cut by
// rules.Violations.Capped, and looks at the size of a list before its
// items: a list longer than anything valid is one violation, so the work
// and the answer stay small whatever the request holds (invariant 10).
package validate

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

// RequestID checks an AIP-155 request id: empty, or a UUID.
func RequestID(id string) rules.Violations {
	if id == "" || uuidPattern.MatchString(id) {
		return nil
	}
	return rules.Violations{{Field: "request_id", Description: fmt.Sprintf("request_id %q is not a UUID (e.g. 3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f); leave it empty to get a fresh one", truncate(id))}}
}

// truncate cuts a caller's value repeated in a message.
func truncate(s string) string {
	const maxQuoted = 64
	if len(s) <= maxQuoted {
		return s
	}
	return s[:maxQuoted] + "…"
}

// Location checks the account and region a request applies to.
func Location(loc *palisadev1.Location) rules.Violations {
	if loc == nil {
		return rules.Violations{{Field: "location", Description: "location is required: the account_id and region the request applies to"}}
	}
	v := rules.ValidateAccountID("location.account_id", loc.GetAccountId())
	return append(v, rules.ValidateRegion("location.region", loc.GetRegion())...)
}

// Tags checks tags a caller sets on a group: EC2's rules, and neither
// AWS's reserved prefix nor Palisade's marker key.
func Tags(tags map[string]string) rules.Violations {
	v := rules.ValidateTags("tags", tags)
	if _, ok := tags[command.MarkerTagKey]; ok {
		v = append(v, rules.Violation{Field: "tags", Description: fmt.Sprintf("tag key %q is reserved: Palisade sets it to the id of the operation that created the group", command.MarkerTagKey)})
	}
	return v.Capped()
}

// permissions checks the size of a permission list before any of its
// items, then expands it.
func permissions(field string, dir rules.Direction, perms []*palisadev1.IpPermission, required bool) rules.Violations {
	if len(perms) == 0 {
		if required {
			return rules.Violations{{Field: field, Description: field + " is required: give at least one permission"}}
		}
		return nil
	}
	if v := checkCounts(field, perms); v != nil {
		return v
	}
	_, v := rules.Expand(field, dir, ruleconv.Permissions(perms))
	return v
}

// checkCounts refuses a permission list no group could hold, counting on
// the request itself, before anything is converted.
func checkCounts(field string, perms []*palisadev1.IpPermission) rules.Violations {
	peers := 0
	for _, p := range perms {
		peers += len(p.GetIpRanges()) + len(p.GetIpv6Ranges()) + len(p.GetPrefixListIds()) + len(p.GetUserIdGroupPairs())
	}
	return rules.CheckCounts(field, len(perms), peers)
}

// Create checks a CreateSecurityGroupRequest.
func Create(r *palisadev1.CreateSecurityGroupRequest) rules.Violations {
	v := RequestID(r.GetRequestId())
	v = append(v, Location(r.GetLocation())...)
	if r.GetVpcId() != "" {
		v = append(v, rules.ValidateVpcID("vpc_id", r.GetVpcId())...)
	}
	v = append(v, rules.ValidateGroupName("group_name", r.GetGroupName())...)
	v = append(v, rules.ValidateGroupDescription("description", r.GetDescription())...)
	v = append(v, Tags(r.GetTags())...)
	v = append(v, permissions("ip_permissions", rules.Ingress, r.GetIpPermissions(), false)...)
	return append(v, permissions("ip_permissions_egress", rules.Egress, r.GetIpPermissionsEgress(), false)...).Capped()
}

// GroupRequest is what every request on an existing group has.
type GroupRequest interface {
	GetRequestId() string
	GetLocation() *palisadev1.Location
	GetGroupId() string
}

// Group checks a request on an existing group (DeleteSecurityGroup, and
// the common part of the others).
func Group(r GroupRequest) rules.Violations {
	v := RequestID(r.GetRequestId())
	v = append(v, Location(r.GetLocation())...)
	return append(v, rules.ValidateGroupID("group_id", r.GetGroupId())...).Capped()
}

// AuthorizeRequest is an Authorize{Ingress,Egress} request.
type AuthorizeRequest interface {
	GroupRequest
	GetIpPermissions() []*palisadev1.IpPermission
}

// Authorize checks an authorize request of direction dir.
func Authorize(r AuthorizeRequest, dir rules.Direction) rules.Violations {
	return append(Group(r), permissions("ip_permissions", dir, r.GetIpPermissions(), true)...).Capped()
}

// RevokeRequest is a Revoke{Ingress,Egress} request.
type RevokeRequest interface {
	GroupRequest
	GetIpPermissions() []*palisadev1.IpPermission
	GetSecurityGroupRuleIds() []string
}

// Revoke checks a revoke request of direction dir.
func Revoke(r RevokeRequest, dir rules.Direction) rules.Violations {
	v := Group(r)
	perms, ids := r.GetIpPermissions(), r.GetSecurityGroupRuleIds()
	switch {
	case len(perms) == 0 && len(ids) == 0:
		return append(v, rules.Violation{Field: "ip_permissions", Description: "name the rules to revoke, either by ip_permissions or by security_group_rule_ids"})
	case len(perms) > 0 && len(ids) > 0:
		return append(v, rules.Violation{Field: "security_group_rule_ids", Description: "give either ip_permissions or security_group_rule_ids, not both"})
	case len(ids) > rules.MaxPeersPerRequest:
		return append(v, rules.Violation{Field: "security_group_rule_ids", Description: fmt.Sprintf("%d rule ids given; a security group holds at most %d rules per direction", len(ids), rules.MaxPeersPerRequest)})
	}
	v = append(v, permissions("ip_permissions", dir, perms, false)...)
	seen := map[string]bool{}
	for i, id := range ids {
		field := indexed("security_group_rule_ids", i)
		v = append(v, rules.ValidateRuleID(field, id)...)
		if seen[id] {
			v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("rule id %s appears more than once", truncate(id))})
		}
		seen[id] = true
	}
	return v.Capped()
}

func indexed(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
