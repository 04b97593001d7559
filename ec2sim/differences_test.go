package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

// Answers where a simpler model would differ from EC2. Each case names
// EC2's answer and where it comes from.

// A rule without IpProtocol: InvalidParameterValue "Invalid value 'null' for
// protocol. VPC security group rules must specify protocols explicitly."
// (EC2's answers quoted in nanovms/ops#735, boto/boto#3376 and
// ryankanno/locust-swarm#2), in ModifySecurityGroupRules as in Authorize.
func TestNullProtocol(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	g := e.createGroup("web", "")
	out, err := e.authorize(g, tcp(22, 22, "10.0.0.0/8"))
	mustOK(t, err)
	rid := out.SecurityGroupRules[0].SecurityGroupRuleId

	_, err = e.ec2.ModifySecurityGroupRules(ctx(t), &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(g),
		SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: rid,
			SecurityGroupRule: &types.SecurityGroupRuleRequest{FromPort: aws.Int32(22), ToPort: aws.Int32(22), CidrIpv4: aws.String("10.0.0.0/8")}}}})
	wantErr(t, err, "InvalidParameterValue", s400)

	_, err = e.authorize(g, types.IpPermission{IpRanges: []types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}})
	wantErr(t, err, "InvalidParameterValue", s400)
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(g),
		IpPermissions: []types.IpPermission{{IpRanges: []types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}}}})
	wantErr(t, err, "InvalidParameterValue", s400)
}

// A permission with a protocol but nothing to allow: MissingParameter
// "Missing source specification: include source security group or CIDR
// information" (EC2's answer quoted in boto/boto3#1078).
func TestPermissionWithoutSource(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	g := e.createGroup("web", "")
	_, err := e.authorize(g, tcp(22, 22))
	wantErr(t, err, "MissingParameter", s400)
}

// A malformed group id as a group-id filter value of
// DescribeSecurityGroupRules: InvalidGroupId.Malformed, not an empty list
// (EC2's answer quoted in localstack/localstack#9059).
func TestRuleFilterMalformedGroupID(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	g := e.createGroup("web", "")
	for _, v := range []string{"", "foobar", "sg-123", "sg-*"} {
		_, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g, v}}}})
		wantErr(t, err, "InvalidGroupId.Malformed", s400)
	}
	// A well-formed id of no group is an empty answer.
	out, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{"sg-0123456789abcdef0"}}}})
	mustOK(t, err)
	if len(out.SecurityGroupRules) != 0 {
		t.Errorf("unknown group's rules: %+v", out.SecurityGroupRules)
	}
}

// CreateSecurityGroup with an empty or missing description: MissingParameter
// (reference §3 "Missing → MissingParameter"; GroupDescription is required).
func TestCreateGroupEmptyDescription(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("")})
	wantErr(t, err, "MissingParameter", s400)
	r := e.raw(t, "POST", "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web", nil)
	if r.code != "MissingParameter" || r.status != s400 {
		t.Errorf("no description: %s %d", r.code, r.status)
	}
}

// Referenced-group filters: ip-permission.group-name compares the name in
// the rule's user-id-group pair as EC2 stores it, empty for VPC groups, so
// filtering by the referenced group's name finds nothing; group-id and
// user-id match the pair's id and owner (DescribeSecurityGroups filters, API
// reference; the pairs DescribeSecurityGroups returns for VPC groups carry
// no group name).
func TestReferencedGroupFilters(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	web := e.createGroup("web", "")
	db := e.createGroup("db", "")
	pair := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}}
	_, err := e.authorize(db, pair)
	mustOK(t, err)
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(web), IpPermissions: []types.IpPermission{pair}})
	mustOK(t, err)
	count := func(name, value string) int {
		out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{{Name: aws.String(name), Values: []string{value}}}})
		mustOK(t, err)
		return len(out.SecurityGroups)
	}
	for _, tc := range []struct {
		name, value string
		want        int
	}{
		{"ip-permission.group-name", "web", 0},
		{"ip-permission.group-name", "*", 0},
		{"egress.ip-permission.group-name", "web", 0},
		{"ip-permission.group-id", web, 1},
		{"egress.ip-permission.group-id", web, 1},
		{"ip-permission.user-id", "123456789012", 2}, // db, and the default group's self-reference
		{"egress.ip-permission.user-id", "123456789012", 1},
		{"ip-permission.user-id", "210987654321", 0},
	} {
		if got := count(tc.name, tc.value); got != tc.want {
			t.Errorf("%s=%s: %d groups, want %d", tc.name, tc.value, got, tc.want)
		}
	}
}

