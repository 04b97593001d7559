package difftest

import "net/netip"

// Steps for the filters a fleet search sends besides the caller's: a rule
// predicate "from a range containing X" becomes ip-permission.cidr (or
// ipv6-cidr, egress. for outbound) with X and all its supernets, and a
// protocol becomes ip-permission.protocol with its name, its number and
// -1. EC2 ORs a filter's values and lets different filters be met by
// different rules of a group; it stores CIDRs with host bits cleared
// (reference §3, CIDRs), so a supernet list finds a rule given as
// 10.9.8.7/16. They run last, on a group of their own in vpc3.
func pushDownSteps() []step {
	scope := F("group-name", "p-*")
	return []step{
		{name: "pd-group", do: createSG("fp", "p-pushed", "push-down", createOpts{vpc: "vpc3"}), want: "OK"},
		{name: "pd-authorize", do: authorize("fp", ingress,
			P("tcp", 0, 1024, "10.3.0.0/16"), P("-1", noPort, noPort, "192.168.0.0/16"), P("tcp", 443, 443, "2001:db8::/32")), want: "OK",
			moto:      "moto: a multi-permission Authorize lists only the last permission's rules",
			wantShape: "return=true rules=[fp:in:-1:*:192.168.0.0/16 sgr-ok tags={}; fp:in:tcp:0..1024:10.3.0.0/16 sgr-ok tags={}; fp:in:tcp:443..443:2001:db8::/32 sgr-ok tags={}]"},
		{name: "pd-authorize-host-bits", do: authorize("fp", ingress, P("17", 500, 500, "10.9.8.7/16")), want: "OK",
			moto: "moto: CIDR host bits are kept", wantShape: "return=true rules=[fp:in:udp:500..500:10.9.0.0/16 sgr-ok tags={}]"},
		{name: "pd-cidr-supernets", do: findGroups(scope, F("ip-permission.cidr", supernetsOf("10.3.1.7/32")...)), want: "OK"},
		{name: "pd-cidr-supernets-none", do: findGroups(scope, F("ip-permission.cidr", supernetsOf("172.16.0.1/32")...)), want: "OK"},
		{name: "pd-cidr-host-bits-cleared", do: findGroups(scope, F("ip-permission.cidr", supernetsOf("10.9.200.1/32")...)), want: "OK",
			moto: "moto: CIDR host bits are kept, so 10.9.0.0/16 is not among the rule's texts", wantShape: "groups=[fp]"},
		{name: "pd-ipv6-supernets", do: findGroups(scope, F("ip-permission.ipv6-cidr", supernetsOf("2001:db8:1::5/128")...)), want: "OK",
			moto: "moto: the ip-permission.ipv6-cidr filter is not implemented (HTML 500)", wantShape: "groups=[fp]"},
		{name: "pd-ipv6-not-in-cidr", do: findGroups(scope, F("ip-permission.cidr", "2001:db8::/32")), want: "OK"},
		{name: "pd-protocol-all-protocols", do: findGroups(scope, F("ip-permission.protocol", "icmp", "1", "-1")), want: "OK"},
		{name: "pd-protocol-name-and-number", do: findGroups(scope, F("ip-permission.protocol", "udp", "17")), want: "OK"},
		{name: "pd-protocol-none", do: findGroups(scope, F("egress.ip-permission.protocol", "udp", "17")), want: "OK"},
		{name: "pd-cidr-and-protocol-by-different-rules", do: findGroups(scope,
			F("ip-permission.cidr", "192.168.0.0/16"), F("ip-permission.protocol", "tcp", "6")), want: "OK"},
		{name: "pd-authorize-egress", do: authorize("fp", egress, P("tcp", 443, 443, "10.0.0.0/8")), want: "OK"},
		{name: "pd-egress-cidr", do: findGroups(scope, F("egress.ip-permission.cidr", supernetsOf("10.1.2.3/32")...)), want: "OK"},
		{name: "pd-egress-default-rule", do: findGroups(scope, F("egress.ip-permission.cidr", "0.0.0.0/0")), want: "OK",
			moto: "moto: filters do not see a new group's default egress rule", wantShape: "groups=[fp]"},
		{name: "pd-egress-not-ingress", do: findGroups(scope, F("egress.ip-permission.cidr", "192.168.0.0/16")), want: "OK"},
	}
}

// supernetsOf is the CIDR and every prefix holding it, as EC2 writes them.
func supernetsOf(cidr string) []string {
	p := netip.MustParsePrefix(cidr)
	var out []string
	for bits := p.Bits(); bits >= 0; bits-- {
		out = append(out, netip.PrefixFrom(p.Addr(), bits).Masked().String())
	}
	return out
}
