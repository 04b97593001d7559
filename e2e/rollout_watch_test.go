package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// A NATS node that dies takes the consumers it led with it, the one
// behind a WatchRollout among them, and a watch opened before has been
// seen to stay silent while the rollout ended. The watch must still see
// the rollout's changes and its end: here its consumer is deleted, as
// the node's death would, and the paused rollout is resumed.
func TestWatchRolloutOutlivesItsConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("a rollout paused and resumed under a watch: long; make test runs it")
	}
	e, name, _ := slowRollout(t, 6)
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool { return ro.GetProgress().GetSucceeded() >= 1 })
	if _, err := e.rollouts().PauseRollout(e.ctx, &palisadev1.PauseRolloutRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool {
		return ro.GetState() == palisadev1.RolloutState_ROLLOUT_STATE_PAUSED && idle(ro)
	})

	kv, err := e.js.Stream(e.ctx, "KV_"+bus.RolloutsBucket)
	if err != nil {
		t.Fatal(err)
	}
	before := consumerNames(t, e.ctx, kv)
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	stream, err := e.rollouts().WatchRollout(ctx, &palisadev1.WatchRolloutRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("the watch's first answer: %v", err)
	}
	var lost []string
	for _, c := range consumerNames(t, e.ctx, kv) {
		if !slices.Contains(before, c) {
			lost = append(lost, c)
		}
	}
	if len(lost) == 0 {
		t.Fatal("no consumer behind the watch to lose")
	}
	for _, c := range lost {
		if err := kv.DeleteConsumer(e.ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := e.rollouts().ResumeRollout(e.ctx, &palisadev1.ResumeRolloutRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	// The whole rollout takes a second or two once resumed; the watch
	// must report its end well before a lost consumer would be noticed
	// by missed heartbeats and made again.
	deadline := time.AfterFunc(8*time.Second, cancel)
	defer deadline.Stop()
	var last *palisadev1.Rollout
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("the watch ended with %v before the rollout's end; last seen: %v", err, last.GetState())
		}
		last = resp.GetRollout()
		if last.GetState() == palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
			break
		}
	}
}

func consumerNames(t *testing.T, ctx context.Context, s jetstream.Stream) []string {
	t.Helper()
	var names []string
	l := s.ConsumerNames(ctx)
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}
