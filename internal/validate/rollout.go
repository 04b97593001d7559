package validate

import (
	"fmt"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/rules"
)

// Bounds of one rollout request.
const (
	MaxRolloutTargets  = 100
	MaxTargetGroupIDs  = 1000
	MaxRolloutInFlight = 1000
	MaxCanarySize      = 1000
)

// StartRollout checks a StartRolloutRequest.
func StartRollout(r *palisadev1.StartRolloutRequest) rules.Violations {
	v := RequestID(r.GetRequestId())
	if r.GetChange() == nil {
		v = append(v, rules.Violation{Field: "change", Description: "change is required: the permissions to authorize and/or revoke"})
	} else {
		v = append(v, Change("change", r.GetChange())...)
	}
	switch n := len(r.GetTargets()); {
	case n == 0:
		v = append(v, rules.Violation{Field: "targets", Description: "targets is required: at least one account and region with group ids or a tag filter"})
	case n > MaxRolloutTargets:
		v = append(v, rules.Violation{Field: "targets", Description: fmt.Sprintf("%d targets given; at most %d are allowed", n, MaxRolloutTargets)})
	default:
		for i, t := range r.GetTargets() {
			v = append(v, Target(indexed("targets", i), t)...)
		}
	}
	if r.GetRemediation() != nil {
		// A remediation as stored, its change and targets derived.
		v = append(v, remediation(r.GetRemediation())...)
	}
	if len(r.GetGroupChanges()) > 0 || r.GetRollbackOf() != "" {
		// A rollback as stored, each group's change derived.
		v = append(v, groupChanges(r)...)
	}
	return append(v, Strategy(r.GetStrategy())...).Capped()
}

// Change checks a rule change (a rollout's, or one child's), each list's
// size before its items.
func Change(path string, c *palisadev1.RuleChange) rules.Violations {
	var v rules.Violations
	for _, l := range []struct {
		field string
		perms []*palisadev1.IpPermission
	}{
		{"authorize_ingress", c.GetAuthorizeIngress()}, {"authorize_egress", c.GetAuthorizeEgress()},
		{"revoke_ingress", c.GetRevokeIngress()}, {"revoke_egress", c.GetRevokeEgress()},
	} {
		v = append(v, checkCounts(path+"."+l.field, l.perms)...)
	}
	if len(v) > 0 {
		return v
	}
	_, v = rollout.ExpandChange(path, c)
	return v.Capped()
}

// Target checks one rollout target at path.
func Target(path string, t *palisadev1.RolloutTarget) rules.Violations {
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
	case len(ids) > MaxTargetGroupIDs:
		v = append(v, rules.Violation{Field: path + ".group_ids", Description: fmt.Sprintf("%d group ids given; at most %d per target are allowed", len(ids), MaxTargetGroupIDs)})
	default:
		v = append(v, groupIDs(path+".group_ids", ids)...)
		v = append(v, rules.ValidateTagFilter(path+".tags", tags)...)
	}
	if t.GetVpcId() != "" {
		v = append(v, rules.ValidateVpcID(path+".vpc_id", t.GetVpcId())...)
	}
	return v.Capped()
}

// groupIDs checks a list of group ids, each once. Past the violations'
// cap it only counts: a list of a thousand bad ids costs no more messages
// than the answer can carry.
func groupIDs(field string, ids []string) rules.Violations {
	var v rules.Violations
	seen := make(map[string]bool, len(ids))
	more := 0
	for i, id := range ids {
		if len(v) >= rules.MaxViolations {
			if !rules.IsGroupID(id) || seen[id] {
				more++
			}
			seen[id] = true
			continue
		}
		f := indexed(field, i)
		v = append(v, rules.ValidateGroupID(f, id)...)
		if seen[id] {
			v = append(v, rules.Violation{Field: f, Description: fmt.Sprintf("group id %s appears more than once", truncate(id))})
		}
		seen[id] = true
	}
	if more > 0 {
		v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("…and %d more group ids malformed or repeated", more)})
	}
	return v
}

