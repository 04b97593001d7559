package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EC2 tag limits (EC2 reference §2, CreateTags).
const (
	MaxTags        = 50
	MaxTagKeyLen   = 128 // Unicode characters
	MaxTagValueLen = 256 // Unicode characters
)

// ValidateTags checks tags for a security group or rule: at most 50, keys
// 1-128 and values 0-256 Unicode characters of valid UTF-8 without control
// or bidirectional-override characters, and no key beginning with "aws:"
// in any letter case (AWS reserves that prefix for itself and refuses it
// in upper case too). Violations are reported per key as field["key"], in
// key order so the output is deterministic. More than MaxTags tags is one
// violation and the keys are not looked at.
func ValidateTags(field string, tags map[string]string) Violations {
	return validateTags(field, tags, "a resource can carry", true)
}

// ValidateTagFilter checks tags used to select groups (a read's filter, a
// rollout's target): the same rules as ValidateTags, except that a filter
// may name AWS's own tags (aws:cloudformation:stack-name).
func ValidateTagFilter(field string, tags map[string]string) Violations {
	return validateTags(field, tags, "a group carries", false)
}

func validateTags(field string, tags map[string]string, carries string, refuseAWS bool) Violations {
	var vs Violations
	if len(tags) > MaxTags {
		vs.add(field, "%d tags given; %s at most %d", len(tags), carries, MaxTags)
		return vs
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := TagField(field, k)
		v := tags[k]
		switch {
		case k == "":
			vs.add(f, "tag key must not be empty")
		case !utf8.ValidString(k):
			vs.add(f, "tag key is not valid UTF-8")
		case utf8.RuneCountInString(k) > MaxTagKeyLen:
			vs.add(f, "tag key is %d characters long; at most %d are allowed", utf8.RuneCountInString(k), MaxTagKeyLen)
		case refuseAWS && strings.HasPrefix(strings.ToLower(k), "aws:"):
			vs.add(f, "tag key %s begins with \"aws:\", which AWS reserves for its own tags; choose another key", quote(k))
		default:
			if r, ok := forbiddenRune(k); ok {
				vs.add(f, "tag key contains %U, a control or bidirectional-override character; tags must read as they are stored", r)
			}
		}
		switch {
		case !utf8.ValidString(v):
			vs.add(f, "tag value is not valid UTF-8")
		case utf8.RuneCountInString(v) > MaxTagValueLen:
			vs.add(f, "tag value is %d characters long; at most %d are allowed", utf8.RuneCountInString(v), MaxTagValueLen)
		default:
			if r, ok := forbiddenRune(v); ok {
				vs.add(f, "tag value contains %U, a control or bidirectional-override character; tags must read as they are stored", r)
			}
		}
	}
	return vs
}

// TagField is the field path of one tag: field["key"], the key Go-quoted
// and, when longer than any valid key, cut to MaxTagKeyLen characters so a
// huge key cannot blow up the error that names it.
func TagField(field, key string) string {
	if utf8.RuneCountInString(key) > MaxTagKeyLen {
		return fmt.Sprintf("%s[%q…]", field, string([]rune(key)[:MaxTagKeyLen]))
	}
	return fmt.Sprintf("%s[%q]", field, key)
}

// forbiddenRune returns the first control character (Unicode category Cc)
// or bidirectional embedding, override or isolate (U+202A-U+202E,
// U+2066-U+2069) in s. EC2 accepts any Unicode in a tag; these are refused
// because they make a tag display as something other than what it is.
func forbiddenRune(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) || 0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069 {
			return r, true
		}
	}
	return 0, false
}
