package ec2sim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func TestAuthorizeIngress(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	s3pl := e.awsList("s3")
	id := e.createGroup("web", "")
	peer := e.createGroup("peer", "")
	out, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id),
		IpPermissions: []types.IpPermission{
			{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(21), ToPort: aws.Int32(80),
				IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}, {CidrIp: aws.String("100.68.0.18/18"), Description: aws.String("office & lab")}}},
			{IpProtocol: aws.String("6"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
				Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::1/64")}}},
			{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(8), ToPort: aws.Int32(-1),
				PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String(s3pl), Description: aws.String("s3")}}},
			{IpProtocol: aws.String("-1"), FromPort: aws.Int32(1), ToPort: aws.Int32(2),
				UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(peer), Description: aws.String("from peer")}}},
			{IpProtocol: aws.String("50"), FromPort: aws.Int32(9), ToPort: aws.Int32(9), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}},
			{IpProtocol: aws.String("58"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}},
			{IpProtocol: aws.String("UDP"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}},
		},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroupRule, Tags: []types.Tag{{Key: aws.String("op"), Value: aws.String("1")}}}},
	})
	mustOK(t, err)
	if !aws.ToBool(out.Return) || len(out.SecurityGroupRules) != 8 {
		t.Fatalf("authorize returned %d rules: %+v", len(out.SecurityGroupRules), out.SecurityGroupRules)
	}
	type want struct {
		proto    string
		from, to int32
		source   string
	}
	wants := []want{
		{"tcp", 21, 80, "0.0.0.0/0"}, {"tcp", 21, 80, "100.68.0.0/18"}, {"tcp", 443, 443, "2001:db8::/64"},
		{"icmp", 8, -1, s3pl}, {"-1", -1, -1, peer}, {"50", -1, -1, "10.0.0.0/8"},
		{"icmpv6", -1, -1, "10.0.0.0/8"}, {"udp", 53, 53, "10.0.0.0/8"},
	}
	for i, r := range out.SecurityGroupRules {
		src := aws.ToString(r.CidrIpv4) + aws.ToString(r.CidrIpv6) + aws.ToString(r.PrefixListId)
		if r.ReferencedGroupInfo != nil {
			src = aws.ToString(r.ReferencedGroupInfo.GroupId)
			if aws.ToString(r.ReferencedGroupInfo.UserId) != "123456789012" {
				t.Errorf("referenced group user id %q", aws.ToString(r.ReferencedGroupInfo.UserId))
			}
		}
		got := want{aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), src}
		if got != wants[i] {
			t.Errorf("rule %d = %+v, want %+v", i, got, wants[i])
		}
		if !validID(aws.ToString(r.SecurityGroupRuleId), "sgr-") || aws.ToString(r.GroupId) != id || aws.ToBool(r.IsEgress) ||
			aws.ToString(r.GroupOwnerId) != "123456789012" || len(r.Tags) != 1 ||
			aws.ToString(r.SecurityGroupRuleArn) != "arn:aws:ec2:us-east-1:123456789012:security-group-rule/"+aws.ToString(r.SecurityGroupRuleId) {
			t.Errorf("rule %d metadata: %+v", i, r)
		}
	}
	if d := aws.ToString(out.SecurityGroupRules[1].Description); d != "office & lab" {
		t.Errorf("description %q", d)
	}
	// The non-canonical form of an existing rule is a duplicate.
	_, err = e.authorize(id, tcp(21, 80, "100.68.1.1/18"))
	wantErr(t, err, "InvalidPermission.Duplicate", s400)
	// Ports sent with -1 do not make a new rule: -1 has no ports.
	_, err = e.authorize(id, types.IpPermission{IpProtocol: aws.String("-1"), FromPort: aws.Int32(7), ToPort: aws.Int32(7),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(peer)}}})
	wantErr(t, err, "InvalidPermission.Duplicate", s400)

	g := e.group(id)
	for _, p := range g.IpPermissions {
		switch aws.ToString(p.IpProtocol) {
		case "-1", "50":
			if p.FromPort != nil || p.ToPort != nil {
				t.Errorf("%s permission has ports: %+v", aws.ToString(p.IpProtocol), p)
			}
		case "icmpv6":
			if aws.ToInt32(p.FromPort) != -1 || aws.ToInt32(p.ToPort) != -1 {
				t.Errorf("icmpv6 without range should read -1/-1: %+v", p)
			}
		}
	}
}

