package workers

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/internal/rules"
)

// liveRule is a rule EC2 holds, in canonical form, with its id.
type liveRule struct {
	id   string
	rule rules.Rule
}

// fromEC2 reads a rule as DescribeSecurityGroupRules reports it into the
// canonical model, so that comparing it with a requested rule compares like
// with like.
func fromEC2(r types.SecurityGroupRule) liveRule {
	dir := rules.Ingress
	if aws.ToBool(r.IsEgress) {
		dir = rules.Egress
	}
	p := rules.Permission{Protocol: aws.ToString(r.IpProtocol), FromPort: r.FromPort, ToPort: r.ToPort}
	switch {
	case r.CidrIpv4 != nil:
		p.IPv4Ranges = []rules.CIDR{{Value: *r.CidrIpv4}}
	case r.CidrIpv6 != nil:
		p.IPv6Ranges = []rules.CIDR{{Value: *r.CidrIpv6}}
	case r.PrefixListId != nil:
		p.PrefixLists = []rules.PrefixList{{ID: *r.PrefixListId}}
	case r.ReferencedGroupInfo != nil:
		p.Groups = []rules.GroupRef{{GroupID: aws.ToString(r.ReferencedGroupInfo.GroupId), UserID: aws.ToString(r.ReferencedGroupInfo.UserId)}}
	}
	// The description is left out of the expansion on purpose: EC2 may
	// hold one our stricter validation refuses, and it is not part of a
	// rule's identity anyway.
	out := liveRule{id: aws.ToString(r.SecurityGroupRuleId)}
	if rs, v := rules.Expand("rule", dir, []rules.Permission{p}); len(v) == 0 && len(rs) == 1 {
		out.rule = rs[0]
	} else {
		// Not expressible in the model (should not happen); keep it
		// distinct so it never matches a requested rule.
		out.rule = rules.Rule{Direction: dir, Protocol: p.Protocol, Source: "unknown:" + out.id}
	}
	out.rule.Description = aws.ToString(r.Description)
	return out
}

// toEC2 renders canonical rules as EC2 IpPermissions, one per rule.
func toEC2(rs []rules.Rule) []types.IpPermission {
	out := make([]types.IpPermission, 0, len(rs))
	for _, r := range rs {
		p := types.IpPermission{IpProtocol: aws.String(r.Protocol)}
		// EC2 wants no range where the rule has none, but icmp always
		// carries its type and code, -1 included.
		if r.FromPort != -1 || r.ToPort != -1 || r.Protocol == "icmp" || r.Protocol == "icmpv6" {
			p.FromPort, p.ToPort = aws.Int32(r.FromPort), aws.Int32(r.ToPort)
		}
		desc := aws.String(r.Description)
		if r.Description == "" {
			desc = nil
		}
		switch r.Kind {
		case rules.SourceIPv4:
			p.IpRanges = []types.IpRange{{CidrIp: aws.String(r.Source), Description: desc}}
		case rules.SourceIPv6:
			p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String(r.Source), Description: desc}}
		case rules.SourcePrefixList:
			p.PrefixListIds = []types.PrefixListId{{PrefixListId: aws.String(r.Source), Description: desc}}
		case rules.SourceGroup:
			g := types.UserIdGroupPair{GroupId: aws.String(r.Source), Description: desc}
			if r.UserID != "" {
				g.UserId = aws.String(r.UserID)
			}
			if r.VpcID != "" {
				g.VpcId = aws.String(r.VpcID)
			}
			if r.PeeringID != "" {
				g.VpcPeeringConnectionId = aws.String(r.PeeringID)
			}
			p.UserIdGroupPairs = []types.UserIdGroupPair{g}
		}
		out = append(out, p)
	}
	return out
}
