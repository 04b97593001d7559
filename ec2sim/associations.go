package ec2sim

import (
	"cmp"
	"encoding/xml"
	"slices"
	"time"
)

// Security group VPC associations (AssociateSecurityGroupVpc,
// DisassociateSecurityGroupVpc, DescribeSecurityGroupVpcAssociations), and
// the two calls about references across VPCs (DescribeStaleSecurityGroups,
// DescribeSecurityGroupReferences).
//
// Sources: the EC2 API reference of each call. AssociateSecurityGroupVpc:
// the VPC must be in the same Region and owned by (or shared with) the
// account, the group must be the account's own, and the feature works
// neither with default security groups nor with the default VPC. A group
// with a VPC association cannot be deleted (reference §2,
// DeleteSecurityGroup). The codes of the refusals are not documented:
// they are InvalidParameterValue here (unverified).
//
// A rule may reference a group of a peered VPC (peering.go). Such a rule
// goes stale when the peer group is deleted or the peering is deleted
// (VPC peering guide, "Identify stale security group rules"), and the peer
// group is then described as referenced from the rule's VPC
// (DescribeSecurityGroupReferences) while the reference lasts.

// association is a group's association with a VPC other than its own.
type association struct {
	GroupID string    `json:"groupId"`
	VPCID   string    `json:"vpcId"`
	Created time.Time `json:"created"`
}

// bucketUncategorizedRefs is the bucket of DescribeSecurityGroupReferences
// and DescribeStaleSecurityGroups (reference §6: 20 / 5).
var bucketUncategorizedRefs = bucketSpec{capacity: 20, refill: 5}

const (
	assocAssociated    = "associated"
	assocDisassociated = "disassociated"
)

// groupAndVPC decodes and resolves the GroupId/VpcId pair the association
// calls take.
func (c *call) groupAndVPC() (*group, *vpc, func(), *apiError) {
	gid, hasG := c.n.str("GroupId")
	vid, hasV := c.n.str("VpcId")
	if err := c.finishDecode(); err != nil {
		return nil, nil, nil, err
	}
	switch {
	case !hasG:
		return nil, nil, nil, errMissing("GroupId")
	case !hasV:
		return nil, nil, nil, errMissing("VpcId")
	}
	if err := checkGroupID(gid); err != nil {
		return nil, nil, nil, err
	}
	if err := checkVPCID(vid); err != nil {
		return nil, nil, nil, err
	}
	unlock := c.lockWorld()
	g, err := c.groupByID(gid)
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	v, err := c.vpcByID(vid)
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	c.groupID = g.ID
	return g, v, unlock, nil
}

func assocKey(groupID, vpcID string) string { return groupID + "/" + vpcID }

