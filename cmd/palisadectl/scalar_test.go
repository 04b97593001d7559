package main

import (
	"strings"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestScalarForm(t *testing.T) {
	cases := []struct {
		name string
		in   scalarFlags
		want *palisadev1.IpPermission
	}{
		{"ssh", scalarFlags{protocol: "tcp", port: "22", cidr: "203.0.113.0/24"},
			&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: i32(22), ToPort: i32(22), IpRanges: []*palisadev1.IpRange{{CidrIp: "203.0.113.0/24"}}}},
		{"range", scalarFlags{protocol: "udp", port: "7000-8000", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "udp", FromPort: i32(7000), ToPort: i32(8000), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"all protocols", scalarFlags{protocol: "all", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "-1", IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"port all", scalarFlags{protocol: "icmp", port: "all", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "icmp", FromPort: i32(-1), ToPort: i32(-1), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"port -1", scalarFlags{protocol: "icmp", port: "-1", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "icmp", FromPort: i32(-1), ToPort: i32(-1), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"icmp type-code", scalarFlags{protocol: "icmp", port: "8-0", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "icmp", FromPort: i32(8), ToPort: i32(0), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"protocol number", scalarFlags{protocol: "50", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "50", IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"protocol -1", scalarFlags{protocol: "-1", cidr: "10.0.0.0/8"},
			&palisadev1.IpPermission{IpProtocol: "-1", IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}},
		{"ipv6 cidr", scalarFlags{protocol: "tcp", port: "443", cidr: "2001:db8::/32"},
			&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: i32(443), ToPort: i32(443), Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: "2001:db8::/32"}}}},
		{"source group", scalarFlags{protocol: "tcp", port: "5432", sourceGroup: "sg-0456", groupOwner: "111122223333"},
			&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: i32(5432), ToPort: i32(5432), UserIdGroupPairs: []*palisadev1.UserIdGroupPair{{GroupId: "sg-0456", UserId: "111122223333"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.in.permission()
			if err != nil {
				t.Fatal(err)
			}
			if !equalPermissions([]*palisadev1.IpPermission{got}, []*palisadev1.IpPermission{c.want}) {
				t.Fatalf("got  %s\nwant %s", permsText([]*palisadev1.IpPermission{got}), permsText([]*palisadev1.IpPermission{c.want}))
			}
		})
	}
}

func TestScalarFormErrors(t *testing.T) {
	cases := []struct {
		name string
		in   scalarFlags
		want string
	}{
		{"no protocol", scalarFlags{port: "22", cidr: "10.0.0.0/8"}, "needs --protocol"},
		{"bad protocol", scalarFlags{protocol: "ssh", cidr: "10.0.0.0/8"}, `--protocol "ssh"`},
		{"protocol out of range", scalarFlags{protocol: "256", cidr: "10.0.0.0/8"}, `--protocol "256"`},
		{"bad port", scalarFlags{protocol: "tcp", port: "22-", cidr: "10.0.0.0/8"}, `--port "22-"`},
		{"port word", scalarFlags{protocol: "tcp", port: "http", cidr: "10.0.0.0/8"}, `--port "http"`},
		{"no peer", scalarFlags{protocol: "tcp", port: "22"}, "needs a peer"},
		{"owner alone", scalarFlags{protocol: "tcp", port: "22", groupOwner: "111122223333"}, "--group-owner needs --source-group"},
		{"group by name", scalarFlags{protocol: "tcp", port: "22", sourceGroup: "web"}, "by its id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.in.permission()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v lacks %q", err, c.want)
			}
		})
	}
}
