package rules

import "strings"

// EC2 resource ids are a type prefix and 8 hex digits (resources created
// before 2018) or 17 (since). EC2 always issues lower-case hex; accepting
// upper case would create a second spelling of the same id and break every
// comparison made on the text, so Palisade refuses it.
var (
	shortAndLong = []int{8, 17}
	longOnly     = []int{17}
)

// validID reports whether s is prefix followed by one of lens lower-case
// hex digits.
func validID(s, prefix string, lens []int) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return false
	}
	okLen := false
	for _, n := range lens {
		okLen = okLen || len(rest) == n
	}
	if !okLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func idShape(prefix string, lens []int) string {
	if len(lens) == 1 {
		return prefix + " followed by 17 lower-case hex digits, e.g. " + prefix + "0123456789abcdef0"
	}
	return prefix + " followed by 8 or 17 lower-case hex digits, e.g. " + prefix + "0123456789abcdef0"
}

func checkID(vs *Violations, field, what, id, prefix string, lens []int) bool {
	switch {
	case id == "":
		vs.add(field, "%s is required; it looks like %s", what, idShape(prefix, lens))
	case !validID(id, prefix, lens):
		vs.add(field, "%s %s is malformed; expected %s", what, quote(id), idShape(prefix, lens))
	default:
		return true
	}
	return false
}

// IsGroupID reports whether id is a well-formed security group id, without
// building a message: for counting bad ids past the violations' cap.
func IsGroupID(id string) bool { return validID(id, "sg-", shortAndLong) }

// ValidateGroupID checks a security group id: sg- and 8 or 17 hex digits.
func ValidateGroupID(field, id string) Violations {
	var vs Violations
	checkID(&vs, field, "security group id", id, "sg-", shortAndLong)
	return vs
}

// ValidateVpcID checks a VPC id: vpc- and 8 or 17 hex digits.
func ValidateVpcID(field, id string) Violations {
	var vs Violations
	checkID(&vs, field, "VPC id", id, "vpc-", shortAndLong)
	return vs
}

// ValidateRuleID checks a security group rule id: sgr- and 17 hex digits.
// Rule ids were introduced in 2021, after the switch to 17 digits, so the
// short form never existed.
func ValidateRuleID(field, id string) Violations {
	var vs Violations
	checkID(&vs, field, "security group rule id", id, "sgr-", longOnly)
	return vs
}

// ValidateAccountID checks an AWS account id: exactly 12 decimal digits
// (leading zeros are significant and must be kept).
func ValidateAccountID(field, id string) Violations {
	var vs Violations
	checkAccountID(&vs, field, id)
	return vs
}

func checkAccountID(vs *Violations, field, id string) bool {
	if id == "" {
		vs.add(field, "account id is required; it is 12 digits, e.g. 123456789012")
		return false
	}
	if !isAccountID(id) {
		vs.add(field, "account id %s is malformed; it must be exactly 12 digits, leading zeros included, e.g. 012345678901", quote(id))
		return false
	}
	return true
}

func isAccountID(id string) bool {
	if len(id) != 12 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}
