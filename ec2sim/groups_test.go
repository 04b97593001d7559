package ec2sim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func TestCreateDescribeDeleteGroup(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	out, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String("web  "),
		Description: aws.String("web tier"),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroup,
			Tags:         []types.Tag{{Key: aws.String("owner"), Value: aws.String("palisade")}},
		}},
	})
	mustOK(t, err)
	id := aws.ToString(out.GroupId)
	if !validID(id, "sg-") {
		t.Fatalf("group id %q is not sg- + 17 hex", id)
	}
	if want := "arn:aws:ec2:us-east-1:123456789012:security-group/" + id; aws.ToString(out.SecurityGroupArn) != want {
		t.Errorf("arn = %q, want %q", aws.ToString(out.SecurityGroupArn), want)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "owner" {
		t.Errorf("create returned tags %+v", out.Tags)
	}

	g := e.group(id)
	if aws.ToString(g.GroupName) != "web" {
		t.Errorf("name %q: trailing spaces must be trimmed", aws.ToString(g.GroupName))
	}
	if aws.ToString(g.Description) != "web tier" || aws.ToString(g.OwnerId) != "123456789012" || aws.ToString(g.SecurityGroupArn) != aws.ToString(out.SecurityGroupArn) {
		t.Errorf("group = %+v", g)
	}
	if len(g.Tags) != 1 || aws.ToString(g.Tags[0].Value) != "palisade" {
		t.Errorf("tags = %+v", g.Tags)
	}
	if len(g.IpPermissions) != 0 {
		t.Errorf("new group has inbound rules: %+v", g.IpPermissions)
	}
	// The default VPC has no IPv6 block: one egress rule, all traffic to 0.0.0.0/0.
	if len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" ||
		len(g.IpPermissionsEgress[0].IpRanges) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" ||
		g.IpPermissionsEgress[0].FromPort != nil || len(g.IpPermissionsEgress[0].Ipv6Ranges) != 0 {
		t.Errorf("default egress = %+v", g.IpPermissionsEgress)
	}
	if rs := e.rules(id, true); len(rs) != 1 || !validID(aws.ToString(rs[0].SecurityGroupRuleId), "sgr-") ||
		aws.ToInt32(rs[0].FromPort) != -1 || aws.ToInt32(rs[0].ToPort) != -1 {
		t.Errorf("default egress rule = %+v", rs)
	}

	del, err := e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	mustOK(t, err)
	if aws.ToString(del.GroupId) != id || !aws.ToBool(del.Return) {
		t.Errorf("delete = %+v", del)
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	if rs := e.rules(id, true); len(rs) != 0 {
		t.Errorf("rules of a deleted group remain: %+v", rs)
	}
}

func TestDefaultGroup(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	mustOK(t, err)
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("default groups: %+v", out.SecurityGroups)
	}
	g := out.SecurityGroups[0]
	id := aws.ToString(g.GroupId)
	in := g.IpPermissions
	if len(in) != 1 || aws.ToString(in[0].IpProtocol) != "-1" || len(in[0].UserIdGroupPairs) != 1 ||
		aws.ToString(in[0].UserIdGroupPairs[0].GroupId) != id || aws.ToString(in[0].UserIdGroupPairs[0].UserId) != "123456789012" {
		t.Errorf("default group inbound = %+v, want all traffic from itself", in)
	}
	if len(g.IpPermissionsEgress) != 1 {
		t.Errorf("default group egress = %+v", g.IpPermissionsEgress)
	}
	_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	wantErr(t, err, "CannotDelete", s400)
	_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupName: aws.String("default")})
	wantErr(t, err, "CannotDelete", s400)
	// A group may reference itself and still be deleted; its own rules go with it.
	_, err = e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("Default"), Description: aws.String("d")})
	wantErr(t, err, "InvalidGroup.Duplicate", s400)
}

