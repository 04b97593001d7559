package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// EC2 tag limits (EC2 reference §2, CreateTags).
const (
	MaxTags        = 50
	MaxTagKeyLen   = 128 // Unicode characters
	MaxTagValueLen = 256 // Unicode characters
)

// ValidateTags checks tags for a security group or rule: at most 50, keys
// 1-128 and values 0-256 Unicode characters of valid UTF-8, and no key
// beginning with "aws:" in any letter case (AWS reserves that prefix for
// itself and refuses it in upper case too). Violations are reported per key
// as field["key"], in key order so the output is deterministic.
func ValidateTags(field string, tags map[string]string) Violations {
	var vs Violations
	if len(tags) > MaxTags {
		vs.add(field, "%d tags given; a resource can carry at most %d", len(tags), MaxTags)
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := fmt.Sprintf("%s[%q]", field, k)
		v := tags[k]
		switch {
		case k == "":
			vs.add(f, "tag key must not be empty")
		case !utf8.ValidString(k):
			vs.add(f, "tag key is not valid UTF-8")
		case utf8.RuneCountInString(k) > MaxTagKeyLen:
			vs.add(f, "tag key is %d characters long; at most %d are allowed", utf8.RuneCountInString(k), MaxTagKeyLen)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			vs.add(f, "tag key %s begins with \"aws:\", which AWS reserves for its own tags; choose another key", quote(k))
		}
		switch {
		case !utf8.ValidString(v):
			vs.add(f, "tag value is not valid UTF-8")
		case utf8.RuneCountInString(v) > MaxTagValueLen:
			vs.add(f, "tag value is %d characters long; at most %d are allowed", utf8.RuneCountInString(v), MaxTagValueLen)
		}
	}
	return vs
}
