package validate

import (
	"fmt"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

// MaxTagResources bounds the resources one tag request names: a group and
// its rules, which EC2 caps at 1,000 per group whatever the quota.
const MaxTagResources = 1000

// TagRequest is a CreateTags or DeleteTags request.
type TagRequest interface {
	GroupRequest
	GetResourceIds() []string
}

// tagResources checks what a tag request names: the group itself and
// rules, never another group (its change would be ordered on the wrong
// group), each once.
func tagResources(r TagRequest) rules.Violations {
	ids := r.GetResourceIds()
	switch {
	case len(ids) == 0:
		return rules.Violations{{Field: "resource_ids", Description: "resource_ids is required: the group (" + truncate(r.GetGroupId()) + ") and/or sgr- ids of its rules"}}
	case len(ids) > MaxTagResources:
		return rules.Violations{{Field: "resource_ids", Description: fmt.Sprintf("%d resources given; at most %d are allowed", len(ids), MaxTagResources)}}
	}
	var v rules.Violations
	seen := map[string]bool{}
	for i, id := range ids {
		field := indexed("resource_ids", i)
		switch {
		case strings.HasPrefix(id, "sg-"):
			if id != r.GetGroupId() {
				v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("%s is not the group this request is on (group_id %s); tag another group with a request of its own", truncate(id), truncate(r.GetGroupId()))})
				continue
			}
		case strings.HasPrefix(id, "sgr-"):
			if rv := rules.ValidateRuleID(field, id); len(rv) > 0 {
				v = append(v, rv...)
				continue
			}
		default:
			v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("%q is neither the group (sg-…) nor one of its rules (sgr-…)", truncate(id))})
			continue
		}
		if seen[id] {
			v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("%s is named twice", id)})
		}
		seen[id] = true
	}
	return v
}

// CreateTags checks a CreateTagsRequest: tags follow a create's rules.
func CreateTags(r *palisadev1.CreateTagsRequest) rules.Violations {
	v := Group(r)
	v = append(v, tagResources(r)...)
	if len(r.GetTags()) == 0 {
		v = append(v, rules.Violation{Field: "tags", Description: "tags is required: give at least one tag to set"})
	}
	return append(v, Tags(r.GetTags())...).Capped()
}

// DeleteTags checks a DeleteTagsRequest. It must name a tag: EC2 takes
// none as every tag, Palisade's marker among them. Neither AWS's tags nor
// the marker may be removed.
func DeleteTags(r *palisadev1.DeleteTagsRequest) rules.Violations {
	v := Group(r)
	v = append(v, tagResources(r)...)
	keys := r.GetTagKeys()
	if len(r.GetTags()) == 0 && len(keys) == 0 {
		v = append(v, rules.Violation{Field: "tags", Description: "name the tags to remove, by tags (key and value) or tag_keys (whatever the value)"})
	}
	v = append(v, Tags(r.GetTags())...)
	if len(keys) > rules.MaxTags {
		return append(v, rules.Violation{Field: "tag_keys", Description: fmt.Sprintf("%d tag keys given; a resource carries at most %d", len(keys), rules.MaxTags)}).Capped()
	}
	seen := map[string]bool{}
	for i, k := range keys {
		field := indexed("tag_keys", i)
		for _, kv := range Tags(map[string]string{k: ""}) {
			v = append(v, rules.Violation{Field: field, Description: kv.Description})
		}
		if _, both := r.GetTags()[k]; both || seen[k] {
			v = append(v, rules.Violation{Field: field, Description: fmt.Sprintf("tag %q is named twice", truncate(k))})
		}
		seen[k] = true
	}
	return v.Capped()
}

// reservedTagKeys reports a key only AWS or Palisade may set or remove.
func reservedTagKeys(keys []string) bool {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[k] = ""
	}
	return reservedTags(m)
}
