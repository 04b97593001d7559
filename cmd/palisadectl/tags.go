package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/palisadehq/palisade/internal/shorthand"
)

// parseTags reads --tags values: each `Key=k,Value=v` shorthand, or a JSON
// list of {"Key":…,"Value":…}, as the AWS CLI's tag options take them.
func parseTags(values []string) (map[string]string, error) {
	tags := map[string]string{}
	for i, v := range values {
		items, err := tagItems(v)
		if err != nil {
			return nil, usagef("--tags value %d: %v", i+1, err)
		}
		if err := addTags(tags, items); err != nil {
			return nil, usagef("--tags value %d: %v", i+1, err)
		}
	}
	return tags, nil
}

// parseTagSpecifications reads the AWS CLI's
// `--tag-specifications ResourceType=security-group,Tags=[{Key=k,Value=v}]`
// so create-security-group commands written for the CLI carry over.
func parseTagSpecifications(values []string, tags map[string]string) error {
	for i, v := range values {
		var spec map[string]any
		var err error
		if strings.HasPrefix(strings.TrimSpace(v), "{") || strings.HasPrefix(strings.TrimSpace(v), "[") {
			err = decodeJSONSpecs(v, &spec)
		} else {
			spec, err = shorthand.Parse(v)
		}
		if err != nil {
			return usagef("--tag-specifications value %d: %v", i+1, err)
		}
		for k, x := range spec {
			switch k {
			case "ResourceType":
				if x != "security-group" {
					return usagef("--tag-specifications value %d: ResourceType %v: only security-group can be tagged here", i+1, x)
				}
			case "Tags":
				items, ok := x.([]any)
				if !ok {
					items = []any{x} // one structure where a list belongs, as the CLI allows
				}
				if err := addTags(tags, items); err != nil {
					return usagef("--tag-specifications value %d: %v", i+1, err)
				}
			default:
				return usagef("--tag-specifications value %d: unknown key %q; valid keys are ResourceType, Tags", i+1, k)
			}
		}
	}
	return nil
}

// decodeJSONSpecs takes one spec object, or a list holding exactly one.
func decodeJSONSpecs(v string, spec *map[string]any) error {
	var x any
	if err := json.Unmarshal([]byte(v), &x); err != nil {
		return err
	}
	if l, ok := x.([]any); ok && len(l) == 1 {
		x = l[0]
	}
	m, ok := x.(map[string]any)
	if !ok {
		return fmt.Errorf("expected one {\"ResourceType\":…,\"Tags\":[…]} structure")
	}
	*spec = m
	return nil
}

func tagItems(v string) ([]any, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		var items []any
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			return nil, err
		}
		return items, nil
	}
	m, err := shorthand.Parse(v)
	if err != nil {
		return nil, err
	}
	return []any{m}, nil
}

func addTags(tags map[string]string, items []any) error {
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("expected Key=…,Value=…, found %v", it)
		}
		var key, value string
		hasKey := false
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				return fmt.Errorf("%s: expected a string, found %v", k, x)
			}
			switch k {
			case "Key":
				key, hasKey = s, true
			case "Value":
				value = s
			default:
				return fmt.Errorf("unknown key %q; valid keys are Key, Value", k)
			}
		}
		if !hasKey {
			return fmt.Errorf("a tag needs a Key")
		}
		if _, dup := tags[key]; dup {
			return fmt.Errorf("tag %q given twice", key)
		}
		tags[key] = value
	}
	return nil
}
