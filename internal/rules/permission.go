package rules

// Permission mirrors EC2's IpPermission as a caller sends it: one protocol
// and port range applied to any number of peers. It may be non-canonical
// (protocol "6", host bits set in a CIDR); Expand turns it into Rules.
type Permission struct {
	// Protocol is "tcp", "udp", "icmp", "icmpv6", "-1" (all) or a protocol
	// number "0".."255".
	Protocol string
	// FromPort and ToPort are the port range for tcp/udp, the ICMP type and
	// code for icmp/icmpv6. Nil means the caller did not give the field,
	// which differs from 0 and from -1.
	FromPort, ToPort *int32
	IPv4Ranges       []CIDR
	IPv6Ranges       []CIDR
	PrefixLists      []PrefixList
	Groups           []GroupRef
}

// CIDR is one IPv4 or IPv6 block (EC2's IpRange / Ipv6Range).
type CIDR struct {
	Value       string
	Description string
}

// PrefixList is one managed prefix list (EC2's PrefixListId).
type PrefixList struct {
	ID          string
	Description string
}

// GroupRef is one referenced security group (EC2's UserIdGroupPair).
// UserID, VpcID and PeeringID are needed only for groups in other accounts
// or peered VPCs.
type GroupRef struct {
	GroupID     string
	UserID      string
	VpcID       string
	PeeringID   string
	Description string
}

// Port returns a pointer to p, for building Permissions in code and tests.
func Port(p int32) *int32 { return &p }
