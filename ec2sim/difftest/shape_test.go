package difftest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The functions below turn EC2 results into short, id-free, order-free
// strings so that two endpoints can be compared and a test failure reads
// like the result itself.

// ports renders a port range. For all-protocols and numbered protocols EC2
// ignores ports; whether an endpoint reports them absent or as -1 carries
// no meaning, so both read "*".
func ports(proto string, from, to *int32) string {
	if proto == "-1" && (from == nil || *from == -1) && (to == nil || *to == -1) {
		return "*"
	}
	f, t := "nil", "nil"
	if from != nil {
		f = fmt.Sprint(*from)
	}
	if to != nil {
		t = fmt.Sprint(*to)
	}
	return f + ".." + t
}

func desc(d *string) string {
	if d == nil || *d == "" {
		return ""
	}
	return fmt.Sprintf("(%s)", *d)
}

// permRules flattens IpPermissions into one string per rule, the unit EC2
// counts, stores and deduplicates.
func permRules(b *backend, perms []types.IpPermission) []string {
	var out []string
	for _, p := range perms {
		proto := aws.ToString(p.IpProtocol)
		head := proto + ":" + ports(proto, p.FromPort, p.ToPort) + ":"
		for _, r := range p.IpRanges {
			out = append(out, head+aws.ToString(r.CidrIp)+desc(r.Description))
		}
		for _, r := range p.Ipv6Ranges {
			out = append(out, head+aws.ToString(r.CidrIpv6)+desc(r.Description))
		}
		for _, r := range p.PrefixListIds {
			out = append(out, head+b.sym(aws.ToString(r.PrefixListId))+desc(r.Description))
		}
		for _, r := range p.UserIdGroupPairs {
			out = append(out, head+"sg="+b.sym(aws.ToString(r.GroupId))+desc(r.Description))
		}
	}
	sort.Strings(out)
	return out
}

func tagList(tags []types.Tag) string {
	var kv []string
	for _, t := range tags {
		kv = append(kv, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func groupShape(b *backend, g types.SecurityGroup) string {
	return fmt.Sprintf("%s[%s vpc=%s owner=%s desc=%q in=[%s] out=[%s] tags=%s]",
		b.sym(aws.ToString(g.GroupId)), aws.ToString(g.GroupName), b.sym(aws.ToString(g.VpcId)),
		aws.ToString(g.OwnerId), aws.ToString(g.Description),
		strings.Join(permRules(b, g.IpPermissions), " "),
		strings.Join(permRules(b, g.IpPermissionsEgress), " "),
		tagList(g.Tags))
}

func groupsShape(b *backend, gs []types.SecurityGroup) string {
	var out []string
	for _, g := range gs {
		out = append(out, groupShape(b, g))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// ruleShape renders a SecurityGroupRule (from Authorize or
// DescribeSecurityGroupRules) without its sgr- id, which differs per
// endpoint; whether the id is present and well formed is part of the shape.
func ruleShape(b *backend, r types.SecurityGroupRule) string {
	dir := "in"
	if aws.ToBool(r.IsEgress) {
		dir = "out"
	}
	proto := aws.ToString(r.IpProtocol)
	var src string
	switch {
	case r.CidrIpv4 != nil:
		src = *r.CidrIpv4
	case r.CidrIpv6 != nil:
		src = *r.CidrIpv6
	case r.PrefixListId != nil:
		src = b.sym(*r.PrefixListId)
	case r.ReferencedGroupInfo != nil:
		src = "sg=" + b.sym(aws.ToString(r.ReferencedGroupInfo.GroupId))
	default:
		src = "?"
	}
	id := "sgr-ok"
	if !validID(aws.ToString(r.SecurityGroupRuleId), "sgr-") {
		id = "badid=" + aws.ToString(r.SecurityGroupRuleId)
	}
	return fmt.Sprintf("%s:%s:%s:%s:%s%s %s tags=%s", b.sym(aws.ToString(r.GroupId)), dir, proto,
		ports(proto, r.FromPort, r.ToPort), src, desc(r.Description), id, tagList(r.Tags))
}

func rulesShape(b *backend, rs []types.SecurityGroupRule) string {
	var out []string
	for _, r := range rs {
		out = append(out, ruleShape(b, r))
	}
	sort.Strings(out)
	return "[" + strings.Join(out, "; ") + "]"
}

func revokedShape(b *backend, rs []types.RevokedSecurityGroupRule) string {
	var out []string
	for _, r := range rs {
		dir := "in"
		if aws.ToBool(r.IsEgress) {
			dir = "out"
		}
		proto := aws.ToString(r.IpProtocol)
		var src string
		switch {
		case r.CidrIpv4 != nil:
			src = *r.CidrIpv4
		case r.CidrIpv6 != nil:
			src = *r.CidrIpv6
		case r.PrefixListId != nil:
			src = b.sym(*r.PrefixListId)
		case r.ReferencedGroupId != nil:
			src = "sg=" + b.sym(*r.ReferencedGroupId)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s:%s:%s", b.sym(aws.ToString(r.GroupId)), dir, proto,
			ports(proto, r.FromPort, r.ToPort), src))
	}
	sort.Strings(out)
	return "[" + strings.Join(out, "; ") + "]"
}

// validID reports whether id is prefix followed by 8 or 17 lower-case hex
// digits, EC2's two id formats.
func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || (len(rest) != 17 && len(rest) != 8) {
		return false
	}
	for _, c := range rest {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
