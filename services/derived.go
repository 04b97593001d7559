package services

import (
	"maps"
	"slices"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// Derived rollouts (remediations, rollbacks) give each group its own
// change; these build those changes and their union, which is the
// rollout's change.

// byDirection splits rules by direction (0 ingress, 1 egress).
type byDirection [2][]rules.Rule

func (b *byDirection) add(r rules.Rule) {
	i := 0
	if r.Direction == rules.Egress {
		i = 1
	}
	b[i] = append(b[i], r)
}

func (b byDirection) empty() bool { return len(b[0])+len(b[1]) == 0 }

// ruleChange is one group's change: additions first, then removals.
func ruleChange(add, remove byDirection) *palisadev1.RuleChange {
	return &palisadev1.RuleChange{
		AuthorizeIngress: ruleconv.ToPermissions(add[0]), AuthorizeEgress: ruleconv.ToPermissions(add[1]),
		RevokeIngress: ruleconv.ToPermissions(remove[0]), RevokeEgress: ruleconv.ToPermissions(remove[1]),
	}
}

// union gathers every group's additions and removals, each rule once, for
// the rollout's own change.
type union struct{ add, remove [2]map[string]rules.Rule }

func newUnion() *union {
	u := &union{}
	for i := range 2 {
		u.add[i], u.remove[i] = map[string]rules.Rule{}, map[string]rules.Rule{}
	}
	return u
}

func (u *union) include(add, remove byDirection) {
	for i := range 2 {
		for _, r := range add[i] {
			u.add[i][r.Key()] = r
		}
		for _, r := range remove[i] {
			u.remove[i][r.Key()] = r
		}
	}
}

// change is the union as a RuleChange, in key order.
func (u *union) change() *palisadev1.RuleChange {
	var add, remove byDirection
	for i := range 2 {
		for _, k := range slices.Sorted(maps.Keys(u.add[i])) {
			add[i] = append(add[i], u.add[i][k])
		}
		for _, k := range slices.Sorted(maps.Keys(u.remove[i])) {
			remove[i] = append(remove[i], u.remove[i][k])
		}
	}
	return ruleChange(add, remove)
}
