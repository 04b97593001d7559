package ec2sim

import (
	"cmp"
	"slices"
	"strings"
)

// CreateTags, DeleteTags and DescribeTags for the resources the simulator
// models: security groups, security group rules and VPCs.

// taggable is a resolved tag target.
type taggable struct {
	id, resourceType string
	tags             *tags
}

// resolveTaggable finds a visible resource by id. Ids of other resource
// types, or ids that are not ids at all, are InvalidID.
func (c *call) resolveTaggable(id string) (taggable, *apiError) {
	switch {
	case isResourceID(id, "sgr-"):
		if r := c.w.Rules[id]; r != nil && c.ruleVisible(r) {
			return taggable{id, "security-group-rule", &r.Tags}, nil
		}
		return taggable{}, errRuleNotFound(id)
	case isResourceID(id, "sg-"):
		if g := c.w.Groups[id]; g != nil && c.visible(g.Created) {
			return taggable{id, "security-group", &g.Tags}, nil
		}
		return taggable{}, errGroupNotFound(id)
	case isResourceID(id, "vpc-"):
		if v := c.w.VPCs[id]; v != nil && c.visible(v.Created) {
			return taggable{id, "vpc", &v.Tags}, nil
		}
		return taggable{}, errVpcNotFound(id)
	case isResourceID(id, "pl-"):
		if pl := c.w.PrefixLists[id]; pl != nil && c.visible(pl.Created) {
			return taggable{id, prefixListResourceType, &pl.Tags}, nil
		}
		return taggable{}, errPrefixListNotFound(id)
	}
	return taggable{}, clientErr(codeInvalidID, "The ID '%s' is not valid", truncate(id, 128))
}

func decodeResourceIDs(n *pnode) ([]string, *apiError) {
	ids := n.strList("ResourceId")
	if len(ids) == 0 {
		return nil, errMissing("ResourceId")
	}
	if len(ids) > maxTagResourcesPerCall {
		return nil, clientErr(codeInvalidParameterValue, "At most %d resource ids may be tagged in one call", maxTagResourcesPerCall)
	}
	return ids, nil
}

func handleCreateTags(c *call) (response, *apiError) {
	ids, err := decodeResourceIDs(c.n)
	if err != nil {
		return nil, err
	}
	list := decodeTagList(c.n, "Tag")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errMissing("Tag")
	}
	add, err := checkedTags(list, c.s.limits.tagsPerResource)
	if err != nil {
		return nil, err
	}

	defer c.lockWorld()()
	targets := make([]taggable, 0, len(ids))
	for _, id := range ids {
		t, err := c.resolveTaggable(id)
		if err != nil {
			return nil, err
		}
		merged := len(*t.tags)
		for k := range add {
			if _, ok := (*t.tags)[k]; !ok {
				merged++
			}
		}
		if merged > c.s.limits.tagsPerResource {
			return nil, clientErr(codeTagLimitExceeded, "The maximum number of tags per resource (%d) has been exceeded for %s", c.s.limits.tagsPerResource, id)
		}
		targets = append(targets, t)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	for _, t := range targets {
		c.w.touch(t.id)
		if *t.tags == nil {
			*t.tags = make(tags, len(add))
		}
		for k, v := range add {
			(*t.tags)[k] = v
		}
	}
	if len(ids) == 1 && isResourceID(ids[0], "sg-") {
		c.groupID = ids[0]
	}
	return &returnResponse{XMLName: rootName(c.action), Return: true}, nil
}

// DeleteTags: a tag given with a value is removed only if the value matches
// (an empty value matches only an empty value); a tag given without one is
// removed whatever its value; no tags at all removes every tag.
func handleDeleteTags(c *call) (response, *apiError) {
	ids, err := decodeResourceIDs(c.n)
	if err != nil {
		return nil, err
	}
	list := decodeTagList(c.n, "Tag")
	if err := c.finishDecode(); err != nil {
		return nil, err
	}
	for _, t := range list {
		if t.Key == "" {
			return nil, errMissing("Tag.Key")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, clientErr(codeInvalidParameterValue, "Value ( %s ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", t.Key)
		}
	}

	defer c.lockWorld()()
	targets := make([]taggable, 0, len(ids))
	for _, id := range ids {
		t, err := c.resolveTaggable(id)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	if c.dryRun {
		return nil, errDryRun
	}
	for _, t := range targets {
		c.w.touch(t.id)
		if len(list) == 0 {
			*t.tags = nil
			continue
		}
		for _, x := range list {
			if v, ok := (*t.tags)[x.Key]; ok && (!x.HasValue || v == x.Value) {
				delete(*t.tags, x.Key)
			}
		}
	}
	if len(ids) == 1 && isResourceID(ids[0], "sg-") {
		c.groupID = ids[0]
	}
	return &returnResponse{XMLName: rootName(c.action), Return: true}, nil
}

func handleDescribeTags(c *call) (response, *apiError) {
	in, err := decodeDescribe(c, tagFilters, nil, nil)
	if err != nil {
		return nil, err
	}
	filters, pg := in.filters, in.page

	defer c.lockWorld()()
	var all []xmlTagDescription
	collect := func(id, rtype string, t tags) {
		for k, v := range t {
			all = append(all, xmlTagDescription{ResourceID: id, ResourceType: rtype, Key: k, Value: v})
		}
	}
	for _, g := range c.w.Groups {
		if c.visible(g.Created) {
			collect(g.ID, "security-group", g.Tags)
		}
	}
	for _, r := range c.w.Rules {
		if c.ruleVisible(r) {
			collect(r.ID, "security-group-rule", r.Tags)
		}
	}
	for _, v := range c.w.VPCs {
		if c.visible(v.Created) {
			collect(v.ID, "vpc", v.Tags)
		}
	}
	for _, pl := range c.w.PrefixLists {
		if c.visible(pl.Created) {
			collect(pl.ID, prefixListResourceType, pl.Tags)
		}
	}
	var matched []xmlTagDescription
	for _, d := range all {
		if tagMatches(d, filters) {
			matched = append(matched, d)
		}
	}
	pos := func(d xmlTagDescription) string { return d.ResourceID + "\x01" + d.Key }
	slices.SortFunc(matched, func(a, b xmlTagDescription) int { return cmp.Compare(pos(a), pos(b)) })
	if c.dryRun {
		return nil, errDryRun
	}
	page, next, err := paginate(matched, pos, "tag", pg)
	if err != nil {
		return nil, err
	}
	return &describeTagsResponse{TagSet: append([]xmlTagDescription{}, page...), NextToken: next}, nil
}

func tagMatches(d xmlTagDescription, fs []filter) bool {
	for _, f := range fs {
		var ok bool
		switch f.Name {
		case "key":
			ok = matchAny(f.Values, d.Key)
		case "value":
			ok = matchAny(f.Values, d.Value)
		case "resource-id":
			ok = matchAny(f.Values, d.ResourceID)
		case "resource-type":
			ok = matchAny(f.Values, d.ResourceType)
		default: // tag:<key> selects entries with that key and a matching value
			key := strings.TrimPrefix(f.Name, "tag:")
			ok = d.Key == key && matchAny(f.Values, d.Value)
		}
		if !ok {
			return false
		}
	}
	return true
}
