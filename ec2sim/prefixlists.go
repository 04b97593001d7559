package ec2sim

import (
	"cmp"
	"encoding/xml"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Managed prefix lists: CreateManagedPrefixList, DescribeManagedPrefixLists,
// GetManagedPrefixListEntries, ModifyManagedPrefixList and
// DeleteManagedPrefixList, and the AWS-managed lists of each region
// (com.amazonaws.<region>.s3 and friends), so that a rule naming a pl- id is
// checked against a list that exists and a list counts against the rule
// quota as EC2 counts it.
//
// Sources: the EC2 API reference of the five calls and of
// ManagedPrefixList/PrefixListEntry; "Amazon VPC quotas" (managed prefix
// lists: at most 1,000 entries per list); the error codes list of the EC2
// API reference (InvalidPrefixListID.NotFound, InvalidPrefixListId.Malformed,
// PrefixListVersionMismatch, PrefixListMaxEntriesExceeded,
// InvalidPrefixListModification). Choices marked "unverified" are the
// endpoint's own where EC2's answer could not be established.

type prefixList struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	AddressFamily string    `json:"family"` // "IPv4" or "IPv6"
	MaxEntries    int       `json:"maxEntries"`
	Version       int64     `json:"version"`
	State         string    `json:"state"`
	Entries       []plEntry `json:"entries"`
	Tags          tags      `json:"tags,omitempty"`
	Created       time.Time `json:"created"`
	// ClientToken is the token the list was created with, if any.
	ClientToken string `json:"clientToken,omitempty"`
	// awsManaged lists belong to "AWS", exist in every account and cannot
	// be changed; they are not stored.
	awsManaged bool
	// weight is an AWS-managed list's quota weight (see quotaWeight).
	weight int
}

type plEntry struct {
	CIDR        string `json:"cidr"`
	Description string `json:"description,omitempty"`
}

const (
	maxPrefixListEntries   = 1000 // "Amazon VPC quotas": max entries per list
	maxEntriesPerRequest   = 100  // API reference: Entry.N / AddEntry.N hold up to 100
	describePLMinResults   = 1
	describePLMaxResults   = 100
	awsOwner               = "AWS"
	codePLNotFound         = "InvalidPrefixListID.NotFound"
	codePLVersionMismatch  = "PrefixListVersionMismatch"
	codePLMaxEntries       = "PrefixListMaxEntriesExceeded"
	codePLModification     = "InvalidPrefixListModification"
	plStateCreateComplete  = "create-complete"
	plStateModifyComplete  = "modify-complete"
	plStateDeleteFailed    = "delete-failed"
	plReservedNamePrefix   = "com.amazonaws"
	prefixListResourceType = "prefix-list"
)

func errPrefixListNotFound(id string) *apiError {
	return clientErr(codePLNotFound, "The prefix list ID '%s' does not exist", id)
}

// awsManagedLists are the AWS-managed lists of a region, as EC2 lists them
// by name (API reference, DescribeManagedPrefixLists: "AWS-managed prefix
// lists"; VPC user guide, "AWS-managed prefix lists"). Their ids are fixed
// per region (derived from region and name here, so they are stable across
// restarts), and their entries are illustrative documentation ranges, not
// AWS's current address ranges.
func awsManagedLists(region string) []*prefixList {
	mk := func(name, family string, weight int, cidrs ...string) *prefixList {
		h := fnv.New32a()
		_, _ = h.Write([]byte(region + "/" + name))
		pl := &prefixList{
			ID: "pl-" + strconv.FormatUint(uint64(h.Sum32())|1<<31, 16), Name: name, AddressFamily: family,
			MaxEntries: len(cidrs), Version: 1, State: plStateCreateComplete, awsManaged: true, weight: weight,
		}
		for _, c := range cidrs {
			pl.Entries = append(pl.Entries, plEntry{CIDR: c})
		}
		return pl
	}
	return []*prefixList{
		mk("com.amazonaws."+region+".s3", "IPv4", 1, "192.0.2.0/25", "198.51.100.0/24"),
		mk("com.amazonaws."+region+".dynamodb", "IPv4", 1, "192.0.2.128/25", "203.0.113.0/24"),
		mk("com.amazonaws.global.cloudfront.origin-facing", "IPv4", 55, "198.18.0.0/15"),
	}
}