func TestCreateGroupErrors(t *testing.T) {
	long := strings.Repeat("a", 256)
	cases := []struct {
		name, group, desc string
		vpc               *string
		tags              []types.TagSpecification
		code              string
	}{
		{name: "reserved name", group: "default", desc: "d", code: "InvalidGroup.Reserved"},
		{name: "sg- prefix", group: "sg-web", desc: "d", code: "InvalidParameterValue"},
		{name: "name too long", group: long, desc: "d", code: "InvalidParameterValue"},
		{name: "name charset", group: "web<1>", desc: "d", code: "InvalidParameterValue"},
		{name: "name non-ascii", group: "wéb", desc: "d", code: "InvalidParameterValue"},
		{name: "name only spaces", group: "   ", desc: "d", code: "InvalidParameterValue"},
		{name: "description too long", group: "g", desc: long, code: "InvalidParameterValue"},
		{name: "description non-ascii", group: "g", desc: "naïve", code: "InvalidParameterValue"},
		{name: "description charset", group: "g", desc: "a|b", code: "InvalidParameterValue"},
		{name: "empty description", group: "g", desc: "", code: "MissingParameter"}, // TestCreateGroupEmptyDescription
		{name: "malformed vpc", group: "g", desc: "d", vpc: aws.String("vpc-xyz"), code: "InvalidVpcId.Malformed"},
		{name: "unknown vpc", group: "g", desc: "d", vpc: aws.String("vpc-0123456789abcdef0"), code: "InvalidVpcID.NotFound"},
		{name: "wrong tag resource type", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}},
		{name: "aws: tag prefix", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}}}},
		{name: "duplicate tag key", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("k")}, {Key: aws.String("k")}}}}},
		{name: "empty tag key", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("")}}}}},
		{name: "tag value too long", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}}}}},
		{name: "tag key too long", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: []types.Tag{{Key: aws.String(strings.Repeat("k", 129))}}}}},
		{name: "two specs same type", group: "g", desc: "d", code: "InvalidParameterValue",
			tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup}, {ResourceType: types.ResourceTypeSecurityGroup}}},
		{name: "spec without type", group: "g", desc: "d", code: "MissingParameter",
			tags: []types.TagSpecification{{Tags: []types.Tag{{Key: aws.String("k")}}}}},
		{name: "too many tags", group: "g", desc: "d", code: "TagLimitExceeded", tags: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: manyTags(51)}}},
	}
	e := newEnv(t, ec2sim.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{
				GroupName: aws.String(tc.group), Description: aws.String(tc.desc), VpcId: tc.vpc, TagSpecifications: tc.tags,
			})
			wantErr(t, err, tc.code, s400)
		})
	}
	t.Run("all allowed characters", func(t *testing.T) {
		name := "aZ0 ._-:/()#,@[]+=&;{}!$*"
		e.createGroup(name, "")
	})
	out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{})
	mustOK(t, err)
	if len(out.SecurityGroups) != 2 {
		t.Errorf("failed creates left groups behind: %d groups", len(out.SecurityGroups))
	}
}

func manyTags(n int) []types.Tag {
	ts := make([]types.Tag, n)
	for i := range ts {
		ts[i] = types.Tag{Key: aws.String("k" + itoa(i)), Value: aws.String("v")}
	}
	return ts
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestGroupNamesPerVPC(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	e.createGroup("Web", "")
	_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("d")})
	wantErr(t, err, "InvalidGroup.Duplicate", s400)
	_, err = e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("WEB "), Description: aws.String("d")})
	wantErr(t, err, "InvalidGroup.Duplicate", s400)
	// The same name is free in another VPC.
	vpc := e.createVpc("10.0.0.0/16", false)
	id := e.createGroup("web", vpc)
	if g := e.group(id); aws.ToString(g.VpcId) != vpc {
		t.Errorf("group in %s, want %s", aws.ToString(g.VpcId), vpc)
	}
	// Names address groups only in the default VPC.
	out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"web"}})
	mustOK(t, err)
	if len(out.SecurityGroups) != 1 || aws.ToString(out.SecurityGroups[0].GroupName) != "Web" {
		t.Errorf("by name: %+v", out.SecurityGroups)
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"nope"}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
}

func TestGroupLimit(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	ec2sim.SetLimitsForTest(e.sim, 60, 3, 50, 5, false)
	e.createGroup("a", "")
	e.createGroup("b", "") // with the default group, 3 groups
	_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("c"), Description: aws.String("d")})
	wantErr(t, err, "SecurityGroupLimitExceeded", s400)
	// The quota is per VPC.
	e.createGroup("c", e.createVpc("10.1.0.0/16", false))
}

func TestNoDefaultVPC(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	ec2sim.SetLimitsForTest(e.sim, 60, 2500, 50, 5, true)
	_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")})
	wantErr(t, err, "VPCIdNotSpecified", s400)
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"g"}})
	wantErr(t, err, "VPCIdNotSpecified", s400)
	vpc := e.createVpc("10.0.0.0/16", false)
	e.createGroup("g", vpc)
}

