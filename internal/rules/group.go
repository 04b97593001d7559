package rules

import "strings"

// ValidateGroupName checks a security group name against EC2's rules for a
// VPC: 1-255 characters of a-z A-Z 0-9, space and ._-:/()#,@[]+=&;{}!$*;
// not beginning with "sg-"; not the reserved "default".
//
// Two points go beyond the documented rules, on purpose:
//   - "default" and the "sg-" prefix are refused in any letter case. EC2
//     compares names case-insensitively within a VPC, so "Default" would
//     collide with the VPC's default group anyway, and "SG-1" reads as an id.
//   - Trailing spaces are refused. EC2 trims them when it stores the name,
//     so the group would not carry the name that was asked for, and the
//     worker's lookup by name (the idempotency key) would miss it.
func ValidateGroupName(field, name string) Violations {
	var vs Violations
	switch {
	case name == "":
		vs.add(field, "group name is required (1-255 characters)")
	case strings.TrimRight(name, " ") != name:
		vs.add(field, "group name %s ends with spaces; remove them (EC2 would trim them, and the stored name would differ from the one asked for)", quote(name))
	case strings.HasPrefix(strings.ToLower(name), "sg-"):
		vs.add(field, "group name %s begins with \"sg-\"; EC2 reserves that form for group ids, choose another name", quote(name))
	case strings.EqualFold(name, "default"):
		vs.add(field, "group name %s is reserved for the VPC's default security group; choose another name", quote(name))
	default:
		if msg := checkText("group name", name, groupTextPunct); msg != "" {
			vs.add(field, "%s", msg)
		}
	}
	return vs
}

// ValidateGroupDescription checks a security group description: required,
// at most 255 characters, the same ASCII set as group names. It cannot be
// changed after the group is created.
func ValidateGroupDescription(field, d string) Violations {
	var vs Violations
	if d == "" {
		vs.add(field, "group description is required (1-255 characters); EC2 cannot change it later, so say what the group is for")
		return vs
	}
	if msg := checkText("group description", d, groupTextPunct); msg != "" {
		vs.add(field, "%s", msg)
	}
	return vs
}
