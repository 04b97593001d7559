package ec2sim

import (
	"cmp"
	"slices"
)

// CreateSecurityGroup, DeleteSecurityGroup and DescribeSecurityGroups.

func handleCreateSecurityGroup(c *call) (response, *apiError) {
	rawName, hasName := c.n.str("GroupName")
	desc, hasDesc := c.n.str("GroupDescription")
	vpcID, hasVPC := c.n.str("VpcId")
	t, err := decodeTagSpecs(c.n, "security-group", c.s.limits.tagsPerResource)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasName {
		return nil, errMissing("GroupName")
	}
	if !hasDesc || desc == "" {
		return nil, errMissing("GroupDescription")
	}
	name, err := canonicalGroupName(rawName)
	if err != nil {
		return nil, err
	}
	if err := checkGroupDescription(desc); err != nil {
		return nil, err
	}

	defer c.lockWorld()()
	var v *vpc
	if hasVPC {
		v, err = c.vpcByID(vpcID)
	} else {
		v, err = c.defaultVPC()
	}
	if err != nil {
		return nil, err
	}
	// Uniqueness is checked against every group, visible or not: EC2's
	// writes are consistent even when its reads lag.
	if c.w.groupByName(v.ID, name) != nil {
		return nil, clientErr(codeInvalidGroupDuplicate, "The security group '%s' already exists for VPC '%s'", name, v.ID)
	}
	if c.w.groupCount(v.ID) >= c.s.limits.groupsPerVPC {
		return nil, clientErr(codeSecurityGroupLimit, "The maximum number of security groups for VPC '%s' has been reached.", v.ID)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	g := c.w.addGroup(name, desc, v, t, c.now)
	c.groupID = g.ID
	return &createSecurityGroupResponse{
		Return:           true,
		GroupID:          g.ID,
		SecurityGroupArn: c.w.groupArn(g.ID),
		TagSet:           xmlTags(g.Tags),
	}, nil
}

func handleDeleteSecurityGroup(c *call) (response, *apiError) {
	id, hasID := c.n.str("GroupId")
	name, hasName := c.n.str("GroupName")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	defer c.lockWorld()()
	g, err := c.targetGroup(id, hasID, name, hasName)
	if err != nil {
		return nil, err
	}
	c.groupID = g.ID
	if g.IsDefault {
		return nil, clientErr(codeCannotDelete, "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.ID)
	}
	// A rule of another group that references this one is a dependent
	// object; the group's references to itself are not.
	// A reference from a peered VPC does not hold the group: that rule
	// goes stale instead (VPC peering guide, stale security group rules).
	for _, r := range c.w.Rules {
		if r.Spec.Kind == kindGroup && r.Spec.Target == g.ID && r.GroupID != g.ID && r.Spec.PeerVPC == "" {
			return nil, clientErr(codeDependencyViolation, "resource %s has a dependent object", g.ID)
		}
	}
	if c.w.groupAssociated(g.ID) {
		// Reference §2: a group with a VPC association cannot be deleted.
		return nil, clientErr(codeDependencyViolation, "resource %s has a dependent object", g.ID)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	c.w.removeGroup(g)
	return &deleteSecurityGroupResponse{Return: true, GroupID: g.ID}, nil
}

func handleDescribeSecurityGroups(c *call) (response, *apiError) {
	ids := c.n.strList("GroupId")
	names := c.n.strList("GroupName")
	in, err := decodeDescribe(c, groupFilters, ids, checkGroupID)
	if err != nil {
		return nil, err
	}
	filters, pg := in.filters, in.page

	defer c.lockWorld()()
	var candidates []*group
	if len(ids) > 0 || len(names) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			g, err := c.groupByID(id)
			if err != nil {
				return nil, err
			}
			if !seen[g.ID] {
				seen[g.ID] = true
				candidates = append(candidates, g)
			}
		}
		for _, name := range names {
			g, err := c.groupByDefaultName(name)
			if err != nil {
				return nil, err
			}
			if !seen[g.ID] {
				seen[g.ID] = true
				candidates = append(candidates, g)
			}
		}
	} else {
		for _, g := range c.w.Groups {
			if c.visible(g.Created) {
				candidates = append(candidates, g)
			}
		}
	}
	var matched []*group
	for _, g := range candidates {
		if c.groupMatches(g, filters) {
			matched = append(matched, g)
		}
	}
	slices.SortFunc(matched, func(a, b *group) int { return cmp.Compare(a.ID, b.ID) })
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, func(g *group) string { return g.ID }, "sg", pg)
	if err != nil {
		return nil, err
	}
	out := &describeSecurityGroupsResponse{SecurityGroupInfo: []xmlSecurityGroup{}, NextToken: next}
	for _, g := range page {
		out.SecurityGroupInfo = append(out.SecurityGroupInfo, c.xmlGroup(g))
	}
	return out, nil
}

