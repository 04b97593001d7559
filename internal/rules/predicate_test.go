package rules

import (
	"net/netip"
	"testing"
)

func TestPredicateMatches(t *testing.T) {
	v4 := func(proto string, from, to int32, cidr string) Rule {
		return Rule{Direction: Ingress, Protocol: proto, FromPort: from, ToPort: to, Kind: SourceIPv4, Source: cidr}
	}
	world := netip.MustParsePrefix("0.0.0.0/0")
	ssh := Predicate{Direction: Ingress, Protocol: "tcp", Port: 22, HasPort: true, Contains: world}
	ref := Rule{Direction: Ingress, Protocol: "tcp", FromPort: 22, ToPort: 22, Kind: SourceGroup, Source: "sg-1", UserID: "444455556666"}
	for _, tc := range []struct {
		name string
		p    Predicate
		r    Rule
		want bool
	}{
		{"ssh from anywhere", ssh, v4("tcp", 22, 22, "0.0.0.0/0"), true},
		{"range covering 22", ssh, v4("tcp", 0, 1024, "0.0.0.0/0"), true},
		{"all traffic", ssh, v4("-1", -1, -1, "0.0.0.0/0"), true},
		{"a narrower range", ssh, v4("tcp", 22, 22, "10.0.0.0/8"), false},
		{"another port", ssh, v4("tcp", 443, 443, "0.0.0.0/0"), false},
		{"udp", ssh, v4("udp", 22, 22, "0.0.0.0/0"), false},
		{"egress", ssh, Rule{Direction: Egress, Protocol: "tcp", FromPort: 22, ToPort: 22, Kind: SourceIPv4, Source: "0.0.0.0/0"}, false},
		{"ipv6 world", Predicate{Contains: netip.MustParsePrefix("::/0")}, Rule{Direction: Ingress, Protocol: "-1", Kind: SourceIPv6, Source: "::/0"}, true},
		{"family differs", Predicate{Contains: world}, Rule{Direction: Ingress, Protocol: "-1", Kind: SourceIPv6, Source: "::/0"}, false},
		{"an address inside", Predicate{Contains: netip.MustParsePrefix("203.0.113.7/32")}, v4("tcp", 80, 80, "203.0.113.0/24"), true},
		{"icmp has no ports", Predicate{Port: 3, HasPort: true}, v4("icmp", 3, -1, "0.0.0.0/0"), false},
		{"other account", Predicate{OtherAccount: true, Owner: "111122223333"}, ref, true},
		{"own account", Predicate{OtherAccount: true, Owner: "444455556666"}, ref, false},
		{"not a group", Predicate{OtherAccount: true, Owner: "111122223333"}, v4("tcp", 22, 22, "0.0.0.0/0"), false},
		{"zero matches all", Predicate{}, ref, true},
	} {
		if got := tc.p.Matches(tc.r); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
