package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// tagCommand is create-tags or delete-tags with the AWS CLI's syntax:
// --resources sg-… sgr-… --tags Key=k,Value=v. Palisade orders every
// change by group, so the resources are one group and rules of that
// group; the group is the sg- named, or --group-id, or looked up from the
// rules.
func tagCommand(name string) command {
	deleting := name == "delete-tags"
	summary := "set tags on a security group and on its rules (sgr-…)"
	tagsHelp := "tags, each Key=k,Value=v (or a JSON list of {\"Key\":…,\"Value\":…}) (required)"
	if deleting {
		summary = "remove tags from a security group and from its rules (sgr-…)"
		tagsHelp = "tags to remove, each Key=k (whatever the value) or Key=k,Value=v (only with that value) (required)"
	}
	return command{
		name:     name,
		summary:  summary,
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			resources := listVar(fs, "resources", "the group (sg-…) and/or rules of that group (sgr-…) (required)", true)
			tags := listVar(fs, "tags", tagsHelp, false)
			groupID := fs.String("group-id", "", "the group the rules belong to (default: the sg- among --resources, or the rules' own group)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if len(resources.values) == 0 || len(tags.values) == 0 {
					return usagef("--resources and --tags are required")
				}
				var set map[string]string
				var keys []string
				var err error
				if deleting {
					set, keys, err = parseTagsToDelete(tags.values)
				} else {
					set, err = parseTags(tags.values)
				}
				if err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				group, err := e.tagGroup(ctx, *groupID, resources.values)
				if err != nil {
					return err
				}
				loc := e.g.location()
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					if deleting {
						return api.DeleteTags(ctx, &palisadev1.DeleteTagsRequest{
							RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: group,
							ResourceIds: resources.values, Tags: set, TagKeys: keys,
						})
					}
					return api.CreateTags(ctx, &palisadev1.CreateTagsRequest{
						RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: group,
						ResourceIds: resources.values, Tags: set,
					})
				})
			}
		},
	}
}

// tagGroup works out the group a tag command is on: --group-id, else the
// one sg- among the resources, else the group the named rules belong to.
func (e *env) tagGroup(ctx context.Context, flagged string, resources []string) (string, error) {
	if flagged != "" {
		return flagged, nil
	}
	var groups, rules []string
	for _, id := range resources {
		if strings.HasPrefix(id, "sgr-") {
			rules = append(rules, id)
		} else {
			groups = append(groups, id)
		}
	}
	switch {
	case len(groups) == 1:
		return groups[0], nil
	case len(groups) > 1:
		return "", usagef("--resources names %d groups; tag one group (and its rules) per command", len(groups))
	}
	resp, err := e.api.ListSecurityGroupRules(ctx, &palisadev1.ListSecurityGroupRulesRequest{Location: e.g.location(), SecurityGroupRuleIds: rules})
	if err != nil {
		return "", err
	}
	var owners []string
	for _, r := range resp.GetSecurityGroupRules() {
		owners = append(owners, r.GetGroupId())
	}
	slices.Sort(owners)
	owners = slices.Compact(owners)
	switch len(owners) {
	case 0:
		return "", usagef("no rule among --resources exists in %s/%s", e.g.location().GetAccountId(), e.g.location().GetRegion())
	case 1:
		return owners[0], nil
	}
	return "", usagef("the rules belong to %d groups (%s); tag one group's rules per command", len(owners), strings.Join(owners, ", "))
}

// parseTagsToDelete reads delete-tags' --tags: Key=k removes the tag
// whatever its value, Key=k,Value=v only where it has the value v, as
// `aws ec2 delete-tags` does.
func parseTagsToDelete(values []string) (map[string]string, []string, error) {
	withValue := map[string]string{}
	var anyValue []string
	for i, v := range values {
		items, err := tagItems(v)
		if err != nil {
			return nil, nil, usagef("--tags value %d: %v", i+1, err)
		}
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, nil, usagef("--tags value %d: expected Key=…[,Value=…], found %v", i+1, it)
			}
			key, hasKey := m["Key"].(string)
			if !hasKey {
				return nil, nil, usagef("--tags value %d: a tag needs a Key", i+1)
			}
			for k := range m {
				if k != "Key" && k != "Value" {
					return nil, nil, usagef("--tags value %d: unknown key %q; valid keys are Key, Value", i+1, k)
				}
			}
			if _, dup := withValue[key]; dup || slices.Contains(anyValue, key) {
				return nil, nil, usagef("--tags value %d: tag %q given twice", i+1, key)
			}
			x, hasValue := m["Value"]
			if !hasValue {
				anyValue = append(anyValue, key)
				continue
			}
			s, ok := x.(string)
			if !ok {
				return nil, nil, usagef("--tags value %d: Value: expected a string, found %s", i+1, fmt.Sprint(x))
			}
			withValue[key] = s
		}
	}
	return withValue, anyValue, nil
}
