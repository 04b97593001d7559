package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestLink: a context bound to the link is cancelled when the connection
// drops (the client reconnecting, not closed), one bound while it is down
// at once, and one whose own end comes first is left alone.
func TestLink(t *testing.T) {
	srv := natstest.Server(t, natsembed.Options{})
	js := natstest.Connect(t, srv, nats.MaxReconnects(-1), nats.ReconnectWait(time.Hour))
	link := bus.LinkOf(js.Conn())

	done, doneCancel := context.WithCancel(context.Background())
	link.Bind(done, doneCancel)
	doneCancel() // ended first: nothing to do

	bound, cancel := context.WithCancel(context.Background())
	defer cancel()
	link.Bind(bound, cancel)
	select {
	case <-bound.Done():
		t.Fatal("cancelled while connected")
	case <-time.After(50 * time.Millisecond):
	}

	srv.Shutdown()
	select {
	case <-bound.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled when the connection dropped")
	}
	later, cancelLater := context.WithCancel(context.Background())
	defer cancelLater()
	link.Bind(later, cancelLater)
	select {
	case <-later.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("bound while down, not cancelled")
	}
}

// TestLinkOfIsShared: every part of a process using one connection gets
// the one Link; a closed connection gets a Link that is down and is not
// kept, and a later connection a Link of its own.
func TestLinkOfIsShared(t *testing.T) {
	srv := natstest.Server(t, natsembed.Options{})
	nc := natstest.Connect(t, srv).Conn()
	first, second := bus.LinkOf(nc), bus.LinkOf(nc)
	if first != second {
		t.Fatal("two Links for one connection")
	}
	other := natstest.Connect(t, srv).Conn()
	if bus.LinkOf(other) == first {
		t.Fatal("two connections share a Link")
	}
	other.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bus.LinkOf(other).Bind(ctx, cancel)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a closed connection's Link is not down")
	}
}
