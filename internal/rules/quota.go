package rules

import (
	"errors"
	"fmt"
)

// MaxRulesPerDirection is EC2's default quota of rules per security group
// and direction, counted separately for IPv4 and IPv6 (EC2 reference §4).
const MaxRulesPerDirection = 60

// ErrQuotaExceeded is matched (errors.Is) by every *QuotaError.
var ErrQuotaExceeded = errors.New("rules per security group quota exceeded")

// QuotaError says which address family would overflow and by how much.
// EC2 answers the same situation with RulesPerSecurityGroupLimitExceeded.
type QuotaError struct {
	Family   string // "IPv4" or "IPv6"
	Existing int    // rules of that family the group has now
	Adding   int    // new rules of that family (already present ones excluded)
	Limit    int
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s: the group has %d %s rules in this direction and %d more would make %d, over the limit of %d; remove or consolidate rules (for example into a prefix list) or raise the quota",
		ErrQuotaExceeded, e.Existing, e.Family, e.Adding, e.Existing+e.Adding, e.Limit)
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// CheckQuota reports whether a group whose rules in one direction are
// existing can take adding without passing MaxRulesPerDirection for IPv4 or
// for IPv6. Rules of adding already in existing (same Key), and repeats
// within adding, are not counted twice, so a retried authorize passes.
// It returns a *QuotaError for the first family that overflows (IPv4 is
// checked first), or nil.
//
// Rules naming a prefix list count once against each family. For a
// customer-managed list EC2 counts its maximum number of entries, which
// this package cannot know, so the check is a lower bound there; callers
// that know the lists' sizes use CheckQuotaWeighted.
func CheckQuota(existing, adding []Rule) error {
	return CheckQuotaWeighted(existing, adding, nil)
}

// PrefixListWeight says how many rules a rule naming the prefix list id
// counts for: a customer-managed list its MaxEntries (EC2 reference §4),
// an AWS-managed list its documented weight (VPC user guide, "AWS-managed
// prefix list weight": 1 for the S3 and DynamoDB lists, 55 for
// CloudFront's origin-facing list).
type PrefixListWeight func(id string) int

// CheckQuotaWeighted is CheckQuota with each rule naming a prefix list
// counted as weight(id) rules against each family; a nil weight, or one
// below 1, counts it once.
func CheckQuotaWeighted(existing, adding []Rule, weight PrefixListWeight) error {
	count := func(r Rule) int {
		if r.Kind != SourcePrefixList || weight == nil {
			return 1
		}
		return max(weight(r.Source), 1)
	}
	have := make(map[string]bool, len(existing))
	var e4, e6 int
	for _, r := range existing {
		k := r.Key()
		if have[k] {
			continue
		}
		have[k] = true
		n := count(r)
		e4, e6 = e4+n*b2i(r.CountsIPv4()), e6+n*b2i(r.CountsIPv6())
	}
	var a4, a6 int
	for _, r := range adding {
		k := r.Key()
		if have[k] {
			continue
		}
		have[k] = true
		n := count(r)
		a4, a6 = a4+n*b2i(r.CountsIPv4()), a6+n*b2i(r.CountsIPv6())
	}
	if e4+a4 > MaxRulesPerDirection && a4 > 0 {
		return &QuotaError{Family: "IPv4", Existing: e4, Adding: a4, Limit: MaxRulesPerDirection}
	}
	if e6+a6 > MaxRulesPerDirection && a6 > 0 {
		return &QuotaError{Family: "IPv6", Existing: e6, Adding: a6, Limit: MaxRulesPerDirection}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
