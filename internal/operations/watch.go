package operations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// recheckEvery bounds how long Watch trusts the event stream alone: events
// are published after the record is stored, so a writer that crashed in
// between leaves the change only in the record's history.
const recheckEvery = 2 * time.Second

// watchIdle is how long the server keeps a watch's consumer once nobody
// pulls from it: a watcher that vanished without deleting it (a crash, a
// lost connection) leaves it behind no longer than that.
const watchIdle = 10 * time.Second

// Watch sends the operation's events so far, then follows it live until it
// ends or ctx is done. Every event is sent once, in order.
//
// Only the record is believed: an event on the stream (which anyone who
// may publish there could forge) is a sign to read the record again, and
// what is sent comes from the record's history. A record that is corrupt
// ends the watch with a *CorruptError.
//
// The watch's consumer is deleted when it returns.
func (s *Store) Watch(ctx context.Context, id string, send func(*palisadev1.OperationEvent) error) error {
	// Subscribe before reading the record so nothing published in between
	// is missed.
	cons, err := s.js.OrderedConsumer(ctx, bus.EventStream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{bus.EventSubject(id)},
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: watchIdle,
	})
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	// Next does not hear ctx: stopping the iterator wakes it, so a
	// cancelled watch ends (and frees its consumer) at once.
	stopOnCancel := context.AfterFunc(ctx, it.Stop)
	defer func() {
		stopOnCancel()
		it.Stop()
		s.deleteConsumer(ctx, cons)
	}()

	var sent int32
	catchUp := func() (done bool, err error) {
		rec, _, err := s.Get(ctx, id)
		if err != nil {
			return false, err
		}
		for _, ev := range rec.GetHistory() {
			if ev.GetSequence() <= sent {
				continue
			}
			if err := send(ev); err != nil {
				return false, err
			}
			sent = ev.GetSequence()
		}
		return Terminal(rec.GetMetadata().GetState()), nil
	}
	if done, err := catchUp(); done || err != nil {
		return err
	}
	for {
		_, err := it.Next(jetstream.NextMaxWait(recheckEvery))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("watch %s: %w", id, err)
		}
		// An event, or a while without one: the record has it all.
		if done, err := catchUp(); done || err != nil {
			return err
		}
	}
}

// deleteConsumer deletes a watch's consumer now rather than leave it to
// the server's idle clean-up.
func (s *Store) deleteConsumer(ctx context.Context, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := s.js.DeleteConsumer(dctx, bus.EventStream, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.log.DebugContext(ctx, "watch consumer not deleted; the server drops it when idle", "consumer", info.Name, "error", err)
	}
}
