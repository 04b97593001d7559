package ec2sim

// Decoders for the request shapes several actions share. Each reads the wire
// keys of aws-sdk-go-v2's ec2query serializers (FlatKey lists, "Groups" for
// UserIdGroupPairs, "Tag"/"Filter"/"Value" singular) and marks them used.

type filter struct {
	Name   string
	Values []string
}

// Filter bounds: EC2 refuses requests with too many filters or values
// (FilterLimitExceeded); the value length bound is the simulator's own, so
// that one request cannot make every match in a describe scan megabytes.
const (
	maxFilters        = 50
	maxFilterValues   = 200
	maxFilterValueLen = 1024
)

func decodeFilters(n *pnode) ([]filter, *apiError) {
	var out []filter
	items := n.items("Filter")
	if len(items) > maxFilters {
		return nil, clientErr(codeFilterLimitExceeded, "The request uses too many filters (%d); at most %d are allowed", len(items), maxFilters)
	}
	for _, it := range items {
		name, ok := it.str("Name")
		if !ok || name == "" {
			return nil, clientErr(codeInvalidFilter, "The filter name must be specified")
		}
		vals := it.strList("Value")
		if len(vals) == 0 {
			return nil, clientErr(codeInvalidFilter, "The filter '%s' must have at least one value", truncate(name, 128))
		}
		if len(vals) > maxFilterValues {
			return nil, clientErr(codeFilterLimitExceeded, "The filter '%s' has too many values (%d); at most %d are allowed", truncate(name, 128), len(vals), maxFilterValues)
		}
		for _, v := range vals {
			if len(v) > maxFilterValueLen {
				return nil, clientErr(codeInvalidParameterValue, "A value of filter '%s' is longer than %d bytes", truncate(name, 128), maxFilterValueLen)
			}
		}
		out = append(out, filter{Name: name, Values: vals})
	}
	return out, nil
}

type tagReq struct {
	Key, Value string
	HasValue   bool
}

func decodeTagList(n *pnode, name string) []tagReq {
	var out []tagReq
	for _, it := range n.items(name) {
		var t tagReq
		t.Key, _ = it.str("Key")
		t.Value, t.HasValue = it.str("Value")
		out = append(out, t)
	}
	return out
}

// checkedTags validates a tag list for one resource and returns it as a map.
// A key given twice is refused rather than letting the last one win.
func checkedTags(list []tagReq, limit int) (tags, *apiError) {
	t := make(tags, len(list))
	for _, x := range list {
		if err := checkTag(x.Key, x.Value); err != nil {
			return nil, err
		}
		if _, dup := t[x.Key]; dup {
			return nil, clientErr(codeInvalidParameterValue, "Duplicate tag key '%s' specified", x.Key)
		}
		t[x.Key] = x.Value
	}
	if len(t) > limit {
		return nil, clientErr(codeTagLimitExceeded, "The maximum number of tags per resource (%d) has been exceeded", limit)
	}
	return t, nil
}

// decodeTagSpecs reads TagSpecification.N and returns the tags for the one
// resource type the action creates; any other type is refused, as EC2 does.
func decodeTagSpecs(n *pnode, resourceType string, limit int) (tags, *apiError) {
	var out tags
	seen := false
	for _, it := range n.items("TagSpecification") {
		rt, ok := it.str("ResourceType")
		if !ok || rt == "" {
			return nil, errMissing("TagSpecification.ResourceType")
		}
		if rt != resourceType {
			return nil, clientErr(codeInvalidParameterValue, "'%s' is not a valid taggable resource type for this operation.", rt)
		}
		if seen {
			return nil, clientErr(codeInvalidParameterValue, "The same resource type may not be specified more than once in tag specifications.")
		}
		seen = true
		t, err := checkedTags(decodeTagList(it, "Tag"), limit)
		if err != nil {
			return nil, err
		}
		out = t
	}
	return out, nil
}

// permReq is one IpPermission as sent, before validation.
type permReq struct {
	Protocol    string
	HasProtocol bool
	From, To    *int32
	IPv4        []rangeReq
	IPv6        []rangeReq
	PrefixLists []rangeReq
	Groups      []pairReq
}

type rangeReq struct {
	Value       string // CIDR or prefix-list id; "" when absent
	Description string
}

type pairReq struct {
	GroupID, GroupName, UserID, VPCID, PeeringID string
	Description                                  string
}

func (p permReq) sourceCount() int {
	return len(p.IPv4) + len(p.IPv6) + len(p.PrefixLists) + len(p.Groups)
}

func decodePerms(n *pnode, name string) ([]permReq, *apiError) {
	var out []permReq
	for _, it := range n.items(name) {
		var p permReq
		var err *apiError
		p.Protocol, p.HasProtocol = it.str("IpProtocol")
		if p.From, err = it.int32Param("FromPort"); err != nil {
			return nil, err
		}
		if p.To, err = it.int32Param("ToPort"); err != nil {
			return nil, err
		}
		for _, r := range it.items("IpRanges") {
			v, _ := r.str("CidrIp")
			d, _ := r.str("Description")
			p.IPv4 = append(p.IPv4, rangeReq{Value: v, Description: d})
		}
		for _, r := range it.items("Ipv6Ranges") {
			v, _ := r.str("CidrIpv6")
			d, _ := r.str("Description")
			p.IPv6 = append(p.IPv6, rangeReq{Value: v, Description: d})
		}
		for _, r := range it.items("PrefixListIds") {
			v, _ := r.str("PrefixListId")
			d, _ := r.str("Description")
			p.PrefixLists = append(p.PrefixLists, rangeReq{Value: v, Description: d})
		}
		for _, r := range it.items("Groups") {
			var g pairReq
			g.GroupID, _ = r.str("GroupId")
			g.GroupName, _ = r.str("GroupName")
			g.UserID, _ = r.str("UserId")
			g.VPCID, _ = r.str("VpcId")
			g.PeeringID, _ = r.str("VpcPeeringConnectionId")
			// PeeringStatus is an output field the SDK can echo back; it
			// carries no meaning in a request.
			_, _ = r.str("PeeringStatus")
			g.Description, _ = r.str("Description")
			p.Groups = append(p.Groups, g)
		}
		out = append(out, p)
	}
	return out, nil
}

