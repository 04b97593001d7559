package ec2sim

// Rules referencing a group of another account. EC2 keeps accounts apart,
// with one way through for security group rules: a VPC peering between a
// VPC of this account and one of another account (same Region here), once
// accepted, lets a rule name a group of the peer VPC by its owner and id,
// UserId + GroupId in the user-id-group pair (VPC peering guide, "Update
// your security groups to reference peer security groups": "If the peer
// VPC is in another account, include the account ID … for example
// 123456789012/sg-1a2b3c4d"; reference §7, referenced-group rules). The
// pair is then described with that owner in userId, and the
// ip-permission.user-id filter matches it.
//
// Each account's world keeps its own copy of a cross-account peering, as
// each account sees the peering from its side; a change to one side's copy
// is then made to the other's. No call ever holds two worlds' locks at
// once: what a call needs from another account (a peer VPC's CIDR, a
// referenced group's VPC, the rules referencing this account's groups) is
// read before it locks its own world, which makes it as current as EC2's
// own eventually consistent view of another account.

import "slices"

// foreignGroup names a group of another account.
type foreignGroup struct{ account, id string }

// pairOwner is the account a rule's user-id-group pair names.
func (c *call) pairOwner(s ruleSpec) string {
	if s.PeerOwner != "" {
		return s.PeerOwner
	}
	return c.w.Account
}

// peerOwner is the account of a peering's side; copies made before
// peerings could cross accounts leave it empty, meaning this account.
func (c *call) peerOwner(account string) string {
	if account == "" {
		return c.w.Account
	}
	return account
}

// lookUpForeignGroups reads, from their own accounts, the VPC of every
// group of another account that the request references. It runs before
// the call locks its own world, and locks one other world at a time.
func (c *call) lookUpForeignGroups(pending []pendingRule) {
	for _, pr := range pending {
		p := pr.pair
		if p == nil || p.GroupID == "" || p.UserID == "" || p.UserID == c.account || !isAccountID(p.UserID) {
			continue
		}
		c.readForeignGroup(foreignGroup{p.UserID, p.GroupID})
	}
}

// lookUpForeignTargets reads, from their own accounts, every group of
// another account that a rule of the world references, so that a rule
// whose group is gone shows as stale. It locks one world at a time.
func (c *call) lookUpForeignTargets() {
	var refs []foreignGroup
	c.w.mu.Lock()
	for _, r := range c.w.Rules {
		if r.Spec.Kind == kindGroup && r.Spec.PeerOwner != "" {
			refs = append(refs, foreignGroup{r.Spec.PeerOwner, r.Spec.Target})
		}
	}
	c.w.mu.Unlock()
	for _, k := range refs {
		c.readForeignGroup(k)
	}
}

// readForeignGroup records the VPC of a group of another account, "" if
// that account has no such group. The caller holds no world lock.
func (c *call) readForeignGroup(k foreignGroup) {
	if _, done := c.foreign[k]; done {
		return
	}
	if c.foreign == nil {
		c.foreign = map[foreignGroup]string{}
	}
	w := c.s.world(k.account, c.region)
	w.mu.Lock()
	vpc := ""
	if g := w.Groups[k.id]; g != nil && c.visible(g.Created) {
		vpc = g.VPCID
	}
	w.mu.Unlock()
	c.foreign[k] = vpc
}

