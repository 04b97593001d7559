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
	link := bus.WatchLink(context.Background(), js.Conn())

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
