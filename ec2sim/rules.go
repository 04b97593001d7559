package ec2sim

import (
	"cmp"
	"slices"
)

// DescribeSecurityGroupRules, ModifySecurityGroupRules and
// UpdateSecurityGroupRuleDescriptionsIngress/Egress: the calls that address
// rules by their sgr- ids.

func handleDescribeSecurityGroupRules(c *call) (response, *apiError) {
	ids := c.n.strList("SecurityGroupRuleId")
	in, err := decodeDescribe(c, ruleFilters, ids, checkRuleID)
	if err != nil {
		return nil, err
	}
	filters, pg := in.filters, in.page
	// EC2 checks the values of the group-id filter here as group ids:
	// "", "foobar" or "sg-123" is InvalidGroupId.Malformed ("The security
	// group ID '' is malformed"), not an empty answer (EC2's answer quoted in
	// localstack/localstack#9059; moto followed in getmoto/moto#7620).
	// Whether DescribeSecurityGroups checks its group-id filter the same way
	// cannot be established; there the values stay patterns.
	for _, f := range filters {
		if f.Name != "group-id" {
			continue
		}
		for _, v := range f.Values {
			if !isResourceID(v, "sg-") {
				return nil, clientErr(codeInvalidGroupIDMalformed, "The security group ID '%s' is malformed", truncate(v, 64))
			}
		}
	}

	defer c.lockWorld()()
	var candidates []*rule
	if len(ids) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			r := c.w.Rules[id]
			if r == nil || !c.ruleVisible(r) {
				return nil, errRuleNotFound(id)
			}
			if !seen[id] {
				seen[id] = true
				candidates = append(candidates, r)
			}
		}
	} else {
		for _, r := range c.w.Rules {
			if c.ruleVisible(r) {
				candidates = append(candidates, r)
			}
		}
	}
	var matched []*rule
	for _, r := range candidates {
		if ruleMatches(r, filters) {
			matched = append(matched, r)
		}
	}
	slices.SortFunc(matched, func(a, b *rule) int { return cmp.Compare(a.ID, b.ID) })
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, func(r *rule) string { return r.ID }, "sgr", pg)
	if err != nil {
		return nil, err
	}
	out := &describeSecurityGroupRulesResponse{SecurityGroupRuleSet: []xmlRule{}, NextToken: next}
	for _, r := range page {
		out.SecurityGroupRuleSet = append(out.SecurityGroupRuleSet, c.xmlRule(r))
	}
	return out, nil
}

// ruleVisible: a rule is seen once both it and its group are.
func (c *call) ruleVisible(r *rule) bool {
	g := c.w.Groups[r.GroupID]
	return g != nil && c.visible(g.Created) && c.visible(r.Created)
}

func ruleMatches(r *rule, fs []filter) bool {
	for _, f := range fs {
		if handled, ok := matchTags(f, r.Tags); handled {
			if !ok {
				return false
			}
			continue
		}
		var v string
		switch f.Name {
		case "group-id":
			v = r.GroupID
		case "security-group-rule-id":
			v = r.ID
		}
		if !matchAny(f.Values, v) {
			return false
		}
	}
	return true
}

// ruleUpdate is one SecurityGroupRule.N of ModifySecurityGroupRules.
type ruleUpdate struct {
	id      string
	hasBody bool
	perm    permReq
	nSource int
}

