package operations

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// TransitionFrom is Transition for a writer that already holds the record:
// rec as stored at revision rev, because it read or wrote it there (nil:
// it holds none, and the record is read first). The change is made on a
// copy of rec and stored with compare-and-set on rev, without reading the
// record again; only when it moved meanwhile is it read, as Transition
// reads it, and the change made on what was read. A worker changing its
// operation's record once per step so saves a read per step. It returns
// the record as stored and its revision; the record and its revision as
// found with ErrEnded or an error of change.
func (s *Store) TransitionFrom(ctx context.Context, id string, rec *palisadev1.OperationRecord, rev uint64,
	change func(rec *palisadev1.OperationRecord) (reason string, err error)) (*palisadev1.OperationRecord, uint64, error) {
	for {
		if rec == nil {
			var err error
			if rec, rev, err = s.Get(ctx, id); err != nil {
				return nil, 0, err
			}
		} else {
			rec = proto.CloneOf(rec) // the caller's copy stays as stored
		}
		if Terminal(rec.GetMetadata().GetState()) {
			return rec, rev, ErrEnded // an ended record never changes again
		}
		was := s.index.listsOf(rec.GetMetadata())
		reason, err := change(rec)
		if errors.Is(err, ErrNoChange) {
			return rec, rev, nil
		}
		if err != nil {
			return rec, rev, err
		}
		recordChange(rec, timestamppb.New(s.now()), reason)
		b, err := proto.Marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("encode operation %s: %w", id, err)
		}
		// The lists the change adds the operation to (its final state, a
		// created group's id) get their entries before the record says
		// so, as on create: an entry whose record then says otherwise
		// (this write lost to another) is skipped by a list.
		if joined := newLists(was, s.index.listsOf(rec.GetMetadata())); len(joined) > 0 {
			if err := bus.AppendEach(ctx, joined, []byte(id), id); err != nil {
				return nil, 0, fmt.Errorf("index operation %s: %w", id, err)
			}
		}
		next, err := s.kv.Update(ctx, id, b, rev)
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
				isWrongLastSequence(err) {
				rec = nil // someone else moved it; read it and look again
				continue
			}
			return nil, 0, fmt.Errorf("update operation %s: %w", id, err)
		}
		s.announce(ctx, rec)
		return rec, next, nil
	}
}

// recordChange stamps a change made to rec at now: its update time, its
// start or end time when it started or ended, and its event in the
// history, as Transition does.
func recordChange(rec *palisadev1.OperationRecord, now *timestamppb.Timestamp, reason string) {
	md := rec.GetMetadata()
	md.UpdateTime = now
	switch md.GetState() {
	case palisadev1.OperationState_OPERATION_STATE_RUNNING:
		if md.StartTime == nil {
			md.StartTime = now
		}
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
		palisadev1.OperationState_OPERATION_STATE_FAILED,
		palisadev1.OperationState_OPERATION_STATE_CANCELLED:
		md.EndTime = now
	}
	rec.History = append(rec.History, eventOf(rec, now, reason))
}
