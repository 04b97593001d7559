package bus

import (
	"context"
	"sync"

	"github.com/nats-io/nats.go"
)

// Link follows a NATS connection so requests in flight can be told at
// once that it dropped. A request whose answer was lost with the
// connection would otherwise wait out its whole timeout, although the
// only honest answer, UNAVAILABLE, was known the moment the link broke;
// and a call that serves others waiting behind it (a Coalescer's) would
// hold them all that long, after the connection is back too.
type Link struct {
	mu sync.Mutex
	// lost is done while the connection is down; markLost makes it so.
	lost     context.Context
	markLost context.CancelFunc
}

// up makes lost a context not yet done: the connection is up.
func (l *Link) up() {
	l.lost, l.markLost = context.WithCancel(context.Background())
}

// links holds the one Link of each open connection, so every part of a
// process using the connection shares one watcher.
var links = struct {
	sync.Mutex
	of map[*nats.Conn]*Link
}{of: map[*nats.Conn]*Link{}}

// LinkOf is nc's Link, which follows nc until it is closed.
func LinkOf(nc *nats.Conn) *Link {
	links.Lock()
	defer links.Unlock()
	if l := links.of[nc]; l != nil {
		return l
	}
	l := &Link{}
	l.up()
	if !nc.IsConnected() {
		l.markLost()
	}
	if nc.IsClosed() {
		return l // down for good: nothing to follow
	}
	links.of[nc] = l
	changes := nc.StatusChanged()
	go func() {
		defer nc.RemoveStatusListener(changes)
		for st := range changes {
			l.mu.Lock()
			down := l.lost.Err() != nil
			switch {
			case st == nats.CONNECTED && down:
				l.up()
			case st != nats.CONNECTED && !down:
				l.markLost()
			}
			l.mu.Unlock()
			if st == nats.CLOSED {
				links.Lock()
				delete(links.of, nc)
				links.Unlock()
				return
			}
		}
	}()
	return l
}

// Bind cancels ctx (with cancel) if the connection drops before ctx ends,
// and returns cancel, which now also stops following the connection: the
// caller defers it as it would cancel. No goroutine waits meanwhile (the
// bound requests are many: every accept's).
func (l *Link) Bind(ctx context.Context, cancel context.CancelFunc) context.CancelFunc {
	if l == nil {
		return cancel
	}
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	stop := context.AfterFunc(lost, cancel)
	return func() {
		stop()
		cancel()
	}
}