func handleModifySecurityGroupRules(c *call) (response, *apiError) {
	gid, hasGID := c.n.str("GroupId")
	var updates []ruleUpdate
	for _, it := range c.n.items("SecurityGroupRule") {
		var u ruleUpdate
		var err *apiError
		u.id, _ = it.str("SecurityGroupRuleId")
		body := it.child("SecurityGroupRule")
		u.hasBody = body != nil
		u.perm.Protocol, u.perm.HasProtocol = body.str("IpProtocol")
		if u.perm.From, err = body.int32Param("FromPort"); err != nil {
			return nil, err
		}
		if u.perm.To, err = body.int32Param("ToPort"); err != nil {
			return nil, err
		}
		desc, _ := body.str("Description")
		if v, ok := body.str("CidrIpv4"); ok {
			u.perm.IPv4 = append(u.perm.IPv4, rangeReq{Value: v, Description: desc})
		}
		if v, ok := body.str("CidrIpv6"); ok {
			u.perm.IPv6 = append(u.perm.IPv6, rangeReq{Value: v, Description: desc})
		}
		if v, ok := body.str("PrefixListId"); ok {
			u.perm.PrefixLists = append(u.perm.PrefixLists, rangeReq{Value: v, Description: desc})
		}
		if v, ok := body.str("ReferencedGroupId"); ok {
			u.perm.Groups = append(u.perm.Groups, pairReq{GroupID: v, Description: desc})
		}
		u.nSource = u.perm.sourceCount()
		updates = append(updates, u)
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasGID {
		return nil, errMissing("GroupId")
	}
	if err := checkGroupID(gid); err != nil {
		return nil, err
	}
	if len(updates) == 0 {
		return nil, errMissing("SecurityGroupRule")
	}
	pending := make([]pendingRule, len(updates))
	for i, u := range updates {
		switch {
		case u.id == "":
			return nil, errMissing("SecurityGroupRule.SecurityGroupRuleId")
		case !u.hasBody:
			return nil, errMissing("SecurityGroupRule.SecurityGroupRule")
		case u.nSource > 1:
			return nil, clientErr(codeInvalidParamCombination, "Specify only one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId")
		}
		if err := checkRuleID(u.id); err != nil {
			return nil, err
		}
		p, err := checkPerms([]permReq{u.perm})
		if err != nil {
			return nil, err
		}
		pending[i] = p[0]
	}

	defer c.lockWorld()()
	g, err := c.groupByID(gid)
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
	targets := make([]*rule, len(updates))
	seen := map[string]bool{}
	for i, u := range updates {
		r := c.w.Rules[u.id]
		if r == nil || r.GroupID != g.ID || !c.visible(r.Created) {
			return nil, errRuleNotFound(u.id)
		}
		if seen[r.ID] {
			return nil, clientErr(codeInvalidParameterValue, "The security group rule ID '%s' appears more than once", r.ID)
		}
		seen[r.ID] = true
		if r.Spec.Kind != pending[i].spec.Kind {
			// Unverified code: EC2 refuses to change the kind of a rule's
			// source or destination.
			return nil, clientErr(codeInvalidParameter, "The %s rule %s cannot be changed to a %s rule", r.Spec.Kind, r.ID, pending[i].spec.Kind)
		}
		targets[i] = r
	}
	// The rules after the change must still be distinct per direction.
	for _, egress := range []bool{false, true} {
		keys := map[ruleKey]bool{}
		for _, r := range c.w.rulesOf(g, egress) {
			if !seen[r.ID] {
				keys[r.Spec.key()] = true
			}
		}
		for i, r := range targets {
			if r.Egress != egress {
				continue
			}
			k := pending[i].spec.key()
			if keys[k] {
				return nil, clientErr(codeInvalidPermDuplicate, "the specified rule %q already exists", describeRule(pending[i].spec))
			}
			keys[k] = true
		}
	}
	// A rule changed to name a larger prefix list weighs more (reference
	// §4), so the quota is checked on the rules as they would be.
	changed := make(map[string]ruleSpec, len(targets))
	for i, r := range targets {
		changed[r.ID] = pending[i].spec
	}
	for _, egress := range []bool{false, true} {
		rs := c.w.rulesOf(g, egress)
		specs := make([]ruleSpec, len(rs))
		for j, r := range rs {
			specs[j] = r.Spec
			if s, ok := changed[r.ID]; ok {
				specs[j] = s
			}
		}
		v4, v6 := familyCounts(specs, c.prefixListWeight)
		if limit := c.s.limits.rulesPerDirection; v4 > limit || v6 > limit {
			return nil, clientErr(codeRulesPerGroupLimit, msgRulesPerGroupLimit)
		}
	}
	if c.dryRun {
		return nil, errDryRun
	}
	for i, r := range targets {
		r.Spec = pending[i].spec
		c.w.touch(r.ID)
	}
	return &returnResponse{XMLName: rootName(c.action), Return: true}, nil
}

func handleUpdateDescriptionsIngress(c *call) (response, *apiError) {
	return c.updateDescriptions(false)
}

func handleUpdateDescriptionsEgress(c *call) (response, *apiError) {
	return c.updateDescriptions(true)
}

// updateDescriptions changes only descriptions; a description left out is
// removed. Rules are named by permission (matched without descriptions) or
// by id, and every one must exist or nothing changes.
func (c *call) updateDescriptions(egress bool) (response, *apiError) {
	id, hasID := c.n.str("GroupId")
	name, hasName := c.n.str("GroupName")
	perms, err := decodePerms(c.n, "IpPermissions")
	if err != nil {
		return nil, err
	}
	type byID struct{ id, desc string }
	var byIDs []byID
	for _, it := range c.n.items("SecurityGroupRuleDescription") {
		var x byID
		x.id, _ = it.str("SecurityGroupRuleId")
		x.desc, _ = it.str("Description")
		byIDs = append(byIDs, x)
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	switch {
	case len(perms) > 0 && len(byIDs) > 0:
		return nil, clientErr(codeInvalidParamCombination, "Specify either IpPermissions or SecurityGroupRuleDescriptions, not both")
	case len(perms) == 0 && len(byIDs) == 0:
		return nil, clientErr(codeMissingParameter, "The request must contain the parameter IpPermissions or SecurityGroupRuleDescriptions")
	}
	if hasID {
		if err := checkGroupID(id); err != nil {
			return nil, err
		}
	}
	for _, x := range byIDs {
		if x.id == "" {
			return nil, errMissing("SecurityGroupRuleDescription.SecurityGroupRuleId")
		}
		if err := checkRuleID(x.id); err != nil {
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
	type change struct {
		r    *rule
		desc string
	}
	var changes []change
	for _, x := range byIDs {
		r, err := c.ruleOf(g, egress, x.id)
		if err != nil {
			return nil, err
		}
		if err := checkRuleDescription(x.desc, r.Spec.Kind == kindCIDRv4 || r.Spec.Kind == kindCIDRv6); err != nil {
			return nil, err
		}
		changes = append(changes, change{r, x.desc})
	}
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
			if r == nil {
				return nil, clientErr(codeInvalidPermNotFound, "The specified rule does not exist in this security group.")
			}
			changes = append(changes, change{r, p.spec.Description})
		}
	}
	if c.dryRun {
		return nil, errDryRun
	}
	for _, ch := range changes {
		ch.r.Spec.Description = ch.desc
		c.w.touch(ch.r.ID)
	}
	return &returnResponse{XMLName: rootName(c.action), Return: true}, nil
}