func TestAuthorizeErrors(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	vpc := e.createVpc("10.0.0.0/16", false)
	elsewhere := e.createGroup("elsewhere", vpc)
	_, err := e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	mustOK(t, err)

	p := func(proto string, from, to *int32) types.IpPermission {
		return types.IpPermission{IpProtocol: aws.String(proto), FromPort: from, ToPort: to, IpRanges: []types.IpRange{{CidrIp: aws.String("192.0.2.0/24")}}}
	}
	i32 := aws.Int32
	cases := []struct {
		name  string
		group string
		perms []types.IpPermission
		code  string
	}{
		{"protocol all", id, []types.IpPermission{p("all", nil, nil)}, "InvalidParameterValue"},
		{"protocol 256", id, []types.IpPermission{p("256", nil, nil)}, "InvalidParameterValue"},
		{"protocol word", id, []types.IpPermission{p("sctp", nil, nil)}, "InvalidParameterValue"},
		{"protocol missing", id, []types.IpPermission{{IpRanges: []types.IpRange{{CidrIp: aws.String("192.0.2.0/24")}}}}, "InvalidParameterValue"}, // TestNullProtocol
		{"tcp without ports", id, []types.IpPermission{p("tcp", nil, nil)}, "InvalidParameterValue"},
		{"tcp without to port", id, []types.IpPermission{p("tcp", i32(1), nil)}, "InvalidParameterValue"},
		{"tcp port -1", id, []types.IpPermission{p("tcp", i32(-1), i32(-1))}, "InvalidPermission.Malformed"},
		{"udp port 65536", id, []types.IpPermission{p("udp", i32(1), i32(65536))}, "InvalidPermission.Malformed"},
		{"from above to", id, []types.IpPermission{p("tcp", i32(90), i32(80))}, "InvalidPermission.Malformed"},
		{"icmp without code", id, []types.IpPermission{p("icmp", i32(8), nil)}, "InvalidParameterValue"},
		{"icmp type 256", id, []types.IpPermission{p("icmp", i32(256), i32(0))}, "InvalidPermission.Malformed"},
		{"icmp code -2", id, []types.IpPermission{p("icmp", i32(3), i32(-2))}, "InvalidPermission.Malformed"},
		{"icmp any type with a code", id, []types.IpPermission{p("icmp", i32(-1), i32(4))}, "InvalidParameterValue"},
		{"icmpv6 half range", id, []types.IpPermission{p("icmpv6", i32(1), nil)}, "InvalidParameterValue"},
		{"cidr without prefix", id, []types.IpPermission{tcp(1, 2, "192.0.2.1")}, "InvalidParameterValue"},
		{"cidr garbage", id, []types.IpPermission{tcp(1, 2, "300.1.1.1/8")}, "InvalidParameterValue"},
		{"ipv6 in IpRanges", id, []types.IpPermission{tcp(1, 2, "::/0")}, "InvalidParameterValue"},
		{"ipv4 in Ipv6Ranges", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("10.0.0.0/8")}}}}, "InvalidParameterValue"},
		{"empty cidr", id, []types.IpPermission{tcp(1, 2, "")}, "MissingParameter"},
		{"no source", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2)}}, "MissingParameter"},
		{"malformed prefix list", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String("pl-xyz")}}}}, "InvalidPrefixListId.Malformed"},
		{"malformed referenced group", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String("sg-zz")}}}}, "InvalidGroupId.Malformed"},
		{"unknown referenced group", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String("sg-0123456789abcdef0")}}}}, "InvalidGroup.NotFound"},
		{"referenced group in another VPC", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(elsewhere)}}}}, "InvalidGroup.NotFound"},
		{"referenced group of another account", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id), UserId: aws.String("111122223333")}}}}, "InvalidGroup.NotFound"},
		{"peering connection", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id), VpcPeeringConnectionId: aws.String("pcx-12345678")}}}}, "InvalidVpcPeeringConnectionID.NotFound"},
		{"pair without group", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{Description: aws.String("x")}}}}, "MissingParameter"},
		{"pair by name outside default VPC", elsewhere, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupName: aws.String("elsewhere")}}}}, "InvalidParameterValue"},
		{"description charset", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("a|b")}}}}, "InvalidParameterValue"},
		{"description too long", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String(strings.Repeat("d", 256))}}}}, "InvalidParameterValue"},
		{"& in a group-pair description", id, []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: i32(1), ToPort: i32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id), Description: aws.String("a&b")}}}}, "InvalidParameterValue"},
		{"same permission twice", id, []types.IpPermission{tcp(80, 80, "10.1.0.0/16"), tcp(80, 80, "10.1.0.0/16")}, "InvalidParameterValue"},
		{"same rule twice after canonicalising", id, []types.IpPermission{tcp(80, 80, "10.1.0.0/16", "10.1.2.3/16")}, "InvalidParameterValue"},
		{"existing rule among new ones", id, []types.IpPermission{tcp(80, 80, "10.1.0.0/16"), tcp(22, 22, "10.0.0.0/8")}, "InvalidPermission.Duplicate"},
		{"no permissions", id, nil, "MissingParameter"},
		{"malformed group id", "sg-123", []types.IpPermission{tcp(1, 2, "10.0.0.0/8")}, "InvalidGroupId.Malformed"},
		{"unknown group", "sg-0123456789abcdef0", []types.IpPermission{tcp(1, 2, "10.0.0.0/8")}, "InvalidGroup.NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.authorize(tc.group, tc.perms...)
			wantErr(t, err, tc.code, s400)
		})
	}
	// Every failure was all-or-nothing: only the first rule exists.
	if rs := e.rules(id, false); len(rs) != 1 {
		t.Errorf("failed authorizations added rules: %+v", rs)
	}
	t.Run("wrong tag resource type", func(t *testing.T) {
		_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(1, 1, "10.0.0.0/8")},
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup}},
		})
		wantErr(t, err, "InvalidParameterValue", s400)
	})
	t.Run("dry run", func(t *testing.T) {
		_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(1, 1, "10.0.0.0/8")}, DryRun: aws.Bool(true)})
		wantErr(t, err, "DryRunOperation", s412)
		// A dry run of a request that would fail answers the failure.
		_, err = e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0/8")}, DryRun: aws.Bool(true)})
		wantErr(t, err, "InvalidPermission.Duplicate", s400)
		if rs := e.rules(id, false); len(rs) != 1 {
			t.Errorf("dry run added rules: %+v", rs)
		}
	})
}

