package rules

import (
	"net/netip"
	"strings"
)

// canonicalCIDR validates one CIDR block of the wanted family and returns
// its canonical text: host bits cleared, as EC2 stores and describes it
// ("100.68.0.18/18" becomes "100.68.0.0/18").
func canonicalCIDR(vs *Violations, field, value string, want6 bool) (string, bool) {
	family, other, otherField, host := "IPv4", "IPv6", "ipv6_ranges", "32"
	if want6 {
		family, other, otherField, host = "IPv6", "IPv4", "ip_ranges", "128"
	}
	if value == "" {
		vs.add(field, "an %s CIDR block is required, e.g. %s", family, map[bool]string{false: "10.0.0.0/16", true: "2001:db8::/32"}[want6])
		return "", false
	}
	addrText, bitsText, hasBits := strings.Cut(value, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" {
		why := "" // netip says why, after its "ParseAddr(...): " preamble
		if err != nil {
			if _, after, ok := strings.Cut(err.Error(), "): "); ok {
				why = " (" + strings.TrimPrefix(after, "IPv4 field has ") + ")"
			}
		} else {
			why = " (a zone such as %eth0 is not allowed)"
		}
		vs.add(field, "%s is not a CIDR block: %s is not an %s address%s", quote(value), quote(addrText), family, why)
		return "", false
	}
	is6 := addr.Is6() && !addr.Is4In6()
	switch {
	case addr.Is4In6():
		// Strict: an IPv4-mapped IPv6 block is IPv4 traffic in disguise and
		// EC2's treatment of it is undocumented.
		vs.add(field, "%s is an IPv4-mapped IPv6 block; put the IPv4 block in ip_ranges instead", quote(value))
		return "", false
	case is6 != want6:
		vs.add(field, "%s is an %s block; %s blocks go in %s", quote(value), other, other, otherField)
		return "", false
	case !hasBits:
		vs.add(field, "%s has no prefix length; write it as %s/%s for one host", quote(value), addrText, host)
		return "", false
	}
	p, err := netip.ParsePrefix(value)
	if err != nil {
		vs.add(field, "%s has an invalid prefix length %s; it must be a number 0-%s without leading zeros", quote(value), quote(bitsText), host)
		return "", false
	}
	return p.Masked().String(), true
}
