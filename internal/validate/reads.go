package validate

import (
	"fmt"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

// MaxListGroupIDs bounds the group ids one ListSecurityGroups names.
const MaxListGroupIDs = MaxTargetGroupIDs

// GetSecurityGroup checks a GetSecurityGroupRequest.
func GetSecurityGroup(r *palisadev1.GetSecurityGroupRequest) rules.Violations {
	v := Location(r.GetLocation())
	return append(v, rules.ValidateGroupID("group_id", r.GetGroupId())...).Capped()
}

// ListSecurityGroups checks a ListSecurityGroupsRequest; its tag filter
// follows the same rules as tags being set, except that it may name AWS's
// own tags.
func ListSecurityGroups(r *palisadev1.ListSecurityGroupsRequest) rules.Violations {
	v := Location(r.GetLocation())
	if r.GetVpcId() != "" {
		v = append(v, rules.ValidateVpcID("vpc_id", r.GetVpcId())...)
	}
	if n := len(r.GetGroupIds()); n > MaxListGroupIDs {
		v = append(v, rules.Violation{Field: "group_ids", Description: fmt.Sprintf("%d group ids given; at most %d are allowed", n, MaxListGroupIDs)})
	} else {
		for i, id := range r.GetGroupIds() {
			v = append(v, rules.ValidateGroupID(indexed("group_ids", i), id)...)
		}
	}
	v = append(v, rules.ValidateTagFilter("tags", r.GetTags())...)
	v = append(v, Filters("filters", r.GetFilters(), GroupFilters)...)
	v = append(v, pageSize(r.GetPageSize())...)
	return v.Capped()
}

// ListSecurityGroupRules checks a ListSecurityGroupRulesRequest.
func ListSecurityGroupRules(r *palisadev1.ListSecurityGroupRulesRequest) rules.Violations {
	v := Location(r.GetLocation())
	if r.GetGroupId() != "" {
		v = append(v, rules.ValidateGroupID("group_id", r.GetGroupId())...)
	}
	if n := len(r.GetSecurityGroupRuleIds()); n > MaxFilterValues {
		v = append(v, rules.Violation{Field: "security_group_rule_ids", Description: fmt.Sprintf("%d rule ids given; at most %d are allowed", n, MaxFilterValues)})
	} else {
		for i, id := range r.GetSecurityGroupRuleIds() {
			v = append(v, rules.ValidateRuleID(indexed("security_group_rule_ids", i), id)...)
		}
	}
	v = append(v, Filters("filters", r.GetFilters(), RuleFilters)...)
	v = append(v, pageSize(r.GetPageSize())...)
	return v.Capped()
}

// pageSize checks an AIP-158 page size against EC2's page limits.
func pageSize(size int32) rules.Violations {
	if size != 0 && (size < 5 || size > 1000) {
		return rules.Violations{{Field: "page_size", Description: "page_size must be between 5 and 1000 (EC2's page limits), or 0 for 100"}}
	}
	return nil
}