func (c *call) xmlGroup(g *group) xmlSecurityGroup {
	return xmlSecurityGroup{
		OwnerID:             c.w.Account,
		GroupID:             g.ID,
		GroupName:           g.Name,
		GroupDescription:    g.Description,
		VpcID:               g.VPCID,
		SecurityGroupArn:    c.w.groupArn(g.ID),
		IPPermissions:       c.xmlPermissions(c.visibleRules(g, false)),
		IPPermissionsEgress: c.xmlPermissions(c.visibleRules(g, true)),
		TagSet:              xmlTags(g.Tags),
	}
}

func (c *call) visibleRules(g *group, egress bool) []*rule {
	var out []*rule
	for _, r := range c.w.rulesOf(g, egress) {
		if c.visible(r.Created) {
			out = append(out, r)
		}
	}
	return out
}

// xmlPermissions groups rules the way DescribeSecurityGroups shows them: one
// IpPermission per (protocol, port range), in order of first appearance,
// listing its sources and without rule ids.
func (c *call) xmlPermissions(rules []*rule) []xmlPermission {
	specs := make([]ruleSpec, len(rules))
	for i, r := range rules {
		specs[i] = r.Spec
	}
	return c.permissionsOf(specs)
}

func (c *call) permissionsOf(specs []ruleSpec) []xmlPermission {
	out := []xmlPermission{}
	index := map[string]int{}
	for _, s := range specs {
		k := s.Protocol + "|" + itoa32(s.FromPort) + "|" + itoa32(s.ToPort)
		i, ok := index[k]
		if !ok {
			p := xmlPermission{IPProtocol: s.Protocol}
			if protocolHasPorts(s.Protocol) {
				from, to := s.FromPort, s.ToPort
				p.FromPort, p.ToPort = &from, &to
			}
			out = append(out, p)
			i = len(out) - 1
			index[k] = i
		}
		p := &out[i]
		switch s.Kind {
		case kindCIDRv4:
			p.IPRanges = append(p.IPRanges, xmlIPRange{CidrIP: s.Target, Description: s.Description})
		case kindCIDRv6:
			p.IPv6Ranges = append(p.IPv6Ranges, xmlIPv6Range{CidrIPv6: s.Target, Description: s.Description})
		case kindPrefixList:
			p.PrefixListIDs = append(p.PrefixListIDs, xmlPrefixList{PrefixListID: s.Target, Description: s.Description})
		case kindGroup:
			p.Groups = append(p.Groups, c.xmlPair(s))
		}
	}
	return out
}

// xmlPair is a referenced group as DescribeSecurityGroups shows it; one in
// a peered VPC also names that VPC, the peering and its state.
func (c *call) xmlPair(s ruleSpec) xmlPair {
	x := xmlPair{UserID: c.pairOwner(s), GroupID: s.Target, Description: s.Description}
	if s.PeerVPC != "" {
		x.VpcID, x.VpcPeeringConnectionID = s.PeerVPC, s.PeeringID
		if p := c.w.Peerings[s.PeeringID]; p != nil {
			x.PeeringStatus = p.State
		}
	}
	return x
}
