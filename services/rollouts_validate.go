package services

import (
	"fmt"
	"sort"
	"unicode/utf8"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/rules"
)

// Bounds of one rollout request.
const (
	maxRolloutTargets  = 100
	maxTargetGroupIDs  = 1000
	maxRolloutInFlight = 1000
	maxCanarySize      = 1000
)

func validateStartRollout(r *palisadev1.StartRolloutRequest) rules.Violations {
	v := validateRequestID(r.GetRequestId())
	if r.GetChange() == nil {
		v = append(v, rules.Violation{Field: "change", Description: "change is required: the permissions to authorize and/or revoke"})
	} else {
		_, cv := rollout.ExpandChange("change", r.GetChange())
		v = append(v, cv...)
	}
	switch n := len(r.GetTargets()); {
	case n == 0:
		v = append(v, rules.Violation{Field: "targets", Description: "targets is required: at least one account and region with group ids or a tag filter"})
	case n > maxRolloutTargets:
		v = append(v, rules.Violation{Field: "targets", Description: fmt.Sprintf("%d targets given; at most %d are allowed", n, maxRolloutTargets)})
	}
	for i, t := range r.GetTargets() {
		v = append(v, validateTarget(indexed("targets", i), t)...)
	}
	return append(v, validateStrategy(r.GetStrategy())...)
}

func validateTarget(path string, t *palisadev1.RolloutTarget) rules.Violations {
	var v rules.Violations
	if t.GetLocation() == nil {
		v = append(v, rules.Violation{Field: path + ".location", Description: "location is required: the account_id and region of the groups"})
	} else {
		v = append(v, rules.ValidateAccountID(path+".location.account_id", t.GetLocation().GetAccountId())...)
		v = append(v, rules.ValidateRegion(path+".location.region", t.GetLocation().GetRegion())...)
	}
	ids, tags := t.GetGroupIds(), t.GetTags()
	switch {
	case len(ids) == 0 && len(tags) == 0:
		v = append(v, rules.Violation{Field: path + ".group_ids", Description: "name the groups, either by group_ids or by tags"})
	case len(ids) > 0 && len(tags) > 0:
		v = append(v, rules.Violation{Field: path + ".tags", Description: "give either group_ids or tags, not both"})
	case len(ids) > maxTargetGroupIDs:
		v = append(v, rules.Violation{Field: path + ".group_ids", Description: fmt.Sprintf("%d group ids given; at most %d per target are allowed", len(ids), maxTargetGroupIDs)})
	}
	seen := map[string]bool{}
	for i, id := range ids {
		field := indexed(path+".group_ids", i)
		v = append(v, rules.ValidateGroupID(field, id)...)
		if seen[id] {
			v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("group id %s appears more than once", id)})
		}
		seen[id] = true
	}
	v = append(v, validateTagFilter(path+".tags", tags)...)
	if t.GetVpcId() != "" {
		v = append(v, rules.ValidateVpcID(path+".vpc_id", t.GetVpcId())...)
	}
	return v
}

// validateTagFilter checks tags used to select groups. Unlike tags being
// set, a filter may name AWS's own tags (aws:cloudformation:stack-name).
func validateTagFilter(path string, tags map[string]string) rules.Violations {
	var v rules.Violations
	if len(tags) > rules.MaxTags {
		v = append(v, rules.Violation{Field: path, Description: fmt.Sprintf("%d tags given; a group carries at most %d", len(tags), rules.MaxTags)})
	}
	for _, k := range sortedKeys(tags) {
		f := fmt.Sprintf("%s[%q]", path, k)
		switch {
		case k == "":
			v = append(v, rules.Violation{Field: f, Description: "tag key must not be empty"})
		case !utf8.ValidString(k) || !utf8.ValidString(tags[k]):
			v = append(v, rules.Violation{Field: f, Description: "tag key and value must be valid UTF-8"})
		case utf8.RuneCountInString(k) > rules.MaxTagKeyLen || utf8.RuneCountInString(tags[k]) > rules.MaxTagValueLen:
			v = append(v, rules.Violation{Field: f, Description: fmt.Sprintf("tag keys have at most %d characters and values at most %d", rules.MaxTagKeyLen, rules.MaxTagValueLen)})
		}
	}
	return v
}

func validateStrategy(s *palisadev1.RolloutStrategy) rules.Violations {
	var v rules.Violations
	if n := s.GetMaxInFlight(); n < 0 || n > maxRolloutInFlight {
		v = append(v, rules.Violation{Field: "strategy.max_in_flight", Description: fmt.Sprintf("max_in_flight must be between 1 and %d, or 0 for 50", maxRolloutInFlight)})
	}
	if n := s.GetCanarySize(); n < 0 || n > maxCanarySize {
		v = append(v, rules.Violation{Field: "strategy.canary_size", Description: fmt.Sprintf("canary_size must be between 0 and %d", maxCanarySize)})
	}
	if s != nil && s.MaxFailures != nil && s.GetMaxFailures() < 0 {
		v = append(v, rules.Violation{Field: "strategy.max_failures", Description: "max_failures must not be negative; leave it unset for no threshold"})
	}
	return v
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
