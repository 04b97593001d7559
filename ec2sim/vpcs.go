package ec2sim

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
)

// DescribeVpcs and CreateVpc: enough of VPCs to give groups a home, to find
// the default VPC and to tell whether ::/0 egress appears by default.

func handleDescribeVpcs(c *call) (response, *apiError) {
	ids := c.n.strList("VpcId")
	in, err := decodeDescribe(c, vpcFilters, ids, checkVPCID)
	if err != nil {
		return nil, err
	}
	filters, pg := in.filters, in.page

	defer c.lockWorld()()
	var candidates []*vpc
	if len(ids) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			v, err := c.vpcByID(id)
			if err != nil {
				return nil, err
			}
			if !seen[id] {
				seen[id] = true
				candidates = append(candidates, v)
			}
		}
	} else {
		for _, v := range c.w.VPCs {
			if c.visible(v.Created) {
				candidates = append(candidates, v)
			}
		}
	}
	var matched []*vpc
	for _, v := range candidates {
		if c.vpcMatches(v, filters) {
			matched = append(matched, v)
		}
	}
	slices.SortFunc(matched, func(a, b *vpc) int { return cmp.Compare(a.ID, b.ID) })
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, func(v *vpc) string { return v.ID }, "vpc", pg)
	if err != nil {
		return nil, err
	}
	out := &describeVpcsResponse{VpcSet: []xmlVpc{}, NextToken: next}
	for _, v := range page {
		out.VpcSet = append(out.VpcSet, c.xmlVpc(v))
	}
	return out, nil
}

func (c *call) vpcMatches(v *vpc, fs []filter) bool {
	for _, f := range fs {
		if handled, ok := matchTags(f, v.Tags); handled {
			if !ok {
				return false
			}
			continue
		}
		var val string
		switch f.Name {
		case "vpc-id":
			val = v.ID
		case "is-default":
			val = strconv.FormatBool(v.IsDefault)
		case "cidr", "cidr-block-association.cidr-block":
			val = v.CIDR
		case "state":
			val = "available"
		case "owner-id":
			val = c.w.Account
		case "ipv6-cidr-block-association.ipv6-cidr-block":
			if v.IPv6CIDR == "" {
				return false
			}
			val = v.IPv6CIDR
		case "instance-tenancy":
			val = v.InstanceTenancy
		}
		if !matchAny(f.Values, val) {
			return false
		}
	}
	return true
}

func (c *call) xmlVpc(v *vpc) xmlVpc {
	x := xmlVpc{
		VpcID:           v.ID,
		OwnerID:         c.w.Account,
		State:           "available",
		CidrBlock:       v.CIDR,
		DhcpOptionsID:   "default",
		InstanceTenancy: v.InstanceTenancy,
		IsDefault:       v.IsDefault,
		TagSet:          xmlTags(v.Tags),
		CidrBlockAssociations: []xmlCIDRAssoc{{
			AssociationID: v.CIDRAssocID, CidrBlock: v.CIDR, State: xmlCIDRState{State: "associated"},
		}},
	}
	if v.IPv6CIDR != "" {
		x.IPv6Associations = []xmlIPv6Assoc{{
			AssociationID: v.IPv6AssocID, IPv6CidrBlock: v.IPv6CIDR, State: xmlCIDRState{State: "associated"},
			NetworkBorderGroup: c.w.Region, IPv6Pool: "Amazon",
		}}
	}
	return x
}

// CreateVpc supports an IPv4 block (/16 to /28, as EC2 allows) and an
// Amazon-provided IPv6 /56. IPAM pools and bring-your-own IPv6 pools are
// refused: nothing here models them.
func handleCreateVpc(c *call) (response, *apiError) {
	cidr, hasCIDR := c.n.str("CidrBlock")
	ipv6, err := c.n.boolParam("AmazonProvidedIpv6CidrBlock")
	if err != nil {
		return nil, err
	}
	tenancy, hasTenancy := c.n.str("InstanceTenancy")
	t, err := decodeTagSpecs(c.n, "vpc", c.s.limits.tagsPerResource)
	if err != nil {
		return nil, err
	}
	var unsupported string
	for _, k := range []string{"Ipv4IpamPoolId", "Ipv4NetmaskLength", "Ipv6CidrBlock", "Ipv6CidrBlockNetworkBorderGroup", "Ipv6IpamPoolId", "Ipv6NetmaskLength", "Ipv6Pool", "VpcEncryptionControl"} {
		if c.n.has(k) {
			unsupported = k
			markUsed(c.n.child(k))
		}
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if unsupported != "" {
		return nil, clientErr(codeInvalidParameterValue, "The parameter %s is not supported by this endpoint", unsupported)
	}
	if !hasCIDR {
		return nil, errMissing("CidrBlock")
	}
	canon, err := canonicalCIDR(cidr, false)
	if err != nil {
		return nil, err
	}
	if bits := netip.MustParsePrefix(canon).Bits(); bits < 16 || bits > 28 {
		return nil, clientErr(codeInvalidVpcRange, "The CIDR '%s' is invalid.", cidr)
	}
	if !hasTenancy {
		tenancy = "default"
	}
	if tenancy != "default" && tenancy != "dedicated" {
		return nil, clientErr(codeInvalidParameterValue, "Value (%s) for parameter instanceTenancy is invalid. Valid values: default, dedicated", tenancy)
	}

	defer c.lockWorld()()
	if len(c.w.VPCs) >= c.s.limits.vpcsPerRegion {
		return nil, clientErr(codeVpcLimitExceeded, "The maximum number of VPCs has been reached.")
	}
	if c.dryRun {
		return nil, errDryRun
	}
	v := c.w.addVPC(canon, ipv6, false, tenancy, t, c.now)
	return &createVpcResponse{Vpc: c.xmlVpc(v)}, nil
}

// markUsed consumes a whole subtree, for parameters refused as a unit.
func markUsed(n *pnode) {
	if n == nil {
		return
	}
	n.used = true
	for _, c := range n.children {
		markUsed(c)
	}
}

// DeleteVpc deletes an empty VPC together with its default security group:
// "you must … delete all security groups associated with the VPC (except
// the default one)" (API reference, DeleteVpc,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpc.html).
// Any other group still in it is a dependency: DependencyViolation "The vpc
// '…' has dependencies and cannot be deleted." (EC2's text as users of
// Terraform report it on destroy). The default VPC may be deleted too; the
// account then has none, and calls that rely on it answer
// VPCIdNotSpecified.
func handleDeleteVpc(c *call) (response, *apiError) {
	id, hasID := c.n.str("VpcId")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errMissing("VpcId")
	}
	defer c.lockWorld()()
	v, err := c.vpcByID(id)
	if err != nil {
		return nil, err
	}
	for _, g := range c.w.Groups {
		if g.VPCID == v.ID && g.ID != v.DefaultGroupID {
			return nil, clientErr(codeDependencyViolation, "The vpc '%s' has dependencies and cannot be deleted.", v.ID)
		}
	}
	if c.w.vpcHasAssociations(v.ID) {
		return nil, clientErr(codeDependencyViolation, "The vpc '%s' has dependencies and cannot be deleted.", v.ID)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	c.w.removeVPC(v)
	return &returnResponse{XMLName: rootName(c.action), Return: true}, nil
}
