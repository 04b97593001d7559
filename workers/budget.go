package workers

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// category is one of EC2's throttle buckets.
type category struct {
	name  string
	burst int
	rate  float64 // tokens per second
}

// EC2's default buckets per account and region ("Request throttling for the
// Amazon EC2 API"). Ingress authorize and revoke are "resource-intensive"
// and throttled apart from the other mutating calls.
var (
	catMutating          = category{"mutating", 50, 5}
	catResourceIntensive = category{"resource-intensive", 50, 5}
	catNonMutating       = category{"non-mutating", 100, 20}
	catTags              = category{"tags", 100, 10}
)

var actionCategory = map[string]category{
	"CreateSecurityGroup":           catMutating,
	"DeleteSecurityGroup":           catMutating,
	"AuthorizeSecurityGroupEgress":  catMutating,
	"RevokeSecurityGroupEgress":     catMutating,
	"AuthorizeSecurityGroupIngress": catResourceIntensive,
	"RevokeSecurityGroupIngress":    catResourceIntensive,
	"DescribeSecurityGroups":        catNonMutating,
	"DescribeSecurityGroupRules":    catNonMutating,
	"DescribeVpcs":                  catNonMutating,
	"CreateTags":                    catTags,
}

// Budget paces EC2 calls per (account, region, throttle bucket) so workers
// stay inside EC2's rate limits instead of discovering them through
// RequestLimitExceeded.
//
// This budget is per process: several worker processes against one account
// each get the full rate. A budget shared across processes is a later step.
type Budget struct {
	factor float64

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewBudget paces at EC2's default rates multiplied by factor (the bucket
// sizes stay as EC2's). factor <= 0 means no pacing at all.
func NewBudget(factor float64) *Budget {
	return &Budget{factor: factor, limiters: map[string]*rate.Limiter{}}
}

// Wait blocks until a call of action may be made in account and region.
func (b *Budget) Wait(ctx context.Context, account, region, action string) error {
	if b == nil || b.factor <= 0 {
		return ctx.Err()
	}
	cat, ok := actionCategory[action]
	if !ok {
		cat = catNonMutating
	}
	key := account + "/" + region + "/" + cat.name
	b.mu.Lock()
	l, ok := b.limiters[key]
	if !ok {
		l = rate.NewLimiter(rate.Limit(cat.rate*b.factor), cat.burst)
		b.limiters[key] = l
	}
	b.mu.Unlock()
	return l.Wait(ctx)
}