// awsManagedList is the region's AWS-managed list with id, or nil.
func awsManagedList(region, id string) *prefixList {
	for _, pl := range awsManagedLists(region) {
		if pl.ID == id {
			return pl
		}
	}
	return nil
}

// prefixListByID finds a visible list of this account or an AWS-managed
// list of the region.
func (c *call) prefixListByID(id string) (*prefixList, *apiError) {
	if err := checkPrefixListID(id); err != nil {
		return nil, err
	}
	if pl := c.w.PrefixLists[id]; pl != nil && c.visible(pl.Created) {
		return pl, nil
	}
	if pl := awsManagedList(c.w.Region, id); pl != nil {
		return pl, nil
	}
	return nil, errPrefixListNotFound(id)
}

// quotaWeight is how many rules a rule referencing the list counts for:
// a customer-managed list counts as its MaxEntries (reference §4; a list
// of one entry already filling a group's quota is reported in
// awsdocs/amazon-vpc-user-guide#72), an AWS-managed one as its documented
// weight (VPC user guide, "AWS-managed prefix list weight": CloudFront's
// origin-facing list 55, the S3 and DynamoDB lists 1), which is what the
// reference's "counts once" holds for the S3 and DynamoDB lists. Against
// which IP family a customer-managed list counts is unverified: here
// against both, like the other references, which refuses rather than
// over-admits.
func (pl *prefixList) quotaWeight() int {
	if pl.awsManaged {
		return pl.weight
	}
	return pl.MaxEntries
}

func (pl *prefixList) arn(region, account string) string {
	owner := account
	if pl.awsManaged {
		owner = "aws"
	}
	return "arn:aws:ec2:" + region + ":" + owner + ":prefix-list/" + pl.ID
}

// decodeEntries reads Entry.N/AddEntry.N: Cidr and Description.
func decodeEntries(n *pnode, name string) []plEntry {
	var out []plEntry
	for _, it := range n.items(name) {
		cidr, _ := it.str("Cidr")
		desc, _ := it.str("Description")
		out = append(out, plEntry{CIDR: cidr, Description: desc})
	}
	return out
}

// checkEntries canonicalises entries of a list of the given family.
func checkEntries(entries []plEntry, family string, param string) ([]plEntry, *apiError) {
	if len(entries) > maxEntriesPerRequest {
		return nil, clientErr(codeInvalidParameterValue, "At most %d entries may be given in %s in one request", maxEntriesPerRequest, param)
	}
	seen := map[string]bool{}
	out := make([]plEntry, len(entries))
	for i, e := range entries {
		if e.CIDR == "" {
			return nil, errMissing(param + ".Cidr")
		}
		cidr, err := canonicalCIDR(e.CIDR, family == "IPv6")
		if err != nil {
			return nil, clientErr(codeInvalidParameterValue, "The CIDR %s in %s is not a valid %s CIDR", e.CIDR, param, family)
		}
		if len(e.Description) > maxDescriptionLen {
			return nil, clientErr(codeInvalidParameterValue, "The description of %s in %s exceeds %d characters", e.CIDR, param, maxDescriptionLen)
		}
		if seen[cidr] {
			// Unverified code: EC2 refuses the same CIDR twice.
			return nil, clientErr(codeInvalidParameterValue, "The CIDR %s appears more than once in %s", cidr, param)
		}
		seen[cidr] = true
		out[i] = plEntry{CIDR: cidr, Description: e.Description}
	}
	return out, nil
}

func checkMaxEntries(v *int32) (int, *apiError) {
	if v == nil {
		return 0, errMissing("MaxEntries")
	}
	if *v < 1 || *v > maxPrefixListEntries {
		return 0, clientErr(codeInvalidParameterValue, "Value ( %d ) for parameter maxEntries is invalid. Parameter must be between 1 and %d.", *v, maxPrefixListEntries)
	}
	return int(*v), nil
}

