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
	mu   sync.Mutex
	lost chan struct{} // closed while the connection is down
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
	l := &Link{lost: make(chan struct{})}
	if !nc.IsConnected() {
		close(l.lost)
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
			down := isClosed(l.lost)
			switch {
			case st == nats.CONNECTED && down:
				l.lost = make(chan struct{})
			case st != nats.CONNECTED && !down:
				close(l.lost)
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

// Bind cancels ctx (with cancel) if the connection drops before ctx ends.
func (l *Link) Bind(ctx context.Context, cancel context.CancelFunc) {
	if l == nil {
		return
	}
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-ctx.Done():
		}
	}()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
