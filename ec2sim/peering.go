package ec2sim

import (
	"cmp"
	"encoding/xml"
	"net/netip"
	"slices"
	"time"
)

// VPC peering within one account and region: enough for a rule to
// reference a group across a peering, and for that rule to go stale when
// the peer group or the peering goes away (DescribeStaleSecurityGroups,
// DescribeSecurityGroupReferences).
//
// Sources: the EC2 API reference (CreateVpcPeeringConnection,
// AcceptVpcPeeringConnection, DeleteVpcPeeringConnection,
// DescribeVpcPeeringConnections, VpcPeeringConnectionStateReason) and the
// VPC peering guide: a request starts pending-acceptance and becomes
// active once accepted; VPCs with overlapping CIDR blocks cannot be peered
// (the request fails); a security group may reference a group of a peered
// VPC, and such a rule is stale once the peer group is deleted or the
// peering is deleted ("Security group rules that reference a deleted
// security group or a deleted peering connection become stale"). Peering
// with a VPC of another account in the same Region is modelled (see
// crossaccount.go); peering across Regions is not: PeerRegion must name
// this Region.

type peering struct {
	ID        string `json:"id"`
	Requester string `json:"requester"` // VPC id
	Accepter  string `json:"accepter"`  // VPC id
	State     string `json:"state"`
	Message   string `json:"message,omitempty"`
	// RequesterOwner and AccepterOwner are the accounts of the two VPCs;
	// RemoteCIDR is the CIDR of the VPC of the other account, which this
	// account's world does not hold. Empty owners mean this account.
	RequesterOwner string    `json:"requesterOwner,omitempty"`
	AccepterOwner  string    `json:"accepterOwner,omitempty"`
	RemoteCIDR     string    `json:"remoteCidr,omitempty"`
	Tags           tags      `json:"tags,omitempty"`
	Created        time.Time `json:"created"`
}

const (
	pcxPendingAcceptance = "pending-acceptance"
	pcxActive            = "active"
	pcxDeleted           = "deleted"
	pcxFailed            = "failed"
	codePcxMalformed     = "InvalidVpcPeeringConnectionId.Malformed"
	codeInvalidStateTran = "InvalidStateTransition"
)

func checkPeeringID(id string) *apiError {
	if !isResourceID(id, "pcx-") {
		return clientErr(codePcxMalformed, "Invalid id: \"%s\" (expecting \"pcx-...\")", id)
	}
	return nil
}

func errPeeringNotFound(id string) *apiError {
	return clientErr(codeInvalidPeeringNotFound, "The vpcPeeringConnection ID '%s' does not exist", id)
}

// peeringByID finds a visible peering of the world.
func (c *call) peeringByID(id string) (*peering, *apiError) {
	if err := checkPeeringID(id); err != nil {
		return nil, err
	}
	p := c.w.Peerings[id]
	if p == nil || !c.visible(p.Created) {
		return nil, errPeeringNotFound(id)
	}
	return p, nil
}

// activePeering returns the active peering between two VPCs of the
// world's account, if any.
func (w *world) activePeering(a, b string) *peering {
	for _, p := range w.Peerings {
		if p.RequesterOwner != p.AccepterOwner {
			continue
		}
		if p.State == pcxActive && (p.Requester == a && p.Accepter == b || p.Requester == b && p.Accepter == a) {
			return p
		}
	}
	return nil
}

func cidrsOverlap(a, b string) bool {
	pa, err1 := netip.ParsePrefix(a)
	pb, err2 := netip.ParsePrefix(b)
	return err1 == nil && err2 == nil && pa.Overlaps(pb)
}

func handleCreateVpcPeeringConnection(c *call) (response, *apiError) {
	vpcID, hasVPC := c.n.str("VpcId")
	peerID, hasPeer := c.n.str("PeerVpcId")
	owner, hasOwner := c.n.str("PeerOwnerId")
	region, hasRegion := c.n.str("PeerRegion")
	t, err := decodeTagSpecs(c.n, "vpc-peering-connection", c.s.limits.tagsPerResource)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	switch {
	case !hasVPC:
		return nil, errMissing("VpcId")
	case !hasPeer:
		return nil, errMissing("PeerVpcId")
	}
	if err := checkVPCID(vpcID); err != nil {
		return nil, err
	}
	if err := checkVPCID(peerID); err != nil {
		return nil, err
	}
	if hasOwner && !isAccountID(owner) {
		return nil, clientErr(codeInvalidParameterValue, "Invalid value '%s' for PeerOwnerId", owner)
	}
	if hasRegion && region != c.region {
		return nil, clientErr(codeInvalidParameterValue, "Peering with another region is not supported by this endpoint")
	}
	if !hasOwner {
		owner = c.account
	}
	// The other account's VPC is read before this account's world is
	// locked (crossaccount.go).
	var remoteCIDR string
	remoteOK := true
	if owner != c.account {
		remoteCIDR, remoteOK = c.remoteVPC(owner, peerID)
	}
	p, x, err := c.createPeering(vpcID, peerID, owner, remoteCIDR, remoteOK, t)
	if err != nil {
		return nil, err
	}
	if owner != c.account && p.State == pcxPendingAcceptance {
		// The accepter's copy: the same peering seen from its side, where
		// the requester's VPC is the remote one. Tags stay with the
		// account that set them.
		mirror := *p
		mirror.Tags, mirror.RemoteCIDR = nil, x.Requester.CidrBlock
		w := c.s.world(owner, c.region)
		w.mu.Lock()
		w.Peerings[p.ID] = &mirror
		w.touch(p.ID)
		w.mu.Unlock()
		c.alsoChanged = append(c.alsoChanged, w)
	}
	return &peeringResponse{XMLName: rootName(c.action), Peering: x}, nil
}

