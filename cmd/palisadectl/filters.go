package main

import (
	"encoding/json"
	"fmt"
	"strings"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/shorthand"
)

// filter is one EC2 describe filter: a name and the values it accepts.
type filter struct {
	name   string
	values []string
}

// parseFilters reads --filters values in the AWS CLI's form
// (Name=tag:env,Values=prod, or JSON) or the short name=value form
// (tag:env=prod, vpc-id=vpc-1, group-id=sg-1), and applies them to req.
// Filters beyond the request's own fields go as EC2's filters, which the
// server checks by name.
func parseFilters(values []string, req *palisadev1.ListSecurityGroupsRequest) error {
	for i, v := range values {
		fs, err := readFilters(v)
		if err != nil {
			return usagef("--filters value %d: %v", i+1, err)
		}
		for _, f := range fs {
			if err := applyFilter(f, req); err != nil {
				return usagef("--filters value %d: %v", i+1, err)
			}
		}
	}
	return nil
}

func readFilters(v string) ([]filter, error) {
	trimmed := strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(trimmed, "["):
		var raw []struct {
			Name   string
			Values []string
		}
		if err := json.Unmarshal([]byte(v), &raw); err != nil {
			return nil, err
		}
		out := make([]filter, 0, len(raw))
		for _, r := range raw {
			out = append(out, filter{r.Name, r.Values})
		}
		return out, nil
	case strings.HasPrefix(trimmed, "Name="):
		m, err := shorthand.Parse(v)
		if err != nil {
			return nil, err
		}
		f := filter{}
		for k, x := range m {
			switch k {
			case "Name":
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("%s: expected a string, found %T", k, x)
				}
				f.name = s
			case "Values":
				items, ok := x.([]any)
				if !ok {
					items = []any{x}
				}
				for _, it := range items {
					s, ok := it.(string)
					if !ok {
						return nil, fmt.Errorf("%s: expected strings, found %T", k, it)
					}
					f.values = append(f.values, s)
				}
			default:
				return nil, fmt.Errorf("unknown key %q; valid keys are Name, Values", k)
			}
		}
		return []filter{f}, nil
	}
	name, value, ok := strings.Cut(v, "=")
	if !ok {
		return nil, fmt.Errorf("%q: write name=value (tag:env=prod) or Name=…,Values=…", v)
	}
	return []filter{{name, strings.Split(value, ",")}}, nil
}

// applyFilter puts the filters ListSecurityGroups has fields for in them
// (one-value tags, one VPC, group ids) and passes every other one on as
// EC2's own filter; the server checks its name against EC2's filters.
func applyFilter(f filter, req *palisadev1.ListSecurityGroupsRequest) error {
	if len(f.values) == 0 {
		return fmt.Errorf("filter %q has no values", f.name)
	}
	key, isTag := strings.CutPrefix(f.name, "tag:")
	switch {
	case isTag && len(f.values) == 1 && key != "":
		if _, dup := req.Tags[key]; !dup {
			if req.Tags == nil {
				req.Tags = map[string]string{}
			}
			req.Tags[key] = f.values[0]
			return nil
		}
	case f.name == "vpc-id" && len(f.values) == 1 && req.VpcId == "":
		req.VpcId = f.values[0]
		return nil
	case f.name == "group-id":
		req.GroupIds = append(req.GroupIds, f.values...)
		return nil
	}
	req.Filters = append(req.Filters, &palisadev1.Filter{Name: f.name, Values: f.values})
	return nil
}
