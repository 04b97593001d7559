package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func (e *env) revoke(groupID string, perms ...types.IpPermission) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	return e.ec2.RevokeSecurityGroupIngress(ctx(e.t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
}

func TestRevokeByPermission(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	s3pl := e.awsList("s3")
	vpc := e.createVpc("10.0.0.0/16", false)
	id := e.createGroup("web", vpc)
	_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("ssh")}, {CidrIp: aws.String("192.0.2.0/24")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}},
	}})
	mustOK(t, err)

	// Non-default VPC: one unmatched permission fails the call, nothing is revoked.
	_, err = e.revoke(id, tcp(22, 22, "10.0.0.0/8"), tcp(22, 22, "172.16.0.0/12"))
	wantErr(t, err, "InvalidPermission.NotFound", s400)
	if n := len(e.rules(id, false)); n != 3 {
		t.Fatalf("a failed revoke removed rules: %d left", n)
	}
	// Description need not be given; host bits are canonicalised before matching.
	out, err := e.revoke(id, tcp(22, 22, "10.1.2.3/8"))
	mustOK(t, err)
	if len(out.RevokedSecurityGroupRules) != 1 || aws.ToString(out.RevokedSecurityGroupRules[0].CidrIpv4) != "10.0.0.0/8" ||
		aws.ToString(out.RevokedSecurityGroupRules[0].Description) != "ssh" || len(out.UnknownIpPermissions) != 0 {
		t.Errorf("revoke output %+v", out)
	}
	out, err = e.revoke(id, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}})
	mustOK(t, err)
	if len(out.RevokedSecurityGroupRules) != 1 || aws.ToString(out.RevokedSecurityGroupRules[0].ReferencedGroupId) != id {
		t.Errorf("revoke output %+v", out.RevokedSecurityGroupRules)
	}
	// IPv6 ranges and prefix lists are matched and reported like CIDRs.
	v6pl := types.IpPermission{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
		Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32")}}, PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String(s3pl)}}}
	_, err = e.authorize(id, v6pl)
	mustOK(t, err)
	out, err = e.revoke(id, v6pl)
	mustOK(t, err)
	if len(out.RevokedSecurityGroupRules) != 2 || aws.ToString(out.RevokedSecurityGroupRules[0].CidrIpv6) != "2001:db8::/32" ||
		aws.ToString(out.RevokedSecurityGroupRules[1].PrefixListId) != s3pl {
		t.Errorf("revoke output %+v", out.RevokedSecurityGroupRules)
	}
	// Ports must match exactly.
	_, err = e.revoke(id, tcp(22, 23, "192.0.2.0/24"))
	wantErr(t, err, "InvalidPermission.NotFound", s400)
}

func TestRevokeDefaultVPCReportsUnknown(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	_, err := e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	mustOK(t, err)
	out, err := e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupName: aws.String("web"),
		IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0/8", "172.16.0.0/12")}})
	mustOK(t, err)
	if len(out.RevokedSecurityGroupRules) != 1 || len(out.UnknownIpPermissions) != 1 ||
		len(out.UnknownIpPermissions[0].IpRanges) != 1 || aws.ToString(out.UnknownIpPermissions[0].IpRanges[0].CidrIp) != "172.16.0.0/12" {
		t.Errorf("revoke output %+v", out)
	}
	// Legacy single-rule form.
	_, err = e.authorize(id, tcp(80, 80, "10.0.0.0/8"))
	mustOK(t, err)
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), CidrIp: aws.String("10.0.0.0/8")})
	mustOK(t, err)
	if n := len(e.rules(id, false)); n != 0 {
		t.Errorf("%d rules left", n)
	}
}

func TestRevokeByRuleID(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	other := e.createGroup("other", "")
	a, err := e.authorize(id, tcp(22, 22, "10.0.0.0/8", "10.1.0.0/16"))
	mustOK(t, err)
	r1, r2 := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId), aws.ToString(a.SecurityGroupRules[1].SecurityGroupRuleId)
	egress := aws.ToString(e.rules(id, true)[0].SecurityGroupRuleId)

	cases := []struct {
		name string
		in   ec2.RevokeSecurityGroupIngressInput
		code string
	}{
		{"malformed", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{"sgr-bad"}}, "InvalidSecurityGroupRuleId.Malformed"},
		{"unknown", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{"sgr-0123456789abcdef0"}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"rule of another group", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(other), SecurityGroupRuleIds: []string{r1}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"egress rule by ingress call", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{egress}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"one unknown among known", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{r1, "sgr-0123456789abcdef0"}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"ids and permissions", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{r1}, IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0/8")}}, "InvalidParameterCombination"},
		{"neither", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id)}, "MissingParameter"},
		{"malformed group", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-"), SecurityGroupRuleIds: []string{r1}}, "InvalidGroupId.Malformed"},
		{"unknown group", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-0123456789abcdef0"), SecurityGroupRuleIds: []string{r1}}, "InvalidGroup.NotFound"},
		{"bad permission", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0")}}, "InvalidParameterValue"},
		{"dry run", ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{r1}, DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.RevokeSecurityGroupIngress(ctx(t), &tc.in)
			status := s400
			if tc.code == "DryRunOperation" {
				status = s412
			}
			wantErr(t, err, tc.code, status)
		})
	}
	if n := len(e.rules(id, false)); n != 2 {
		t.Fatalf("failed revokes removed rules: %d left", n)
	}
	out, err := e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{r1, r2, r1}})
	mustOK(t, err)
	if len(out.RevokedSecurityGroupRules) != 2 {
		t.Errorf("revoked %+v", out.RevokedSecurityGroupRules)
	}
	// Egress by id: remove the default rule, making the group egress-restricted.
	eo, err := e.ec2.RevokeSecurityGroupEgress(ctx(t), &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{egress}})
	mustOK(t, err)
	if len(eo.RevokedSecurityGroupRules) != 1 || !aws.ToBool(eo.RevokedSecurityGroupRules[0].IsEgress) || aws.ToString(eo.RevokedSecurityGroupRules[0].IpProtocol) != "-1" {
		t.Errorf("egress revoke %+v", eo.RevokedSecurityGroupRules)
	}
	if g := e.group(id); len(g.IpPermissionsEgress) != 0 || len(g.IpPermissions) != 0 {
		t.Errorf("group still has rules: %+v", g)
	}
	_, err = e.ec2.RevokeSecurityGroupEgress(ctx(t), &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(id), CidrIp: aws.String("0.0.0.0/0")})
	wantErr(t, err, "InvalidParameterCombination", s400)
}
