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
// this package cannot know, so the check is a lower bound there.
func CheckQuota(existing, adding []Rule) error {
	have := make(map[string]bool, len(existing))
	var e4, e6 int
	for _, r := range existing {
		k := r.Key()
		if have[k] {
			continue
		}
		have[k] = true
		e4, e6 = e4+b2i(r.CountsIPv4()), e6+b2i(r.CountsIPv6())
	}
	var a4, a6 int
	for _, r := range adding {
		k := r.Key()
		if have[k] {
			continue
		}
		have[k] = true
		a4, a6 = a4+b2i(r.CountsIPv4()), a6+b2i(r.CountsIPv6())
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
