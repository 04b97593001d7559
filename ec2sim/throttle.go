package ec2sim

import (
	"sync"
	"time"
)

// bucketSpec is one of EC2's published request-token bucket sizes.
type bucketSpec struct {
	capacity float64
	refill   float64 // tokens per second
}

// EC2's throttling categories ("Request throttling for the Amazon EC2 API").
var (
	bucketNonMutating        = bucketSpec{capacity: 100, refill: 20}
	bucketUnfilteredDescribe = bucketSpec{capacity: 50, refill: 10}
	bucketMutating           = bucketSpec{capacity: 50, refill: 5}
	bucketResourceIntensive  = bucketSpec{capacity: 50, refill: 5}
	bucketTags               = bucketSpec{capacity: 100, refill: 10}
)

// throttle implements EC2's token buckets. Each request takes one token from
// the bucket of its own API action in its (account, region); the category
// only decides the bucket's size and refill rate. DescribeSecurityGroups
// without filter or pagination is the one action split over two buckets,
// because EC2 throttles that form harder. Buckets refill continuously, so a
// fractional token accrues between calls, and start full.
type throttle struct {
	mu      sync.Mutex
	on      bool
	speed   float64
	buckets map[bucketKey]*bucket
}

type bucketKey struct{ account, region, name string }

type bucket struct {
	tokens float64
	last   time.Time
}

func newThrottle(on bool, speed float64) *throttle {
	return &throttle{on: on, speed: speedOrOne(speed), buckets: make(map[bucketKey]*bucket)}
}

func speedOrOne(s float64) float64 {
	if s <= 0 {
		return 1
	}
	return s
}

func (t *throttle) set(on bool, speed float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on && !t.on {
		clear(t.buckets)
	}
	t.on, t.speed = on, speedOrOne(speed)
}

// take spends one token, reporting false when the bucket is empty.
func (t *throttle) take(k bucketKey, spec bucketSpec, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return true
	}
	b := t.buckets[k]
	if b == nil {
		b = &bucket{tokens: spec.capacity, last: now}
		t.buckets[k] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(spec.capacity, b.tokens+elapsed*spec.refill*t.speed)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