func checkPrefixListName(name string) *apiError {
	switch {
	case name == "":
		return errMissing("PrefixListName")
	case len(name) > maxGroupNameLen:
		return clientErr(codeInvalidParameterValue, "Value (%s) for parameter prefixListName is invalid. Length exceeds maximum of %d.", truncate(name, 64), maxGroupNameLen)
	case strings.HasPrefix(strings.ToLower(name), plReservedNamePrefix):
		// API reference, CreateManagedPrefixList: "Constraints: Up to 255
		// characters in length. The name cannot start with com.amazonaws."
		return clientErr(codeInvalidParameterValue, "Value (%s) for parameter prefixListName is invalid. The name cannot start with com.amazonaws.", truncate(name, 64))
	}
	return nil
}

func handleCreateManagedPrefixList(c *call) (response, *apiError) {
	name, _ := c.n.str("PrefixListName")
	family, hasFamily := c.n.str("AddressFamily")
	maxEntries, err := c.n.int32Param("MaxEntries")
	if err != nil {
		return nil, err
	}
	entries := decodeEntries(c.n, "Entry")
	token, _ := c.n.str("ClientToken")
	t, err := decodeTagSpecs(c.n, prefixListResourceType, c.s.limits.tagsPerResource)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if err := checkPrefixListName(name); err != nil {
		return nil, err
	}
	max, err := checkMaxEntries(maxEntries)
	if err != nil {
		return nil, err
	}
	switch {
	case !hasFamily:
		return nil, errMissing("AddressFamily")
	case family != "IPv4" && family != "IPv6":
		return nil, clientErr(codeInvalidParameterValue, "Value (%s) for parameter addressFamily is invalid. Valid values: IPv4, IPv6", truncate(family, 32))
	}
	if entries, err = checkEntries(entries, family, "Entry"); err != nil {
		return nil, err
	}
	if len(entries) > max {
		return nil, clientErr(codePLMaxEntries, "The prefix list has %d entries, more than its maximum of %d.", len(entries), max)
	}

	defer c.lockWorld()()
	// ClientToken makes the create idempotent (API reference,
	// CreateManagedPrefixList; "Ensuring idempotency"): the same token
	// answers with the list it created.
	if token != "" {
		for _, pl := range c.w.PrefixLists {
			if pl.ClientToken == token {
				return &prefixListResponse{XMLName: rootName(c.action), PrefixList: c.xmlPrefixList(pl)}, nil
			}
		}
	}
	if c.dryRun {
		return nil, errDryRun
	}
	pl := &prefixList{
		ID: newID("pl-", c.w.idTaken), Name: name, AddressFamily: family, MaxEntries: max, Version: 1,
		State: plStateCreateComplete, Entries: entries, Tags: t, Created: c.now, ClientToken: token,
	}
	c.w.PrefixLists[pl.ID] = pl
	c.w.touch(pl.ID)
	return &prefixListResponse{XMLName: rootName(c.action), PrefixList: c.xmlPrefixList(pl)}, nil
}

var prefixListFilters = map[string]bool{"owner-id": true, "prefix-list-id": true, "prefix-list-name": true}

func handleDescribeManagedPrefixLists(c *call) (response, *apiError) {
	ids := c.n.strList("PrefixListId")
	filters, err := decodeFilters(c.n)
	if err != nil {
		return nil, err
	}
	pg, err := decodePLPagination(c.n)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if err := checkFilterNames(filters, prefixListFilters); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := checkPrefixListID(id); err != nil {
			return nil, err
		}
	}

	defer c.lockWorld()()
	var candidates []*prefixList
	if len(ids) > 0 {
		seen := map[string]bool{}
		for _, id := range ids {
			pl, err := c.prefixListByID(id)
			if err != nil {
				return nil, err
			}
			if !seen[id] {
				seen[id] = true
				candidates = append(candidates, pl)
			}
		}
	} else {
		candidates = awsManagedLists(c.w.Region)
		for _, pl := range c.w.PrefixLists {
			if c.visible(pl.Created) {
				candidates = append(candidates, pl)
			}
		}
	}
	var matched []*prefixList
	for _, pl := range candidates {
		if c.prefixListMatches(pl, filters) {
			matched = append(matched, pl)
		}
	}
	slices.SortFunc(matched, func(a, b *prefixList) int { return cmp.Compare(a.ID, b.ID) })
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, func(pl *prefixList) string { return pl.ID }, "pl", pg)
	if err != nil {
		return nil, err
	}
	out := &describePrefixListsResponse{PrefixListSet: []xmlManagedPrefixList{}, NextToken: next}
	for _, pl := range page {
		out.PrefixListSet = append(out.PrefixListSet, c.xmlPrefixList(pl))
	}
	return out, nil
}

