package chaos

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
)

// TestClusterNodeLoss: a 3-node JetStream cluster on loopback, streams
// and buckets replicated ×3. During the load one node is killed (the
// leader of the command stream), started again, and once it is back the
// leader of the operations bucket is killed and started again (twice
// over at full size). Every operation completes, none twice, in order.
func TestClusterNodeLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	groups, perGroup := size(10, 50), 10
	s := newStack(t, stackOptions{nodes: 3, workers: 3, ackWait: 2 * time.Second,
		sim: ec2sim.Options{Latency: 150 * time.Millisecond}, workerFlags: []string{"--ec2-rate-factor", "0"}})
	rng := rand.New(rand.NewPCG(seed(t), 0))
	load := plan(rng, groups, perGroup)
	start := time.Now()

	var kills []string
	var down time.Duration
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		targets := []string{bus.CommandStream, "KV_" + bus.OperationsBucket}
		for round := range size(1, 2) {
			for _, stream := range targets {
				select {
				case <-stop:
					return
				case <-time.After(700 * time.Millisecond):
				}
				node := s.leaderOf(stream)
				if node == nil {
					continue
				}
				t0 := time.Now()
				node.stop()
				kills = append(kills, node.name+"("+strings.TrimPrefix(stream, "PALISADE_")+")")
				time.Sleep(1500 * time.Millisecond)
				if err := node.start(); err != nil {
					t.Errorf("restart %s: %v", node.name, err)
					return
				}
				down += time.Since(t0)
				_ = round
			}
		}
	}()
	var st loadStats
	s.run(load, &st)
	for err := range st.errs {
		t.Error(err)
	}
	lost := s.awaitAll(load, 5*time.Minute)
	wg.Wait() // the schedule runs to its end
	close(stop)
	wall := time.Since(start)
	calls := s.ec2.callFigures()
	v := s.check(load, lost)
	report(t, "cluster", append(append(v.figures(), figure{"node_kills", len(kills)}, figure{"killed", strings.Join(kills, ",")},
		figure{"nodes_down", down}, figure{"load_retries_on_unavailable", st.unavailable.Load()},
		figure{"retried_ops", retried(load)}), append(calls, figure{"wall", wall})...)...)
	if !v.ok() {
		t.Errorf("invariants broken:\n  %s", strings.Join(v.problems, "\n  "))
	}
	if len(kills) < 2 {
		t.Errorf("only %d node kills: the run ended too soon to mean anything", len(kills))
	}
}

// leaderOf returns the node leading a stream's Raft group, nil when it
// cannot be told (no leader at this instant).
func (s *stack) leaderOf(stream string) *natsNode {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil || info.Cluster == nil {
		return nil
	}
	for _, n := range s.nats.nodes {
		if n.name == info.Cluster.Leader && n.running() {
			return n
		}
	}
	return nil
}