func TestDeleteGroupErrors(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	a := e.createGroup("a", "")
	b := e.createGroup("b", "")
	_, err := e.authorize(a, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(b)}, {GroupId: aws.String(a)}}})
	mustOK(t, err)

	cases := []struct {
		name string
		in   ec2.DeleteSecurityGroupInput
		code string
	}{
		{"referenced by another group", ec2.DeleteSecurityGroupInput{GroupId: aws.String(b)}, "DependencyViolation"},
		{"malformed id", ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-12")}, "InvalidGroupId.Malformed"},
		{"unknown id", ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-0123456789abcdef0")}, "InvalidGroup.NotFound"},
		{"unknown name", ec2.DeleteSecurityGroupInput{GroupName: aws.String("zzz")}, "InvalidGroup.NotFound"},
		{"neither id nor name", ec2.DeleteSecurityGroupInput{}, "MissingParameter"},
		{"both id and name", ec2.DeleteSecurityGroupInput{GroupId: aws.String(a), GroupName: aws.String("a")}, "InvalidParameterCombination"},
		{"dry run", ec2.DeleteSecurityGroupInput{GroupId: aws.String(a), DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.DeleteSecurityGroup(ctx(t), &tc.in)
			status := s400
			if tc.code == "DryRunOperation" {
				status = s412
			}
			wantErr(t, err, tc.code, status)
		})
	}
	// a references itself and b; deleting a removes both references, then b can go.
	_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupName: aws.String("a")})
	mustOK(t, err)
	_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(b)})
	mustOK(t, err)
}

