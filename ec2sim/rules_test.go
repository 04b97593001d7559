package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func TestDescribeSecurityGroupRules(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	a, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id), IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16", "10.5.0.0/16")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroupRule, Tags: []types.Tag{{Key: aws.String("op"), Value: aws.String("42")}}}},
	})
	mustOK(t, err)
	first := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId)

	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	count := func(in *ec2.DescribeSecurityGroupRulesInput) int {
		t.Helper()
		n := 0
		p := ec2.NewDescribeSecurityGroupRulesPaginator(e.ec2, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			mustOK(t, err)
			n += len(out.SecurityGroupRules)
		}
		return n
	}
	if n := count(&ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{f("group-id", id)}, MaxResults: aws.Int32(5)}); n != 7 {
		t.Errorf("group-id paged: %d rules, want 7", n)
	}
	if n := count(&ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{f("tag:op", "42")}}); n != 6 {
		t.Errorf("tag filter: %d, want 6", n)
	}
	if n := count(&ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{f("security-group-rule-id", first)}}); n != 1 {
		t.Errorf("rule-id filter: %d, want 1", n)
	}
	out, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{first}})
	mustOK(t, err)
	if len(out.SecurityGroupRules) != 1 || aws.ToString(out.SecurityGroupRules[0].CidrIpv4) != "10.0.0.0/8" || len(out.SecurityGroupRules[0].Tags) != 1 {
		t.Errorf("by id: %+v", out.SecurityGroupRules)
	}
	// All: 6 + web's egress + default group's 2.
	if n := count(&ec2.DescribeSecurityGroupRulesInput{}); n != 9 {
		t.Errorf("all rules: %d, want 9", n)
	}

	cases := []struct {
		name string
		in   ec2.DescribeSecurityGroupRulesInput
		code string
	}{
		{"malformed id", ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sg-12345678"}}, "InvalidSecurityGroupRuleId.Malformed"},
		{"unknown id", ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sgr-0123456789abcdef0"}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"unknown filter", ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{f("group-name", "web")}}, "InvalidParameterValue"},
		{"MaxResults", ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(2000)}, "InvalidParameterValue"},
		{"token", ec2.DescribeSecurityGroupRulesInput{NextToken: aws.String("AAAA")}, "InvalidPaginationToken"},
		{"dry run", ec2.DescribeSecurityGroupRulesInput{DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &tc.in)
			status := s400
			if tc.code == "DryRunOperation" {
				status = s412
			}
			wantErr(t, err, tc.code, status)
		})
	}
}

