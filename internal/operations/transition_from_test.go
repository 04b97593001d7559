package operations

import (
	"context"
	"errors"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestTransitionFromHeldRecord: a writer holding the record at its
// revision changes it with one compare-and-set and its event, no read;
// when another writer moved the record meanwhile, the change is made on
// what that writer stored, so neither change is lost; an ended record is
// not changed; and a writer holding nothing reads the record first.
func TestTransitionFromHeldRecord(t *testing.T) {
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	ctx := context.Background()
	s, err := Open(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	const id = "op-held"
	newRecord(t, s, id)
	running := palisadev1.OperationState_OPERATION_STATE_RUNNING

	// Holding nothing: read, then changed.
	rec, rev, err := s.TransitionFrom(ctx, id, nil, 0, setState(running))
	if err != nil || rec.GetMetadata().GetState() != running || rev == 0 {
		t.Fatalf("from nothing: %v, rev %d, %v", rec.GetMetadata().GetState(), rev, err)
	}
	if _, stored, _ := s.Get(ctx, id); stored != rev {
		t.Fatalf("revision %d returned, %d stored", rev, stored)
	}

	// Holding it: the update and its event, two messages sent.
	sent := js.Conn().Stats().OutMsgs
	retrying := func(r *palisadev1.OperationRecord) (string, error) {
		r.Metadata.State = palisadev1.OperationState_OPERATION_STATE_RETRYING
		r.Metadata.RetryReason = "held"
		return "held", nil
	}
	held, heldRev, err := s.TransitionFrom(ctx, id, rec, rev, retrying)
	if err != nil {
		t.Fatal(err)
	}
	if n := js.Conn().Stats().OutMsgs - sent; n != 2 {
		t.Fatalf("a change from a held record sent %d messages, want 2 (update, event)", n)
	}
	if rec.GetMetadata().GetState() != running {
		t.Fatal("the caller's record was changed in place")
	}
	if got := len(held.GetHistory()); got != 3 || held.GetHistory()[2].GetReason() != "held" {
		t.Fatalf("history after two changes: %d events", got)
	}

	// Another writer moves it: the stale holder's change lands on top.
	if _, err := s.Transition(ctx, id, func(r *palisadev1.OperationRecord) (string, error) {
		r.Metadata.Attempts = 7
		return "elsewhere", nil
	}); err != nil {
		t.Fatal(err)
	}
	var seen int32
	now, _, err := s.TransitionFrom(ctx, id, held, heldRev, func(r *palisadev1.OperationRecord) (string, error) {
		seen = r.GetMetadata().GetAttempts()
		r.Metadata.State = running
		return "stale holder", nil
	})
	if err != nil || seen != 7 || now.GetMetadata().GetAttempts() != 7 || len(now.GetHistory()) != 5 {
		t.Fatalf("stale holder: saw attempts %d, stored %v with %d events: %v", seen, now.GetMetadata(), len(now.GetHistory()), err)
	}

	// Ended: returned with ErrEnded, the change never called.
	ended, endRev, err := s.TransitionFrom(ctx, id, nil, 0, setState(palisadev1.OperationState_OPERATION_STATE_SUCCEEDED))
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []*palisadev1.OperationRecord{ended, nil} {
		called := false
		_, _, err := s.TransitionFrom(ctx, id, from, endRev, func(*palisadev1.OperationRecord) (string, error) {
			called = true
			return "", nil
		})
		if !errors.Is(err, ErrEnded) || called {
			t.Fatalf("ended record: %v, change called %v", err, called)
		}
	}

	// A change that declines, or fails, leaves the record as it is.
	abort := errors.New("abort")
	other := "op-other"
	newRecord(t, s, other)
	if _, _, err := s.TransitionFrom(ctx, other, nil, 0, func(*palisadev1.OperationRecord) (string, error) { return "", ErrNoChange }); err != nil {
		t.Fatalf("change declined: %v", err)
	}
	if _, _, err := s.TransitionFrom(ctx, other, nil, 0, func(*palisadev1.OperationRecord) (string, error) { return "", abort }); !errors.Is(err, abort) {
		t.Fatalf("change failed: %v", err)
	}
	if r, _, _ := s.Get(ctx, other); len(r.GetHistory()) != 1 {
		t.Fatalf("declined changes stored: %d events", len(r.GetHistory()))
	}
	if _, _, err := s.TransitionFrom(ctx, "op-missing", nil, 0, setState(running)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}

	// NATS gone: the write's error, not a retry loop.
	r, rRev, err := s.Get(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	js.Conn().Close()
	if _, _, err := s.TransitionFrom(ctx, other, r, rRev, setState(running)); err == nil || errors.Is(err, ErrEnded) {
		t.Fatalf("with NATS gone: %v", err)
	}
}