func (c *call) prefixListMatches(pl *prefixList, fs []filter) bool {
	for _, f := range fs {
		if handled, ok := matchTags(f, pl.Tags); handled {
			if !ok {
				return false
			}
			continue
		}
		var v string
		switch f.Name {
		case "owner-id":
			v = c.plOwner(pl)
		case "prefix-list-id":
			v = pl.ID
		case "prefix-list-name":
			v = pl.Name
		}
		if !matchAny(f.Values, v) {
			return false
		}
	}
	return true
}

func (c *call) plOwner(pl *prefixList) string {
	if pl.awsManaged {
		return awsOwner
	}
	return c.w.Account
}

// decodePLPagination: the prefix-list calls take MaxResults 1–100 (API
// reference), not the 5–1000 of the security-group describes.
func decodePLPagination(n *pnode) (pagination, *apiError) {
	return decodePaginationIn(n, describePLMinResults, describePLMaxResults)
}

// GetManagedPrefixListEntries answers the current version's entries,
// sorted by CIDR (unverified order). Earlier versions are not kept, so a
// change costs the list's size and not its history: a TargetVersion other
// than the current one is InvalidParameterValue. EC2 serves earlier
// versions too; how many it keeps is not established here.
func handleGetManagedPrefixListEntries(c *call) (response, *apiError) {
	id, hasID := c.n.str("PrefixListId")
	target, err := c.n.int32Param("TargetVersion")
	if err != nil {
		return nil, err
	}
	pg, err := decodePLPagination(c.n)
	if err != nil {
		return nil, err
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errMissing("PrefixListId")
	}
	defer c.lockWorld()()
	pl, err := c.prefixListByID(id)
	if err != nil {
		return nil, err
	}
	if target != nil && int64(*target) != pl.Version {
		return nil, clientErr(codeInvalidParameterValue, "Version %d of prefix list %s is not available; the current version is %d", *target, pl.ID, pl.Version)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	entries := slices.Clone(pl.Entries)
	slices.SortFunc(entries, func(a, b plEntry) int { return cmp.Compare(a.CIDR, b.CIDR) })
	page, next, err := paginate(entries, func(e plEntry) string { return e.CIDR }, "ple", pg)
	if err != nil {
		return nil, err
	}
	out := &prefixListEntriesResponse{Entries: []xmlPLEntry{}, NextToken: next}
	for _, e := range page {
		out.Entries = append(out.Entries, xmlPLEntry(e))
	}
	return out, nil
}

// ModifyManagedPrefixList: removals apply before additions, so one call can
// replace an entry's description; a change of entries makes a new version,
// a change of name or size alone does not (both unverified). CurrentVersion,
// when given, must be the list's version: PrefixListVersionMismatch "The
// prefix list has the incorrect version number." (EC2's answer quoted in
// hashicorp/terraform-provider-aws#43528). Entries and MaxEntries cannot
// change together: InvalidParameterCombination (quoted in
// hashicorp/terraform-provider-aws#26034).
func handleModifyManagedPrefixList(c *call) (response, *apiError) {
	id, hasID := c.n.str("PrefixListId")
	current, err := c.n.int32Param("CurrentVersion")
	if err != nil {
		return nil, err
	}
	newName, hasName := c.n.str("PrefixListName")
	maxEntries, err := c.n.int32Param("MaxEntries")
	if err != nil {
		return nil, err
	}
	add := decodeEntries(c.n, "AddEntry")
	var remove []string
	for _, it := range c.n.items("RemoveEntry") {
		cidr, _ := it.str("Cidr")
		remove = append(remove, cidr)
	}
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errMissing("PrefixListId")
	}
	if err := checkPrefixListID(id); err != nil {
		return nil, err
	}
	if maxEntries != nil && (len(add) > 0 || len(remove) > 0) {
		return nil, clientErr(codeInvalidParamCombination, "You cannot modify the entries and the maximum entries for the prefix list in the same request.")
	}
	if hasName {
		if err := checkPrefixListName(newName); err != nil {
			return nil, err
		}
	}
	var newMax int
	if maxEntries != nil {
		if newMax, err = checkMaxEntries(maxEntries); err != nil {
			return nil, err
		}
	}
	if len(remove) > maxEntriesPerRequest {
		return nil, clientErr(codeInvalidParameterValue, "At most %d entries may be given in RemoveEntry in one request", maxEntriesPerRequest)
	}

	defer c.lockWorld()()
	pl, err := c.prefixListByID(id)
	if err != nil {
		return nil, err
	}
	if pl.awsManaged {
		// Unverified code: an AWS-managed list cannot be changed.
		return nil, clientErr(codePLModification, "The prefix list %s is managed by AWS and cannot be modified.", pl.ID)
	}
	if current != nil && int64(*current) != pl.Version {
		return nil, clientErr(codePLVersionMismatch, "The prefix list has the incorrect version number.")
	}
	if add, err = checkEntries(add, pl.AddressFamily, "AddEntry"); err != nil {
		return nil, err
	}
	entries := slices.Clone(pl.Entries)
	for _, raw := range remove {
		cidr, cerr := canonicalCIDR(raw, pl.AddressFamily == "IPv6")
		if cerr != nil {
			return nil, clientErr(codeInvalidParameterValue, "The CIDR %s in RemoveEntry is not a valid %s CIDR", raw, pl.AddressFamily)
		}
		i := slices.IndexFunc(entries, func(e plEntry) bool { return e.CIDR == cidr })
		if i < 0 {
			// Unverified code: removing an entry the list does not have.
			return nil, clientErr(codePLModification, "The prefix list %s has no entry %s.", pl.ID, cidr)
		}
		entries = slices.Delete(entries, i, i+1)
	}
	for _, e := range add {
		if slices.ContainsFunc(entries, func(x plEntry) bool { return x.CIDR == e.CIDR }) {
			// Unverified code: adding an entry the list already has.
			return nil, clientErr(codePLModification, "The prefix list %s already has an entry %s.", pl.ID, e.CIDR)
		}
		entries = append(entries, e)
	}
	size := pl.MaxEntries
	if maxEntries != nil {
		size = newMax
	}
	if len(entries) > size {
		return nil, clientErr(codePLMaxEntries, "The prefix list would have %d entries, more than its maximum of %d.", len(entries), size)
	}
	if size > pl.MaxEntries {
		// A larger list weighs more in every group that references it;
		// EC2 refuses a resize that would take a group over its rule
		// quota (VPC user guide, "Resize a prefix list"; code unverified).
		if err := c.checkResize(pl, size); err != nil {
			return nil, err
		}
	}
	if c.dryRun {
		return nil, errDryRun
	}
	if len(add) > 0 || len(remove) > 0 {
		pl.Entries = entries
		pl.Version++
	}
	pl.MaxEntries = size
	if hasName {
		pl.Name = newName
	}
	pl.State = plStateModifyComplete
	c.w.touch(pl.ID)
	return &prefixListResponse{XMLName: rootName(c.action), PrefixList: c.xmlPrefixList(pl)}, nil
}

