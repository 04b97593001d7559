package rules

import (
	"strconv"
	"strings"
)

// Rule is one canonical rule as EC2 stores it: one peer, CIDR host bits
// cleared (netip's canonical text), protocol numbers 6, 17, 1 and 58 written
// as "tcp", "udp", "icmp" and "icmpv6", and FromPort = ToPort = -1 where EC2
// keeps no port range ("-1" and every other protocol number, and icmpv6
// given without a range). For icmp and icmpv6 the ports are the ICMP type
// and code, -1 meaning all.
//
// Only Expand (or code that reads EC2's own answers) should build Rules;
// nothing else re-validates them.
type Rule struct {
	Direction        Direction
	Protocol         string
	FromPort, ToPort int32
	Kind             SourceKind
	// Source is the canonical CIDR, the pl- id or the sg- id.
	Source string
	// UserID is the account owning a referenced group; group rules only,
	// may be empty for a group in the caller's own account.
	UserID string
	// VpcID and PeeringID locate a referenced group in a peered VPC; group
	// rules only, usually empty. They are not part of the rule's identity.
	VpcID, PeeringID string
	Description      string
}

// Key is the rule's identity: what EC2 compares to decide that two rules
// are the same (InvalidPermission.Duplicate on authorize, a match on
// revoke). It covers direction, protocol, ports, kind and source, and
// leaves out the Description, which EC2 lets change in place.
//
// UserID, VpcID and PeeringID are left out as well: a security group id is
// unique within a Region whichever account owns it, so the owner adds no
// identity, and EC2 fills in UserId on describe even when the request left
// it empty — including it would make a desired rule never match the rule
// EC2 reports back.
func (r Rule) Key() string {
	var b strings.Builder
	b.Grow(len(r.Protocol) + len(r.Source) + 32)
	b.WriteString(r.Direction.String())
	b.WriteByte('|')
	b.WriteString(r.Protocol)
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(int(r.FromPort)))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(int(r.ToPort)))
	b.WriteByte('|')
	b.WriteString(r.Kind.String())
	b.WriteByte('|')
	b.WriteString(r.Source)
	return b.String()
}

// CountsIPv4 reports whether the rule counts against the IPv4 rule quota.
// Rules naming a group or a prefix list count against both families (§4 of
// the EC2 reference).
func (r Rule) CountsIPv4() bool { return r.Kind != SourceIPv6 }

// CountsIPv6 reports whether the rule counts against the IPv6 rule quota.
func (r Rule) CountsIPv6() bool { return r.Kind != SourceIPv4 }

// String describes the rule for people, e.g.
// "ingress tcp 22-22 from 10.0.0.0/16".
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Direction.String())
	b.WriteByte(' ')
	b.WriteString(r.Protocol)
	switch {
	case r.Protocol == "icmp" || r.Protocol == "icmpv6":
		b.WriteString(" type " + strconv.Itoa(int(r.FromPort)) + " code " + strconv.Itoa(int(r.ToPort)))
	case r.FromPort != -1 || r.ToPort != -1:
		b.WriteString(" " + strconv.Itoa(int(r.FromPort)) + "-" + strconv.Itoa(int(r.ToPort)))
	default:
		b.WriteString(" all ports")
	}
	if r.Direction == Egress {
		b.WriteString(" to ")
	} else {
		b.WriteString(" from ")
	}
	b.WriteString(r.Source)
	return b.String()
}

// Permission returns the rule as a one-peer Permission, the shape EC2's
// Authorize and Revoke calls take. Expanding it again yields the same Key.
func (r Rule) Permission() Permission {
	p := Permission{Protocol: r.Protocol}
	if hasPorts(r.Protocol) {
		p.FromPort, p.ToPort = Port(r.FromPort), Port(r.ToPort)
	}
	switch r.Kind {
	case SourceIPv4:
		p.IPv4Ranges = []CIDR{{Value: r.Source, Description: r.Description}}
	case SourceIPv6:
		p.IPv6Ranges = []CIDR{{Value: r.Source, Description: r.Description}}
	case SourcePrefixList:
		p.PrefixLists = []PrefixList{{ID: r.Source, Description: r.Description}}
	case SourceGroup:
		p.Groups = []GroupRef{{GroupID: r.Source, UserID: r.UserID, VpcID: r.VpcID, PeeringID: r.PeeringID, Description: r.Description}}
	}
	return p
}

// Permissions converts rules back to Permissions, one per rule.
func Permissions(rs []Rule) []Permission {
	out := make([]Permission, len(rs))
	for i, r := range rs {
		out[i] = r.Permission()
	}
	return out
}
