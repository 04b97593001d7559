package ec2sim

// AuthorizeSecurityGroupIngress/Egress and RevokeSecurityGroupIngress/Egress.

func handleAuthorizeIngress(c *call) (response, *apiError) { return c.authorize(false) }
func handleAuthorizeEgress(c *call) (response, *apiError)  { return c.authorize(true) }
func handleRevokeIngress(c *call) (response, *apiError)    { return c.revoke(false) }
func handleRevokeEgress(c *call) (response, *apiError)     { return c.revoke(true) }

// decodeTarget reads GroupId and, for ingress only, GroupName: egress never
// accepted a name, so there it stays unread and becomes UnknownParameter.
func (c *call) decodeTarget(egress bool) (id string, hasID bool, name string, hasName bool) {
	id, hasID = c.n.str("GroupId")
	if !egress {
		name, hasName = c.n.str("GroupName")
	}
	return
}

// authorize adds rules all-or-nothing: any invalid, duplicate or over-quota
// rule fails the whole call and nothing is added.
func (c *call) authorize(egress bool) (response, *apiError) {
	id, hasID, name, hasName := c.decodeTarget(egress)
	perms, err := decodePerms(c.n, "IpPermissions")
	if err != nil {
		return nil, err
	}
	legacy, err := decodeLegacyPerm(c.n)
	if err != nil {
		return nil, err
	}
	ruleTags, err := decodeTagSpecs(c.n, "security-group-rule", c.s.limits.tagsPerResource)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if perms, err = mergeLegacy(perms, legacy, egress); err != nil {
		return nil, err
	}
	// The request is checked in full before the group is looked up, so an
	// unknown group with no permissions is MissingParameter rather than
	// InvalidGroup.NotFound. EC2's order for that case cannot be
	// established: its reference does not say and no public report shows
	// both faults in one request. Checking what needs no state first is
	// the order EC2 shows everywhere it is documented (UnknownParameter
	// before anything, malformed ids before lookups).
	if len(perms) == 0 {
		return nil, errMissing("IpPermissions")
	}
	if hasID {
		if err := checkGroupID(id); err != nil {
			return nil, err
		}
	}
	pending, err := checkPerms(perms)
	if err != nil {
		return nil, err
	}
	c.lookUpForeignGroups(pending)

	defer c.lockWorld()()
	g, err := c.targetGroup(id, hasID, name, hasName)
	if err != nil {
		return nil, err
	}
	c.groupID = g.ID
	if err := c.resolvePairs(g, pending, true); err != nil {
		return nil, err
	}
	if err := c.resolvePrefixLists(pending); err != nil {
		return nil, err
	}
	inRequest := map[ruleKey]bool{}
	for _, p := range pending {
		k := p.spec.key()
		if inRequest[k] {
			return nil, clientErr(codeInvalidParameterValue, msgSamePermissionTwice)
		}
		inRequest[k] = true
	}
	// Duplicates are checked against every rule, visible or not: a re-add
	// right after an add is InvalidPermission.Duplicate on EC2 too.
	existing := c.w.rulesOf(g, egress)
	for _, r := range existing {
		if inRequest[r.Spec.key()] {
			return nil, clientErr(codeInvalidPermDuplicate, "the specified rule %q already exists", describeRule(r.Spec))
		}
	}
	newSpecs := make([]ruleSpec, len(pending))
	for i, p := range pending {
		newSpecs[i] = p.spec
	}
	v4, v6 := familyCounts(append(specsOf(existing), newSpecs...), c.prefixListWeight)
	if limit := c.s.limits.rulesPerDirection; v4 > limit || v6 > limit {
		return nil, clientErr(codeRulesPerGroupLimit, msgRulesPerGroupLimit)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	resp := &authorizeResponse{XMLName: rootName(c.action), Return: true, SecurityGroupRuleSet: []xmlRule{}}
	for _, s := range newSpecs {
		r := c.w.addRule(g, egress, s, ruleTags, c.now)
		resp.SecurityGroupRuleSet = append(resp.SecurityGroupRuleSet, c.xmlRule(r))
	}
	return resp, nil
}

// revoke removes rules named by id or by permission. In a non-default VPC a
// permission that matches nothing fails the call and nothing is revoked; in
// the default VPC the call succeeds and lists it in UnknownIpPermissions.
func (c *call) revoke(egress bool) (response, *apiError) {
	id, hasID, name, hasName := c.decodeTarget(egress)
	perms, err := decodePerms(c.n, "IpPermissions")
	if err != nil {
		return nil, err
	}
	legacy, err := decodeLegacyPerm(c.n)
	if err != nil {
		return nil, err
	}
	ruleIDs := c.n.strList("SecurityGroupRuleId")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if perms, err = mergeLegacy(perms, legacy, egress); err != nil {
		return nil, err
	}
	switch {
	case len(ruleIDs) > 0 && len(perms) > 0:
		return nil, clientErr(codeInvalidParamCombination, "Specify either IpPermissions or SecurityGroupRuleIds, not both")
	case len(ruleIDs) == 0 && len(perms) == 0:
		return nil, clientErr(codeMissingParameter, "The request must contain the parameter IpPermissions or SecurityGroupRuleIds")
	}
	if hasID {
		if err := checkGroupID(id); err != nil {
			return nil, err
		}
	}
	for _, rid := range ruleIDs {
		if err := checkRuleID(rid); err != nil {
			return nil, err
		}
	}
	pending, err := checkPerms(perms)
	if err != nil {
		return nil, err
	}

	defer c.lockWorld()()
	g, err := c.targetGroup(id, hasID, name, hasName)
	if err != nil {
		return nil, err
	}
	c.groupID = g.ID
	var remove []*rule
	chosen := map[string]bool{}
	for _, rid := range ruleIDs {
		r, err := c.ruleOf(g, egress, rid)
		if err != nil {
			return nil, err
		}
		if !chosen[r.ID] {
			chosen[r.ID] = true
			remove = append(remove, r)
		}
	}
	var unknown []ruleSpec
	if len(pending) > 0 {
		if err := c.resolvePairs(g, pending, false); err != nil {
			return nil, err
		}
		byKey := map[ruleKey]*rule{}
		for _, r := range c.visibleRules(g, egress) {
			byKey[r.Spec.key()] = r
		}
		for _, p := range pending {
			r := byKey[p.spec.key()]
			switch {
			case r == nil:
				unknown = append(unknown, p.spec)
			case !chosen[r.ID]:
				chosen[r.ID] = true
				remove = append(remove, r)
			}
		}
	}
	if len(unknown) > 0 && !c.isDefaultVPC(g.VPCID) {
		return nil, clientErr(codeInvalidPermNotFound, "The specified rule does not exist in this security group.")
	}
	if c.dryRun {
		return nil, errDryRun
	}
	resp := &revokeResponse{XMLName: rootName(c.action), Return: true, RevokedSecurityGroupRuleSet: []xmlRevokedRule{}}
	for _, r := range remove {
		c.w.removeRule(r)
		resp.RevokedSecurityGroupRuleSet = append(resp.RevokedSecurityGroupRuleSet, xmlRevoked(r))
	}
	if len(unknown) > 0 {
		resp.UnknownIPPermissionSet = c.permissionsOf(unknown)
	}
	return resp, nil
}

func (c *call) xmlRule(r *rule) xmlRule {
	x := xmlRule{
		SecurityGroupRuleID:  r.ID,
		GroupID:              r.GroupID,
		GroupOwnerID:         c.w.Account,
		IsEgress:             r.Egress,
		IPProtocol:           r.Spec.Protocol,
		FromPort:             r.Spec.FromPort,
		ToPort:               r.Spec.ToPort,
		Description:          r.Spec.Description,
		TagSet:               xmlTags(r.Tags),
		SecurityGroupRuleArn: c.w.ruleArn(r.ID),
	}
	switch r.Spec.Kind {
	case kindCIDRv4:
		x.CidrIPv4 = r.Spec.Target
	case kindCIDRv6:
		x.CidrIPv6 = r.Spec.Target
	case kindPrefixList:
		x.PrefixListID = r.Spec.Target
	case kindGroup:
		pair := c.xmlPair(r.Spec)
		x.ReferencedGroupInfo = &xmlReferencedGroup{GroupID: r.Spec.Target, UserID: c.pairOwner(r.Spec),
			VpcID: pair.VpcID, VpcPeeringConnectionID: pair.VpcPeeringConnectionID, PeeringStatus: pair.PeeringStatus}
	}
	return x
}

func xmlRevoked(r *rule) xmlRevokedRule {
	x := xmlRevokedRule{
		SecurityGroupRuleID: r.ID,
		GroupID:             r.GroupID,
		IsEgress:            r.Egress,
		IPProtocol:          r.Spec.Protocol,
		FromPort:            r.Spec.FromPort,
		ToPort:              r.Spec.ToPort,
		Description:         r.Spec.Description,
	}
	switch r.Spec.Kind {
	case kindCIDRv4:
		x.CidrIPv4 = r.Spec.Target
	case kindCIDRv6:
		x.CidrIPv6 = r.Spec.Target
	case kindPrefixList:
		x.PrefixListID = r.Spec.Target
	case kindGroup:
		x.ReferencedGroupID = r.Spec.Target
	}
	return x
}