// checkResize checks every group with a rule naming the list against its
// rule quota as if the list had size entries.
func (c *call) checkResize(pl *prefixList, size int) *apiError {
	groups := map[string]bool{}
	for _, r := range c.w.Rules {
		if r.Spec.Kind == kindPrefixList && r.Spec.Target == pl.ID {
			groups[r.GroupID] = true
		}
	}
	weight := func(id string) int {
		if id == pl.ID {
			return size
		}
		return c.prefixListWeight(id)
	}
	for gid := range groups {
		g := c.w.Groups[gid]
		if g == nil {
			continue
		}
		for _, egress := range []bool{false, true} {
			v4, v6 := familyCounts(specsOf(c.w.rulesOf(g, egress)), weight)
			if limit := c.s.limits.rulesPerDirection; v4 > limit || v6 > limit {
				return clientErr(codeRulesPerGroupLimit, "Resizing prefix list %s to %d entries would exceed the rule quota of security group %s.", pl.ID, size, g.ID)
			}
		}
	}
	return nil
}

// prefixListWeight is the quota weight of the list a rule names, the
// region's AWS-managed lists included; a list that is gone weighs one
// rule.
func (c *call) prefixListWeight(id string) int {
	if pl := c.w.PrefixLists[id]; pl != nil {
		return pl.quotaWeight()
	}
	if pl := awsManagedList(c.w.Region, id); pl != nil {
		return pl.quotaWeight()
	}
	return 1
}

