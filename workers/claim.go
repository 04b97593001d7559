package workers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// claim is a worker's hold on one delivered message: a lease the server
// renews each time the worker says it is still working (+WPI), and that
// lapses AckWait after the last renewal the server received, when the
// message goes to another worker.
//
// The worker must stop acting before that can happen. JetStream
// identifies a message by its stream sequence alone: an ack or nak from a
// holder whose claim lapsed lands on the newer delivery, and an EC2 call
// it still makes may land after that delivery finished and the group's
// next command ran. So every renewal is a request the server answers,
// and a holder that has had no answer for AckWait less one beat of margin
// cancels its work and neither acks nor naks.
type claim struct {
	msg     jetstream.Msg
	nc      *nats.Conn
	every   time.Duration // between renewals; also each renewal's timeout
	ackWait time.Duration

	mu        sync.Mutex
	confirmed time.Time // when the last answered renewal was sent
	lapsed    bool
}

// newClaim holds msg, renewed every beat; ackWait is its consumer's (three
// beats when unknown).
func newClaim(nc *nats.Conn, msg jetstream.Msg, every, ackWait time.Duration) *claim {
	if ackWait <= 0 {
		ackWait = 3 * every
	}
	return &claim{msg: msg, nc: nc, every: every, ackWait: ackWait}
}

// renew asks the server to restart the message's ack timer and waits for
// its answer. The server answers also for a message it has redelivered
// since, so a renewal shows the claim was not lost before it was sent
// only to a holder that knows it was current then (see Worker.current).
func (c *claim) renew() error {
	sent := time.Now()
	if _, err := c.nc.Request(c.msg.Reply(), []byte("+WPI"), c.every); err != nil {
		return err
	}
	c.mu.Lock()
	c.confirmed = sent
	c.mu.Unlock()
	return nil
}

// heldSince takes the claim as confirmed at since, without a renewal: the
// server started the message's ack timer when it delivered the message,
// which was after since (when the pull that brought it was sent), so the
// claim holds for AckWait from since at least.
func (c *claim) heldSince(since time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if since.After(c.confirmed) {
		c.confirmed = since
	}
}

// valid reports whether the claim is certainly still held: renewed less
// than AckWait minus one beat ago.
func (c *claim) valid() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.lapsed && !c.confirmed.IsZero() && time.Since(c.confirmed) < c.ackWait-c.every
}

// keep renews the claim every beat until ctx ends. When the claim can no
// longer be trusted it marks it lapsed and calls stop, so the holder ends
// its EC2 calls and stops before its next step.
func (c *claim) keep(ctx context.Context, stop context.CancelFunc, log *slog.Logger) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := c.renew()
		if ctx.Err() != nil {
			return
		}
		if err == nil || c.valid() {
			continue
		}
		c.mu.Lock()
		c.lapsed = true
		c.mu.Unlock()
		log.WarnContext(ctx, "claim not renewed in time; stopping", "subject", c.msg.Subject(), "error", err)
		stop()
		return
	}
}

// hasLapsed reports whether keep gave the claim up.
func (c *claim) hasLapsed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lapsed
}
