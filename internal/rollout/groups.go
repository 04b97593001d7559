package rollout

import (
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// GroupKey names a group in an account and region.
func GroupKey(loc *palisadev1.Location, groupID string) string {
	return loc.GetAccountId() + "/" + loc.GetRegion() + "/" + groupID
}

// ChangeOf returns, for a rollout request, each group's change: its own
// when the rollout gives groups their own (a rollback), else the
// rollout's.
func ChangeOf(req *palisadev1.StartRolloutRequest) func(loc *palisadev1.Location, groupID string) *palisadev1.RuleChange {
	if len(req.GetGroupChanges()) == 0 {
		return func(*palisadev1.Location, string) *palisadev1.RuleChange { return req.GetChange() }
	}
	own := make(map[string]*palisadev1.RuleChange, len(req.GetGroupChanges()))
	for _, g := range req.GetGroupChanges() {
		own[GroupKey(g.GetLocation(), g.GetGroupId())] = g.GetChange()
	}
	return func(loc *palisadev1.Location, groupID string) *palisadev1.RuleChange {
		if c, ok := own[GroupKey(loc, groupID)]; ok {
			return c
		}
		return &palisadev1.RuleChange{}
	}
}

// ExpandedChangeOf is ChangeOf in canonical rules, for planning. The
// changes were validated when the rollout was accepted; one that no
// longer expands plans as no change.
func ExpandedChangeOf(req *palisadev1.StartRolloutRequest) func(loc *palisadev1.Location, groupID string) Change {
	of := ChangeOf(req)
	cache := map[string]Change{}
	return func(loc *palisadev1.Location, groupID string) Change {
		k := GroupKey(loc, groupID)
		if c, ok := cache[k]; ok {
			return c
		}
		c, v := ExpandChange("change", of(loc, groupID))
		if len(v) > 0 {
			c = Change{}
		}
		cache[k] = c
		return c
	}
}

// AddedLists returns the ids of the prefix lists a rollout request adds
// rules for, in its change or in any group's own, so their sizes can be
// looked up once while planning.
func AddedLists(req *palisadev1.StartRolloutRequest) []string {
	changes := []*palisadev1.RuleChange{req.GetChange()}
	for _, g := range req.GetGroupChanges() {
		changes = append(changes, g.GetChange())
	}
	var ids []string
	for _, c := range changes {
		for _, perms := range [][]*palisadev1.IpPermission{c.GetAuthorizeIngress(), c.GetAuthorizeEgress()} {
			ids = append(ids, permissionLists(perms)...)
		}
	}
	return sortedUnique(ids)
}
