package rules

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func p32(v int32) *int32 { return &v }

func v4(cidrs ...string) []CIDR {
	out := make([]CIDR, len(cidrs))
	for i, c := range cidrs {
		out[i] = CIDR{Value: c}
	}
	return out
}

func v6(cidrs ...string) []CIDR { return v4(cidrs...) }

func TestExpandValid(t *testing.T) {
	tests := []struct {
		name  string
		dir   Direction
		perms []Permission
		want  []Rule
	}{
		{
			name: "seed lab command: one permission, two IPv4 ranges",
			dir:  Ingress,
			perms: []Permission{{Protocol: "tcp", FromPort: p32(21), ToPort: p32(80),
				IPv4Ranges: v4("0.0.0.0/0", "10.0.0.0/16")}},
			want: []Rule{
				{Direction: Ingress, Protocol: "tcp", FromPort: 21, ToPort: 80, Kind: SourceIPv4, Source: "0.0.0.0/0"},
				{Direction: Ingress, Protocol: "tcp", FromPort: 21, ToPort: 80, Kind: SourceIPv4, Source: "10.0.0.0/16"},
			},
		},
		{
			name:  "host bits cleared",
			dir:   Ingress,
			perms: []Permission{{Protocol: "tcp", FromPort: p32(22), ToPort: p32(22), IPv4Ranges: v4("100.68.0.18/18")}},
			want:  []Rule{{Direction: Ingress, Protocol: "tcp", FromPort: 22, ToPort: 22, Kind: SourceIPv4, Source: "100.68.0.0/18"}},
		},
		{
			name:  "IPv6 canonical text and host bits",
			dir:   Egress,
			perms: []Permission{{Protocol: "udp", FromPort: p32(53), ToPort: p32(53), IPv6Ranges: v6("2001:DB8:0:0::1/32")}},
			want:  []Rule{{Direction: Egress, Protocol: "udp", FromPort: 53, ToPort: 53, Kind: SourceIPv6, Source: "2001:db8::/32"}},
		},
		{
			name:  "full port range and single host",
			dir:   Ingress,
			perms: []Permission{{Protocol: "udp", FromPort: p32(0), ToPort: p32(65535), IPv4Ranges: v4("192.0.2.7/32")}},
			want:  []Rule{{Direction: Ingress, Protocol: "udp", FromPort: 0, ToPort: 65535, Kind: SourceIPv4, Source: "192.0.2.7/32"}},
		},
		{
			name:  "protocol 6 is tcp",
			dir:   Ingress,
			perms: []Permission{{Protocol: "6", FromPort: p32(443), ToPort: p32(443), IPv4Ranges: v4("0.0.0.0/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "tcp", FromPort: 443, ToPort: 443, Kind: SourceIPv4, Source: "0.0.0.0/0"}},
		},
		{
			name:  "protocol 17 is udp",
			dir:   Ingress,
			perms: []Permission{{Protocol: "17", FromPort: p32(1), ToPort: p32(2), IPv4Ranges: v4("0.0.0.0/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "udp", FromPort: 1, ToPort: 2, Kind: SourceIPv4, Source: "0.0.0.0/0"}},
		},
		{
			name:  "protocol 1 is icmp with type and code",
			dir:   Ingress,
			perms: []Permission{{Protocol: "1", FromPort: p32(3), ToPort: p32(4), IPv4Ranges: v4("0.0.0.0/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "icmp", FromPort: 3, ToPort: 4, Kind: SourceIPv4, Source: "0.0.0.0/0"}},
		},
		{
			name:  "icmp all types and codes",
			dir:   Ingress,
			perms: []Permission{{Protocol: "icmp", FromPort: p32(-1), ToPort: p32(-1), IPv4Ranges: v4("0.0.0.0/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "icmp", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "0.0.0.0/0"}},
		},
		{
			name:  "icmp one type all codes",
			dir:   Ingress,
			perms: []Permission{{Protocol: "icmp", FromPort: p32(8), ToPort: p32(-1), IPv4Ranges: v4("0.0.0.0/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "icmp", FromPort: 8, ToPort: -1, Kind: SourceIPv4, Source: "0.0.0.0/0"}},
		},
		{
			name:  "protocol 58 is icmpv6 and may omit the range",
			dir:   Ingress,
			perms: []Permission{{Protocol: "58", IPv6Ranges: v6("::/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "icmpv6", FromPort: -1, ToPort: -1, Kind: SourceIPv6, Source: "::/0"}},
		},
		{
			name:  "icmpv6 with type and code",
			dir:   Ingress,
			perms: []Permission{{Protocol: "icmpv6", FromPort: p32(128), ToPort: p32(0), IPv6Ranges: v6("::/0")}},
			want:  []Rule{{Direction: Ingress, Protocol: "icmpv6", FromPort: 128, ToPort: 0, Kind: SourceIPv6, Source: "::/0"}},
		},
		{
			name:  "all protocols drops any port range",
			dir:   Egress,
			perms: []Permission{{Protocol: "-1", FromPort: p32(22), ToPort: p32(22), IPv4Ranges: v4("0.0.0.0/0")}},
			want:  []Rule{{Direction: Egress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "0.0.0.0/0"}},
		},
		{
			name:  "other protocol number has no ports",
			dir:   Ingress,
			perms: []Permission{{Protocol: "50", FromPort: p32(1), ToPort: p32(0), IPv4Ranges: v4("10.0.0.0/8")}},
			want:  []Rule{{Direction: Ingress, Protocol: "50", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "10.0.0.0/8"}},
		},
		{
			name:  "protocol 0 and 255 are numbers",
			dir:   Ingress,
			perms: []Permission{{Protocol: "0", IPv4Ranges: v4("10.0.0.0/8")}, {Protocol: "255", IPv4Ranges: v4("10.0.0.0/8")}},
			want: []Rule{
				{Direction: Ingress, Protocol: "0", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "10.0.0.0/8"},
				{Direction: Ingress, Protocol: "255", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "10.0.0.0/8"},
			},
		},
		{
			name: "every peer kind with descriptions",
			dir:  Ingress,
			perms: []Permission{{
				Protocol: "tcp", FromPort: p32(5432), ToPort: p32(5432),
				IPv4Ranges:  []CIDR{{Value: "10.1.0.0/16", Description: "app subnet & more"[:10]}},
				IPv6Ranges:  []CIDR{{Value: "2001:db8::/56", Description: "v6 (lab)"}},
				PrefixLists: []PrefixList{{ID: "pl-0123abcd", Description: "office"}},
				Groups: []GroupRef{{GroupID: "sg-0123456789abcdef0", UserID: "012345678901",
					VpcID: "vpc-0123abcd", PeeringID: "pcx-0123456789abcdef0", Description: "peer db"}},
			}},
			want: []Rule{
				{Direction: Ingress, Protocol: "tcp", FromPort: 5432, ToPort: 5432, Kind: SourceIPv4, Source: "10.1.0.0/16", Description: "app subnet"},
				{Direction: Ingress, Protocol: "tcp", FromPort: 5432, ToPort: 5432, Kind: SourceIPv6, Source: "2001:db8::/56", Description: "v6 (lab)"},
				{Direction: Ingress, Protocol: "tcp", FromPort: 5432, ToPort: 5432, Kind: SourcePrefixList, Source: "pl-0123abcd", Description: "office"},
				{Direction: Ingress, Protocol: "tcp", FromPort: 5432, ToPort: 5432, Kind: SourceGroup, Source: "sg-0123456789abcdef0",
					UserID: "012345678901", VpcID: "vpc-0123abcd", PeeringID: "pcx-0123456789abcdef0", Description: "peer db"},
			},
		},
		{
			name:  "description with every allowed punctuation mark",
			dir:   Ingress,
			perms: []Permission{{Protocol: "-1", IPv4Ranges: []CIDR{{Value: "10.0.0.0/8", Description: "aZ09 ._-:/()#,@[]+=;{}!$*"}}}},
			want:  []Rule{{Direction: Ingress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "10.0.0.0/8", Description: "aZ09 ._-:/()#,@[]+=;{}!$*"}},
		},
		{
			name:  "description of 255 characters",
			dir:   Ingress,
			perms: []Permission{{Protocol: "-1", IPv4Ranges: []CIDR{{Value: "10.0.0.0/8", Description: strings.Repeat("d", 255)}}}},
			want:  []Rule{{Direction: Ingress, Protocol: "-1", FromPort: -1, ToPort: -1, Kind: SourceIPv4, Source: "10.0.0.0/8", Description: strings.Repeat("d", 255)}},
		},
		{
			name: "same source in two directions of protocol is not a duplicate",
			dir:  Ingress,
			perms: []Permission{
				{Protocol: "tcp", FromPort: p32(22), ToPort: p32(22), IPv4Ranges: v4("10.0.0.0/8")},
				{Protocol: "udp", FromPort: p32(22), ToPort: p32(22), IPv4Ranges: v4("10.0.0.0/8")},
			},
			want: []Rule{
				{Direction: Ingress, Protocol: "tcp", FromPort: 22, ToPort: 22, Kind: SourceIPv4, Source: "10.0.0.0/8"},
				{Direction: Ingress, Protocol: "udp", FromPort: 22, ToPort: 22, Kind: SourceIPv4, Source: "10.0.0.0/8"},
			},
		},
		{
			name:  "exactly sixty rules per family",
			dir:   Ingress,
			perms: []Permission{{Protocol: "tcp", FromPort: p32(1), ToPort: p32(1), IPv4Ranges: manyV4(60), IPv6Ranges: manyV6(60)}},
			want:  nil, // checked by count below
		},
		{name: "no permissions", dir: Ingress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, vs := Expand("ip_permissions", tt.dir, tt.perms)
			if vs != nil {
				t.Fatalf("Expand: unexpected violations: %v", vs)
			}
			if tt.name == "exactly sixty rules per family" {
				if len(got) != 120 {
					t.Fatalf("got %d rules, want 120", len(got))
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Expand:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func manyV4(n int) []CIDR {
	out := make([]CIDR, n)
	for i := range out {
		out[i] = CIDR{Value: "10.0." + strconv.Itoa(i) + ".0/24"}
	}
	return out
}

func manyV6(n int) []CIDR {
	out := make([]CIDR, n)
	for i := range out {
		out[i] = CIDR{Value: "2001:db8:" + strconv.Itoa(i) + "::/48"}
	}
	return out
}

func manyGroups(n int) []GroupRef {
	out := make([]GroupRef, n)
	for i := range out {
		out[i] = GroupRef{GroupID: "sg-" + strings.Repeat("0", 6) + hex2(i)}
	}
	return out
}

func hex2(i int) string {
	const h = "0123456789abcdef"
	return string([]byte{h[i/16%16], h[i%16]})
}

// want is one expected violation: the field path and a fragment the
// message must contain, so messages stay actionable without pinning every
// word.
type want struct{ field, fragment string }

func TestExpandViolations(t *testing.T) {
	tcp := func(from, to int32, cidrs ...string) Permission {
		return Permission{Protocol: "tcp", FromPort: p32(from), ToPort: p32(to), IPv4Ranges: v4(cidrs...)}
	}
	tests := []struct {
		name  string
		dir   Direction
		perms []Permission
		want  []want
	}{
		{"missing protocol", Ingress, []Permission{{IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "required"}}},
		{"protocol all", Ingress, []Permission{{Protocol: "all", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "use -1"}}},
		{"protocol upper case", Ingress, []Permission{{Protocol: "TCP", FromPort: p32(1), ToPort: p32(1), IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "lower case: tcp"}}},
		{"protocol unknown word", Ingress, []Permission{{Protocol: "sctp", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "unknown"}}},
		{"protocol number too big", Ingress, []Permission{{Protocol: "256", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "0-255"}}},
		{"protocol number negative", Ingress, []Permission{{Protocol: "-2", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "0-255"}}},
		{"protocol number with leading zero", Ingress, []Permission{{Protocol: "06", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "leading zeros or sign: 6"}}},
		{"protocol number with plus sign", Ingress, []Permission{{Protocol: "+6", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].ip_protocol", "leading zeros or sign: 6"}}},
		{"tcp without ports", Ingress, []Permission{{Protocol: "tcp", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].from_port", "from_port is missing"}, {"ip_permissions[0].to_port", "to_port is missing"}}},
		{"udp without to_port", Ingress, []Permission{{Protocol: "udp", FromPort: p32(53), IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].to_port", "to_port is missing"}}},
		{"tcp port -1", Ingress, []Permission{tcp(-1, -1, "10.0.0.0/8")},
			[]want{{"ip_permissions[0].from_port", "port -1 is out of range"}, {"ip_permissions[0].to_port", "port -1 is out of range"}}},
		{"tcp port above 65535", Ingress, []Permission{tcp(1, 65536, "10.0.0.0/8")},
			[]want{{"ip_permissions[0].to_port", "0-65535"}}},
		{"tcp port below -1", Ingress, []Permission{tcp(-5, 10, "10.0.0.0/8")},
			[]want{{"ip_permissions[0].from_port", "0-65535"}}},
		{"tcp from greater than to", Ingress, []Permission{tcp(80, 21, "10.0.0.0/8")},
			[]want{{"ip_permissions[0].from_port", "from_port 80 is greater than to_port 21"}}},
		{"protocol 6 keeps tcp port rules", Ingress, []Permission{{Protocol: "6", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].from_port", "tcp rules need"}, {"ip_permissions[0].to_port", "tcp rules need"}}},
		{"icmp without type and code", Ingress, []Permission{{Protocol: "icmp", IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].from_port", "ICMP type"}, {"ip_permissions[0].to_port", "ICMP type"}}},
		{"icmp type out of range", Ingress, []Permission{{Protocol: "icmp", FromPort: p32(256), ToPort: p32(0), IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].from_port", "icmp type 256 is out of range"}}},
		{"icmp code out of range", Ingress, []Permission{{Protocol: "icmp", FromPort: p32(3), ToPort: p32(-2), IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].to_port", "icmp code -2 is out of range"}}},
		{"icmp all types with one code", Ingress, []Permission{{Protocol: "icmp", FromPort: p32(-1), ToPort: p32(0), IPv4Ranges: v4("10.0.0.0/8")}},
			[]want{{"ip_permissions[0].to_port", "with type -1 (all types) the code must be -1"}}},
		{"icmpv6 with only a type", Ingress, []Permission{{Protocol: "icmpv6", FromPort: p32(128), IPv6Ranges: v6("::/0")}},
			[]want{{"ip_permissions[0].to_port", "leave both out"}}},
		{"icmpv6 all types with one code", Ingress, []Permission{{Protocol: "icmpv6", FromPort: p32(-1), ToPort: p32(3), IPv6Ranges: v6("::/0")}},
			[]want{{"ip_permissions[0].to_port", "code must be -1"}}},
		{"no source", Ingress, []Permission{tcp(22, 22)},
			[]want{{"ip_permissions[0]", "no source"}}},
		{"no destination", Egress, []Permission{tcp(22, 22)},
			[]want{{"ip_permissions[0]", "no destination"}}},
		{"cidr missing", Ingress, []Permission{tcp(22, 22, "")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "IPv4 CIDR block is required"}}},
		{"cidr without prefix length", Ingress, []Permission{tcp(22, 22, "10.0.0.0")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", `"10.0.0.0" has no prefix length; write it as 10.0.0.0/32 for one host`}}},
		{"ipv6 without prefix length", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: v6("2001:db8::1")}},
			[]want{{"ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "write it as 2001:db8::1/128 for one host"}}},
		{"cidr prefix too long", Ingress, []Permission{tcp(22, 22, "10.0.0.0/33")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "0-32"}}},
		{"cidr prefix with leading zero", Ingress, []Permission{tcp(22, 22, "10.0.0.0/08")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "invalid prefix length"}}},
		{"cidr prefix empty", Ingress, []Permission{tcp(22, 22, "10.0.0.0/")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "invalid prefix length"}}},
		{"cidr garbage", Ingress, []Permission{tcp(22, 22, "ten/8")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "not an IPv4 address"}}},
		{"cidr octet with leading zero", Ingress, []Permission{tcp(22, 22, "010.0.0.0/8")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "not an IPv4 address (octet with leading zero)"}}},
		{"ipv6 cidr in ip_ranges", Ingress, []Permission{tcp(22, 22, "::/0")},
			[]want{{"ip_permissions[0].ip_ranges[0].cidr_ip", "IPv6 blocks go in ipv6_ranges"}}},
		{"ipv4 cidr in ipv6_ranges", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: v6("0.0.0.0/0")}},
			[]want{{"ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "IPv4 blocks go in ip_ranges"}}},
		{"ipv4-mapped ipv6", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: v6("::ffff:10.0.0.0/104")}},
			[]want{{"ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "IPv4-mapped"}}},
		{"ipv6 zone", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: v6("fe80::1%eth0/64")}},
			[]want{{"ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "not an IPv6 address"}}},
		{"ipv6 prefix too long", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: v6("2001:db8::/129")}},
			[]want{{"ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "0-128"}}},
		{"prefix list id malformed", Ingress, []Permission{{Protocol: "-1", PrefixLists: []PrefixList{{ID: "pl-0123"}}}},
			[]want{{"ip_permissions[0].prefix_list_ids[0].prefix_list_id", "8 or 17 lower-case hex"}}},
		{"prefix list id missing", Ingress, []Permission{{Protocol: "-1", PrefixLists: []PrefixList{{Description: "x"}}}},
			[]want{{"ip_permissions[0].prefix_list_ids[0].prefix_list_id", "prefix list id is required"}}},
		{"prefix list id upper case", Ingress, []Permission{{Protocol: "-1", PrefixLists: []PrefixList{{ID: "pl-0123ABCD"}}}},
			[]want{{"ip_permissions[0].prefix_list_ids[0].prefix_list_id", "malformed"}}},
		{"group id missing", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{{UserID: "123456789012"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[0].group_id", "security group id is required"}}},
		{"group id malformed", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{{GroupID: "sg-12345"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[0].group_id", "malformed"}}},
		{"group user id malformed", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{{GroupID: "sg-12345678", UserID: "1234"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[0].user_id", "12 digits"}}},
		{"group vpc id malformed", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{{GroupID: "sg-12345678", VpcID: "vpc-x"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[0].vpc_id", "VPC id"}}},
		{"group peering id malformed", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{{GroupID: "sg-12345678", PeeringID: "pcx-"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[0].vpc_peering_connection_id", "peering"}}},
		{"ampersand in ip range description", Ingress, []Permission{{Protocol: "-1", IPv4Ranges: []CIDR{{Value: "10.0.0.0/8", Description: "a&b"}}}},
			[]want{{"ip_permissions[0].ip_ranges[0].description", `contains '&' at position 1`}}},
		{"ampersand in group description", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{{GroupID: "sg-12345678", Description: "&"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[0].description", "'&'"}}},
		{"non-ascii in prefix list description", Ingress, []Permission{{Protocol: "-1", PrefixLists: []PrefixList{{ID: "pl-12345678", Description: "café"}}}},
			[]want{{"ip_permissions[0].prefix_list_ids[0].description", "only ASCII"}}},
		{"newline in ipv6 description", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: []CIDR{{Value: "::/0", Description: "a\nb"}}}},
			[]want{{"ip_permissions[0].ipv6_ranges[0].description", `'\n'`}}},
		{"description too long", Ingress, []Permission{{Protocol: "-1", IPv4Ranges: []CIDR{{Value: "10.0.0.0/8", Description: strings.Repeat("d", 256)}}}},
			[]want{{"ip_permissions[0].ip_ranges[0].description", "256 characters long; EC2 allows at most 255"}}},
		{"duplicate after canonicalisation", Ingress, []Permission{tcp(22, 22, "10.0.0.0/16", "10.0.0.5/16")},
			[]want{{"ip_permissions[0].ip_ranges[1].cidr_ip", "repeats ip_permissions[0].ip_ranges[0].cidr_ip"}}},
		{"duplicate across permissions via protocol number", Ingress, []Permission{
			tcp(22, 22, "10.0.0.0/16"),
			{Protocol: "6", FromPort: p32(22), ToPort: p32(22), IPv4Ranges: []CIDR{{Value: "10.0.0.0/16", Description: "other text"}}}},
			[]want{{"ip_permissions[1].ip_ranges[0].cidr_ip", "must not appear multiple times"}}},
		{"duplicate all-protocol rule with different ports", Egress, []Permission{
			{Protocol: "-1", IPv4Ranges: v4("0.0.0.0/0")},
			{Protocol: "-1", FromPort: p32(1), ToPort: p32(2), IPv4Ranges: v4("0.0.0.0/0")}},
			[]want{{"ip_permissions[1].ip_ranges[0].cidr_ip", "repeats"}}},
		{"duplicate group differing only in user id", Ingress, []Permission{{Protocol: "-1", Groups: []GroupRef{
			{GroupID: "sg-12345678"}, {GroupID: "sg-12345678", UserID: "123456789012"}}}},
			[]want{{"ip_permissions[0].user_id_group_pairs[1].group_id", "repeats"}}},
		{"duplicate prefix list", Ingress, []Permission{{Protocol: "-1", PrefixLists: []PrefixList{{ID: "pl-12345678"}, {ID: "pl-12345678"}}}},
			[]want{{"ip_permissions[0].prefix_list_ids[1].prefix_list_id", "repeats"}}},
		{"duplicate ipv6", Ingress, []Permission{{Protocol: "-1", IPv6Ranges: v6("2001:db8::/32", "2001:db8:1::/32")}},
			[]want{{"ip_permissions[0].ipv6_ranges[1].cidr_ipv6", "repeats"}}},
		{"61 IPv4 rules in one request", Ingress, []Permission{{Protocol: "-1", IPv4Ranges: manyV4(61)}},
			[]want{{"ip_permissions", "61 ingress rules counting against the IPv4 quota"}}},
		{"61 IPv6 rules in one request", Egress, []Permission{{Protocol: "-1", IPv6Ranges: manyV6(61)}},
			[]want{{"ip_permissions", "61 egress rules counting against the IPv6 quota"}}},
		{"group references count against both families", Ingress, []Permission{{Protocol: "-1", Groups: manyGroups(61)}},
			[]want{{"ip_permissions", "IPv4 quota"}, {"ip_permissions", "IPv6 quota"}}},
		{"invalid direction", Direction(0), []Permission{tcp(22, 22, "10.0.0.0/8")},
			[]want{{"ip_permissions", "neither ingress nor egress"}}},
		{"bad protocol still checks sources", Ingress, []Permission{{Protocol: "bogus", IPv4Ranges: v4("10.0.0.0")}},
			[]want{{"ip_permissions[0].ip_protocol", "unknown"}, {"ip_permissions[0].ip_ranges[0].cidr_ip", "no prefix length"}}},
		{"every violation is collected", Ingress, []Permission{
			tcp(80, 21, "10.0.0.0", "::/0"),
			{Protocol: "all"},
			{Protocol: "-1", Groups: []GroupRef{{GroupID: "sg-x", Description: "a&b"}}}},
			[]want{
				{"ip_permissions[0].from_port", "greater"},
				{"ip_permissions[0].ip_ranges[0].cidr_ip", "no prefix length"},
				{"ip_permissions[0].ip_ranges[1].cidr_ip", "ipv6_ranges"},
				{"ip_permissions[1].ip_protocol", "-1"},
				{"ip_permissions[1]", "no source"},
				{"ip_permissions[2].user_id_group_pairs[0].group_id", "malformed"},
				{"ip_permissions[2].user_id_group_pairs[0].description", "&"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, vs := Expand("ip_permissions", tt.dir, tt.perms)
			if got != nil {
				t.Errorf("Expand returned rules %v alongside violations", got)
			}
			checkViolations(t, vs, tt.want)
		})
	}
}

func checkViolations(t *testing.T, vs Violations, want []want) {
	t.Helper()
	if len(vs) != len(want) {
		t.Fatalf("got %d violations, want %d:\n%s", len(vs), len(want), strings.ReplaceAll(vs.Error(), "; ", "\n"))
	}
	for i, w := range want {
		if vs[i].Field != w.field || !strings.Contains(vs[i].Description, w.fragment) {
			t.Errorf("violation %d = {%s: %s}, want field %s with %q", i, vs[i].Field, vs[i].Description, w.field, w.fragment)
		}
	}
}

func TestExpandDuplicateReportsLaterOneOnly(t *testing.T) {
	_, vs := Expand("p", Ingress, []Permission{{Protocol: "-1", IPv4Ranges: v4("10.0.0.1/8", "10.0.0.2/8", "10.0.0.3/8")}})
	checkViolations(t, vs, []want{
		{"p[0].ip_ranges[1].cidr_ip", "repeats p[0].ip_ranges[0].cidr_ip"},
		{"p[0].ip_ranges[2].cidr_ip", "repeats p[0].ip_ranges[0].cidr_ip"},
	})
}

func TestExpandLongValueIsTruncatedInMessage(t *testing.T) {
	long := strings.Repeat("9", 1000)
	_, vs := Expand("p", Ingress, []Permission{{Protocol: "-1", IPv4Ranges: v4(long)}})
	if len(vs) != 1 || len(vs[0].Description) > 300 {
		t.Fatalf("message not bounded: %v", vs)
	}
}

// An oversized list is refused with one violation, before any item of it
// is looked at: a request of empty ranges costs no per-item work.
func TestExpandRefusesOversizedListsWhole(t *testing.T) {
	empty := make([]CIDR, 100000)
	_, vs := Expand("ip_permissions", Ingress, []Permission{{Protocol: "tcp", IPv4Ranges: empty}})
	checkViolations(t, vs, []want{{"ip_permissions", "100000 peers"}})

	perms := make([]Permission, MaxPeersPerRequest+1)
	_, vs = Expand("ip_permissions", Egress, perms)
	checkViolations(t, vs, []want{{"ip_permissions", "121 permissions"}})
}
