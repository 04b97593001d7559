package ec2sim

import (
	"fmt"
	"strings"
)

// From IpPermissions as sent to canonical rules: validation that needs no
// state (checkPerms), then resolution of referenced groups against the world
// (resolvePairs).

// pendingRule is a validated rule whose referenced group, if it has one, is
// still to be resolved: pair is set for kindGroup.
type pendingRule struct {
	spec ruleSpec
	pair *pairReq
}

// checkPerms validates each permission and expands it into one rule per
// source, as EC2 does (each CIDR, prefix list or group becomes its own rule
// with its own sgr- id).
func checkPerms(perms []permReq) ([]pendingRule, *apiError) {
	var out []pendingRule
	for _, p := range perms {
		if !p.HasProtocol {
			return nil, errNullProtocol()
		}
		proto, err := canonicalProtocol(p.Protocol)
		if err != nil {
			return nil, err
		}
		from, to, err := canonicalPorts(proto, p.From, p.To)
		if err != nil {
			return nil, err
		}
		if p.sourceCount() == 0 {
			// EC2 refuses a permission with nothing to allow with
			// MissingParameter "Missing source specification: include
			// source security group or CIDR information" (boto/boto3#1078).
			return nil, clientErr(codeMissingParameter, "Missing source specification: include source security group or CIDR information")
		}
		base := ruleSpec{Protocol: proto, FromPort: from, ToPort: to}
		for _, r := range p.IPv4 {
			if r.Value == "" {
				return nil, errMissing("CidrIp")
			}
			cidr, err := canonicalCIDR(r.Value, false)
			if err != nil {
				return nil, err
			}
			if err := checkRuleDescription(r.Description, true); err != nil {
				return nil, err
			}
			s := base
			s.Kind, s.Target, s.Description = kindCIDRv4, cidr, r.Description
			out = append(out, pendingRule{spec: s})
		}
		for _, r := range p.IPv6 {
			if r.Value == "" {
				return nil, errMissing("CidrIpv6")
			}
			cidr, err := canonicalCIDR(r.Value, true)
			if err != nil {
				return nil, err
			}
			if err := checkRuleDescription(r.Description, true); err != nil {
				return nil, err
			}
			s := base
			s.Kind, s.Target, s.Description = kindCIDRv6, cidr, r.Description
			out = append(out, pendingRule{spec: s})
		}
		for _, r := range p.PrefixLists {
			if r.Value == "" {
				return nil, errMissing("PrefixListId")
			}
			// Existence is checked against the world with the group
			// (resolvePrefixLists); here only the form.
			if err := checkPrefixListID(r.Value); err != nil {
				return nil, err
			}
			if err := checkRuleDescription(r.Description, false); err != nil {
				return nil, err
			}
			s := base
			s.Kind, s.Target, s.Description = kindPrefixList, r.Value, r.Description
			out = append(out, pendingRule{spec: s})
		}
		for i := range p.Groups {
			pair := p.Groups[i]
			if pair.GroupID == "" && pair.GroupName == "" {
				return nil, errMissing("GroupId")
			}
			if pair.GroupID != "" {
				// A referenced group id that is not an sg- id at all is
				// InvalidGroupId.Malformed, before any lookup and so before
				// InvalidGroup.NotFound: EC2 answered a pair whose GroupId
				// was "sg-xxxxxxxx, sg-xxxxxxxxx" with InvalidGroupId.Malformed
				// (hashicorp/terraform#16673; reference §3).
				if err := checkGroupID(pair.GroupID); err != nil {
					return nil, err
				}
			}
			if pair.PeeringID != "" {
				if err := checkPeeringID(pair.PeeringID); err != nil {
					return nil, err
				}
			}
			if err := checkRuleDescription(pair.Description, false); err != nil {
				return nil, err
			}
			s := base
			s.Kind, s.Target, s.Description = kindGroup, pair.GroupID, pair.Description
			out = append(out, pendingRule{spec: s, pair: &pair})
		}
	}
	return out, nil
}

