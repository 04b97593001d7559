// Package ruleconv converts between the API's protobuf shapes, the pure
// rule model and EC2's SDK types, so none of them has to know the others.
package ruleconv

import (
	"net/netip"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

// Permissions converts API permissions to the rule model's input shape.
func Permissions(in []*palisadev1.IpPermission) []rules.Permission {
	out := make([]rules.Permission, 0, len(in))
	for _, p := range in {
		rp := rules.Permission{Protocol: p.GetIpProtocol()}
		if p.FromPort != nil {
			rp.FromPort = rules.Port(p.GetFromPort())
		}
		if p.ToPort != nil {
			rp.ToPort = rules.Port(p.GetToPort())
		}
		for _, r := range p.GetIpRanges() {
			rp.IPv4Ranges = append(rp.IPv4Ranges, rules.CIDR{Value: r.GetCidrIp(), Description: r.GetDescription()})
		}
		for _, r := range p.GetIpv6Ranges() {
			rp.IPv6Ranges = append(rp.IPv6Ranges, rules.CIDR{Value: r.GetCidrIpv6(), Description: r.GetDescription()})
		}
		for _, pl := range p.GetPrefixListIds() {
			rp.PrefixLists = append(rp.PrefixLists, rules.PrefixList{ID: pl.GetPrefixListId(), Description: pl.GetDescription()})
		}
		for _, g := range p.GetUserIdGroupPairs() {
			rp.Groups = append(rp.Groups, rules.GroupRef{
				GroupID: g.GetGroupId(), UserID: g.GetUserId(), VpcID: g.GetVpcId(),
				PeeringID: g.GetVpcPeeringConnectionId(), Description: g.GetDescription(),
			})
		}
		out = append(out, rp)
	}
	return out
}

// Rule renders one canonical rule, with EC2's id for it, in the API's shape.
func Rule(groupID, ruleID string, r rules.Rule) *palisadev1.SecurityGroupRule {
	out := &palisadev1.SecurityGroupRule{
		SecurityGroupRuleId: ruleID,
		GroupId:             groupID,
		IsEgress:            r.Direction == rules.Egress,
		IpProtocol:          r.Protocol,
		FromPort:            r.FromPort,
		ToPort:              r.ToPort,
		Description:         r.Description,
	}
	switch r.Kind {
	case rules.SourceIPv4:
		out.CidrIpv4 = r.Source
	case rules.SourceIPv6:
		out.CidrIpv6 = r.Source
	case rules.SourcePrefixList:
		out.PrefixListId = r.Source
	case rules.SourceGroup:
		out.ReferencedGroupId = r.Source
	}
	return out
}

// FromEC2 converts permissions as EC2 describes them to the API's shape.
func FromEC2(in []types.IpPermission) []*palisadev1.IpPermission {
	out := make([]*palisadev1.IpPermission, 0, len(in))
	for _, p := range in {
		q := &palisadev1.IpPermission{IpProtocol: aws.ToString(p.IpProtocol), FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IpRanges {
			q.IpRanges = append(q.IpRanges, &palisadev1.IpRange{CidrIp: aws.ToString(r.CidrIp), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.Ipv6Ranges {
			q.Ipv6Ranges = append(q.Ipv6Ranges, &palisadev1.Ipv6Range{CidrIpv6: aws.ToString(r.CidrIpv6), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.PrefixListIds {
			q.PrefixListIds = append(q.PrefixListIds, &palisadev1.PrefixListId{PrefixListId: aws.ToString(r.PrefixListId), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.UserIdGroupPairs {
			q.UserIdGroupPairs = append(q.UserIdGroupPairs, &palisadev1.UserIdGroupPair{
				GroupId: aws.ToString(r.GroupId), UserId: aws.ToString(r.UserId), VpcId: aws.ToString(r.VpcId),
				VpcPeeringConnectionId: aws.ToString(r.VpcPeeringConnectionId), Description: aws.ToString(r.Description),
			})
		}
		out = append(out, q)
	}
	return out
}

// SecurityGroupRule converts one rule as DescribeSecurityGroupRules
// reports it to the API's shape, as EC2 holds it (no canonicalisation:
// a read shows what is there).
func SecurityGroupRule(r types.SecurityGroupRule) *palisadev1.SecurityGroupRule {
	out := &palisadev1.SecurityGroupRule{
		SecurityGroupRuleId: aws.ToString(r.SecurityGroupRuleId),
		GroupId:             aws.ToString(r.GroupId),
		IsEgress:            aws.ToBool(r.IsEgress),
		IpProtocol:          aws.ToString(r.IpProtocol),
		FromPort:            aws.ToInt32(r.FromPort),
		ToPort:              aws.ToInt32(r.ToPort),
		CidrIpv4:            aws.ToString(r.CidrIpv4),
		CidrIpv6:            aws.ToString(r.CidrIpv6),
		PrefixListId:        aws.ToString(r.PrefixListId),
		Description:         aws.ToString(r.Description),
		Tags:                Tags(r.Tags),
	}
	if g := r.ReferencedGroupInfo; g != nil {
		out.ReferencedGroupId = aws.ToString(g.GroupId)
		out.ReferencedUserId = aws.ToString(g.UserId)
	}
	return out
}

// Tags converts EC2's tag list to a map; nil when there are none.
func Tags(in []types.Tag) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for _, t := range in {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// RuleRequest converts one rule's new content (ModifySecurityGroupRules)
// to the rule model's input shape: a permission with the peer it names.
func RuleRequest(r *palisadev1.SecurityGroupRuleRequest) rules.Permission {
	p := rules.Permission{Protocol: r.GetIpProtocol()}
	if r.FromPort != nil {
		p.FromPort = rules.Port(r.GetFromPort())
	}
	if r.ToPort != nil {
		p.ToPort = rules.Port(r.GetToPort())
	}
	d := r.GetDescription()
	switch {
	case r.GetCidrIpv4() != "":
		p.IPv4Ranges = []rules.CIDR{{Value: r.GetCidrIpv4(), Description: d}}
	case r.GetCidrIpv6() != "":
		p.IPv6Ranges = []rules.CIDR{{Value: r.GetCidrIpv6(), Description: d}}
	case r.GetPrefixListId() != "":
		p.PrefixLists = []rules.PrefixList{{ID: r.GetPrefixListId(), Description: d}}
	case r.GetReferencedGroupId() != "":
		p.Groups = []rules.GroupRef{{GroupID: r.GetReferencedGroupId(), Description: d}}
	}
	return p
}

// Canonical reads a rule as DescribeSecurityGroupRules reports it into the
// canonical model, so that comparing it with a requested rule, or asking a
// predicate of it, compares like with like.
func Canonical(r types.SecurityGroupRule) rules.Rule {
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
	var out rules.Rule
	if rs, v := rules.Expand("rule", dir, []rules.Permission{p}); len(v) == 0 && len(rs) == 1 {
		out = rs[0]
	} else {
		// Not expressible in the model (should not happen); keep it
		// distinct so it never matches a requested rule.
		out = rules.Rule{Direction: dir, Protocol: p.Protocol, Source: "unknown:" + aws.ToString(r.SecurityGroupRuleId)}
	}
	out.Description = aws.ToString(r.Description)
	return out
}

// Predicate converts a validated rule predicate to the model's, for
// groups owned by owner.
func Predicate(p *palisadev1.RulePredicate, owner string) rules.Predicate {
	out := rules.Predicate{Port: p.GetPort(), HasPort: p.Port != nil, OtherAccount: p.GetReferencesOtherAccount(), Owner: owner}
	switch p.GetDirection() {
	case palisadev1.RulePredicate_DIRECTION_INGRESS:
		out.Direction = rules.Ingress
	case palisadev1.RulePredicate_DIRECTION_EGRESS:
		out.Direction = rules.Egress
	}
	if p.GetProtocol() != "" {
		out.Protocol, _ = rules.CanonicalProtocol(p.GetProtocol())
	}
	if pfx, err := netip.ParsePrefix(p.GetCidrContains()); err == nil {
		out.Contains = pfx.Masked()
	}
	return out
}

// CanonicalRule reads a rule in the API's shape into the canonical model
// (without its description); false when the model cannot express it.
func CanonicalRule(r *palisadev1.SecurityGroupRule) (rules.Rule, bool) {
	dir := rules.Ingress
	if r.GetIsEgress() {
		dir = rules.Egress
	}
	p := rules.Permission{Protocol: r.GetIpProtocol()}
	// No range where EC2 keeps none, but icmp always carries its type and
	// code, -1 included.
	if r.GetFromPort() != -1 || r.GetToPort() != -1 || r.GetIpProtocol() == "icmp" || r.GetIpProtocol() == "icmpv6" {
		p.FromPort, p.ToPort = rules.Port(r.GetFromPort()), rules.Port(r.GetToPort())
	}
	switch {
	case r.GetCidrIpv4() != "":
		p.IPv4Ranges = []rules.CIDR{{Value: r.GetCidrIpv4()}}
	case r.GetCidrIpv6() != "":
		p.IPv6Ranges = []rules.CIDR{{Value: r.GetCidrIpv6()}}
	case r.GetPrefixListId() != "":
		p.PrefixLists = []rules.PrefixList{{ID: r.GetPrefixListId()}}
	case r.GetReferencedGroupId() != "":
		p.Groups = []rules.GroupRef{{GroupID: r.GetReferencedGroupId(), UserID: r.GetReferencedUserId()}}
	}
	rs, v := rules.Expand("rule", dir, []rules.Permission{p})
	if len(v) > 0 || len(rs) != 1 {
		return rules.Rule{}, false
	}
	return rs[0], true
}

// ToPermissions renders canonical rules in the API's shape, one
// permission per rule.
func ToPermissions(rs []rules.Rule) []*palisadev1.IpPermission {
	out := make([]*palisadev1.IpPermission, 0, len(rs))
	for _, r := range rs {
		p := r.Permission()
		q := &palisadev1.IpPermission{IpProtocol: p.Protocol, FromPort: p.FromPort, ToPort: p.ToPort}
		for _, c := range p.IPv4Ranges {
			q.IpRanges = append(q.IpRanges, &palisadev1.IpRange{CidrIp: c.Value, Description: c.Description})
		}
		for _, c := range p.IPv6Ranges {
			q.Ipv6Ranges = append(q.Ipv6Ranges, &palisadev1.Ipv6Range{CidrIpv6: c.Value, Description: c.Description})
		}
		for _, pl := range p.PrefixLists {
			q.PrefixListIds = append(q.PrefixListIds, &palisadev1.PrefixListId{PrefixListId: pl.ID, Description: pl.Description})
		}
		for _, g := range p.Groups {
			q.UserIdGroupPairs = append(q.UserIdGroupPairs, &palisadev1.UserIdGroupPair{
				GroupId: g.GroupID, UserId: g.UserID, VpcId: g.VpcID, VpcPeeringConnectionId: g.PeeringID, Description: g.Description,
			})
		}
		out = append(out, q)
	}
	return out
}
