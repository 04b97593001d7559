package rules

import (
	"fmt"
	"unicode/utf8"
)

// EC2's character sets (EC2 reference §3). Group names and descriptions in a
// VPC allow '&'; rule descriptions are documented with '&' only for IP range
// descriptions, so Palisade refuses it in every rule description rather
// than accept a description EC2 may refuse for prefix lists and groups.
const (
	ruleDescriptionPunct = " ._-:/()#,@[]+=;{}!$*"
	groupTextPunct       = ruleDescriptionPunct + "&"
)

// maxTextLen is EC2's limit for group names, group descriptions and rule
// descriptions. All three are ASCII-only, so bytes and characters agree.
const maxTextLen = 255

// checkText reports the first problem with s against an EC2 character set:
// too long, non-ASCII, or a character outside the set. what names the field
// in the message. It returns "" when s is fine.
func checkText(what, s, punct string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return fmt.Sprintf("%s contains %q at byte %d; EC2 accepts only ASCII here (letters, digits, spaces and %s)", what, r, i, punct[1:])
		}
		if !allowed(c, punct) {
			return fmt.Sprintf("%s contains %q at position %d; allowed are letters, digits, spaces and %s", what, c, i, punct[1:])
		}
	}
	if len(s) > maxTextLen {
		return fmt.Sprintf("%s is %d characters long; EC2 allows at most %d", what, len(s), maxTextLen)
	}
	return ""
}

func allowed(c byte, punct string) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	for i := 0; i < len(punct); i++ {
		if punct[i] == c {
			return true
		}
	}
	return false
}

// checkRuleDescription validates the description of one rule peer.
func checkRuleDescription(vs *Violations, field, d string) bool {
	if msg := checkText("description", d, ruleDescriptionPunct); msg != "" {
		vs.add(field, "%s", msg)
		return false
	}
	return true
}
