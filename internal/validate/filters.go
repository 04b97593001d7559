package validate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

// EC2's bounds on describe filters: at most 200 values per filter
// (FilterLimitExceeded beyond), and no filter value longer than the
// longest thing any filter compares (a tag value).
const (
	MaxFilters           = 50
	MaxFilterValues      = 200
	MaxFilterValueLength = rules.MaxTagValueLen
)

// filterKind is what a filter's values must look like.
type filterKind int

const (
	anyText filterKind = iota
	portValue
	protocolValue
)

// FilterSet is the filters one EC2 describe call knows, by name; "tag:<key>"
// is known to every set.
type FilterSet struct {
	what  string // "security groups", "security group rules"
	names map[string]filterKind
}

// RuleFilters are DescribeSecurityGroupRules's filters.
var RuleFilters = FilterSet{what: "security group rules", names: map[string]filterKind{
	"group-id": anyText, "security-group-rule-id": anyText,
}}

// GroupFilters are DescribeSecurityGroups's filters: the group's own
// fields, and the rules' fields for inbound (ip-permission.*) and outbound
// (egress.ip-permission.*) rules.
var GroupFilters = FilterSet{what: "security groups", names: groupFilterNames()}

func groupFilterNames() map[string]filterKind {
	m := map[string]filterKind{
		"description": anyText, "group-id": anyText, "group-name": anyText,
		"owner-id": anyText, "vpc-id": anyText, "tag-key": anyText,
	}
	perm := map[string]filterKind{
		"cidr": anyText, "from-port": portValue, "to-port": portValue, "protocol": protocolValue,
		"group-id": anyText, "group-name": anyText, "ipv6-cidr": anyText, "prefix-list-id": anyText, "user-id": anyText,
	}
	for k, kind := range perm {
		m["ip-permission."+k] = kind
		m["egress.ip-permission."+k] = kind
	}
	return m
}

// Names lists the set's filter names, sorted, "tag:<key>" last.
func (s FilterSet) Names() []string {
	out := make([]string, 0, len(s.names)+1)
	for n := range s.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return append(out, "tag:<key>")
}

// Filters checks filters for one describe call: each name one EC2 has for
// that call, each filter with 1 to 200 values of at most 256 characters,
// ports as numbers. Wildcards ('*', '?', '\' escaping) are allowed where
// EC2 compares text; a port or protocol is compared as a number or
// a name, so wildcards are refused there.
func Filters(field string, fs []*palisadev1.Filter, set FilterSet) rules.Violations {
	if len(fs) > MaxFilters {
		return rules.Violations{{Field: field, Description: fmt.Sprintf("%d filters given; at most %d are allowed", len(fs), MaxFilters)}}
	}
	var v rules.Violations
	for i, f := range fs {
		at := indexed(field, i)
		kind, ok := set.names[f.GetName()]
		if key, isTag := strings.CutPrefix(f.GetName(), "tag:"); isTag {
			ok = key != "" && utf8.RuneCountInString(key) <= rules.MaxTagKeyLen && utf8.ValidString(key)
		}
		if !ok {
			v = append(v, rules.Violation{Field: at + ".name", Description: fmt.Sprintf("EC2 has no filter %q for %s; it has %s",
				truncate(f.GetName()), set.what, strings.Join(set.Names(), ", "))})
			continue
		}
		vals := f.GetValues()
		switch {
		case len(vals) == 0:
			v = append(v, rules.Violation{Field: at + ".values", Description: fmt.Sprintf("filter %q has no values; give at least one", f.GetName())})
			continue
		case len(vals) > MaxFilterValues:
			v = append(v, rules.Violation{Field: at + ".values", Description: fmt.Sprintf("filter %q has %d values; EC2 allows at most %d", f.GetName(), len(vals), MaxFilterValues)})
			continue
		}
		for j, val := range vals {
			if msg := filterValue(kind, val); msg != "" {
				v = append(v, rules.Violation{Field: indexed(at+".values", j), Description: fmt.Sprintf("filter %q: %s", f.GetName(), msg)})
			}
		}
	}
	return v.Capped()
}

// filterValue says what is wrong with one value, or "".
func filterValue(kind filterKind, val string) string {
	switch {
	case !utf8.ValidString(val):
		return "the value is not valid UTF-8"
	case utf8.RuneCountInString(val) > MaxFilterValueLength:
		return fmt.Sprintf("the value is %d characters long; at most %d are allowed", utf8.RuneCountInString(val), MaxFilterValueLength)
	}
	switch kind {
	case portValue:
		if n, err := strconv.Atoi(val); err != nil || n < -1 || n > 65535 {
			return fmt.Sprintf("%q is not a port, ICMP type or code (-1 to 65535)", truncate(val))
		}
	case protocolValue:
		switch val {
		case "tcp", "udp", "icmp", "icmpv6", "-1":
			return ""
		}
		if n, err := strconv.Atoi(val); err != nil || n < 0 || n > 255 {
			return fmt.Sprintf("%q is not a protocol (tcp, udp, icmp, icmpv6, -1 or a number 0 to 255)", truncate(val))
		}
	}
	return ""
}
