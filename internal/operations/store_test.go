package operations

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	s, err := Open(context.Background(), js, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newRecord(t *testing.T, s *Store, id string) {
	t.Helper()
	now := timestamppb.Now()
	rec := NewRecord(id, nil, nil, &palisadev1.OperationMetadata{
		State: palisadev1.OperationState_OPERATION_STATE_ACCEPTED, CreateTime: now, UpdateTime: now,
		AccountId: "111122223333", Region: "us-east-1", GroupId: "sg-0123456789abcdef0",
	})
	if err := s.Create(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

func setState(st palisadev1.OperationState) func(*palisadev1.OperationRecord) (string, error) {
	return func(rec *palisadev1.OperationRecord) (string, error) {
		rec.Metadata.State = st
		return st.String(), nil
	}
}

// TestEndedRecordsNeverChange: once an operation has ended, no
// Transition changes it again, whatever its func would do. A worker that
// lost its claim and carried on once turned a SUCCEEDED operation back
// into RETRYING, and the operation then never ended.
func TestEndedRecordsNeverChange(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, end := range []palisadev1.OperationState{
		palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
		palisadev1.OperationState_OPERATION_STATE_FAILED,
		palisadev1.OperationState_OPERATION_STATE_CANCELLED,
	} {
		id := "op-" + end.String()
		newRecord(t, s, id)
		if _, err := s.Transition(ctx, id, setState(palisadev1.OperationState_OPERATION_STATE_RUNNING)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Transition(ctx, id, setState(end)); err != nil {
			t.Fatal(err)
		}
		_, rev, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		called := false
		rec, err := s.Transition(ctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
			called = true
			return setState(palisadev1.OperationState_OPERATION_STATE_RETRYING)(rec)
		})
		if !errors.Is(err, ErrEnded) {
			t.Errorf("%v: Transition answered %v, want ErrEnded", end, err)
		}
		if called {
			t.Errorf("%v: the change func ran on an ended record", end)
		}
		if rec.GetMetadata().GetState() != end {
			t.Errorf("%v: Transition returned a record in %v", end, rec.GetMetadata().GetState())
		}
		after, rev2, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rev2 != rev || after.GetMetadata().GetState() != end {
			t.Errorf("%v: record moved to %v (revision %d → %d)", end, after.GetMetadata().GetState(), rev, rev2)
		}
	}
}

// TestTransitionErrors: a missing record, a func that declines and a func
// that fails leave nothing written.
func TestTransitionErrors(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Transition(ctx, "nobody", setState(palisadev1.OperationState_OPERATION_STATE_RUNNING)); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing record: %v, want ErrNotFound", err)
	}
	newRecord(t, s, "op")
	_, rev, err := s.Get(ctx, "op")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	for name, f := range map[string]func(*palisadev1.OperationRecord) (string, error){
		"no change": func(*palisadev1.OperationRecord) (string, error) { return "", ErrNoChange },
		"abort":     func(*palisadev1.OperationRecord) (string, error) { return "", boom },
	} {
		_, err := s.Transition(ctx, "op", f)
		if name == "abort" && !errors.Is(err, boom) {
			t.Errorf("%s: %v, want the func's error", name, err)
		}
		if name == "no change" && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, rev2, _ := s.Get(ctx, "op"); rev2 != rev {
			t.Errorf("%s: record written (revision %d → %d)", name, rev, rev2)
		}
	}
}

// TestStoredChangeWithoutEventIsNoError: with no events stream to take
// the event, Create and Transition still store the change and answer
// success, since the change happened and the record's history holds it;
// the store counts what it could not announce, and PublishLast fills the
// gap once the stream is back.
func TestStoredChangeWithoutEventIsNoError(t *testing.T) {
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	ctx := context.Background()
	s, err := Open(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	events, err := js.Stream(ctx, bus.EventStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := events.CachedInfo().Config
	if err := js.DeleteStream(ctx, bus.EventStream); err != nil {
		t.Fatal(err)
	}
	newRecord(t, s, "quiet")
	rec, err := s.Transition(ctx, "quiet", setState(palisadev1.OperationState_OPERATION_STATE_RUNNING))
	if err != nil {
		t.Fatalf("Transition with no events stream: %v, want success", err)
	}
	if got, _, err := s.Get(ctx, "quiet"); err != nil || got.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_RUNNING || len(got.GetHistory()) != 2 {
		t.Fatalf("stored record: %v, %v; want RUNNING with two events in its history", got.GetMetadata().GetState(), err)
	}
	if n := s.Unannounced(); n != 2 {
		t.Errorf("Unannounced = %d, want 2 (the create and the transition)", n)
	}
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishLast(ctx, rec); err != nil {
		t.Errorf("PublishLast once the stream is back: %v", err)
	}
}
