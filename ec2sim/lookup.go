package ec2sim

// Resource lookups as a call sees them: malformed ids, unknown ids and ids
// not yet visible (consistency delay) each get EC2's error. All of these run
// with the world's lock held.

func (c *call) lockWorld() func() {
	c.w.mu.Lock()
	return c.w.mu.Unlock
}

// groupByID finds a visible group by id.
func (c *call) groupByID(id string) (*group, *apiError) {
	if err := checkGroupID(id); err != nil {
		return nil, err
	}
	g := c.w.Groups[id]
	if g == nil || !c.visible(g.Created) {
		return nil, errGroupNotFound(id)
	}
	return g, nil
}

// defaultVPC returns the world's default VPC, or VPCIdNotSpecified when the
// account has none.
func (c *call) defaultVPC() (*vpc, *apiError) {
	if v := c.w.VPCs[c.w.DefaultVPC]; v != nil {
		return v, nil
	}
	return nil, clientErr(codeVPCIDNotSpecified, "No default VPC for this user")
}

// groupByDefaultName finds a group by name in the default VPC: EC2 resolves
// names only there.
func (c *call) groupByDefaultName(name string) (*group, *apiError) {
	v, err := c.defaultVPC()
	if err != nil {
		return nil, err
	}
	g := c.w.groupByName(v.ID, name)
	if g == nil || !c.visible(g.Created) {
		return nil, clientErr(codeInvalidGroupNotFound, "The security group '%s' does not exist in default VPC '%s'", name, v.ID)
	}
	return g, nil
}

// targetGroup resolves the GroupId / GroupName pair that names the group a
// call works on.
func (c *call) targetGroup(id string, hasID bool, name string, hasName bool) (*group, *apiError) {
	switch {
	case hasID && hasName:
		return nil, clientErr(codeInvalidParamCombination, "Specify either GroupId or GroupName, not both")
	case hasID:
		return c.groupByID(id)
	case hasName:
		return c.groupByDefaultName(name)
	}
	return nil, clientErr(codeMissingParameter, "The request must contain the parameter GroupId or GroupName")
}

// vpcByID finds a visible VPC.
func (c *call) vpcByID(id string) (*vpc, *apiError) {
	if err := checkVPCID(id); err != nil {
		return nil, err
	}
	v := c.w.VPCs[id]
	if v == nil || !c.visible(v.Created) {
		return nil, errVpcNotFound(id)
	}
	return v, nil
}

// ruleOf finds a visible rule of group g in one direction.
func (c *call) ruleOf(g *group, egress bool, id string) (*rule, *apiError) {
	if err := checkRuleID(id); err != nil {
		return nil, err
	}
	r := c.w.Rules[id]
	if r == nil || r.GroupID != g.ID || r.Egress != egress || !c.visible(r.Created) {
		return nil, errRuleNotFound(id)
	}
	return r, nil
}

func (c *call) isDefaultVPC(vpcID string) bool { return vpcID != "" && vpcID == c.w.DefaultVPC }