func handleAssociateSecurityGroupVpc(c *call) (response, *apiError) {
	g, v, unlock, err := c.groupAndVPC()
	if err != nil {
		return nil, err
	}
	defer unlock()
	switch {
	case g.IsDefault:
		return nil, clientErr(codeInvalidParameterValue, "The security group %s is a default security group; default security groups cannot be associated with other VPCs.", g.ID)
	case c.isDefaultVPC(v.ID) || c.isDefaultVPC(g.VPCID):
		return nil, clientErr(codeInvalidParameterValue, "Security group VPC associations cannot be used with the default VPC.")
	case v.ID == g.VPCID:
		return nil, clientErr(codeInvalidParameterValue, "The security group %s already belongs to VPC %s.", g.ID, v.ID)
	case c.w.Associations[assocKey(g.ID, v.ID)] != nil:
		return nil, clientErr(codeInvalidParameterValue, "The security group %s is already associated with VPC %s.", g.ID, v.ID)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	k := assocKey(g.ID, v.ID)
	c.w.Associations[k] = &association{GroupID: g.ID, VPCID: v.ID, Created: c.now}
	c.w.touch(assocPrefix + k)
	// EC2 answers "associating" and completes later; the endpoint
	// completes at once (its consistency delay covers the lag).
	return &assocStateResponse{XMLName: rootName(c.action), State: assocAssociated}, nil
}

func handleDisassociateSecurityGroupVpc(c *call) (response, *apiError) {
	g, v, unlock, err := c.groupAndVPC()
	if err != nil {
		return nil, err
	}
	defer unlock()
	k := assocKey(g.ID, v.ID)
	if a := c.w.Associations[k]; a == nil || !c.visible(a.Created) {
		return nil, clientErr(codeInvalidParameterValue, "The security group %s is not associated with VPC %s.", g.ID, v.ID)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	delete(c.w.Associations, k)
	c.w.touch(assocPrefix + k)
	return &assocStateResponse{XMLName: rootName(c.action), State: assocDisassociated}, nil
}

var assocFilters = map[string]bool{"group-id": true, "group-owner-id": true, "vpc-id": true, "vpc-owner-id": true, "state": true}

func handleDescribeSecurityGroupVpcAssociations(c *call) (response, *apiError) {
	in, err := decodeDescribe(c, assocFilters, nil, nil)
	if err != nil {
		return nil, err
	}
	defer c.lockWorld()()
	var matched []*association
	for _, a := range c.w.Associations {
		if c.visible(a.Created) && c.assocMatches(a, in.filters) {
			matched = append(matched, a)
		}
	}
	slices.SortFunc(matched, func(a, b *association) int {
		return cmp.Compare(assocKey(a.GroupID, a.VPCID), assocKey(b.GroupID, b.VPCID))
	})
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, func(a *association) string { return assocKey(a.GroupID, a.VPCID) }, "sgva", in.page)
	if err != nil {
		return nil, err
	}
	out := &describeAssocResponse{Set: []xmlAssociation{}, NextToken: next}
	for _, a := range page {
		out.Set = append(out.Set, xmlAssociation{GroupID: a.GroupID, VpcID: a.VPCID, VpcOwnerID: c.w.Account, GroupOwnerID: c.w.Account, State: assocAssociated})
	}
	return out, nil
}

func (c *call) assocMatches(a *association, fs []filter) bool {
	for _, f := range fs {
		var v string
		switch f.Name {
		case "group-id":
			v = a.GroupID
		case "vpc-id":
			v = a.VPCID
		case "group-owner-id", "vpc-owner-id":
			v = c.w.Account
		case "state":
			v = assocAssociated
		}
		if !matchAny(f.Values, v) {
			return false
		}
	}
	return true
}

// groupAssociated reports whether a group has a VPC association, which
// keeps it from being deleted.
func (w *world) groupAssociated(groupID string) bool {
	for _, a := range w.Associations {
		if a.GroupID == groupID {
			return true
		}
	}
	return false
}

// vpcHasAssociations reports whether groups of other VPCs are associated
// with the VPC, which keeps it from being deleted.
func (w *world) vpcHasAssociations(vpcID string) bool {
	for _, a := range w.Associations {
		if a.VPCID == vpcID {
			return true
		}
	}
	return false
}

// DescribeStaleSecurityGroups lists the groups of a VPC that have stale
// rules, with those rules: rules referencing a group of another VPC that
// is gone, or across a peering that is no longer active (API reference,
// DescribeStaleSecurityGroups; StaleSecurityGroup, StaleIpPermission).
// VpcId is required and must exist; MaxResults is 5–255. Each stale rule
// is listed as its own permission (grouping unverified).
func handleDescribeStaleSecurityGroups(c *call) (response, *apiError) {
	vid, hasV := c.n.str("VpcId")
	pg, err := decodePaginationIn(c.n, 5, 255)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasV {
		return nil, errMissing("VpcId")
	}
	if err := checkVPCID(vid); err != nil {
		return nil, err
	}
	c.lookUpForeignTargets()
	defer c.lockWorld()()
	v, err := c.vpcByID(vid)
	if err != nil {
		return nil, err
	}
	if c.dryRun {
		return nil, errDryRun
	}
	var stale []xmlStaleGroup
	for _, g := range c.w.Groups {
		if g.VPCID != v.ID || !c.visible(g.Created) {
			continue
		}
		x := xmlStaleGroup{GroupID: g.ID, GroupName: g.Name, Description: g.Description, VpcID: g.VPCID}
		for _, egress := range []bool{false, true} {
			for _, r := range c.visibleRules(g, egress) {
				if !c.isStale(r) {
					continue
				}
				p := xmlStalePermission{IPProtocol: r.Spec.Protocol, Groups: []xmlPair{c.xmlPair(r.Spec)}}
				if protocolHasPorts(r.Spec.Protocol) {
					from, to := r.Spec.FromPort, r.Spec.ToPort
					p.FromPort, p.ToPort = &from, &to
				}
				if egress {
					x.Egress = append(x.Egress, p)
				} else {
					x.Ingress = append(x.Ingress, p)
				}
			}
		}
		if len(x.Ingress)+len(x.Egress) > 0 {
			stale = append(stale, x)
		}
	}
	slices.SortFunc(stale, func(a, b xmlStaleGroup) int { return cmp.Compare(a.GroupID, b.GroupID) })
	page, next, err := paginate(stale, func(x xmlStaleGroup) string { return x.GroupID }, "stale", pg)
	if err != nil {
		return nil, err
	}
	return &staleResponse{Set: append([]xmlStaleGroup{}, page...), NextToken: next}, nil
}

// isStale reports whether a rule references a group of another VPC that
// is gone or is no longer reachable over an active peering.
func (c *call) isStale(r *rule) bool {
	if r.Spec.Kind != kindGroup || r.Spec.PeerVPC == "" {
		return false
	}
	g := c.w.Groups[r.GroupID]
	if r.Spec.PeerOwner != "" {
		// A group of another account, as read from that account before
		// this call locked its world (crossaccount.go); a rule made since
		// then is not known to be stale.
		vpc, read := c.foreign[foreignGroup{r.Spec.PeerOwner, r.Spec.Target}]
		return g == nil || read && vpc == "" || c.activePeeringWith(g.VPCID, r.Spec.PeerOwner, r.Spec.PeerVPC) == nil
	}
	return c.w.Groups[r.Spec.Target] == nil || g == nil || c.w.activePeering(g.VPCID, r.Spec.PeerVPC) == nil
}

// DescribeSecurityGroupReferences lists, for each group given, the other
// VPCs whose rules reference it across a peering (API reference:
// GroupId.N required; each item names the group, the referencing VPC and
// the peering).
func handleDescribeSecurityGroupReferences(c *call) (response, *apiError) {
	ids := c.n.strList("GroupId")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errMissing("GroupId")
	}
	for _, id := range ids {
		if err := checkGroupID(id); err != nil {
			return nil, err
		}
	}
	fromOthers := c.foreignReferences(ids)
	defer c.lockWorld()()
	wanted := map[string]*group{}
	for _, id := range ids {
		g, err := c.groupByID(id)
		if err != nil {
			return nil, err
		}
		wanted[g.ID] = g
	}
	if c.dryRun {
		return nil, errDryRun
	}
	seen := map[xmlReference]bool{}
	out := &referencesResponse{Set: []xmlReference{}}
	for _, r := range c.w.Rules {
		target := wanted[r.Spec.Target]
		holder := c.w.Groups[r.GroupID]
		if r.Spec.Kind != kindGroup || target == nil || holder == nil || holder.VPCID == target.VPCID || !c.ruleVisible(r) {
			continue
		}
		x := xmlReference{GroupID: target.ID, ReferencingVpcID: holder.VPCID, VpcPeeringConnectionID: r.Spec.PeeringID}
		if !seen[x] {
			seen[x] = true
			out.Set = append(out.Set, x)
		}
	}
	for _, x := range fromOthers {
		if wanted[x.GroupID] != nil && !seen[x] {
			seen[x] = true
			out.Set = append(out.Set, x)
		}
	}
	slices.SortFunc(out.Set, func(a, b xmlReference) int {
		return cmp.Or(cmp.Compare(a.GroupID, b.GroupID), cmp.Compare(a.ReferencingVpcID, b.ReferencingVpcID))
	})
	return out, nil
}

