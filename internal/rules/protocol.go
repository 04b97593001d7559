package rules

import (
	"strconv"
	"strings"
)

// Protocol numbers EC2 reports back by name (EC2 reference §3; unverified
// but widely reported). Canonicalising them keeps "6" and "tcp" from
// becoming two keys for one rule.
var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}

// hasPorts reports whether EC2 keeps a port range (or ICMP type/code) for
// the canonical protocol p. Every other protocol allows all ports, whatever
// range was sent.
func hasPorts(p string) bool {
	switch p {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// canonicalProtocol returns the canonical spelling of p, or a message
// saying why p is not a protocol EC2 accepts.
func canonicalProtocol(p string) (string, string) {
	const choices = "use tcp, udp, icmp, icmpv6, -1 for all protocols, or a protocol number 0-255"
	switch p {
	case "tcp", "udp", "icmp", "icmpv6", "-1":
		return p, ""
	case "":
		return "", "ip_protocol is required (VPC security group rules must name their protocol); " + choices
	case "all":
		// The CLI's --protocol all sends -1; the API refuses the word.
		return "", `"all" is not a protocol EC2 accepts; use -1 for all protocols`
	}
	if lower := strings.ToLower(p); lower != p && hasPorts(lower) {
		// EC2 may fold case, but that is not documented; one spelling keeps
		// keys comparable.
		return "", "protocol " + quote(p) + " must be written in lower case: " + lower
	}
	if n, err := strconv.Atoi(p); err == nil && strconv.Itoa(n) == p {
		if n < 0 || n > 255 {
			return "", "protocol number " + p + " is out of range; protocol numbers are 0-255 (-1 means all protocols)"
		}
		if name, ok := protocolNames[p]; ok {
			return name, ""
		}
		return p, ""
	}
	if n, err := strconv.Atoi(p); err == nil {
		// Leading zeros or a plus sign: the number is fine, the text is not
		// canonical, and EC2's handling of it is undocumented.
		return "", "protocol " + quote(p) + " must be written without leading zeros or sign: " + strconv.Itoa(n)
	}
	return "", "protocol " + quote(p) + " is unknown; " + choices
}

// canonicalPorts validates the port fields of a permission whose protocol
// is already canonical (proto) and returns the canonical range.
func canonicalPorts(vs *Violations, pp, proto string, from, to *int32) (int32, int32, bool) {
	fromField, toField := pp+".from_port", pp+".to_port"
	switch proto {
	case "tcp", "udp":
		return tcpUDPPorts(vs, fromField, toField, proto, from, to)
	case "icmp", "icmpv6":
		if from == nil && to == nil && proto == "icmpv6" {
			// icmpv6 may omit the range entirely: all types and codes.
			return -1, -1, true
		}
		return icmpTypeCode(vs, fromField, toField, proto, from, to)
	}
	// "-1" and all other numbers: EC2 allows every port whatever range was
	// sent, so any range is accepted and dropped.
	return -1, -1, true
}

func tcpUDPPorts(vs *Violations, fromField, toField, proto string, from, to *int32) (int32, int32, bool) {
	ok := true
	check := func(field, name string, v *int32) {
		switch {
		case v == nil:
			vs.add(field, "%s rules need both from_port and to_port; %s is missing (use 0 and 65535 for all ports)", proto, name)
			ok = false
		case *v == -1:
			vs.add(field, "%s port -1 is out of range; for all %s ports use from_port 0 and to_port 65535, or protocol -1 for all traffic", proto, proto)
			ok = false
		case *v < 0 || *v > 65535:
			vs.add(field, "%s port %d is out of range; ports are 0-65535", proto, *v)
			ok = false
		}
	}
	check(fromField, "from_port", from)
	check(toField, "to_port", to)
	if !ok {
		return 0, 0, false
	}
	if *from > *to {
		vs.add(fromField, "from_port %d is greater than to_port %d; a range runs from the lower port to the higher", *from, *to)
		return 0, 0, false
	}
	return *from, *to, true
}

// icmpTypeCode checks an ICMP type (from) and code (to): each -1..255, -1
// meaning all, and all types implies all codes.
func icmpTypeCode(vs *Violations, fromField, toField, proto string, from, to *int32) (int32, int32, bool) {
	omit := ""
	if proto == "icmpv6" {
		omit = ", or leave both out for all"
	}
	ok := true
	check := func(field, name string, v *int32) {
		switch {
		case v == nil:
			vs.add(field, "%s rules need both from_port (the ICMP type) and to_port (the ICMP code); %s is missing (use -1 and -1 for all%s)", proto, name, omit)
			ok = false
		case *v < -1 || *v > 255:
			vs.add(field, "%s %s %d is out of range; it must be 0-255, or -1 for all", proto, map[string]string{"from_port": "type", "to_port": "code"}[name], *v)
			ok = false
		}
	}
	check(fromField, "from_port", from)
	check(toField, "to_port", to)
	if !ok {
		return 0, 0, false
	}
	if *from == -1 && *to != -1 {
		vs.add(toField, "%s code %d needs a specific type; with type -1 (all types) the code must be -1 too", proto, *to)
		return 0, 0, false
	}
	return *from, *to, true
}
