package bus

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/nats-io/nats.go/jetstream"
)

// declareBucket creates or updates a KeyValue bucket whose reads go to its
// stream's leader.
//
// nats.go makes every bucket answer reads by "direct get", which any
// replica may serve, so on a cluster a read right after a write can miss
// it (NATS promises no read-your-writes for direct gets). Operation
// records, rollouts and the budget are read back at once and
// compare-and-set on what was read, so their buckets turn direct get off:
// a stale read would make a request just accepted look unknown.
func declareBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) error {
	name := "KV_" + cfg.Bucket
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Another process may create it at the same moment; either way
		// the stream exists afterwards and is set below.
		if _, cerr := js.CreateKeyValue(ctx, cfg); cerr != nil && !errors.Is(cerr, jetstream.ErrBucketExists) {
			return fmt.Errorf("declare bucket %s: %w", cfg.Bucket, cerr)
		}
		s, err = js.Stream(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("declare bucket %s: %w", cfg.Bucket, err)
	}
	have := s.CachedInfo().Config
	want := have
	want.AllowDirect = false
	want.Description = cfg.Description
	want.MaxAge = cfg.TTL
	want.Replicas = max(cfg.Replicas, 1)
	if reflect.DeepEqual(have, want) {
		return nil
	}
	if _, err := js.UpdateStream(ctx, want); err != nil {
		return fmt.Errorf("declare bucket %s: %w", cfg.Bucket, err)
	}
	return nil
}
