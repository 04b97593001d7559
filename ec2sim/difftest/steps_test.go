package difftest

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// step is one EC2 call of the scenario.
//
// want is EC2's documented answer ("OK" or an error code). ec2sim must
// always give it. moto must give it too, and moto and ec2sim must then
// report the same result shape, unless moto is set: it names how moto 5.2.1
// departs from EC2 at this step (reference §11), and the step then checks
// ec2sim alone, against want and, when given, wantShape.
type step struct {
	name      string
	do        func(ctx context.Context, b *backend) (string, error)
	want      string
	wantShape string
	moto      string
}

// noPort leaves FromPort/ToPort out of the request.
const noPort = math.MinInt32

// perm describes an IpPermission by symbols; it is resolved per endpoint.
// A source is an IPv6 CIDR when it contains ':', a prefix list when it
// starts with "pl-", a security group symbol when it starts with '@', and
// an IPv4 CIDR otherwise; "v4=" forces the IPv4 field whatever follows. A source may carry a description after '|'.
type perm struct {
	proto    string
	from, to int32
	srcs     []string
}

func P(proto string, from, to int32, srcs ...string) perm {
	return perm{proto: proto, from: from, to: to, srcs: srcs}
}

func (p perm) build(b *backend) types.IpPermission {
	ip := types.IpPermission{IpProtocol: aws.String(p.proto)}
	if p.from != noPort {
		ip.FromPort = aws.Int32(p.from)
	}
	if p.to != noPort {
		ip.ToPort = aws.Int32(p.to)
	}
	for _, s := range p.srcs {
		s, d, _ := strings.Cut(s, "|")
		var dp *string
		if d != "" {
			dp = aws.String(d)
		}
		switch {
		case strings.HasPrefix(s, "v4="):
			ip.IpRanges = append(ip.IpRanges, types.IpRange{CidrIp: aws.String(s[3:]), Description: dp})
		case strings.HasPrefix(s, "@"):
			ip.UserIdGroupPairs = append(ip.UserIdGroupPairs, types.UserIdGroupPair{GroupId: b.ptr(s[1:]), Description: dp})
		case strings.HasPrefix(s, "pl-"):
			// A prefix list symbol of the scenario, or a literal id.
			id := s
			if real, ok := b.ids[s]; ok {
				id = real
			}
			ip.PrefixListIds = append(ip.PrefixListIds, types.PrefixListId{PrefixListId: aws.String(id), Description: dp})
		case strings.Contains(s, ":"):
			ip.Ipv6Ranges = append(ip.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(s), Description: dp})
		default:
			ip.IpRanges = append(ip.IpRanges, types.IpRange{CidrIp: aws.String(s), Description: dp})
		}
	}
	return ip
}

func buildAll(b *backend, ps []perm) []types.IpPermission {
	var out []types.IpPermission
	for _, p := range ps {
		out = append(out, p.build(b))
	}
	return out
}

// --- step constructors -------------------------------------------------

// groupRef addresses a group by symbol ("web") or, with a leading '=', by
// name ("=web"), or with a leading '!', by a literal id ("!sg-x").
func groupRef(b *backend, ref string) (id, name *string) {
	switch {
	case strings.HasPrefix(ref, "="):
		return nil, aws.String(ref[1:])
	case strings.HasPrefix(ref, "!"):
		return aws.String(ref[1:]), nil
	default:
		return b.ptr(ref), nil
	}
}

type createOpts struct {
	vpc    string // symbol; empty for the default VPC
	tags   map[string]string
	dryRun bool
}

