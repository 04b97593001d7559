package rules

import "strconv"

// Direction says whether a rule governs inbound or outbound traffic. The
// zero value is deliberately invalid so a forgotten field is caught.
type Direction int

// The two directions of a security group.
const (
	Ingress Direction = iota + 1
	Egress
)

// String returns "ingress" or "egress"; these words also appear in Rule.Key.
func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// peer names the other end of a rule in messages: a source for inbound
// rules, a destination for outbound ones (EC2's own wording).
func (d Direction) peer() string {
	if d == Egress {
		return "destination"
	}
	return "source"
}

// SourceKind says what kind of peer a rule names. EC2 gives every rule
// exactly one: an IPv4 block, an IPv6 block, a prefix list or a group.
type SourceKind int

// The kinds of rule peer.
const (
	SourceIPv4 SourceKind = iota + 1
	SourceIPv6
	SourcePrefixList
	SourceGroup
)

// String returns "ipv4", "ipv6", "prefix-list" or "group"; these words also
// appear in Rule.Key.
func (k SourceKind) String() string {
	switch k {
	case SourceIPv4:
		return "ipv4"
	case SourceIPv6:
		return "ipv6"
	case SourcePrefixList:
		return "prefix-list"
	case SourceGroup:
		return "group"
	}
	return "SourceKind(" + strconv.Itoa(int(k)) + ")"
}