// resolvePairs fills in the referenced group of each group rule. With
// mustExist (authorize, modify) the group must be visible and in the same VPC
// as g; revoke and description updates only need the id, because a rule that
// names a missing group simply matches nothing.
func (c *call) resolvePairs(g *group, rules []pendingRule, mustExist bool) *apiError {
	for i := range rules {
		p := rules[i].pair
		if p == nil {
			continue
		}
		if p.UserID != "" && p.UserID != c.w.Account {
			if err := c.resolveForeignPair(g, &rules[i], mustExist); err != nil {
				return err
			}
			continue
		}

		if p.GroupID == "" {
			if !c.isDefaultVPC(g.VPCID) {
				return clientErr(codeInvalidParameterValue, "Group names identify referenced groups only in a default VPC; use GroupId for group '%s'", p.GroupName)
			}
			ref, err := c.groupByDefaultName(p.GroupName)
			if err != nil {
				return err
			}
			rules[i].spec.Target = ref.ID
			continue
		}
		if !mustExist {
			continue
		}
		ref, err := c.groupByID(p.GroupID)
		if err != nil {
			return err
		}
		if p.VPCID != "" && p.VPCID != ref.VPCID {
			return clientErr(codeInvalidGroupNotFound, "You have specified two resources that belong to different networks.")
		}
		if ref.VPCID == g.VPCID {
			if p.PeeringID != "" {
				if _, err := c.peeringByID(p.PeeringID); err != nil {
					return err
				}
			}
			continue
		}
		// A group of another VPC may be referenced across an active
		// peering of the two VPCs (VPC peering guide, "Update your
		// security groups to reference peer security groups").
		pcx := c.w.activePeering(g.VPCID, ref.VPCID)
		if p.PeeringID != "" {
			named, err := c.peeringByID(p.PeeringID)
			if err != nil {
				return err
			}
			if named != pcx {
				return clientErr(codeInvalidGroupNotFound, "You have specified two resources that belong to different networks.")
			}
		}
		if pcx == nil {
			return clientErr(codeInvalidGroupNotFound, "You have specified two resources that belong to different networks.")
		}
		rules[i].spec.PeerVPC, rules[i].spec.PeeringID = ref.VPCID, pcx.ID
	}
	return nil
}

// mergeLegacy folds the single-rule parameters into the permission list.
// They exist for ingress only; egress refuses them.
func mergeLegacy(perms []permReq, l legacyPerm, egress bool) ([]permReq, *apiError) {
	if !l.present {
		return perms, nil
	}
	if egress {
		return nil, clientErr(codeInvalidParamCombination, "The parameters IpProtocol, FromPort, ToPort, CidrIp, SourceSecurityGroupName and SourceSecurityGroupOwnerId are not supported for egress rules; use IpPermissions")
	}
	if len(perms) > 0 {
		return nil, clientErr(codeInvalidParamCombination, "IpPermissions cannot be combined with IpProtocol, FromPort, ToPort, CidrIp or SourceSecurityGroupName")
	}
	return l.perms()
}

// familyCounts counts rules against the IPv4 and IPv6 quotas: group
// references count once against both, a prefix list as its weight (see
// prefixList.quotaWeight) against both.
func familyCounts(specs []ruleSpec, plWeight func(id string) int) (v4, v6 int) {
	for _, s := range specs {
		switch s.Kind {
		case kindCIDRv4:
			v4++
		case kindCIDRv6:
			v6++
		case kindPrefixList:
			w := plWeight(s.Target)
			v4 += w
			v6 += w
		default:
			v4++
			v6++
		}
	}
	return v4, v6
}

// resolvePrefixLists checks that every prefix list the rules name exists:
// InvalidPrefixListID.NotFound otherwise (EC2 API reference, error codes;
// as users report it from CloudFormation and Terraform).
func (c *call) resolvePrefixLists(rules []pendingRule) *apiError {
	for _, r := range rules {
		if r.spec.Kind != kindPrefixList {
			continue
		}
		if _, err := c.prefixListByID(r.spec.Target); err != nil {
			return err
		}
	}
	return nil
}

// describeRule renders a rule the way EC2's duplicate message names it.
func describeRule(s ruleSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "peer: %s, ", s.Target)
	if s.Protocol == "-1" {
		b.WriteString("ALL")
	} else {
		b.WriteString(strings.ToUpper(s.Protocol))
	}
	if protocolHasPorts(s.Protocol) {
		fmt.Fprintf(&b, ", from port: %d, to port: %d", s.FromPort, s.ToPort)
	}
	b.WriteString(", ALLOW")
	return b.String()
}

func specsOf(rules []*rule) []ruleSpec {
	out := make([]ruleSpec, len(rules))
	for i, r := range rules {
		out[i] = r.Spec
	}
	return out
}