func createSG(sym, name, description string, o createOpts) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		in := &ec2.CreateSecurityGroupInput{
			GroupName:   aws.String(name),
			Description: aws.String(description),
		}
		if o.dryRun {
			in.DryRun = aws.Bool(true)
		}
		if o.vpc != "" {
			in.VpcId = aws.String(b.id(o.vpc))
		}
		if len(o.tags) > 0 {
			ts := types.TagSpecification{ResourceType: types.ResourceTypeSecurityGroup}
			for k, v := range o.tags {
				ts.Tags = append(ts.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			in.TagSpecifications = []types.TagSpecification{ts}
		}
		out, err := b.client.CreateSecurityGroup(ctx, in)
		if err != nil {
			return "", err
		}
		id := aws.ToString(out.GroupId)
		if sym != "" {
			b.set(sym, id)
		}
		shape := "sg-ok"
		if !validID(id, "sg-") {
			shape = "badid=" + id
		}
		arn := fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, accountID, id)
		if aws.ToString(out.SecurityGroupArn) != arn {
			shape += " arn=" + aws.ToString(out.SecurityGroupArn)
		}
		return shape + " tags=" + tagList(out.Tags), nil
	}
}

type ruleOpts struct {
	egress bool
	dryRun bool
	tags   map[string]string // tags for the new rules (security-group-rule)
}

func ruleTags(m map[string]string) []types.TagSpecification {
	if len(m) == 0 {
		return nil
	}
	ts := types.TagSpecification{ResourceType: types.ResourceTypeSecurityGroupRule}
	for k, v := range m {
		ts.Tags = append(ts.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return []types.TagSpecification{ts}
}

func authorize(group string, o ruleOpts, ps ...perm) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		id, name := groupRef(b, group)
		var dry *bool
		if o.dryRun {
			dry = aws.Bool(true)
		}
		var (
			ret   *bool
			rules []types.SecurityGroupRule
		)
		if o.egress {
			out, err := b.client.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
				GroupId: id, IpPermissions: buildAll(b, ps), DryRun: dry, TagSpecifications: ruleTags(o.tags),
			})
			if err != nil {
				return "", err
			}
			ret, rules = out.Return, out.SecurityGroupRules
		} else {
			out, err := b.client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
				GroupId: id, GroupName: name, IpPermissions: buildAll(b, ps), DryRun: dry, TagSpecifications: ruleTags(o.tags),
			})
			if err != nil {
				return "", err
			}
			ret, rules = out.Return, out.SecurityGroupRules
		}
		return fmt.Sprintf("return=%v rules=%s", aws.ToBool(ret), rulesShape(b, rules)), nil
	}
}

// authorizeN authorizes n IPv4 /32 rules for tcp/443 from 10.9.x.y in one
// permission, starting at address index first.
func authorizeN(group string, first, n int) func(context.Context, *backend) (string, error) {
	var srcs []string
	for i := first; i < first+n; i++ {
		srcs = append(srcs, fmt.Sprintf("10.9.%d.%d/32", i/256, i%256))
	}
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: b.ptr(group), IpPermissions: buildAll(b, []perm{P("tcp", 443, 443, srcs...)}),
		})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("return=%v rules=%d", aws.ToBool(out.Return), len(out.SecurityGroupRules)), nil
	}
}

// revoke revokes by permissions. The revoked rule list is part of the
// shape only with showRevoked, because moto never returns it.
func revoke(group string, o ruleOpts, showRevoked bool, ps ...perm) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		id, name := groupRef(b, group)
		var (
			ret     *bool
			unknown []types.IpPermission
			revoked []types.RevokedSecurityGroupRule
		)
		if o.egress {
			out, err := b.client.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{
				GroupId: id, IpPermissions: buildAll(b, ps),
			})
			if err != nil {
				return "", err
			}
			ret, unknown, revoked = out.Return, out.UnknownIpPermissions, out.RevokedSecurityGroupRules
		} else {
			out, err := b.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
				GroupId: id, GroupName: name, IpPermissions: buildAll(b, ps),
			})
			if err != nil {
				return "", err
			}
			ret, unknown, revoked = out.Return, out.UnknownIpPermissions, out.RevokedSecurityGroupRules
		}
		s := fmt.Sprintf("return=%v unknown=[%s]", aws.ToBool(ret), strings.Join(permRules(b, unknown), " "))
		if showRevoked {
			s += " revoked=" + revokedShape(b, revoked)
		}
		return s, nil
	}
}