// legacyPerm holds the pre-IpPermissions single-rule parameters of the
// authorize and revoke calls.
type legacyPerm struct {
	present            bool
	Protocol           string
	HasProtocol        bool
	From, To           *int32
	CIDR               string
	HasCIDR            bool
	SourceGroupName    string
	HasSourceGroupName bool
	SourceOwnerID      string
}

func decodeLegacyPerm(n *pnode) (legacyPerm, *apiError) {
	var l legacyPerm
	var err *apiError
	l.Protocol, l.HasProtocol = n.str("IpProtocol")
	if l.From, err = n.int32Param("FromPort"); err != nil {
		return l, err
	}
	if l.To, err = n.int32Param("ToPort"); err != nil {
		return l, err
	}
	l.CIDR, l.HasCIDR = n.str("CidrIp")
	l.SourceGroupName, l.HasSourceGroupName = n.str("SourceSecurityGroupName")
	var hasOwner bool
	l.SourceOwnerID, hasOwner = n.str("SourceSecurityGroupOwnerId")
	l.present = l.HasProtocol || l.From != nil || l.To != nil || l.HasCIDR || l.HasSourceGroupName || hasOwner
	return l, nil
}

// perms turns the legacy parameters into IpPermissions. A source group opens
// all TCP, UDP and ICMP to that group, which is what EC2 documents for the
// SourceSecurityGroupName form.
func (l legacyPerm) perms() ([]permReq, *apiError) {
	if l.HasSourceGroupName {
		if l.HasCIDR || l.HasProtocol || l.From != nil || l.To != nil {
			return nil, clientErr(codeInvalidParamCombination, "SourceSecurityGroupName cannot be combined with CidrIp, IpProtocol, FromPort or ToPort")
		}
		pair := []pairReq{{GroupName: l.SourceGroupName, UserID: l.SourceOwnerID}}
		zero, max, none := int32(0), int32(65535), int32(-1)
		return []permReq{
			{Protocol: "tcp", HasProtocol: true, From: &zero, To: &max, Groups: pair},
			{Protocol: "udp", HasProtocol: true, From: &zero, To: &max, Groups: pair},
			{Protocol: "icmp", HasProtocol: true, From: &none, To: &none, Groups: pair},
		}, nil
	}
	if !l.HasCIDR {
		return nil, errMissing("CidrIp")
	}
	return []permReq{{Protocol: l.Protocol, HasProtocol: l.HasProtocol, From: l.From, To: l.To, IPv4: []rangeReq{{Value: l.CIDR}}}}, nil
}

// pagination is the MaxResults/NextToken pair of the describe calls.
type pagination struct {
	MaxResults int // 0: everything in one page
	NextToken  string
	HasToken   bool
}

func decodePagination(n *pnode) (pagination, *apiError) {
	return decodePaginationIn(n, describeMinResults, describeMaxResults)
}

// decodePaginationIn reads MaxResults, which must lie in [lo, hi], and
// NextToken.
func decodePaginationIn(n *pnode, lo, hi int32) (pagination, *apiError) {
	var pg pagination
	max, err := n.int32Param("MaxResults")
	if err != nil {
		return pg, err
	}
	if max != nil {
		if *max < lo || *max > hi {
			return pg, clientErr(codeInvalidParameterValue, "Value ( %d ) for parameter maxResults is invalid. Parameter must be between %d and %d.", *max, lo, hi)
		}
		pg.MaxResults = int(*max)
	}
	pg.NextToken, pg.HasToken = n.str("NextToken")
	return pg, nil
}

// describeInput is what every Describe call takes besides its own fields:
// filters and a page.
type describeInput struct {
	filters []filter
	page    pagination
}

// decodeDescribe reads a Describe call's filters and page, ends decoding
// (so an unknown parameter fails the call), refuses filter names the call
// does not know, and checks the ids it was given with checkID, in EC2's
// order. Read every other parameter of the call before calling it.
func decodeDescribe(c *call, known map[string]bool, ids []string, checkID func(string) *apiError) (describeInput, *apiError) {
	filters, err := decodeFilters(c.n)
	if err != nil {
		return describeInput{}, err
	}
	pg, err := decodePagination(c.n)
	if err != nil {
		return describeInput{}, err
	}
	if err := c.finishDecode(); err != nil {
		return describeInput{}, err
	}
	if err := checkFilterNames(filters, known); err != nil {
		return describeInput{}, err
	}
	for _, id := range ids {
		if err := checkID(id); err != nil {
			return describeInput{}, err
		}
	}
	return describeInput{filters: filters, page: pg}, nil
}
