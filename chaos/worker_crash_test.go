package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
)

// seed returns the run's random seed (CHAOS_SEED to replay one), logged
// so a failing run can be repeated.
func seed(t *testing.T) uint64 {
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED: %v", err)
		}
		return n
	}
	n := uint64(time.Now().UnixNano())
	t.Logf("seed %d (CHAOS_SEED=%d replays the plan and the gaps between kills)", n, n)
	return n
}

// killer SIGKILLs a random worker process every gap and starts it again
// after a pause, until stopped, noting where each kill landed.
type killer struct {
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	kills  int
	points map[string]int
}

func (s *stack) startKiller(rng *rand.Rand, minGap, maxGap time.Duration) *killer {
	k := &killer{stop: make(chan struct{}), done: make(chan struct{}), points: map[string]int{}}
	go func() {
		defer close(k.done)
		for {
			gap := minGap + time.Duration(rng.Int64N(int64(maxGap-minGap)+1))
			select {
			case <-k.stop:
				return
			case <-time.After(gap):
			}
			w := s.workers[rng.IntN(len(s.workers))]
			point := s.ec2.killPoint(w.current())
			w.kill()
			k.mu.Lock()
			k.kills++
			k.points[point]++
			k.mu.Unlock()
			time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
			w.start()
		}
	}()
	return k
}

func (k *killer) finish() (int, string) {
	close(k.stop)
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.kills, fmt.Sprintf("%d/%d/%d", k.points["in_call"], k.points["after_call"], k.points["retrying"])
}

// TestWorkerCrash: worker processes are SIGKILLed at random points, in an
// EC2 call, after it (before or after the ack) and while waiting to retry
// an EC2 fault, and started again, many times, while mixed operations run
// over many groups. Every operation must end SUCCEEDED with one effect, in
// order, and EC2 must hold exactly what the operations say.
func TestWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	groups, perGroup := size(10, 50), 10
	s := newStack(t, stackOptions{
		workers: 3,
		// A killed worker's command comes back after the ack wait.
		ackWait: 2 * time.Second,
		// Latency widens the window of "in an EC2 call"; faults make
		// retries to be killed in the middle of.
		sim:         ec2sim.Options{Latency: 25 * time.Millisecond, FaultRate: 0.1, Seed: 1},
		workerFlags: []string{"--ec2-rate-factor", "0"},
	})
	rng := rand.New(rand.NewPCG(seed(t), 0))
	load := plan(rng, groups, perGroup)
	start := time.Now()
	k := s.startKiller(rand.New(rand.NewPCG(rng.Uint64(), 1)), time.Duration(size(200, 100))*time.Millisecond, time.Duration(size(800, 500))*time.Millisecond)
	var st loadStats
	s.run(load, &st)
	for err := range st.errs {
		t.Error(err)
	}
	lost := s.awaitAll(load, 5*time.Minute)
	kills, points := k.finish()
	wall := time.Since(start)
	calls := s.ec2.callFigures()
	v := s.check(load, lost)
	report(t, "worker-crash", append(append(v.figures(),
		figure{"kills", kills}, figure{"kills_in_call/after_call/retrying", points},
		figure{"retried_ops", retried(load)}), append(calls, figure{"wall", wall})...)...)
	if !v.ok() {
		t.Errorf("invariants broken:\n  %s", strings.Join(v.problems, "\n  "))
	}
}

// retried counts operations that needed more than one attempt.
func retried(groups []*plannedGroup) int {
	n := 0
	for _, g := range groups {
		for _, op := range g.ops {
			if op.record.GetMetadata().GetAttempts() > 1 {
				n++
			}
		}
	}
	return n
}