// createPeering makes the requester's copy of a new peering under the
// world's lock.
func (c *call) createPeering(vpcID, peerID, owner, remoteCIDR string, remoteOK bool, t tags) (*peering, xmlPeering, *apiError) {
	defer c.lockWorld()()
	v, err := c.vpcByID(vpcID)
	if err != nil {
		return nil, xmlPeering{}, err
	}
	peerCIDR := remoteCIDR
	if owner == c.account {
		peer, err := c.vpcByID(peerID)
		if err != nil {
			return nil, xmlPeering{}, err
		}
		if v.ID == peer.ID {
			// Unverified code: a VPC cannot be peered with itself.
			return nil, xmlPeering{}, clientErr(codeInvalidParameterValue, "A VPC cannot be peered with itself.")
		}
		peerCIDR = peer.CIDR
	}
	if c.dryRun {
		return nil, xmlPeering{}, errDryRun
	}
	p := &peering{ID: newID("pcx-", c.w.idTaken), Requester: v.ID, Accepter: peerID, State: pcxPendingAcceptance, Tags: t, Created: c.now,
		RequesterOwner: c.account, AccepterOwner: owner}
	if owner != c.account {
		p.RemoteCIDR = remoteCIDR
	}
	switch {
	case !remoteOK:
		// A request to another account cannot check the peer VPC when it
		// is made; it fails afterwards (VpcPeeringConnectionStateReason:
		// failed; the VPC peering guide's troubleshooting names the
		// message for a wrong VPC id or account).
		p.State, p.Message = pcxFailed, "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range"
	case cidrsOverlap(v.CIDR, peerCIDR):
		p.State, p.Message = pcxFailed, "overlapping CIDR blocks"
	}
	c.w.Peerings[p.ID] = p
	c.w.touch(p.ID)
	// The create answers while the request is still on its way:
	// initiating-request, "Initiating Request to <peer owner>" (the AWS CLI
	// reference's create-vpc-peering-connection example); a describe then
	// shows pending-acceptance.
	x := c.xmlPeering(p)
	if p.State == pcxPendingAcceptance {
		x.Status = xmlPeeringStatus{Code: "initiating-request", Message: "Initiating Request to " + owner}
	}
	return p, x, nil
}

func handleAcceptVpcPeeringConnection(c *call) (response, *apiError) {
	id, hasID := c.n.str("VpcPeeringConnectionId")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errMissing("VpcPeeringConnectionId")
	}
	x, other, err := c.acceptPeering(id)
	if err != nil {
		return nil, err
	}
	c.mirrorPeering(other, x.ID, func(p *peering) { p.State = pcxActive })
	return &peeringResponse{XMLName: rootName(c.action), Peering: x}, nil
}

// acceptPeering accepts this account's copy of a peering and returns the
// other account to tell, if the peering crosses accounts.
func (c *call) acceptPeering(id string) (xmlPeering, string, *apiError) {
	defer c.lockWorld()()
	p, err := c.peeringByID(id)
	if err != nil {
		return xmlPeering{}, "", err
	}
	if c.peerOwner(p.AccepterOwner) != c.w.Account {
		// Only the accepter's account accepts (AcceptVpcPeeringConnection:
		// "You must be the owner of the peer VPC"). Unverified code and
		// text.
		return xmlPeering{}, "", clientErr(codeOperationNotPermitted, "User %s cannot accept peering %s", c.w.Account, p.ID)
	}
	if p.State != pcxPendingAcceptance {
		// Unverified code and text.
		return xmlPeering{}, "", clientErr(codeInvalidStateTran, "The vpcPeeringConnection %s is in state %s and cannot be accepted.", p.ID, p.State)
	}
	if c.dryRun {
		return xmlPeering{}, "", errDryRun
	}
	p.State = pcxActive
	c.w.touch(p.ID)
	return c.xmlPeering(p), c.otherSide(p), nil
}

