package ec2sim

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Filters: names and values are case-sensitive; several filters must all
// match (AND), several values of one filter any (OR); values may use EC2's
// wildcards, '*' for any run and '?' for one character, '\' escaping either.

var groupFilters = map[string]bool{
	"description": true, "group-id": true, "group-name": true, "owner-id": true, "vpc-id": true, "tag-key": true,
	"ip-permission.cidr": true, "ip-permission.from-port": true, "ip-permission.to-port": true,
	"ip-permission.protocol": true, "ip-permission.group-id": true, "ip-permission.group-name": true,
	"ip-permission.ipv6-cidr": true, "ip-permission.prefix-list-id": true, "ip-permission.user-id": true,
	"egress.ip-permission.cidr": true, "egress.ip-permission.from-port": true, "egress.ip-permission.to-port": true,
	"egress.ip-permission.protocol": true, "egress.ip-permission.group-id": true, "egress.ip-permission.group-name": true,
	"egress.ip-permission.ipv6-cidr": true, "egress.ip-permission.prefix-list-id": true, "egress.ip-permission.user-id": true,
}

var ruleFilters = map[string]bool{"group-id": true, "security-group-rule-id": true}

var tagFilters = map[string]bool{"key": true, "value": true, "resource-id": true, "resource-type": true}

var vpcFilters = map[string]bool{
	"vpc-id": true, "is-default": true, "cidr": true, "cidr-block-association.cidr-block": true, "state": true,
	"owner-id": true, "ipv6-cidr-block-association.ipv6-cidr-block": true, "instance-tenancy": true, "tag-key": true,
}

// checkFilterNames refuses filter names the action does not know, with the
// code and text EC2 uses. "tag:<key>" is accepted by every action here.
func checkFilterNames(fs []filter, known map[string]bool) *apiError {
	for _, f := range fs {
		if known[f.Name] || (strings.HasPrefix(f.Name, "tag:") && len(f.Name) > len("tag:")) {
			continue
		}
		return clientErr(codeInvalidParameterValue, "The filter '%s' is invalid", truncate(f.Name, 128))
	}
	return nil
}

// matchAny reports whether s matches any of the filter's values.
func matchAny(values []string, s string) bool {
	for _, v := range values {
		if wildcardMatch(v, s) {
			return true
		}
	}
	return false
}

// wildcardMatch matches s against pattern with '*', '?' and '\' escapes.
// It works on the strings in place (decoding runes as it goes, so '?' is one
// character, not one byte) and backtracks only to the last '*', so it runs in
// O(len(pattern) × len(s)) at worst and allocates nothing.
func wildcardMatch(pattern, s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(pattern) {
			pc, pw := utf8.DecodeRuneInString(pattern[pi:])
			// Characters compare as bytes: invalid UTF-8 decodes to the
			// same replacement rune whatever the bytes were.
			_, sw := utf8.DecodeRuneInString(s[si:])
			switch {
			case pc == '*':
				starP, starS = pi, si
				pi += pw
				continue
			case pc == '?':
				pi, si = pi+pw, si+sw
				continue
			case pc == '\\' && pi+pw < len(pattern):
				if _, ew := utf8.DecodeRuneInString(pattern[pi+pw:]); pattern[pi+pw:pi+pw+ew] == s[si:si+sw] {
					pi, si = pi+pw+ew, si+sw
					continue
				}
			case pc != '\\' && pattern[pi:pi+pw] == s[si:si+sw]:
				pi, si = pi+pw, si+sw
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, sw := utf8.DecodeRuneInString(s[starS:])
		starS += sw
		pi, si = starP+1, starS
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// matchTags handles "tag:<key>" and "tag-key" against a resource's tags.
func matchTags(f filter, t tags) (handled, ok bool) {
	if key, isTag := strings.CutPrefix(f.Name, "tag:"); isTag {
		v, has := t[key]
		return true, has && matchAny(f.Values, v)
	}
	if f.Name == "tag-key" {
		for k := range t {
			if matchAny(f.Values, k) {
				return true, true
			}
		}
		return true, false
	}
	return false, false
}

func (c *call) groupMatches(g *group, fs []filter) bool {
	for _, f := range fs {
		if !c.groupMatchesOne(g, f) {
			return false
		}
	}
	return true
}

func (c *call) groupMatchesOne(g *group, f filter) bool {
	if handled, ok := matchTags(f, g.Tags); handled {
		return ok
	}
	switch f.Name {
	case "description":
		return matchAny(f.Values, g.Description)
	case "group-id":
		return matchAny(f.Values, g.ID)
	case "group-name":
		return matchAny(f.Values, g.Name)
	case "owner-id":
		return matchAny(f.Values, c.w.Account)
	case "vpc-id":
		return matchAny(f.Values, g.VPCID)
	}
	// A rule filter matches the group when any one of its rules in that
	// direction matches; different filters may be met by different rules.
	egress := strings.HasPrefix(f.Name, "egress.")
	field := strings.TrimPrefix(strings.TrimPrefix(f.Name, "egress."), "ip-permission.")
	values := f.Values
	if field == "protocol" {
		values = protocolFilterValues(values)
	}
	for _, r := range c.visibleRules(g, egress) {
		if v, ok := c.ruleField(r, field); ok && matchAny(values, v) {
			return true
		}
	}
	return false
}

// ruleField is the value an ip-permission.* filter compares against.
func (c *call) ruleField(r *rule, field string) (string, bool) {
	s := r.Spec
	switch field {
	case "protocol":
		return s.Protocol, true
	case "from-port":
		return itoa32(s.FromPort), true
	case "to-port":
		return itoa32(s.ToPort), true
	case "cidr":
		return s.Target, s.Kind == kindCIDRv4
	case "ipv6-cidr":
		return s.Target, s.Kind == kindCIDRv6
	case "prefix-list-id":
		return s.Target, s.Kind == kindPrefixList
	case "group-id":
		return s.Target, s.Kind == kindGroup
	case "user-id":
		// The owner named in the rule's user-id-group pair
		// (DescribeSecurityGroups filters: "The ID of an Amazon Web
		// Services account that has been referenced in an inbound
		// security group rule").
		return c.pairOwner(s), s.Kind == kindGroup
	case "group-name":
		// EC2 compares this filter with the GroupName of the rule's
		// user-id-group pair as it stores it, and a VPC group's pair carries
		// only the id (DescribeSecurityGroups shows no groupName in it), so
		// no VPC rule matches by the referenced group's name. Every group
		// here is a VPC group. (DescribeSecurityGroups filter list, API
		// reference; UserIdGroupPair: "GroupName … [Default VPC] … in a
		// request"; the response pairs of VPC groups name no group.)
		return "", false
	}
	return "", false
}

// protocolFilterValues lets a protocol filter name a protocol by number as
// well as by name: EC2 documents the value of ip-permission.protocol and
// egress.ip-permission.protocol as "tcp | udp | icmp, a protocol number, or
// -1 for all protocols" (DescribeSecurityGroups, API reference), while a rule
// made with 6, 17, 1 or 58 is stored and reported by name (reference §4,
// Protocol). So a number is compared in the rule's stored form: "6" finds
// the tcp rules. Names and wildcard patterns are compared as given, since
// filter values are case-sensitive.
func protocolFilterValues(values []string) []string {
	out := slices.Clone(values)
	for i, v := range values {
		if v == "" || !isDigits(v) {
			continue
		}
		if p, err := canonicalProtocol(v); err == nil {
			out[i] = p
		}
	}
	return out
}

func itoa32(i int32) string { return strconv.FormatInt(int64(i), 10) }
