package workers

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// liveRule is a rule EC2 holds, in canonical form, with its id.
type liveRule struct {
	id   string
	rule rules.Rule
}

// fromEC2 reads a rule as DescribeSecurityGroupRules reports it, with its
// id, in the canonical model.
func fromEC2(r types.SecurityGroupRule) liveRule {
	return liveRule{id: aws.ToString(r.SecurityGroupRuleId), rule: ruleconv.Canonical(r)}
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
