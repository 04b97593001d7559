package rules

import "net/netip"

// Predicate is a condition on one canonical rule, the question a fleet
// search asks of every rule: "ingress, allowing tcp 22, from a range
// containing 0.0.0.0/0". The zero value matches every rule.
type Predicate struct {
	// Direction is 0 for either.
	Direction Direction
	// Protocol, when set, must be allowed: the rule's own protocol or
	// "-1" (all protocols).
	Protocol string
	// Port, when HasPort, must be allowed: covered by a tcp or udp rule's
	// range, or by an all-protocols rule.
	Port    int32
	HasPort bool
	// Contains, when valid, must lie within the rule's IPv4 or IPv6 range.
	Contains netip.Prefix
	// OtherAccount asks for a rule referencing a group another account
	// owns than Owner.
	OtherAccount bool
	Owner        string
}

// Matches reports whether r satisfies every condition of p.
func (p Predicate) Matches(r Rule) bool {
	if p.Direction != 0 && r.Direction != p.Direction {
		return false
	}
	if p.Protocol != "" && r.Protocol != p.Protocol && r.Protocol != "-1" {
		return false
	}
	if p.HasPort && !allowsPort(r, p.Port) {
		return false
	}
	if p.Contains.IsValid() && !containsPrefix(r, p.Contains) {
		return false
	}
	if p.OtherAccount && (r.Kind != SourceGroup || r.UserID == "" || r.UserID == p.Owner) {
		return false
	}
	return true
}

func allowsPort(r Rule, port int32) bool {
	switch r.Protocol {
	case "-1":
		return true
	case "tcp", "udp":
		return r.FromPort <= port && port <= r.ToPort
	}
	return false
}

// containsPrefix reports whether the rule's range holds every address of
// want: same family, no longer a prefix, and want's first address inside.
func containsPrefix(r Rule, want netip.Prefix) bool {
	if r.Kind != SourceIPv4 && r.Kind != SourceIPv6 {
		return false
	}
	have, err := netip.ParsePrefix(r.Source)
	if err != nil || have.Addr().Is4() != want.Addr().Is4() {
		return false
	}
	return have.Bits() <= want.Bits() && have.Contains(want.Addr())
}

// CanonicalProtocol returns the canonical spelling of a protocol ("6"
// becomes "tcp"), or a message saying why EC2 would not accept it.
func CanonicalProtocol(p string) (string, string) { return canonicalProtocol(p) }
