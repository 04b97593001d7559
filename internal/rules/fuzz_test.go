package rules

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzExpand checks that Expand never panics, that it returns rules or
// violations but not both, and that its output is a fixed point: expanding
// the canonical rules again yields the very same rules.
func FuzzExpand(f *testing.F) {
	f.Add("tcp", int32(21), int32(80), true, true, "10.0.0.5/16", "", "", "", "", "")
	f.Add("6", int32(22), int32(22), true, true, "", "2001:DB8::1/32", "", "", "", "ssh")
	f.Add("icmp", int32(-1), int32(0), true, true, "0.0.0.0/0", "", "", "", "", "")
	f.Add("58", int32(0), int32(0), false, false, "", "::/0", "", "", "", "")
	f.Add("-1", int32(5), int32(1), true, true, "", "", "pl-0123abcd", "sg-0123456789abcdef0", "123456789012", "a&b")
	f.Add("TCP", int32(-1), int32(70000), true, true, "10.0.0.0", "::ffff:1.2.3.4/128", "pl-", "sg-", "1", "é")
	f.Fuzz(func(t *testing.T, proto string, from, to int32, hasFrom, hasTo bool, c4, c6, pl, sg, user, desc string) {
		p := Permission{Protocol: proto}
		if hasFrom {
			p.FromPort = Port(from)
		}
		if hasTo {
			p.ToPort = Port(to)
		}
		if c4 != "" {
			p.IPv4Ranges = []CIDR{{Value: c4, Description: desc}, {Value: c4}}
		}
		if c6 != "" {
			p.IPv6Ranges = []CIDR{{Value: c6, Description: desc}}
		}
		if pl != "" {
			p.PrefixLists = []PrefixList{{ID: pl, Description: desc}}
		}
		if sg != "" {
			p.Groups = []GroupRef{{GroupID: sg, UserID: user, Description: desc}}
		}
		got, vs := Expand("ip_permissions", Ingress, []Permission{p})
		if (got == nil) == (vs == nil) && len(got)+len(vs) > 0 {
			t.Fatalf("Expand returned %d rules and %d violations", len(got), len(vs))
		}
		for _, v := range vs {
			if !strings.HasPrefix(v.Field, "ip_permissions") || v.Description == "" {
				t.Fatalf("bad violation %+v", v)
			}
		}
		if vs != nil {
			return
		}
		for _, r := range got {
			checkCanonical(t, r)
		}
		again, vs := Expand("ip_permissions", Ingress, Permissions(got))
		if vs != nil {
			t.Fatalf("canonical rules %v refused: %v", got, vs)
		}
		if len(again) != len(got) {
			t.Fatalf("fixed point: %d rules became %d", len(got), len(again))
		}
		for i := range got {
			if again[i] != got[i] || again[i].Key() != got[i].Key() {
				t.Fatalf("fixed point: %+v became %+v", got[i], again[i])
			}
		}
	})
}

func checkCanonical(t *testing.T, r Rule) {
	t.Helper()
	if !hasPorts(r.Protocol) && (r.FromPort != -1 || r.ToPort != -1) {
		t.Fatalf("protocol %q kept ports %d-%d", r.Protocol, r.FromPort, r.ToPort)
	}
	if _, named := protocolNames[r.Protocol]; named {
		t.Fatalf("protocol number %q not replaced by its name", r.Protocol)
	}
	switch r.Kind {
	case SourceIPv4, SourceIPv6:
		p, err := netip.ParsePrefix(r.Source)
		if err != nil || p.Masked().String() != r.Source || p.Addr().Is4() != (r.Kind == SourceIPv4) {
			t.Fatalf("source %q is not a canonical %v block", r.Source, r.Kind)
		}
	}
}

// FuzzValidateGroupName checks that ValidateGroupName never panics, reports
// at most one violation, and accepts only names that satisfy EC2's rules.
func FuzzValidateGroupName(f *testing.F) {
	for _, s := range []string{"web", "default", "sg-1", "web ", "", "wéb", "a&b", strings.Repeat("x", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		vs := ValidateGroupName("group_name", name)
		if len(vs) > 1 {
			t.Fatalf("%d violations for one name: %v", len(vs), vs)
		}
		if vs != nil {
			return
		}
		if len(name) == 0 || len(name) > 255 || strings.HasPrefix(strings.ToLower(name), "sg-") ||
			strings.EqualFold(name, "default") || strings.HasSuffix(name, " ") {
			t.Fatalf("accepted %q", name)
		}
		for i := 0; i < len(name); i++ {
			if !allowed(name[i], groupTextPunct) {
				t.Fatalf("accepted %q with byte %q", name, name[i])
			}
		}
	})
}