// Tag filters, exactly as each call's reference lists them:
// DescribeSecurityGroups takes tag:<key> and tag-key, DescribeSecurityGroupRules
// only tag:<key>, DescribeVpcs tag:<key> and tag-key (API reference, Filter.N
// of each). Anything else is InvalidParameterValue naming the filter.
func TestTagFilterNames(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	g := e.createGroup("web", "")
	_, err := e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{g}, Tags: []types.Tag{tag("team", "a")}})
	mustOK(t, err)
	f := func(name, v string) []types.Filter {
		return []types.Filter{{Name: aws.String(name), Values: []string{v}}}
	}

	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: f("tag-key", "team")})
	mustOK(t, err)
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: f("tag-value", "a")})
	wantErrMsg(t, err, "InvalidParameterValue", "tag-value")
	_, err = e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{Filters: f("tag:team", "a")})
	mustOK(t, err)
	for _, name := range []string{"tag-key", "tag-value"} {
		_, err = e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{Filters: f(name, "team")})
		wantErrMsg(t, err, "InvalidParameterValue", name)
	}
	_, err = e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: f("tag-key", "team")})
	mustOK(t, err)
	_, err = e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: f("tag-value", "a")})
	wantErrMsg(t, err, "InvalidParameterValue", "tag-value")
}

// Order of faults in one request. A referenced group id that is not an id
// at all is InvalidGroupId.Malformed, not InvalidGroup.NotFound (EC2's
// answer quoted in hashicorp/terraform#16673). An unknown target group with
// no permissions is MissingParameter: EC2's order there cannot be
// established (see authorize.go), the endpoint checks the request first.
func TestFaultOrder(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	g := e.createGroup("web", "")
	_, err := e.authorize(g, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String("sg-xxxxxxxx, sg-xxxxxxxxx")}}})
	wantErr(t, err, "InvalidGroupId.Malformed", s400)
	_, err = e.authorize("sg-0123456789abcdef0")
	wantErr(t, err, "MissingParameter", s400)
	_, err = e.authorize("sg-0123456789abcdef0", tcp(1, 1, "10.0.0.0/8"))
	wantErr(t, err, "InvalidGroup.NotFound", s400)
}

// Protocol filters take a name or a number: EC2 documents the value of
// ip-permission.protocol and egress.ip-permission.protocol as "tcp | udp |
// icmp, a protocol number, or -1 for all protocols" (DescribeSecurityGroups
// filters, API reference), and a rule made with 6 is reported as tcp
// (reference §4, Protocol), so "6" and "tcp" find the same rules.
func TestProtocolFilterByNumber(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	web := e.createGroup("web", "")
	esp := e.createGroup("esp", "")
	_, err := e.authorize(web, types.IpPermission{IpProtocol: aws.String("6"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}})
	mustOK(t, err)
	_, err = e.authorize(esp, types.IpPermission{IpProtocol: aws.String("50"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}})
	mustOK(t, err)
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx(t), &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(esp),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
			IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.2/32")}}}}})
	mustOK(t, err)
	names := func(filter string, values ...string) []string {
		out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{
			Filters: []types.Filter{{Name: aws.String(filter), Values: values}}})
		mustOK(t, err)
		var got []string
		for _, g := range out.SecurityGroups {
			if n := aws.ToString(g.GroupName); n != "default" {
				got = append(got, n)
			}
		}
		return got
	}
	for _, tc := range []struct {
		filter string
		values []string
		want   []string
	}{
		{"ip-permission.protocol", []string{"6"}, []string{"web"}},
		{"ip-permission.protocol", []string{"tcp"}, []string{"web"}},
		{"ip-permission.protocol", []string{"006"}, []string{"web"}},
		{"ip-permission.protocol", []string{"50"}, []string{"esp"}},
		{"ip-permission.protocol", []string{"17", "50"}, []string{"esp"}},
		{"ip-permission.protocol", []string{"TCP"}, nil}, // filter values are case-sensitive
		{"ip-permission.protocol", []string{"t*"}, []string{"web"}},
		{"egress.ip-permission.protocol", []string{"17"}, []string{"esp"}},
		{"egress.ip-permission.protocol", []string{"6"}, nil},
	} {
		if got := names(tc.filter, tc.values...); !sameSet(got, tc.want) {
			t.Errorf("%s=%v: got %v, want %v", tc.filter, tc.values, got, tc.want)
		}
	}
}
