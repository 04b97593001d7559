package operations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// recheckEvery bounds how long Watch trusts the event stream alone: events
// are published after the record is stored, so a writer that crashed in
// between leaves the change only in the record's history.
const recheckEvery = 2 * time.Second

// Watch sends the operation's events so far, then follows it live until it
// ends or ctx is done. Every event is sent once, in order.
func (s *Store) Watch(ctx context.Context, id string, send func(*palisadev1.OperationEvent) error) error {
	// Subscribe before reading the record so nothing published in between
	// is missed; repeats are dropped by sequence.
	cons, err := s.js.OrderedConsumer(ctx, bus.EventStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bus.EventSubject(id)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("watch %s: %w", id, err)
	}
	defer it.Stop()

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
		msg, err := it.Next(jetstream.NextMaxWait(recheckEvery))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			if done, err := catchUp(); done || err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("watch %s: %w", id, err)
		}
		ev := &palisadev1.OperationEvent{}
		if err := proto.Unmarshal(msg.Data(), ev); err != nil {
			return fmt.Errorf("watch %s: decode event: %w", id, err)
		}
		switch {
		case ev.GetSequence() <= sent:
			continue
		case ev.GetSequence() > sent+1: // a gap: the record has it all
			if done, err := catchUp(); done || err != nil {
				return err
			}
			continue
		}
		if err := send(ev); err != nil {
			return err
		}
		sent = ev.GetSequence()
		if Terminal(ev.GetState()) {
			return nil
		}
	}
}
