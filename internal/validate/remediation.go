package validate

import (
	"fmt"
	"net/netip"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

// Remediation checks a StartRolloutRequest asking for a remediation as the
// caller sends it: the search and action, and neither a change nor targets
// of its own (the API derives both from the search).
func Remediation(r *palisadev1.StartRolloutRequest) rules.Violations {
	v := RequestID(r.GetRequestId())
	v = append(v, remediation(r.GetRemediation())...)
	if r.GetChange() != nil {
		v = append(v, rules.Violation{Field: "change", Description: "a remediation derives its change from the rules the search finds; leave change empty"})
	}
	if len(r.GetTargets()) > 0 {
		v = append(v, rules.Violation{Field: "targets", Description: "a remediation's targets are the groups the search finds; leave targets empty"})
	}
	return append(v, Strategy(r.GetStrategy())...).Capped()
}

// remediation checks the search and action of a remediation.
func remediation(m *palisadev1.RolloutRemediation) rules.Violations {
	var v rules.Violations
	s := m.GetSearch()
	switch {
	case s == nil:
		v = append(v, rules.Violation{Field: "remediation.search", Description: "remediation.search is required: where and what to look for"})
	case len(s.GetTargets()) > MaxRolloutTargets:
		v = append(v, rules.Violation{Field: "remediation.search.targets", Description: fmt.Sprintf("%d targets given; a rollout reaches at most %d accounts and regions", len(s.GetTargets()), MaxRolloutTargets)})
	default:
		for _, x := range SearchSecurityGroups(s) {
			v = append(v, rules.Violation{Field: "remediation.search." + strings.TrimPrefix(x.Field, "."), Description: x.Description})
		}
		if len(s.GetRulePredicates()) == 0 {
			v = append(v, rules.Violation{Field: "remediation.search.rule_predicates", Description: "give at least one rule predicate: the rules a remediation revokes are those that satisfy one"})
		}
		if s.GetWithoutRules() {
			v = append(v, rules.Violation{Field: "remediation.search.without_rules", Description: "a group without rules has no rule to revoke"})
		}
	}
	switch m.GetAction() {
	case palisadev1.RolloutRemediation_ACTION_REVOKE_MATCHING_RULES:
		if m.GetReplacementCidr() != "" {
			v = append(v, rules.Violation{Field: "remediation.replacement_cidr", Description: "only ACTION_REPLACE_PEER_CIDR takes a replacement_cidr"})
		}
	case palisadev1.RolloutRemediation_ACTION_REPLACE_PEER_CIDR:
		if pfx, err := netip.ParsePrefix(m.GetReplacementCidr()); err != nil || pfx.Addr().Is4In6() || pfx.Masked() != pfx {
			v = append(v, rules.Violation{Field: "remediation.replacement_cidr", Description: fmt.Sprintf("%q is not a CIDR block without host bits (e.g. 10.0.0.0/8): the peer that replaces the matching rules'", truncate(m.GetReplacementCidr()))})
		}
	default:
		v = append(v, rules.Violation{Field: "remediation.action", Description: "remediation.action is required: ACTION_REVOKE_MATCHING_RULES or ACTION_REPLACE_PEER_CIDR"})
	}
	return v
}
