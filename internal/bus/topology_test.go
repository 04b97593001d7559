package bus_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestDeclarePersistModes: on one node the events and the counters are
// flushed in the background and everything else is synced per write; a
// data directory whose events stream was created synced keeps it, since
// a stream's persist mode cannot change, and is declared without error.
func TestDeclarePersistModes(t *testing.T) {
	ctx := context.Background()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	modes := map[string]jetstream.PersistModeType{
		bus.EventStream: jetstream.AsyncPersistMode, bus.IndexCountStream: jetstream.AsyncPersistMode,
		bus.CommandStream: jetstream.DefaultPersistMode, bus.AuditStream: jetstream.DefaultPersistMode,
		bus.OperationIndexStream: jetstream.DefaultPersistMode,
	}
	for name, want := range modes {
		s, err := js.Stream(ctx, name)
		if err != nil || s.CachedInfo().Config.PersistMode != want {
			t.Fatalf("%s: persist mode %v, %v; want %v", name, s.CachedInfo().Config.PersistMode, err, want)
		}
	}

	older := natstest.Connect(t, natstest.Server(t, natsembed.Options{}))
	if _, err := older.CreateStream(ctx, jetstream.StreamConfig{
		Name: bus.EventStream, Subjects: []string{bus.EventSubjectPrefix + ".>"}, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // and again, as every start does
		if err := bus.Declare(ctx, older, bus.DefaultTopology(1)); err != nil {
			t.Fatalf("declare over an events stream created synced: %v", err)
		}
	}
	s, err := older.Stream(ctx, bus.EventStream)
	if err != nil || s.CachedInfo().Config.PersistMode != jetstream.DefaultPersistMode || s.CachedInfo().Config.MaxAge != bus.DefaultTopology(1).EventRetention {
		t.Fatalf("events stream after declare: %+v, %v", s.CachedInfo().Config, err)
	}
}
