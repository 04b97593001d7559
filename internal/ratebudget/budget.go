// Package ratebudget paces EC2 calls so that every Palisade process
// together stays inside the rate limits EC2 keeps per account and region:
// the workers' calls, and the API's reads, spend from one budget.
package ratebudget

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/palisadehq/palisade/internal/ec2limits"
	"github.com/palisadehq/palisade/internal/metrics"
)

// Budget paces EC2 calls per account, region and EC2 throttle bucket (one
// per action, sized by its category: internal/ec2limits) so callers stay
// inside EC2's rate limits instead of discovering them through
// RequestLimitExceeded.
//
// NewShared keeps the buckets in JetStream, shared by every process that
// calls EC2; New keeps them in this process only (one process, or tests).
// A nil *Budget does not pace.
type Budget struct {
	factor float64
	shared *sharedBudget // nil: per process

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New paces this process alone at EC2's default rates multiplied by
// factor (the bucket sizes stay as EC2's). factor <= 0 means no pacing.
func New(factor float64) *Budget {
	return &Budget{factor: factor, limiters: map[string]*rate.Limiter{}}
}

// Wait blocks until a call of action may be made in account and region.
func (b *Budget) Wait(ctx context.Context, account, region, action string) error {
	if b == nil || b.factor <= 0 {
		return ctx.Err()
	}
	start := time.Now()
	defer func() { metrics.BudgetWaited(ec2limits.For(action).Category, time.Since(start)) }()
	if b.shared != nil {
		return b.shared.wait(ctx, account, region, action)
	}
	cat := ec2limits.For(action)
	key := account + "/" + region + "/" + action
	b.mu.Lock()
	l, ok := b.limiters[key]
	if !ok {
		l = rate.NewLimiter(rate.Limit(cat.Refill*b.factor), int(cat.Capacity))
		b.limiters[key] = l
	}
	b.mu.Unlock()
	return l.Wait(ctx)
}
