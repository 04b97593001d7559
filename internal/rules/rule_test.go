package rules

import (
	"errors"
	"testing"
)

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{Ingress.String(), "ingress"},
		{Egress.String(), "egress"},
		{Direction(0).String(), "Direction(0)"},
		{SourceIPv4.String(), "ipv4"},
		{SourceIPv6.String(), "ipv6"},
		{SourcePrefixList.String(), "prefix-list"},
		{SourceGroup.String(), "group"},
		{SourceKind(9).String(), "SourceKind(9)"},
		{Rule{Direction: Ingress, Protocol: "tcp", FromPort: 22, ToPort: 22, Kind: SourceIPv4, Source: "10.0.0.0/8"}.String(), "ingress tcp 22-22 from 10.0.0.0/8"},
		{Rule{Direction: Egress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceIPv6, Source: "::/0"}.String(), "egress -1 all ports to ::/0"},
		{Rule{Direction: Ingress, Protocol: "icmp", FromPort: 8, ToPort: -1, Kind: SourceGroup, Source: "sg-12345678"}.String(), "ingress icmp type 8 code -1 from sg-12345678"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	base := Rule{Direction: Ingress, Protocol: "tcp", FromPort: 22, ToPort: 22, Kind: SourceGroup, Source: "sg-12345678"}
	if got, want := base.Key(), "ingress|tcp|22|22|group|sg-12345678"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	same := []struct {
		name string
		edit func(*Rule)
	}{
		{"description", func(r *Rule) { r.Description = "x" }},
		{"user id", func(r *Rule) { r.UserID = "123456789012" }},
		{"vpc id", func(r *Rule) { r.VpcID = "vpc-12345678" }},
		{"peering id", func(r *Rule) { r.PeeringID = "pcx-12345678" }},
	}
	for _, tt := range same {
		r := base
		tt.edit(&r)
		if r.Key() != base.Key() {
			t.Errorf("%s changed the key: %q", tt.name, r.Key())
		}
	}
	differ := []struct {
		name string
		edit func(*Rule)
	}{
		{"direction", func(r *Rule) { r.Direction = Egress }},
		{"protocol", func(r *Rule) { r.Protocol = "udp" }},
		{"from port", func(r *Rule) { r.FromPort = 21 }},
		{"to port", func(r *Rule) { r.ToPort = 23 }},
		{"kind", func(r *Rule) { r.Kind = SourcePrefixList }},
		{"source", func(r *Rule) { r.Source = "sg-87654321" }},
	}
	for _, tt := range differ {
		r := base
		tt.edit(&r)
		if r.Key() == base.Key() {
			t.Errorf("%s did not change the key", tt.name)
		}
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		kind   SourceKind
		v4, v6 bool
	}{
		{SourceIPv4, true, false},
		{SourceIPv6, false, true},
		{SourcePrefixList, true, true},
		{SourceGroup, true, true},
	}
	for _, tt := range tests {
		r := Rule{Kind: tt.kind}
		if r.CountsIPv4() != tt.v4 || r.CountsIPv6() != tt.v6 {
			t.Errorf("%v: CountsIPv4=%v CountsIPv6=%v, want %v %v", tt.kind, r.CountsIPv4(), r.CountsIPv6(), tt.v4, tt.v6)
		}
	}
}

func TestPermissionRoundTrip(t *testing.T) {
	perms := []Permission{
		{Protocol: "6", FromPort: p32(80), ToPort: p32(443), IPv4Ranges: []CIDR{{Value: "10.0.0.9/8", Description: "a"}},
			IPv6Ranges: []CIDR{{Value: "2001:db8::9/32"}}},
		{Protocol: "-1", FromPort: p32(1), ToPort: p32(2), PrefixLists: []PrefixList{{ID: "pl-12345678", Description: "b"}}},
		{Protocol: "58", Groups: []GroupRef{{GroupID: "sg-12345678", UserID: "123456789012", VpcID: "vpc-12345678", PeeringID: "pcx-12345678", Description: "c"}}},
		{Protocol: "icmp", FromPort: p32(8), ToPort: p32(0), IPv4Ranges: v4("0.0.0.0/0")},
		{Protocol: "47", IPv4Ranges: v4("0.0.0.0/0")},
	}
	first, vs := Expand("p", Ingress, perms)
	if vs != nil {
		t.Fatal(vs)
	}
	again, vs := Expand("p", Ingress, Permissions(first))
	if vs != nil {
		t.Fatal(vs)
	}
	if len(again) != len(first) {
		t.Fatalf("round trip changed the count: %d → %d", len(first), len(again))
	}
	for i := range first {
		if first[i] != again[i] {
			t.Errorf("rule %d changed:\n %+v\n %+v", i, first[i], again[i])
		}
	}
	if p := first[0].Permission(); p.FromPort == nil || *p.FromPort != 80 {
		t.Errorf("tcp rule lost its ports: %+v", p)
	}
	if p := first[2].Permission(); p.FromPort != nil || p.ToPort != nil {
		t.Errorf("all-protocol rule kept ports: %+v", p)
	}
}

func TestViolationsError(t *testing.T) {
	var none Violations
	if none.Err() != nil {
		t.Error("empty Violations.Err() is not nil")
	}
	vs := Violations{{"a", "bad"}, {"b.c", "worse"}}
	if got, want := vs.Error(), "a: bad; b.c: worse"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var target Violations
	if !errors.As(vs.Err(), &target) || len(target) != 2 {
		t.Errorf("errors.As did not recover the violations from Err()")
	}
}
