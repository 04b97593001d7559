package services

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
)

// CallerRate bounds how fast one caller may make changes.
type CallerRate struct {
	// PerSecond is the sustained rate of mutating calls per caller (0: no
	// limit); Burst how many may come at once.
	PerSecond float64
	Burst     int
}

// mutating lists the calls a per-caller rate limit applies to: every call
// that stores a command or changes one. Reads are paced by EC2's budget
// and the watch cap instead.
var mutating = map[string]bool{
	"/palisade.v1.SecurityGroupService/CreateSecurityGroup":           true,
	"/palisade.v1.SecurityGroupService/AuthorizeSecurityGroupIngress": true,
	"/palisade.v1.SecurityGroupService/AuthorizeSecurityGroupEgress":  true,
	"/palisade.v1.SecurityGroupService/RevokeSecurityGroupIngress":    true,
	"/palisade.v1.SecurityGroupService/RevokeSecurityGroupEgress":     true,
	"/palisade.v1.SecurityGroupService/DeleteSecurityGroup":           true,
	"/palisade.v1.RolloutService/StartRollout":                        true,
	"/palisade.v1.RolloutService/PauseRollout":                        true,
	"/palisade.v1.RolloutService/ResumeRollout":                       true,
	"/palisade.v1.RolloutService/CancelRollout":                       true,
	"/google.longrunning.Operations/CancelOperation":                  true,
}

// callerLimiter holds one token bucket per caller, forgetting callers
// idle for longer than it takes their bucket to fill.
type callerLimiter struct {
	rate CallerRate
	// idle is how long an unused bucket takes to fill, and a little more:
	// forgetting it then changes nothing.
	idle  time.Duration
	mu    sync.Mutex
	seen  map[string]*limiterEntry
	swept time.Time
	now   func() time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	last time.Time
}

func newCallerLimiter(r CallerRate) *callerLimiter {
	if r.Burst < 1 {
		r.Burst = max(1, int(r.PerSecond))
	}
	idle := time.Duration(float64(r.Burst)/r.PerSecond*float64(time.Second)) + time.Minute
	return &callerLimiter{rate: r, idle: idle, seen: map[string]*limiterEntry{}, now: time.Now}
}

// take spends one token of caller's bucket, or says how long until one
// is there.
func (l *callerLimiter) take(caller string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Sweep idle callers once per idle period, not on every call.
	if now.Sub(l.swept) > l.idle {
		l.swept = now
		for k, e := range l.seen {
			if now.Sub(e.last) > l.idle {
				delete(l.seen, k)
			}
		}
	}
	e := l.seen[caller]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(rate.Limit(l.rate.PerSecond), l.rate.Burst)}
		l.seen[caller] = e
	}
	e.last = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateUnary refuses a caller's mutating call beyond its rate with
// RESOURCE_EXHAUSTED and the wait in google.rpc.RetryInfo. It runs after
// the identity interceptor, so callers are who their certificates say.
func rateUnary(l *callerLimiter) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if l != nil && mutating[info.FullMethod] {
			if ok, wait := l.take(CallerFrom(ctx)); !ok {
				method := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
				return nil, exhausted(method+": too many changes from this caller; retry after the delay given", "CALLER_RATE_EXCEEDED", wait.Round(time.Millisecond))
			}
		}
		return next(ctx, req)
	}
}