// Strategy checks a rollout's strategy.
func Strategy(s *palisadev1.RolloutStrategy) rules.Violations {
	var v rules.Violations
	if n := s.GetMaxInFlight(); n < 0 || n > MaxRolloutInFlight {
		v = append(v, rules.Violation{Field: "strategy.max_in_flight", Description: fmt.Sprintf("max_in_flight must be between 1 and %d, or 0 for 50", MaxRolloutInFlight)})
	}
	if n := s.GetCanarySize(); n < 0 || n > MaxCanarySize {
		v = append(v, rules.Violation{Field: "strategy.canary_size", Description: fmt.Sprintf("canary_size must be between 0 and %d", MaxCanarySize)})
	}
	if s != nil && s.MaxFailures != nil && s.GetMaxFailures() < 0 {
		v = append(v, rules.Violation{Field: "strategy.max_failures", Description: "max_failures must not be negative; leave it unset for no threshold"})
	}
	return v
}

// groupChanges checks a rollback's own changes: the rollout undone, and
// for each group named by the targets exactly one valid change.
func groupChanges(r *palisadev1.StartRolloutRequest) rules.Violations {
	var v rules.Violations
	_, rollback := operations.RolloutIDFromName(r.GetRollbackOf())
	switch {
	case r.GetRollbackOf() != "" && !rollback:
		v = append(v, rules.Violation{Field: "rollback_of", Description: "rollback_of names the rollout undone: rollouts/<id>, the id 32 lower-case hex digits"})
	case !rollback && r.GetRemediation() == nil:
		v = append(v, rules.Violation{Field: "group_changes", Description: "only a remediation or a rollback gives each group its own change"})
	}
	targeted := map[string]bool{}
	for _, t := range r.GetTargets() {
		for _, id := range t.GetGroupIds() {
			targeted[rollout.GroupKey(t.GetLocation(), id)] = true
		}
	}
	seen := map[string]bool{}
	for i, g := range r.GetGroupChanges() {
		at := indexed("group_changes", i)
		key := rollout.GroupKey(g.GetLocation(), g.GetGroupId())
		if len(g.GetDrift()) > 2*rules.MaxPeersPerRequest {
			v = append(v, rules.Violation{Field: at + ".drift", Description: fmt.Sprintf("%d notes; a group holds at most %d rules", len(g.GetDrift()), 2*rules.MaxPeersPerRequest)})
		}
		if isEmptyChange(g.GetChange()) && len(g.GetDrift()) > 0 {
			continue // a group left alone, with why
		}
		switch {
		case !targeted[key]:
			v = append(v, rules.Violation{Field: at, Description: fmt.Sprintf("%s is not among the targets' group ids", truncate(key))})
		case seen[key]:
			v = append(v, rules.Violation{Field: at, Description: fmt.Sprintf("%s has two changes", truncate(key))})
		}
		seen[key] = true
		v = append(v, Change(at+".change", g.GetChange())...)
		if len(v) >= rules.MaxViolations {
			break
		}
	}
	return v
}

func isEmptyChange(c *palisadev1.RuleChange) bool {
	return len(c.GetAuthorizeIngress())+len(c.GetAuthorizeEgress())+len(c.GetRevokeIngress())+len(c.GetRevokeEgress()) == 0
}

// RollbackRollout checks a RollbackRolloutRequest.
func RollbackRollout(r *palisadev1.RollbackRolloutRequest) rules.Violations {
	v := RequestID(r.GetRequestId())
	if _, ok := operations.RolloutIDFromName(r.GetName()); !ok {
		v = append(v, rules.Violation{Field: "name", Description: fmt.Sprintf("%q is not a rollout name; expected rollouts/<id>, the id 32 lower-case hex digits", truncate(r.GetName()))})
	}
	if r.GetStrategy() != nil {
		v = append(v, Strategy(r.GetStrategy())...)
	}
	return v.Capped()
}
