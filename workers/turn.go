package workers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/command"
)

// Per-group order (design invariant 4) without one command in flight per
// partition: the command stream is a work queue, so a command stays in it
// until a worker acknowledges it, which it does once the operation has
// ended. The commands of one group share one subject. So a command whose
// subject holds an earlier command in the stream must wait: that command
// has not ended, whoever holds it, whether it runs or waits to be
// redelivered. A command that is the first on its subject may run; no
// later one can, until it is acknowledged. Groups whose commands share a
// partition no longer wait for each other.

// turns wakes commands waiting for their group's turn when a command of
// the group ends in this worker. Commands whose earlier command is held
// by another worker poll the stream instead.
type turns struct {
	mu   sync.Mutex
	next map[string]chan struct{} // by subject; closed when a command on it ends here
}

// wait returns a channel closed the next time a command on subject ends
// in this worker.
func (t *turns) wait(subject string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch, ok := t.next[subject]
	if !ok {
		ch = make(chan struct{})
		t.next[subject] = ch
	}
	return ch
}

// ended wakes the commands waiting on subject.
func (t *turns) ended(subject string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ch, ok := t.next[subject]; ok {
		close(ch)
		delete(t.next, subject)
	}
}

// Bounds of the poll for a group's turn while another worker holds the
// group's earlier command. The longest wait bounds what a chain of
// commands on one group, spread over workers, loses per step; each
// waiting command costs a request per wait at most.
const (
	turnPollMin = 10 * time.Millisecond
	turnPollMax = 250 * time.Millisecond
)

// turn is what awaitTurn found.
type turn int

const (
	turnMine    turn = iota // the command is its group's first: it may run
	turnGone                // the command is no longer queued: an earlier delivery ended it
	turnStopped             // the delivery's work ended while it waited
)

// awaitTurn waits until the delivery's command is the first command of
// its group still queued. Meanwhile it gives its slot up (the claim stays
// renewed) and takes one again before it returns turnMine.
//
// A command stored while no other command of its group was queued needs
// no look: JetStream stored it only on that condition (see
// command.StoredFirst), every earlier command of the group had ended
// then, and every later one comes after it.
func (d *delivery) awaitTurn() turn {
	if command.StoredFirst(d.msg.Headers()) {
		return turnMine
	}
	subject := d.msg.Subject()
	poll := turnPollMin
	for {
		woken := d.w.turns.wait(subject)
		first, err := firstQueued(d.work, d.w.commands, subject)
		switch {
		case err == nil && first == d.md.Sequence.Stream:
			if !d.slot.take(d.work) {
				return turnStopped
			}
			return turnMine
		case err == nil && first > d.md.Sequence.Stream, errors.Is(err, jetstream.ErrMsgNotFound):
			return turnGone
		case err != nil:
			if d.work.Err() != nil {
				return turnStopped
			}
			// NATS away: the claim lapses in time if it stays away.
			d.log.DebugContext(d.work, "group's turn not checked", "error", err)
		default:
			d.log.DebugContext(d.work, "waiting for the group's earlier command", "first_seq", first)
		}
		d.slot.release()
		select {
		case <-d.work.Done():
			return turnStopped
		case <-woken:
			poll = turnPollMin
		case <-time.After(poll):
			poll = min(2*poll, turnPollMax)
		}
	}
}

// firstQueued is the stream sequence of the first command queued on
// subject.
func firstQueued(ctx context.Context, commands jetstream.Stream, subject string) (uint64, error) {
	m, err := commands.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(subject))
	if err != nil {
		return 0, err
	}
	return m.Sequence, nil
}
