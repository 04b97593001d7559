package bus_test

import (
	"context"
	"errors"
	"strings"
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

// TestReservedIsWhatDeclareReserves: a node whose store holds what
// Reserved says, and a little room for the streams and buckets that
// reserve nothing, takes the default topology; a byte short of Reserved
// and JetStream refuses a stream. So the figure the deployment sizes its
// volumes by is the one JetStream checks.
func TestReservedIsWhatDeclareReserves(t *testing.T) {
	ctx := context.Background()
	top := bus.DefaultTopology(1)
	if got, want := top.Reserved(), top.CommandMaxBytes+top.EventMaxBytes+top.DeadLetterMaxBytes; got != want || got <= 0 {
		t.Fatalf("Reserved() = %d, want %d", got, want)
	}
	fits := natstest.Connect(t, natstest.Server(t, natsembed.Options{MaxStore: top.Reserved() + 1<<20}))
	if err := bus.Declare(ctx, fits, top); err != nil {
		t.Fatalf("declare on a store of Reserved() bytes and 1 MiB: %v", err)
	}
	short := natstest.Connect(t, natstest.Server(t, natsembed.Options{MaxStore: top.Reserved() - 1}))
	err := bus.Declare(ctx, short, top)
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != 10047 { // insufficient storage resources available
		t.Fatalf("declare on a store one byte short: %v, want JetStream's refusal for want of storage", err)
	}
	if !strings.Contains(err.Error(), "the streams reserve 4.0 GiB") || !strings.Contains(err.Error(), "max_file_store") {
		t.Errorf("the refusal does not say what the streams reserve and what to do: %v", err)
	}
}

// TestDeclareShrinksStreamsMadeLarger: streams made with the byte limits
// of before (8 GiB of events and of dead letters) take the default's on
// the next declare, so a node that held them can hold the topology.
func TestDeclareShrinksStreamsMadeLarger(t *testing.T) {
	ctx := context.Background()
	before := bus.DefaultTopology(1)
	before.EventMaxBytes, before.DeadLetterMaxBytes = 8<<30, 8<<30
	// A bound of its own, so the test does not depend on this machine's
	// free space: a reservation is accounting, not a file.
	js := natstest.Connect(t, natstest.Server(t, natsembed.Options{MaxStore: 2 * before.Reserved()}))
	if err := bus.Declare(ctx, js, before); err != nil {
		t.Fatal(err)
	}
	top := bus.DefaultTopology(1)
	if err := bus.Declare(ctx, js, top); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{bus.EventStream: top.EventMaxBytes, bus.DeadLetterStream: top.DeadLetterMaxBytes} {
		s, err := js.Stream(ctx, name)
		if err != nil || s.CachedInfo().Config.MaxBytes != want {
			t.Fatalf("%s after declare: MaxBytes %d, %v; want %d", name, s.CachedInfo().Config.MaxBytes, err, want)
		}
	}
}