func TestModifySecurityGroupRules(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	peer := e.createGroup("peer", "")
	a, err := e.authorize(id, tcp(22, 22, "10.0.0.0/8", "10.1.0.0/16"),
		types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}})
	mustOK(t, err)
	r1 := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId)
	r2 := aws.ToString(a.SecurityGroupRules[1].SecurityGroupRuleId)
	rg := aws.ToString(a.SecurityGroupRules[2].SecurityGroupRuleId)
	_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{r1}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	mustOK(t, err)

	modify := func(gid string, upd ...types.SecurityGroupRuleUpdate) error {
		_, err := e.ec2.ModifySecurityGroupRules(ctx(t), &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(gid), SecurityGroupRules: upd})
		return err
	}
	upd := func(rid string, req types.SecurityGroupRuleRequest) types.SecurityGroupRuleUpdate {
		return types.SecurityGroupRuleUpdate{SecurityGroupRuleId: aws.String(rid), SecurityGroupRule: &req}
	}
	req := func(proto string, from, to int32, cidr string) types.SecurityGroupRuleRequest {
		return types.SecurityGroupRuleRequest{IpProtocol: aws.String(proto), FromPort: aws.Int32(from), ToPort: aws.Int32(to), CidrIpv4: aws.String(cidr)}
	}

	mustOK(t, modify(id, upd(r1, types.SecurityGroupRuleRequest{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
		CidrIpv4: aws.String("10.9.9.9/8"), Description: aws.String("dns")})))
	mustOK(t, modify(id, upd(rg, types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), ReferencedGroupId: aws.String(peer)})))
	out, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{r1, rg}})
	mustOK(t, err)
	for _, r := range out.SecurityGroupRules {
		switch aws.ToString(r.SecurityGroupRuleId) {
		case r1:
			if aws.ToString(r.IpProtocol) != "udp" || aws.ToInt32(r.FromPort) != 53 || aws.ToString(r.CidrIpv4) != "10.0.0.0/8" ||
				aws.ToString(r.Description) != "dns" || len(r.Tags) != 1 {
				t.Errorf("modified rule keeps id and tags, takes the new shape: %+v", r)
			}
		case rg:
			if r.ReferencedGroupInfo == nil || aws.ToString(r.ReferencedGroupInfo.GroupId) != peer {
				t.Errorf("modified reference: %+v", r)
			}
		}
	}

	cases := []struct {
		name string
		gid  string
		upd  []types.SecurityGroupRuleUpdate
		code string
	}{
		{"kind change", id, []types.SecurityGroupRuleUpdate{upd(r2, types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), CidrIpv6: aws.String("::/0")})}, "InvalidParameter"},
		{"two sources", id, []types.SecurityGroupRuleUpdate{upd(r2, types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), CidrIpv4: aws.String("10.0.0.0/8"), CidrIpv6: aws.String("::/0")})}, "InvalidParameterCombination"},
		{"no source", id, []types.SecurityGroupRuleUpdate{upd(r2, types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1")})}, "MissingParameter"},
		{"becomes a duplicate", id, []types.SecurityGroupRuleUpdate{upd(r2, req("udp", 53, 53, "10.0.0.0/8"))}, "InvalidPermission.Duplicate"},
		{"two updates collide", id, []types.SecurityGroupRuleUpdate{upd(r1, req("tcp", 1, 1, "10.7.0.0/16")), upd(r2, req("tcp", 1, 1, "10.7.0.0/16"))}, "InvalidPermission.Duplicate"},
		{"same rule twice", id, []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 1, 1, "10.7.0.0/16")), upd(r2, req("tcp", 2, 2, "10.7.0.0/16"))}, "InvalidParameterValue"},
		{"bad ports", id, []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 2, 1, "10.7.0.0/16"))}, "InvalidPermission.Malformed"},
		{"bad cidr", id, []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 1, 1, "10.7.0.0"))}, "InvalidParameterValue"},
		{"unknown rule", id, []types.SecurityGroupRuleUpdate{upd("sgr-0123456789abcdef0", req("tcp", 1, 1, "10.7.0.0/16"))}, "InvalidSecurityGroupRuleId.NotFound"},
		{"rule of another group", peer, []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 1, 1, "10.7.0.0/16"))}, "InvalidSecurityGroupRuleId.NotFound"},
		{"malformed rule id", id, []types.SecurityGroupRuleUpdate{upd("sgr-x", req("tcp", 1, 1, "10.7.0.0/16"))}, "InvalidSecurityGroupRuleId.Malformed"},
		{"unknown referenced group", id, []types.SecurityGroupRuleUpdate{upd(rg, types.SecurityGroupRuleRequest{IpProtocol: aws.String("-1"), ReferencedGroupId: aws.String("sg-0123456789abcdef0")})}, "InvalidGroup.NotFound"},
		{"malformed group", "sg-q", []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 1, 1, "10.7.0.0/16"))}, "InvalidGroupId.Malformed"},
		{"unknown group", "sg-0123456789abcdef0", []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 1, 1, "10.7.0.0/16"))}, "InvalidGroup.NotFound"},
		{"no rule body", id, []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: aws.String(r2)}}, "MissingParameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, modify(tc.gid, tc.upd...), tc.code, s400)
		})
	}
	t.Run("dry run", func(t *testing.T) {
		_, err := e.ec2.ModifySecurityGroupRules(ctx(t), &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(id), DryRun: aws.Bool(true),
			SecurityGroupRules: []types.SecurityGroupRuleUpdate{upd(r2, req("tcp", 1, 1, "10.7.0.0/16"))}})
		wantErr(t, err, "DryRunOperation", s412)
	})
	// What the SDK refuses to send, sent raw.
	for name, body := range map[string]string{
		"missing group id": form("SecurityGroupRule.1.SecurityGroupRuleId", r2, "SecurityGroupRule.1.SecurityGroupRule.IpProtocol", "-1",
			"SecurityGroupRule.1.SecurityGroupRule.CidrIpv4", "10.0.0.0/8"),
		"no updates": form("GroupId", id),
		"no rule id": form("GroupId", id, "SecurityGroupRule.1.SecurityGroupRule.IpProtocol", "-1", "SecurityGroupRule.1.SecurityGroupRule.CidrIpv4", "10.0.0.0/8"),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.raw(t, "POST", "Action=ModifySecurityGroupRules&Version=2016-11-15&"+body, nil)
			if r.code != "MissingParameter" || r.status != 400 {
				t.Errorf("got %q (HTTP %d)", r.code, r.status)
			}
		})
	}
	// r2 unchanged by every failure.
	out, err = e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{r2}})
	mustOK(t, err)
	if aws.ToString(out.SecurityGroupRules[0].CidrIpv4) != "10.1.0.0/16" || aws.ToInt32(out.SecurityGroupRules[0].FromPort) != 22 {
		t.Errorf("failed modifies changed %s: %+v", r2, out.SecurityGroupRules[0])
	}
}

