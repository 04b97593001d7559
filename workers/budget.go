package workers

import (
	"context"
	"sync"

	"golang.org/x/time/rate"

	"github.com/palisadehq/palisade/internal/ec2limits"
)

// Budget paces EC2 calls per account, region and EC2 throttle bucket (one
// per action, sized by its category: internal/ec2limits) so workers stay
// inside EC2's rate limits instead of discovering them through
// RequestLimitExceeded.
//
// NewSharedBudget keeps the buckets in JetStream, shared by every worker
// process; NewBudget keeps them in this process only (one worker process,
// or tests).
type Budget struct {
	factor float64
	shared *sharedBudget // nil: per process

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewBudget paces this process alone at EC2's default rates multiplied by
// factor (the bucket sizes stay as EC2's). factor <= 0 means no pacing.
func NewBudget(factor float64) *Budget {
	return &Budget{factor: factor, limiters: map[string]*rate.Limiter{}}
}

// Wait blocks until a call of action may be made in account and region.
func (b *Budget) Wait(ctx context.Context, account, region, action string) error {
	if b == nil || b.factor <= 0 {
		return ctx.Err()
	}
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