// revokeByRuleIDs revokes ingress rules by their sgr- symbols.
func revokeByRuleIDs(group string, rules ...string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		var ids []string
		for _, r := range rules {
			ids = append(ids, b.id(r))
		}
		out, err := b.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
			GroupId: b.ptr(group), SecurityGroupRuleIds: ids,
		})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("return=%v", aws.ToBool(out.Return)), nil
	}
}

type describeOpts struct {
	ids     []string          // group refs (see groupRef)
	names   []string          // group names
	filters map[string]string // filter name -> one value; values starting with '@' are symbols
	record  string            // record the single result's id under this symbol
	dryRun  bool
}

func describe(o describeOpts) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		in := &ec2.DescribeSecurityGroupsInput{GroupNames: o.names}
		for _, r := range o.ids {
			id, _ := groupRef(b, r)
			in.GroupIds = append(in.GroupIds, aws.ToString(id))
		}
		in.Filters = filters(b, o.filters)
		if o.dryRun {
			in.DryRun = aws.Bool(true)
		}
		out, err := b.client.DescribeSecurityGroups(ctx, in)
		if err != nil {
			return "", err
		}
		if o.record != "" {
			if len(out.SecurityGroups) != 1 {
				return "", fmt.Errorf("want exactly one group to record as %s, got %d", o.record, len(out.SecurityGroups))
			}
			b.set(o.record, aws.ToString(out.SecurityGroups[0].GroupId))
		}
		return groupsShape(b, out.SecurityGroups), nil
	}
}

func filters(b *backend, m map[string]string) []types.Filter {
	var fs []types.Filter
	for k, v := range m {
		if strings.HasPrefix(v, "@") {
			v = b.id(v[1:])
		}
		fs = append(fs, types.Filter{Name: aws.String(k), Values: []string{v}})
	}
	return fs
}

// describeRules lists a group's rules. record maps a rule (as rendered
// by ruleShape, without the id part) to a symbol for later steps.
func describeRules(group string, record map[string]string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{b.id(group)}}},
		})
		if err != nil {
			return "", err
		}
		for _, r := range out.SecurityGroupRules {
			key, _, _ := strings.Cut(ruleShape(b, r), " ")
			if sym, ok := record[key]; ok {
				b.set(sym, aws.ToString(r.SecurityGroupRuleId))
			}
		}
		return rulesShape(b, out.SecurityGroupRules), nil
	}
}

func createTags(resource string, kv ...string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		var tags []types.Tag
		for i := 0; i+1 < len(kv); i += 2 {
			tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		_, err := b.client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{b.id(resource)}, Tags: tags})
		return "", err
	}
}

func deleteSG(group string, dryRun bool) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		id, name := groupRef(b, group)
		in := &ec2.DeleteSecurityGroupInput{GroupId: id, GroupName: name}
		if dryRun {
			in.DryRun = aws.Bool(true)
		}
		_, err := b.client.DeleteSecurityGroup(ctx, in)
		return "", err
	}
}

func createVpc(sym, cidr string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
		if err != nil {
			return "", err
		}
		id := aws.ToString(out.Vpc.VpcId)
		b.set(sym, id)
		shape := "vpc-ok"
		if !validID(id, "vpc-") {
			shape = "badid=" + id
		}
		return fmt.Sprintf("%s cidr=%s default=%v", shape, aws.ToString(out.Vpc.CidrBlock), aws.ToBool(out.Vpc.IsDefault)), nil
	}
}

func defaultVpc(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
			Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}},
		})
		if err != nil {
			return "", err
		}
		if len(out.Vpcs) != 1 {
			return fmt.Sprintf("vpcs=%d", len(out.Vpcs)), nil
		}
		b.set(sym, aws.ToString(out.Vpcs[0].VpcId))
		return fmt.Sprintf("vpcs=1 default=%v", aws.ToBool(out.Vpcs[0].IsDefault)), nil
	}
}
