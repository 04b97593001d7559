package ec2sim

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// groupTextChars is the character set EC2 allows in VPC security group names
// and descriptions, besides ASCII letters and digits.
const groupTextChars = " ._-:/()#,@[]+=&;{}!$*"

// ruleDescChars is the set for rule descriptions. The API reference lists '&'
// for IPv4/IPv6 range descriptions but not for group-pair and prefix-list
// descriptions, so the caller decides whether '&' is allowed.
const ruleDescChars = " ._-:/()#,@[]+=;{}!$*"

func inCharset(s, extra string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r < utf8.RuneSelf && strings.ContainsRune(extra, r):
		default:
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// canonicalGroupName trims trailing spaces (EC2 stores names that way) and
// checks the result.
func canonicalGroupName(raw string) (string, *apiError) {
	name := strings.TrimRight(raw, " ")
	switch {
	case name == "":
		return "", clientErr(codeInvalidParameterValue, "Value () for parameter GroupName is invalid. The value cannot be empty")
	case !isASCII(name):
		return "", clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupName is invalid. Character sets beyond ASCII are not supported.", name)
	case utf8.RuneCountInString(name) > maxGroupNameLen:
		return "", clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupName is invalid. Length exceeds maximum of %d.", name, maxGroupNameLen)
	case !inCharset(name, groupTextChars):
		return "", clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupName is invalid. Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*", name)
	case strings.HasPrefix(name, "sg-"):
		return "", clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupName is invalid. Group names may not be in the format sg-*.", name)
	case name == "default":
		return "", clientErr(codeInvalidGroupReserved, "The security group 'default' is reserved")
	}
	return name, nil
}

func checkGroupDescription(desc string) *apiError {
	switch {
	case desc == "":
		// An empty description is a missing one to EC2 (reference §3,
		// "Missing → MissingParameter"; the API reference marks
		// GroupDescription required).
		return errMissing("GroupDescription")
	case !isASCII(desc):
		return clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupDescription is invalid. Character sets beyond ASCII are not supported.", desc)
	case len(desc) > maxDescriptionLen:
		return clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupDescription is invalid. Length exceeds maximum of %d.", desc, maxDescriptionLen)
	case !inCharset(desc, groupTextChars):
		return clientErr(codeInvalidParameterValue, "Value (%s) for parameter GroupDescription is invalid. Valid characters are a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*", desc)
	}
	return nil
}

func checkRuleDescription(desc string, allowAmp bool) *apiError {
	extra := ruleDescChars
	if allowAmp {
		extra += "&"
	}
	if utf8.RuneCountInString(desc) > maxDescriptionLen || !inCharset(desc, extra) {
		return clientErr(codeInvalidParameterValue, "Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=%s;{}!$*", map[bool]string{true: "&", false: ""}[allowAmp])
	}
	return nil
}

// canonicalProtocol maps the wire protocol to the form EC2 stores and
// reports: names in lower case, 6/17/1/58 as their names (unverified but
// widely reported), other numbers 0-255 as decimal, "-1" for all. The word
// "all" is refused, as EC2 does; only the CLI translates it.
func canonicalProtocol(raw string) (string, *apiError) {
	p := strings.ToLower(raw)
	switch p {
	case "tcp", "udp", "icmp", "icmpv6", "-1":
		return p, nil
	case "":
		return "", errNullProtocol()
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 && isDigits(p) {
		switch n {
		case 6:
			return "tcp", nil
		case 17:
			return "udp", nil
		case 1:
			return "icmp", nil
		case 58:
			return "icmpv6", nil
		}
		return strconv.Itoa(n), nil
	}
	return "", clientErr(codeInvalidParameterValue, "Invalid value '%s' for IP protocol. Unknown protocol.", raw)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// canonicalPorts applies EC2's port rules for a canonical protocol and
// returns the range to store; protocols without ports get -1/-1 whatever was
// sent.
func canonicalPorts(proto string, from, to *int32) (int32, int32, *apiError) {
	switch proto {
	case "tcp", "udp":
		if from == nil || to == nil {
			return 0, 0, clientErr(codeInvalidParameterValue, "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange")
		}
		for _, p := range []int32{*from, *to} {
			if p < 0 || p > 65535 {
				return 0, 0, clientErr(codeInvalidPermMalformed, "TCP/UDP port (%d) out of range", p)
			}
		}
		if *from > *to {
			// Code and text unverified; EC2 refuses the range.
			return 0, 0, clientErr(codeInvalidPermMalformed, "Invalid TCP/UDP port range (%d-%d): the from port must not exceed the to port", *from, *to)
		}
		return *from, *to, nil
	case "icmp", "icmpv6":
		if from == nil && to == nil && proto == "icmpv6" {
			return -1, -1, nil
		}
		if from == nil || to == nil {
			word := "ICMP"
			if proto == "icmpv6" {
				word = "ICMPv6"
			}
			return 0, 0, clientErr(codeInvalidParameterValue, "Invalid value 'Must specify both from and to ports with %s.' for portRange", word)
		}
		if *from < -1 || *from > 255 {
			return 0, 0, clientErr(codeInvalidPermMalformed, "ICMP type (%d) out of range", *from)
		}
		if *to < -1 || *to > 255 {
			return 0, 0, clientErr(codeInvalidPermMalformed, "ICMP code (%d) out of range", *to)
		}
		if *from == -1 && *to != -1 {
			return 0, 0, clientErr(codeInvalidParameterValue, "Invalid value 'ICMP code (%d) must be -1 when the type is -1' for portRange", *to)
		}
		return *from, *to, nil
	}
	return -1, -1, nil
}

// canonicalCIDR parses a CIDR of the given family, requires the prefix
// length, and zeroes the host bits as EC2 does (100.68.0.18/18 is stored as
// 100.68.0.0/18).
func canonicalCIDR(raw string, v6 bool) (string, *apiError) {
	bad := clientErr(codeInvalidParameterValue, "CIDR block %s is malformed", raw)
	if !strings.Contains(raw, "/") {
		return "", bad
	}
	pfx, err := netip.ParsePrefix(raw)
	if err != nil || pfx.Addr().Zone() != "" {
		return "", bad
	}
	addr := pfx.Addr()
	if v6 {
		if !addr.Is6() || addr.Is4In6() {
			return "", bad
		}
	} else if !addr.Is4() {
		return "", bad
	}
	return pfx.Masked().String(), nil
}

// isResourceID reports whether s is prefix followed by 8 or 17 lowercase hex
// digits: EC2's short (old) and long id formats.
func isResourceID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || (len(rest) != 8 && len(rest) != idHexLen) {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkGroupID(id string) *apiError {
	if !isResourceID(id, "sg-") {
		return clientErr(codeInvalidGroupIDMalformed, "Invalid id: \"%s\" (expecting \"sg-...\")", id)
	}
	return nil
}

func checkRuleID(id string) *apiError {
	if !isResourceID(id, "sgr-") {
		return clientErr(codeInvalidRuleIDMalformed, "Invalid id: \"%s\" (expecting \"sgr-...\")", id)
	}
	return nil
}

func checkVPCID(id string) *apiError {
	if !isResourceID(id, "vpc-") {
		return clientErr(codeInvalidVpcIDMalformed, "Invalid id: \"%s\" (expecting \"vpc-...\")", id)
	}
	return nil
}

func checkPrefixListID(id string) *apiError {
	if !isResourceID(id, "pl-") {
		return clientErr(codeInvalidPrefixListIDMalf, "Invalid id: \"%s\" (expecting \"pl-...\")", id)
	}
	return nil
}

// checkTag applies EC2's tag rules to one key/value pair.
func checkTag(key, value string) *apiError {
	switch {
	case key == "":
		return clientErr(codeInvalidParameterValue, "Tag key cannot be empty")
	case utf8.RuneCountInString(key) > maxTagKeyLen:
		return clientErr(codeInvalidParameterValue, "Tag key exceeds the maximum length of %d characters", maxTagKeyLen)
	case utf8.RuneCountInString(value) > maxTagValueLen:
		return clientErr(codeInvalidParameterValue, "Tag value exceeds the maximum length of %d characters", maxTagValueLen)
	case !utf8.ValidString(key) || !utf8.ValidString(value):
		return clientErr(codeInvalidParameterValue, "Tag keys and values must be valid UTF-8")
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return clientErr(codeInvalidParameterValue, "Value ( %s ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", key)
	}
	return nil
}
