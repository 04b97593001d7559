package validate

import (
	"fmt"
	"net/netip"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

// Bounds of one fleet search: the targets it reads (each a paced
// Describe or two) and the predicates every rule is tested against.
const (
	MaxSearchTargets    = 1000
	MaxSearchPredicates = 20
)

// SearchSecurityGroups checks a SearchSecurityGroupsRequest.
func SearchSecurityGroups(r *palisadev1.SearchSecurityGroupsRequest) rules.Violations {
	var v rules.Violations
	ts := r.GetTargets()
	switch {
	case len(ts) == 0:
		v = append(v, rules.Violation{Field: "targets", Description: "targets is required: the accounts and regions to search"})
	case len(ts) > MaxSearchTargets:
		v = append(v, rules.Violation{Field: "targets", Description: fmt.Sprintf("%d targets given; at most %d are allowed", len(ts), MaxSearchTargets)})
	default:
		seen := map[string]bool{}
		for i, t := range ts {
			at := indexed("targets", i)
			if lv := Location(t); len(lv) > 0 {
				for _, x := range lv {
					v = append(v, rules.Violation{Field: at + x.Field[len("location"):], Description: x.Description})
				}
				continue
			}
			key := t.GetAccountId() + "/" + t.GetRegion()
			if seen[key] {
				v = append(v, rules.Violation{Field: at, Description: key + " is named twice"})
			}
			seen[key] = true
		}
	}
	v = append(v, Filters("filters", r.GetFilters(), GroupFilters)...)
	ps := r.GetRulePredicates()
	if len(ps) > MaxSearchPredicates {
		return append(v, rules.Violation{Field: "rule_predicates", Description: fmt.Sprintf("%d predicates given; at most %d are allowed", len(ps), MaxSearchPredicates)}).Capped()
	}
	for i, p := range ps {
		v = append(v, Predicate(indexed("rule_predicates", i), p)...)
	}
	return v.Capped()
}

// Predicate checks one rule predicate.
func Predicate(path string, p *palisadev1.RulePredicate) rules.Violations {
	var v rules.Violations
	if _, ok := palisadev1.RulePredicate_Direction_name[int32(p.GetDirection())]; !ok {
		v = append(v, rules.Violation{Field: path + ".direction", Description: fmt.Sprintf("direction %d is neither DIRECTION_INGRESS nor DIRECTION_EGRESS", p.GetDirection())})
	}
	if p.GetProtocol() != "" {
		if _, msg := rules.CanonicalProtocol(p.GetProtocol()); msg != "" {
			v = append(v, rules.Violation{Field: path + ".protocol", Description: msg})
		}
	}
	if p.Port != nil && (p.GetPort() < 0 || p.GetPort() > 65535) {
		v = append(v, rules.Violation{Field: path + ".port", Description: fmt.Sprintf("port %d is out of range 0-65535", p.GetPort())})
	}
	if c := p.GetCidrContains(); c != "" {
		if pfx, err := netip.ParsePrefix(c); err != nil || pfx.Addr().Is4In6() {
			v = append(v, rules.Violation{Field: path + ".cidr_contains", Description: fmt.Sprintf("%q is not an IPv4 or IPv6 CIDR block (e.g. 0.0.0.0/0, 203.0.113.7/32)", truncate(c))})
		}
	}
	return v
}