// DeleteVpcPeeringConnection deletes a pending or active peering. Rules
// that reference groups across it become stale; they are not removed.
func handleDeleteVpcPeeringConnection(c *call) (response, *apiError) {
	id, hasID := c.n.str("VpcPeeringConnectionId")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errMissing("VpcPeeringConnectionId")
	}
	other, err := c.deletePeering(id)
	if err != nil {
		return nil, err
	}
	// Either side may delete a peering; it is gone for both.
	c.mirrorPeering(other, id, func(p *peering) { p.State = pcxDeleted })
	return &returnResponse{XMLName: rootName(c.action), Return: true}, nil
}

func (c *call) deletePeering(id string) (string, *apiError) {
	defer c.lockWorld()()
	p, err := c.peeringByID(id)
	if err != nil {
		return "", err
	}
	if p.State == pcxDeleted {
		return "", clientErr(codeInvalidStateTran, "The vpcPeeringConnection %s is already deleted.", p.ID)
	}
	if c.dryRun {
		return "", errDryRun
	}
	p.State = pcxDeleted
	c.w.touch(p.ID)
	return c.otherSide(p), nil
}

var peeringFilters = map[string]bool{
	"vpc-peering-connection-id": true, "status-code": true, "requester-vpc-info.vpc-id": true, "accepter-vpc-info.vpc-id": true,
	"tag-key": true,
}

func handleDescribeVpcPeeringConnections(c *call) (response, *apiError) {
	ids := c.n.strList("VpcPeeringConnectionId")
	in, err := decodeDescribe(c, peeringFilters, ids, checkPeeringID)
	if err != nil {
		return nil, err
	}
	defer c.lockWorld()()
	var candidates []*peering
	if len(ids) > 0 {
		for _, id := range ids {
			p, err := c.peeringByID(id)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(candidates, p) {
				candidates = append(candidates, p)
			}
		}
	} else {
		for _, p := range c.w.Peerings {
			if c.visible(p.Created) {
				candidates = append(candidates, p)
			}
		}
	}
	var matched []*peering
	for _, p := range candidates {
		if peeringMatches(p, in.filters) {
			matched = append(matched, p)
		}
	}
	slices.SortFunc(matched, func(a, b *peering) int { return cmp.Compare(a.ID, b.ID) })
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, func(p *peering) string { return p.ID }, "pcx", in.page)
	if err != nil {
		return nil, err
	}
	out := &describePeeringsResponse{Set: []xmlPeering{}, NextToken: next}
	for _, p := range page {
		out.Set = append(out.Set, c.xmlPeering(p))
	}
	return out, nil
}

func peeringMatches(p *peering, fs []filter) bool {
	for _, f := range fs {
		if handled, ok := matchTags(f, p.Tags); handled {
			if !ok {
				return false
			}
			continue
		}
		var v string
		switch f.Name {
		case "vpc-peering-connection-id":
			v = p.ID
		case "status-code":
			v = p.State
		case "requester-vpc-info.vpc-id":
			v = p.Requester
		case "accepter-vpc-info.vpc-id":
			v = p.Accepter
		}
		if !matchAny(f.Values, v) {
			return false
		}
	}
	return true
}

func (c *call) xmlPeering(p *peering) xmlPeering {
	info := func(vpcID, owner string) xmlPeeringVpcInfo {
		x := xmlPeeringVpcInfo{VpcID: vpcID, OwnerID: c.peerOwner(owner), Region: c.w.Region}
		if x.OwnerID != c.w.Account {
			x.CidrBlock = p.RemoteCIDR
		} else if v := c.w.VPCs[vpcID]; v != nil {
			x.CidrBlock = v.CIDR
		}
		return x
	}
	return xmlPeering{
		ID:        p.ID,
		Requester: info(p.Requester, p.RequesterOwner),
		Accepter:  info(p.Accepter, p.AccepterOwner),
		Status:    xmlPeeringStatus{Code: p.State, Message: p.Message},
		TagSet:    xmlTags(p.Tags),
	}
}

type xmlPeeringVpcInfo struct {
	CidrBlock string `xml:"cidrBlock,omitempty"`
	OwnerID   string `xml:"ownerId"`
	VpcID     string `xml:"vpcId"`
	Region    string `xml:"region"`
}

type xmlPeeringStatus struct {
	Code    string `xml:"code"`
	Message string `xml:"message,omitempty"`
}

type xmlPeering struct {
	Accepter  xmlPeeringVpcInfo `xml:"accepterVpcInfo"`
	Requester xmlPeeringVpcInfo `xml:"requesterVpcInfo"`
	Status    xmlPeeringStatus  `xml:"status"`
	TagSet    []xmlTag          `xml:"tagSet>item"`
	ID        string            `xml:"vpcPeeringConnectionId"`
}

type peeringResponse struct {
	XMLName xml.Name
	meta
	Peering xmlPeering `xml:"vpcPeeringConnection"`
}

type describePeeringsResponse struct {
	XMLName xml.Name `xml:"DescribeVpcPeeringConnectionsResponse"`
	meta
	Set       []xmlPeering `xml:"vpcPeeringConnectionSet>item"`
	NextToken string       `xml:"nextToken,omitempty"`
}