// resolveForeignPair checks a pair naming a group of another account:
// the group must exist in that account and, with mustExist (authorize),
// sit in a VPC peered with g's VPC by an active peering. Revoke and
// description updates match by id alone, as for the account's own groups.
func (c *call) resolveForeignPair(g *group, pr *pendingRule, mustExist bool) *apiError {
	p := pr.pair
	if !isAccountID(p.UserID) {
		// Unverified text; the code is EC2's for an owner that is not an
		// account id.
		return clientErr(codeInvalidUserIDMalformed, "Invalid user id: '%s'", p.UserID)
	}
	if p.GroupID == "" {
		// A group of another account can be named only by id in a VPC
		// (UserIdGroupPair: GroupName is for the default VPC, where the
		// group must be the account's own).
		return clientErr(codeInvalidGroupNotFound, "The security group '%s' does not exist for user '%s'", p.GroupName, p.UserID)
	}
	pr.spec.PeerOwner = p.UserID
	if !mustExist {
		return nil
	}
	vpc := c.foreign[foreignGroup{p.UserID, p.GroupID}]
	if vpc == "" {
		return clientErr(codeInvalidGroupNotFound, "The security group '%s' does not exist for user '%s'", p.GroupID, p.UserID)
	}
	if p.VPCID != "" && p.VPCID != vpc {
		return clientErr(codeInvalidGroupNotFound, "You have specified two resources that belong to different networks.")
	}
	pcx := c.activePeeringWith(g.VPCID, p.UserID, vpc)
	if pcx == nil || p.PeeringID != "" && p.PeeringID != pcx.ID {
		return clientErr(codeInvalidGroupNotFound, "You have specified two resources that belong to different networks.")
	}
	pr.spec.PeerVPC, pr.spec.PeeringID = vpc, pcx.ID
	return nil
}

// activePeeringWith returns the active peering between the world's VPC
// local and the VPC remote of account owner.
func (c *call) activePeeringWith(local, owner, remote string) *peering {
	for _, p := range c.w.Peerings {
		if p.State != pcxActive {
			continue
		}
		if p.Requester == local && c.peerOwner(p.RequesterOwner) == c.w.Account && p.Accepter == remote && c.peerOwner(p.AccepterOwner) == owner ||
			p.Accepter == local && c.peerOwner(p.AccepterOwner) == c.w.Account && p.Requester == remote && c.peerOwner(p.RequesterOwner) == owner {
			return p
		}
	}
	return nil
}

// otherSide is the account at the other end of a peering, or "" for a
// peering within the account.
func (c *call) otherSide(p *peering) string {
	for _, a := range []string{c.peerOwner(p.RequesterOwner), c.peerOwner(p.AccepterOwner)} {
		if a != c.w.Account {
			return a
		}
	}
	return ""
}

// mirrorPeering applies change to the other account's copy of a peering,
// locking only that account's world. The caller holds no world lock.
func (c *call) mirrorPeering(account, id string, change func(*peering)) {
	if account == "" {
		return
	}
	w := c.s.world(account, c.region)
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.Peerings[id]; p != nil {
		change(p)
		w.touch(id)
		c.alsoChanged = append(c.alsoChanged, w)
	}
}

// remoteVPC reads a VPC of another account: its CIDR, and whether it
// exists. The caller holds no world lock.
func (c *call) remoteVPC(account, id string) (cidr string, ok bool) {
	w := c.s.world(account, c.region)
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.VPCs[id]
	if v == nil || !c.visible(v.Created) {
		return "", false
	}
	return v.CIDR, true
}

// foreignReferences reads, from each account this world is peered with by
// an active peering, the rules that reference one of the given groups of
// this world across that peering (DescribeSecurityGroupReferences: "the
// VPCs on the other side of a VPC peering … that are referencing the
// security groups you've specified"). It locks one world at a time; the
// caller holds none.
func (c *call) foreignReferences(ids []string) []xmlReference {
	type side struct{ account, pcx string }
	var sides []side
	c.w.mu.Lock()
	for _, p := range c.w.Peerings {
		if other := c.otherSide(p); other != "" && p.State == pcxActive {
			sides = append(sides, side{other, p.ID})
		}
	}
	c.w.mu.Unlock()
	var out []xmlReference
	for _, s := range sides {
		w := c.s.world(s.account, c.region)
		w.mu.Lock()
		for _, r := range w.Rules {
			if r.Spec.Kind != kindGroup || r.Spec.PeerOwner != c.w.Account || r.Spec.PeeringID != s.pcx ||
				!slices.Contains(ids, r.Spec.Target) || !c.visible(r.Created) {
				continue
			}
			if holder := w.Groups[r.GroupID]; holder != nil {
				out = append(out, xmlReference{GroupID: r.Spec.Target, ReferencingVpcID: holder.VPCID, VpcPeeringConnectionID: s.pcx})
			}
		}
		w.mu.Unlock()
	}
	return out
}