func TestAuthorizeLegacyParameters(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	e.createGroup("src", "")
	_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupName: aws.String("web"), IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIp: aws.String("10.0.0.0/8")})
	mustOK(t, err)
	out, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id), SourceSecurityGroupName: aws.String("src")})
	mustOK(t, err)
	if len(out.SecurityGroupRules) != 3 {
		t.Errorf("source group form should open tcp, udp and icmp: %+v", out.SecurityGroupRules)
	}
	cases := []struct {
		name string
		in   ec2.AuthorizeSecurityGroupIngressInput
		code string
	}{
		{"legacy with IpPermissions", ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), CidrIp: aws.String("10.0.0.0/8"),
			IpPermissions: []types.IpPermission{tcp(1, 1, "10.0.0.0/8")}}, "InvalidParameterCombination"},
		{"source group with cidr", ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), CidrIp: aws.String("10.0.0.0/8"), SourceSecurityGroupName: aws.String("src")}, "InvalidParameterCombination"},
		{"protocol without cidr", ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1)}, "MissingParameter"},
		{"both group id and name", ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), GroupName: aws.String("web"), IpPermissions: []types.IpPermission{tcp(1, 1, "10.0.0.0/8")}}, "InvalidParameterCombination"},
		{"no group", ec2.AuthorizeSecurityGroupIngressInput{IpPermissions: []types.IpPermission{tcp(1, 1, "10.0.0.0/8")}}, "MissingParameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &tc.in)
			wantErr(t, err, tc.code, s400)
		})
	}
	t.Run("egress refuses legacy parameters", func(t *testing.T) {
		_, err := e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), CidrIp: aws.String("10.0.0.0/8"), IpProtocol: aws.String("-1")})
		wantErr(t, err, "InvalidParameterCombination", s400)
	})
}