func TestUpdateRuleDescriptions(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	id := e.createGroup("web", "")
	a, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("old")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(id)}}},
	}})
	mustOK(t, err)
	r1 := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId)
	rg := aws.ToString(a.SecurityGroupRules[1].SecurityGroupRuleId)
	egress := aws.ToString(e.rules(id, true)[0].SecurityGroupRuleId)
	desc := func(rid string) string {
		out, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{rid}})
		mustOK(t, err)
		return aws.ToString(out.SecurityGroupRules[0].Description)
	}

	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx(t), &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(id),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.1/8"), Description: aws.String("new")}}}}})
	mustOK(t, err)
	if d := desc(r1); d != "new" {
		t.Errorf("by permission: %q", d)
	}
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx(t), &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupName: aws.String("web"),
		SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(r1)}}})
	mustOK(t, err)
	if d := desc(r1); d != "" {
		t.Errorf("description left out must be removed, got %q", d)
	}
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsEgress(ctx(t), &ec2.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: aws.String(id),
		SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(egress), Description: aws.String("all out & about")}}})
	mustOK(t, err)
	if d := desc(egress); d != "all out & about" {
		t.Errorf("egress by id: %q", d)
	}

	in := func(perms []types.IpPermission, byID []types.SecurityGroupRuleDescription) *ec2.UpdateSecurityGroupRuleDescriptionsIngressInput {
		return &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(id), IpPermissions: perms, SecurityGroupRuleDescriptions: byID}
	}
	cases := []struct {
		name string
		in   *ec2.UpdateSecurityGroupRuleDescriptionsIngressInput
		code string
	}{
		{"unmatched permission", in([]types.IpPermission{tcp(23, 23, "10.0.0.0/8")}, nil), "InvalidPermission.NotFound"},
		{"unknown rule id", in(nil, []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String("sgr-0123456789abcdef0")}}), "InvalidSecurityGroupRuleId.NotFound"},
		{"egress rule through ingress", in(nil, []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(egress)}}), "InvalidSecurityGroupRuleId.NotFound"},
		{"malformed rule id", in(nil, []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String("x")}}), "InvalidSecurityGroupRuleId.Malformed"},
		{"missing rule id", in(nil, []types.SecurityGroupRuleDescription{{Description: aws.String("x")}}), "MissingParameter"},
		{"bad description", in(nil, []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(r1), Description: aws.String("ü")}}), "InvalidParameterValue"},
		{"& on a group rule", in(nil, []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(rg), Description: aws.String("a&b")}}), "InvalidParameterValue"},
		{"both forms", in([]types.IpPermission{tcp(22, 22, "10.0.0.0/8")}, []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: aws.String(r1)}}), "InvalidParameterCombination"},
		{"neither form", in(nil, nil), "MissingParameter"},
		{"malformed group", &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String("sg-1"), IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0/8")}}, "InvalidGroupId.Malformed"},
		{"dry run", &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(id), DryRun: aws.Bool(true), IpPermissions: []types.IpPermission{tcp(22, 22, "10.0.0.0/8")}}, "DryRunOperation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx(t), tc.in)
			status := s400
			if tc.code == "DryRunOperation" {
				status = s412
			}
			wantErr(t, err, tc.code, status)
		})
	}
}
