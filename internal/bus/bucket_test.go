package bus

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/natsembed"
)

// TestBucketsReadFromTheLeader: every bucket Declare makes answers reads
// from its stream's leader (no direct get, which any replica may serve
// stale), also when the bucket already existed with direct get on, and
// declaring again changes nothing.
func TestBucketsReadFromTheLeader(t *testing.T) {
	ns, err := natsembed.Start(natsembed.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// As an older version would have left it: direct get on.
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: OperationsBucket}); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		if err := Declare(ctx, js, DefaultTopology(1)); err != nil {
			t.Fatalf("declare #%d: %v", round+1, err)
		}
		for _, b := range []string{OperationsBucket, RolloutsBucket, BudgetBucket} {
			s, err := js.Stream(ctx, "KV_"+b)
			if err != nil {
				t.Fatal(err)
			}
			if s.CachedInfo().Config.AllowDirect {
				t.Errorf("bucket %s reads by direct get", b)
			}
		}
	}
	kv, err := js.KeyValue(ctx, OperationsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "k"); err != nil || string(e.Value()) != "v" {
		t.Fatalf("read back: %v %v", e, err)
	}
}
