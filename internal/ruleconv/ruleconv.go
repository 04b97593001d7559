// Package ruleconv converts between the API's protobuf shapes and the pure
// rule model, so neither side has to know the other.
package ruleconv

import (
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