// DeleteManagedPrefixList deletes a list no rule references. A referenced
// list is not deleted: EC2 accepts the call and the list ends in the state
// delete-failed (as users report, e.g. hashicorp/terraform-provider-aws#20991);
// here the call answers at once with that state.
func handleDeleteManagedPrefixList(c *call) (response, *apiError) {
	id, hasID := c.n.str("PrefixListId")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if !hasID {
		return nil, errMissing("PrefixListId")
	}
	defer c.lockWorld()()
	pl, err := c.prefixListByID(id)
	if err != nil {
		return nil, err
	}
	if pl.awsManaged {
		// Unverified code: an AWS-managed list cannot be deleted.
		return nil, clientErr(codePLModification, "The prefix list %s is managed by AWS and cannot be deleted.", pl.ID)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	for _, r := range c.w.Rules {
		if r.Spec.Kind == kindPrefixList && r.Spec.Target == pl.ID {
			pl.State = plStateDeleteFailed
			c.w.touch(pl.ID)
			return &prefixListResponse{XMLName: rootName(c.action), PrefixList: c.xmlPrefixList(pl)}, nil
		}
	}
	delete(c.w.PrefixLists, pl.ID)
	c.w.touch(pl.ID)
	x := c.xmlPrefixList(pl)
	x.State = "delete-complete"
	return &prefixListResponse{XMLName: rootName(c.action), PrefixList: x}, nil
}

func (c *call) xmlPrefixList(pl *prefixList) xmlManagedPrefixList {
	x := xmlManagedPrefixList{
		PrefixListID:   pl.ID,
		AddressFamily:  pl.AddressFamily,
		State:          pl.State,
		PrefixListArn:  pl.arn(c.w.Region, c.w.Account),
		PrefixListName: pl.Name,
		Version:        pl.Version,
		TagSet:         xmlTags(pl.Tags),
		OwnerID:        c.plOwner(pl),
	}
	if !pl.awsManaged {
		x.MaxEntries = pl.MaxEntries
	}
	return x
}

type xmlManagedPrefixList struct {
	PrefixListID   string   `xml:"prefixListId"`
	AddressFamily  string   `xml:"addressFamily"`
	State          string   `xml:"state"`
	PrefixListArn  string   `xml:"prefixListArn"`
	PrefixListName string   `xml:"prefixListName"`
	MaxEntries     int      `xml:"maxEntries,omitempty"`
	Version        int64    `xml:"version"`
	TagSet         []xmlTag `xml:"tagSet>item"`
	OwnerID        string   `xml:"ownerId"`
}

type prefixListResponse struct {
	XMLName xml.Name
	meta
	PrefixList xmlManagedPrefixList `xml:"prefixList"`
}

type describePrefixListsResponse struct {
	XMLName xml.Name `xml:"DescribeManagedPrefixListsResponse"`
	meta
	PrefixListSet []xmlManagedPrefixList `xml:"prefixListSet>item"`
	NextToken     string                 `xml:"nextToken,omitempty"`
}

type xmlPLEntry struct {
	CIDR        string `xml:"cidr"`
	Description string `xml:"description,omitempty"`
}

type prefixListEntriesResponse struct {
	XMLName xml.Name `xml:"GetManagedPrefixListEntriesResponse"`
	meta
	Entries   []xmlPLEntry `xml:"entrySet>item"`
	NextToken string       `xml:"nextToken,omitempty"`
}