func TestAuthorizeEgress(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	out, err := e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(443, 443, "0.0.0.0/0")}})
	mustOK(t, err)
	if len(out.SecurityGroupRules) != 1 || !aws.ToBool(out.SecurityGroupRules[0].IsEgress) {
		t.Errorf("egress rules = %+v", out.SecurityGroupRules)
	}
	// Re-adding the default egress rule is a duplicate.
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(id), IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
	wantErr(t, err, "InvalidPermission.Duplicate", s400)
	if n := len(e.rules(id, true)); n != 2 {
		t.Errorf("%d egress rules, want 2", n)
	}
	if n := len(e.rules(id, false)); n != 0 {
		t.Errorf("egress authorize added %d ingress rules", n)
	}
}

func TestRuleQuota(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	ec2sim.SetLimitsForTest(e.sim, 3, 2500, 50, 5, false)
	id := e.createGroup("web", "")
	peer := e.createGroup("peer", "")
	v6 := func(c string) types.IpPermission {
		return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String(c)}}}
	}
	_, err := e.authorize(id, tcp(1, 1, "10.0.0.0/8", "10.1.0.0/16"))
	mustOK(t, err)
	// IPv6 rules count separately.
	_, err = e.authorize(id, v6("2001:db8::/32"), v6("2001:db9::/32"))
	mustOK(t, err)
	// A group reference counts against both families: 3 and 3.
	_, err = e.authorize(id, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(2), ToPort: aws.Int32(2), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(peer)}}})
	mustOK(t, err)
	_, err = e.authorize(id, tcp(3, 3, "10.2.0.0/16"))
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)
	_, err = e.authorize(id, v6("2001:dba::/32"))
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)
	// Egress has its own count; the default egress rule is one of it.
	eg := func(cidrs ...string) error {
		_, err := e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(1, 1, cidrs...)}})
		return err
	}
	mustOK(t, eg("10.0.0.0/8", "10.1.0.0/16"))
	wantErr(t, eg("10.2.0.0/16"), "RulesPerSecurityGroupLimitExceeded", s400)
	// An over-quota request adds nothing, even its first rules.
	other := e.createGroup("other", "")
	_, err = e.authorize(other, tcp(1, 1, "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"))
	wantErr(t, err, "RulesPerSecurityGroupLimitExceeded", s400)
	if n := len(e.rules(other, false)); n != 0 {
		t.Errorf("over-quota authorize added %d rules", n)
	}
}

func TestProtocolNumbers(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	cases := []struct{ in, want string }{
		{"6", "tcp"}, {"17", "udp"}, {"1", "icmp"}, {"58", "icmpv6"}, {"0", "0"}, {"255", "255"}, {"TCP", "tcp"}, {"ICMPv6", "icmpv6"},
	}
	for i, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			p := types.IpPermission{IpProtocol: aws.String(tc.in), FromPort: aws.Int32(1), ToPort: aws.Int32(1),
				IpRanges: []types.IpRange{{CidrIp: aws.String(fmt.Sprintf("10.%d.0.0/16", i))}}}
			out, err := e.authorize(id, p)
			mustOK(t, err)
			if got := aws.ToString(out.SecurityGroupRules[0].IpProtocol); got != tc.want {
				t.Errorf("protocol %q stored as %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"-2", "+6", "1e1", " 6", "999"} {
		t.Run("refused "+bad, func(t *testing.T) {
			_, err := e.authorize(id, types.IpPermission{IpProtocol: aws.String(bad), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}})
			wantErr(t, err, "InvalidParameterValue", s400)
		})
	}
}
