package ec2sim

import (
	"math/rand/v2"
	"sync"
	"time"
)

// faults holds the run-time knobs for injected trouble and the random source
// that decides which calls get it. One seeded generator behind a mutex makes
// a single-threaded test reproducible; concurrent callers still get the
// configured rates.
type faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	latency  time.Duration
	dropRate float64
}

func newFaults(seed int64, rate float64, latency time.Duration, dropRate float64) *faults {
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return &faults{
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		rate:     rate,
		latency:  latency,
		dropRate: dropRate,
	}
}

func (f *faults) set(rate float64, latency time.Duration, dropRate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rate, f.latency, f.dropRate = rate, latency, dropRate
}

func (f *faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// fault decides whether this call fails before taking effect, and how.
// The generator is only consulted when the rate is non-zero, so turning
// faults on later does not depend on how many calls ran before.
func (f *faults) fault() *apiError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rate <= 0 || f.rng.Float64() >= f.rate {
		return nil
	}
	if f.rng.IntN(2) == 0 {
		return errInternal()
	}
	return errUnavailable()
}

// drop decides whether this call's connection is closed unanswered.
func (f *faults) drop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropRate > 0 && f.rng.Float64() < f.dropRate
}
