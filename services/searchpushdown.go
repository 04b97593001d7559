package services

import (
	"net/netip"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// A fleet search asks EC2 for every group its own filters select and tests
// the rule predicates on what comes back. Most groups of a fleet cannot
// match, and reading them costs EC2, the endpoint and the SDK the whole
// group's XML; so the search also sends EC2 filters that every matching
// group passes, derived from the predicates, and EC2 leaves out groups no
// rule of which could match. The predicates are still tested on every
// group that comes back: the filters only pre-select.
//
// Each pushed filter must be implied by the predicates, or a match would
// be lost. EC2 ANDs filters of different names and ORs the values of one,
// and each rule filter is met by any one rule of the group in that
// direction (DescribeSecurityGroups: "the results include security groups
// for which any combination of rules - not necessarily a single rule -
// match all filters"). So:
//   - A predicate with a direction gives filters on that direction's
//     rules; one without a direction is met by an ingress or an egress
//     rule, which no AND of filters can say, so it gives none.
//   - Within one predicate, the rule that meets it meets each of its
//     filters, so they may all be sent.
//   - Several predicates are each met by some rule, perhaps different
//     ones: filters of different names may all be sent; of one name only
//     one predicate's (a single filter with the values of both would ask
//     for one rule meeting both, which is not implied).
//   - For the same reason the caller's own filter of a name wins: its
//     values and ours may be met by different rules, so the two cannot be
//     intersected into one filter, and EC2 does not document what two
//     filters of one name do.
//
// Which values: cidr_contains X is met only by an IPv4 or IPv6 range that
// is X or one of its supernets; EC2 stores ranges canonically (host bits
// cleared; IPv6 in RFC 5952's lower-case, zero-compressed text, which is
// netip's), so the supernets' canonical texts are exactly the strings a
// matching rule can carry: 33 at most for IPv4, 129 for IPv6, within EC2's
// 200 values per filter. A protocol is met by a rule of that protocol or
// of -1; EC2 stores protocol names in lower case and reports 6, 17, 1 and
// 58 by name, and its filter takes "a protocol name or number", so both
// spellings are sent. A port alone is met only by tcp, udp or -1 rules.
// Ports themselves are not pushed: EC2 filters compare from-port and
// to-port as text, not as a range, and what they compare for a -1 rule is
// not documented. Neither is references_other_account (EC2 has no "not
// this account" filter) nor without_rules (no "no rule" filter).

// protocolNumbers are the numbers EC2 also accepts for the protocols it
// names.
var protocolNumbers = map[string]string{"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58"}

// pushedFilters returns EC2 filters that every group meeting all of preds
// passes, to be sent besides the caller's own (which it never repeats or
// changes), in a stable order.
func pushedFilters(preds []rules.Predicate, caller []*palisadev1.Filter) []types.Filter {
	taken := map[string]bool{}
	for _, f := range caller {
		taken[f.GetName()] = true
	}
	chosen := map[string][]string{}
	for _, p := range preds {
		for name, values := range predicateFilters(p) {
			if taken[name] || len(values) > validate.MaxFilterValues {
				continue
			}
			// Of two predicates' filters of one name, either is implied;
			// keep the one naming fewer values, the narrower as a rule.
			if have, ok := chosen[name]; !ok || len(values) < len(have) {
				chosen[name] = values
			}
		}
	}
	names := make([]string, 0, len(chosen))
	for name := range chosen {
		names = append(names, name)
	}
	sort.Strings(names)
	if room := validate.MaxFilters - len(caller); len(names) > room {
		names = names[:max(room, 0)]
	}
	out := make([]types.Filter, 0, len(names))
	for _, name := range names {
		out = append(out, types.Filter{Name: aws.String(name), Values: chosen[name]})
	}
	return out
}

// predicateFilters returns, by name, the filters the rule meeting p passes.
func predicateFilters(p rules.Predicate) map[string][]string {
	var prefix string
	switch p.Direction {
	case rules.Ingress:
		prefix = "ip-permission."
	case rules.Egress:
		prefix = "egress.ip-permission."
	default:
		return nil
	}
	out := map[string][]string{}
	// An IPv4-mapped IPv6 range has two textual forms (RFC 5952 §5), so
	// which one EC2 stores is not known; such a range is not pushed (and
	// validation refuses it as a predicate anyway).
	if p.Contains.IsValid() && !p.Contains.Addr().Is4In6() {
		name := prefix + "cidr"
		if p.Contains.Addr().Is6() {
			name = prefix + "ipv6-cidr"
		}
		out[name] = supernets(p.Contains)
	}
	if protocols := allowingProtocols(p); protocols != nil {
		out[prefix+"protocol"] = protocols
	}
	return out
}

// supernets returns the canonical text of want and of every prefix
// holding it, longest first.
func supernets(want netip.Prefix) []string {
	want = want.Masked()
	out := make([]string, 0, want.Bits()+1)
	for bits := want.Bits(); bits >= 0; bits-- {
		out = append(out, netip.PrefixFrom(want.Addr(), bits).Masked().String())
	}
	return out
}

// allowingProtocols returns every spelling of the protocols a rule meeting
// p may have, or nil when p does not restrict the protocol.
func allowingProtocols(p rules.Predicate) []string {
	var names []string
	switch {
	case p.Protocol == "-1":
		return []string{"-1"}
	case p.Protocol != "":
		names = []string{p.Protocol}
	case p.HasPort:
		names = []string{"tcp", "udp"}
	default:
		return nil
	}
	var out []string
	for _, n := range names {
		out = append(out, n)
		if num, ok := protocolNumbers[n]; ok {
			out = append(out, num)
		}
	}
	return append(out, "-1")
}
