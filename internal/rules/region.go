package rules

import "regexp"

// regionShape matches the shape of AWS Region names: a partition/area
// prefix, one to three lower-case words, and a number — us-east-1,
// eu-central-2, us-gov-west-1, cn-north-1, us-isob-east-1, eusc-de-east-1.
//
// A shape, not a list: AWS opens Regions every year, and a list compiled
// into the binary would refuse the new ones until a release. A well-formed
// name that is not a Region fails at EC2 endpoint resolution instead.
var regionShape = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+){1,3}-[1-9][0-9]?$`)

// ValidateRegion checks that r is shaped like an AWS Region name.
func ValidateRegion(field, r string) Violations {
	var vs Violations
	switch {
	case r == "":
		vs.add(field, "region is required, e.g. us-east-1")
	case len(r) > 32 || !regionShape.MatchString(r):
		vs.add(field, "region %s is not an AWS Region name; write it like us-east-1 or eu-central-2 (lower case, no availability-zone letter)", quote(r))
	}
	return vs
}
