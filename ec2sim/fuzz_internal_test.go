package ec2sim

import (
	"net/netip"
	"testing"
)

// FuzzCanonicalCIDR: canonical forms are fixed points, keep their family,
// and parse as prefixes without host bits.
func FuzzCanonicalCIDR(f *testing.F) {
	for _, s := range []string{"100.68.0.18/18", "0.0.0.0/0", "10.0.0.1/32", "::/0", "2001:db8::1/64", "::ffff:1.2.3.4/128", "fe80::1%eth0/64", "1.2.3.4", "/8", "1.2.3.4/33"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, v6 bool) {
		c, err := canonicalCIDR(raw, v6)
		if err != nil {
			if err.Code != codeInvalidParameterValue {
				t.Fatalf("code %s", err.Code)
			}
			return
		}
		again, err := canonicalCIDR(c, v6)
		if err != nil || again != c {
			t.Fatalf("%q → %q → %q, %v", raw, c, again, err)
		}
		p := netip.MustParsePrefix(c)
		if p != p.Masked() || p.Addr().Is6() != v6 {
			t.Fatalf("%q → %q: host bits or family wrong", raw, c)
		}
	})
}

// FuzzWildcard: a pattern without wildcards or escapes matches only itself,
// "*" matches everything, and nothing takes super-linear time or panics.
func FuzzWildcard(f *testing.F) {
	f.Add("w*b", "web")
	f.Add("a?c", "abc")
	f.Add(`\*`, "*")
	f.Add("**********************b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		got := wildcardMatch(pattern, s)
		if !wildcardMatch("*", s) {
			t.Fatalf("* did not match %q", s)
		}
		plain := true
		for _, r := range pattern {
			if r == '*' || r == '?' || r == '\\' {
				plain = false
			}
		}
		if plain && got != (pattern == s) {
			t.Fatalf("plain %q vs %q: %v", pattern, s, got)
		}
	})
}

// FuzzParseParams: any form yields a tree or an EC2 error, never a panic,
// and every leaf is reported unused until read.
func FuzzParseParams(f *testing.F) {
	f.Add("IpPermissions.1.IpRanges.2.CidrIp", "x")
	f.Add("a..b.", "")
	f.Add(".", ".")
	f.Fuzz(func(t *testing.T, key, value string) {
		p, err := parseParams(map[string][]string{key: {value}})
		if err != nil {
			return
		}
		if k, ok := p.unused(); !ok || k != key {
			t.Fatalf("unused = %q, %v; want %q", k, ok, key)
		}
	})
}
