// Package rollout is the pure logic of bulk rule rollouts: what a change
// means for one group (additions, removals, quota headroom, EC2 calls),
// the plan of a whole rollout, the order groups are started in, and the
// progress counts. Reading the targets from EC2 is in resolve.go; driving a
// rollout is the workers' job.
package rollout

import (
	"errors"
	"fmt"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// Directions in the order a change applies them.
var Directions = [2]rules.Direction{rules.Ingress, rules.Egress}

// Change is a RuleChange in canonical rules, indexed by direction
// (0 ingress, 1 egress).
type Change struct {
	Authorize, Revoke [2][]rules.Rule
}

// ExpandChange validates a change and canonicalises it. Field paths start
// at path, e.g. "change.authorize_ingress[0].ip_ranges[0].cidr_ip".
func ExpandChange(path string, c *palisadev1.RuleChange) (Change, rules.Violations) {
	var out Change
	var v rules.Violations
	lists := []struct {
		field string
		dir   rules.Direction
		perms []*palisadev1.IpPermission
		dst   *[]rules.Rule
	}{
		{"authorize_ingress", rules.Ingress, c.GetAuthorizeIngress(), &out.Authorize[0]},
		{"authorize_egress", rules.Egress, c.GetAuthorizeEgress(), &out.Authorize[1]},
		{"revoke_ingress", rules.Ingress, c.GetRevokeIngress(), &out.Revoke[0]},
		{"revoke_egress", rules.Egress, c.GetRevokeEgress(), &out.Revoke[1]},
	}
	total := 0
	for _, l := range lists {
		total += len(l.perms)
		if len(l.perms) == 0 {
			continue
		}
		rs, lv := rules.Expand(path+"."+l.field, l.dir, ruleconv.Permissions(l.perms))
		v = append(v, lv...)
		*l.dst = rs
	}
	if total == 0 {
		return out, append(v, rules.Violation{Field: path, Description: "the change is empty: give at least one permission to authorize or revoke"})
	}
	// A rule both added and removed would be removed again at once: say so
	// rather than guess which was meant.
	for i, field := range []string{"revoke_ingress", "revoke_egress"} {
		adding := map[string]bool{}
		for _, r := range out.Authorize[i] {
			adding[r.Key()] = true
		}
		for _, r := range out.Revoke[i] {
			if adding[r.Key()] {
				v = append(v, rules.Violation{Field: path + "." + field, Description: fmt.Sprintf("%s is both authorized and revoked by this change", r)})
			}
		}
	}
	return out, v
}

// Observed turns a group's permissions as EC2 described them into
// canonical rules. Descriptions are left out (they are no part of a rule's
// identity, and EC2 may hold one Palisade's validation refuses); a peer the
// model cannot express is kept as a distinct rule so it still counts
// against the quota but never matches a requested rule.
func Observed(dir rules.Direction, perms []*palisadev1.IpPermission) []rules.Rule {
	var out []rules.Rule
	for _, p := range ruleconv.Permissions(perms) {
		for _, one := range peers(p) {
			rs, v := rules.Expand("observed", dir, []rules.Permission{one})
			if len(v) == 0 && len(rs) == 1 {
				out = append(out, rs[0])
				continue
			}
			out = append(out, rules.Rule{Direction: dir, Protocol: one.Protocol, Kind: kindOf(one), Source: fmt.Sprintf("unreadable:%d", len(out))})
		}
	}
	return out
}

// peers splits a permission into one permission per peer, without
// descriptions.
func peers(p rules.Permission) []rules.Permission {
	base := rules.Permission{Protocol: p.Protocol, FromPort: p.FromPort, ToPort: p.ToPort}
	var out []rules.Permission
	for _, c := range p.IPv4Ranges {
		q := base
		q.IPv4Ranges = []rules.CIDR{{Value: c.Value}}
		out = append(out, q)
	}
	for _, c := range p.IPv6Ranges {
		q := base
		q.IPv6Ranges = []rules.CIDR{{Value: c.Value}}
		out = append(out, q)
	}
	for _, pl := range p.PrefixLists {
		q := base
		q.PrefixLists = []rules.PrefixList{{ID: pl.ID}}
		out = append(out, q)
	}
	for _, g := range p.Groups {
		q := base
		q.Groups = []rules.GroupRef{{GroupID: g.GroupID, UserID: g.UserID, VpcID: g.VpcID, PeeringID: g.PeeringID}}
		out = append(out, q)
	}
	return out
}

func kindOf(p rules.Permission) rules.SourceKind {
	switch {
	case len(p.IPv6Ranges) > 0:
		return rules.SourceIPv6
	case len(p.PrefixLists) > 0:
		return rules.SourcePrefixList
	case len(p.Groups) > 0:
		return rules.SourceGroup
	}
	return rules.SourceIPv4
}

// GroupChange is what a change means for one group's current rules.
type GroupChange struct {
	// Add holds the rules still missing, Remove those still present, by
	// direction.
	Add, Remove [2][]rules.Rule
	// Quota is set when a direction cannot take its additions: the group
	// must not be touched at all.
	Quota *QuotaError
}

// QuotaError is a quota overflow in one direction of one group.
type QuotaError struct {
	Direction rules.Direction
	Err       *rules.QuotaError
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s: %v", e.Direction, e.Err)
}

// Unwrap lets errors.Is(err, rules.ErrQuotaExceeded) match.
func (e *QuotaError) Unwrap() error { return e.Err }

// For computes the change for a group whose rules are current (by
// direction). The quota counts the additions before any removal, because
// additions are made first: a replaced rule must never be absent. A rule
// naming a prefix list counts as weight says (nil: once), as EC2 counts it.
func (c Change) For(current [2][]rules.Rule, weight rules.PrefixListWeight) GroupChange {
	var g GroupChange
	for i, d := range Directions {
		g.Add[i] = rules.Missing(c.Authorize[i], current[i])
		g.Remove[i] = rules.Present(c.Revoke[i], current[i])
		if g.Quota == nil {
			if err := rules.CheckQuotaWeighted(current[i], g.Add[i], weight); err != nil {
				var qe *rules.QuotaError
				errors.As(err, &qe)
				g.Quota = &QuotaError{Direction: d, Err: qe}
			}
		}
	}
	return g
}

// Calls returns the EC2 calls applying the change takes: one per
// direction for all its additions, one per direction for all removals.
func (g GroupChange) Calls() map[string]int {
	out := map[string]int{}
	if g.Quota != nil {
		return out
	}
	names := [2][2]string{
		{"AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"},
		{"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"},
	}
	for i := range Directions {
		if len(g.Add[i]) > 0 {
			out[names[0][i]]++
		}
		if len(g.Remove[i]) > 0 {
			out[names[1][i]]++
		}
	}
	return out
}

// Empty reports whether the group is already as the change wants it.
func (g GroupChange) Empty() bool {
	return len(g.Add[0])+len(g.Add[1])+len(g.Remove[0])+len(g.Remove[1]) == 0
}