func TestDescribeGroupsFiltersAndErrors(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	s3pl := e.awsList("s3")
	web := e.createGroup("web", "")
	db := e.createGroup("db", "")
	_, err := e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{web}, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("front")}}})
	mustOK(t, err)
	_, err = e.authorize(web, tcp(443, 443, "10.0.0.0/8"), types.IpPermission{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
		Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32")}}, PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String(s3pl)}}})
	mustOK(t, err)
	_, err = e.authorize(db, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}})
	mustOK(t, err)
	vpc := e.createVpc("10.9.0.0/16", false)
	other := e.createGroup("other", vpc)
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(other), IpPermissions: []types.IpPermission{tcp(25, 25, "192.0.2.0/24")}})
	mustOK(t, err)

	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	cases := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"group-name", []types.Filter{f("group-name", "web", "db")}, []string{web, db}},
		{"group-name is case-sensitive", []types.Filter{f("group-name", "WEB")}, nil},
		{"wildcard", []types.Filter{f("group-name", "w*")}, []string{web}},
		{"question mark", []types.Filter{f("group-name", "d?")}, []string{db}},
		{"group-id", []types.Filter{f("group-id", db)}, []string{db}},
		{"description", []types.Filter{f("description", "test group db")}, []string{db}},
		{"vpc-id", []types.Filter{f("vpc-id", vpc)}, []string{other, "default"}},
		{"owner-id", []types.Filter{f("owner-id", "123456789012"), f("group-name", "web")}, []string{web}},
		{"tag", []types.Filter{f("tag:tier", "front")}, []string{web}},
		{"tag-key", []types.Filter{f("tag-key", "tier")}, []string{web}},
		{"tag miss", []types.Filter{f("tag:tier", "back")}, nil},
		{"ip-permission.cidr", []types.Filter{f("ip-permission.cidr", "10.0.0.0/8")}, []string{web}},
		{"ip-permission.from-port", []types.Filter{f("ip-permission.from-port", "5432")}, []string{db}},
		{"ip-permission.to-port", []types.Filter{f("ip-permission.to-port", "53")}, []string{web}},
		{"ip-permission.protocol", []types.Filter{f("ip-permission.protocol", "udp")}, []string{web}},
		{"ip-permission.group-id", []types.Filter{f("ip-permission.group-id", web)}, []string{db}},
		{"ip-permission.group-name", []types.Filter{f("ip-permission.group-name", "web")}, nil}, // TestReferencedGroupFilters
		{"ip-permission.user-id", []types.Filter{f("ip-permission.user-id", "123456789012"), f("group-name", "db")}, []string{db}},
		{"ip-permission.ipv6-cidr", []types.Filter{f("ip-permission.ipv6-cidr", "2001:db8::/32")}, []string{web}},
		{"ip-permission.prefix-list-id", []types.Filter{f("ip-permission.prefix-list-id", s3pl)}, []string{web}},
		{"egress.ip-permission.cidr", []types.Filter{f("egress.ip-permission.cidr", "192.0.2.0/24")}, []string{other}},
		{"egress.ip-permission.protocol", []types.Filter{f("egress.ip-permission.protocol", "tcp")}, []string{other}},
		{"rule filters may match different rules", []types.Filter{f("ip-permission.protocol", "tcp"), f("ip-permission.to-port", "53")}, []string{web}},
		{"filters AND", []types.Filter{f("group-name", "web"), f("vpc-id", vpc)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: tc.filters})
			mustOK(t, err)
			var got []string
			for _, g := range out.SecurityGroups {
				id := aws.ToString(g.GroupId)
				if aws.ToString(g.GroupName) == "default" {
					id = "default"
				}
				got = append(got, id)
			}
			if !sameSet(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	errCases := []struct {
		name string
		in   ec2.DescribeSecurityGroupsInput
		code string
	}{
		{"unknown filter", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("colour", "red")}}, "InvalidParameterValue"},
		{"filter without values", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-id")}}}, "InvalidFilter"},
		{"too many filter values", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("group-id", make([]string, 201)...)}}, "FilterLimitExceeded"},
		{"too many filters", ec2.DescribeSecurityGroupsInput{Filters: manyFilters(51)}, "FilterLimitExceeded"},
		{"filter value too long", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("group-name", strings.Repeat("*", 1025))}}, "InvalidParameterValue"},
		{"filter without name", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Values: []string{"x"}}}}, "InvalidFilter"},
		{"malformed id", ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-nothex!"}}, "InvalidGroupId.Malformed"},
		{"unknown id fails the call", ec2.DescribeSecurityGroupsInput{GroupIds: []string{web, "sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{"name outside default VPC", ec2.DescribeSecurityGroupsInput{GroupNames: []string{"other"}}, "InvalidGroup.NotFound"},
		{"MaxResults too small", ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue"},
		{"MaxResults too large", ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(1001)}, "InvalidParameterValue"},
		{"bad token", ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5), NextToken: aws.String("garbage!")}, "InvalidPaginationToken"},
		{"dry run", ec2.DescribeSecurityGroupsInput{DryRun: aws.Bool(true)}, "DryRunOperation"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.DescribeSecurityGroups(ctx(t), &tc.in)
			status := s400
			if tc.code == "DryRunOperation" {
				status = s412
			}
			wantErr(t, err, tc.code, status)
		})
	}

	t.Run("ids and names together", func(t *testing.T) {
		out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{web, db}, GroupNames: []string{"web"}})
		mustOK(t, err)
		if len(out.SecurityGroups) != 2 {
			t.Errorf("got %d groups, want 2 (no duplicates)", len(out.SecurityGroups))
		}
	})
	t.Run("rules grouped by protocol and ports", func(t *testing.T) {
		g := e.group(web)
		if len(g.IpPermissions) != 2 {
			t.Fatalf("permissions = %+v", g.IpPermissions)
		}
		udp := g.IpPermissions[1]
		if aws.ToString(udp.IpProtocol) != "udp" || len(udp.Ipv6Ranges) != 1 || len(udp.PrefixListIds) != 1 || aws.ToInt32(udp.FromPort) != 53 {
			t.Errorf("udp permission = %+v", udp)
		}
	})
}

func TestDescribeGroupsPagination(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	want := []string{}
	for i := range 12 {
		want = append(want, e.createGroup("g"+itoa(i), ""))
	}
	p := ec2.NewDescribeSecurityGroupsPaginator(e.ec2, &ec2.DescribeSecurityGroupsInput{
		MaxResults: aws.Int32(5),
		Filters:    []types.Filter{{Name: aws.String("group-name"), Values: []string{"g*"}}},
	})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		mustOK(t, err)
		pages++
		if len(out.SecurityGroups) > 5 {
			t.Fatalf("page of %d > MaxResults", len(out.SecurityGroups))
		}
		for _, g := range out.SecurityGroups {
			got = append(got, aws.ToString(g.GroupId))
		}
	}
	if pages != 3 || !sameSet(got, want) || len(got) != len(want) {
		t.Errorf("%d pages, %d groups; want 3 pages, %d groups", pages, len(got), len(want))
	}
	// A token from another listing is refused.
	r, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(5)})
	mustOK(t, err)
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5), NextToken: r.NextToken})
	wantErr(t, err, "InvalidPaginationToken", s400)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func manyFilters(n int) []types.Filter {
	fs := make([]types.Filter, n)
	for i := range fs {
		fs[i] = types.Filter{Name: aws.String("group-name"), Values: []string{"x"}}
	}
	return fs
}