// assocPrefix marks association keys in the journal's dirty set.
const assocPrefix = "assoc:"

type assocStateResponse struct {
	XMLName xml.Name
	meta
	State string `xml:"state"`
}

type xmlAssociation struct {
	GroupID      string `xml:"groupId"`
	VpcID        string `xml:"vpcId"`
	VpcOwnerID   string `xml:"vpcOwnerId"`
	State        string `xml:"state"`
	GroupOwnerID string `xml:"groupOwnerId"`
}

type describeAssocResponse struct {
	XMLName xml.Name `xml:"DescribeSecurityGroupVpcAssociationsResponse"`
	meta
	Set       []xmlAssociation `xml:"securityGroupVpcAssociationSet>item"`
	NextToken string           `xml:"nextToken,omitempty"`
}

type xmlStalePermission struct {
	FromPort   *int32    `xml:"fromPort,omitempty"`
	IPProtocol string    `xml:"ipProtocol"`
	Groups     []xmlPair `xml:"groups>item"`
	ToPort     *int32    `xml:"toPort,omitempty"`
}

type xmlStaleGroup struct {
	Description string               `xml:"description"`
	GroupID     string               `xml:"groupId"`
	GroupName   string               `xml:"groupName"`
	Ingress     []xmlStalePermission `xml:"staleIpPermissions>item"`
	Egress      []xmlStalePermission `xml:"staleIpPermissionsEgress>item"`
	VpcID       string               `xml:"vpcId"`
}

type staleResponse struct {
	XMLName xml.Name `xml:"DescribeStaleSecurityGroupsResponse"`
	meta
	Set       []xmlStaleGroup `xml:"staleSecurityGroupSet>item"`
	NextToken string          `xml:"nextToken,omitempty"`
}

type xmlReference struct {
	GroupID                string `xml:"groupId"`
	ReferencingVpcID       string `xml:"referencingVpcId"`
	VpcPeeringConnectionID string `xml:"vpcPeeringConnectionId,omitempty"`
}

type referencesResponse struct {
	XMLName xml.Name `xml:"DescribeSecurityGroupReferencesResponse"`
	meta
	Set []xmlReference `xml:"securityGroupReferenceSet>item"`
}
