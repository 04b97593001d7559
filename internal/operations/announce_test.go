package operations

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestAnnounceWithoutWaiting: a store told to announce without waiting
// stores every change's event in the events stream all the same, in the
// order of the changes; with no stream to take them, the changes are
// stored and the events counted as unannounced once their publisher
// hears so.
func TestAnnounceWithoutWaiting(t *testing.T) {
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	testAnnounceWithoutWaiting(t, js)
}

// TestAnnounceWithoutWaitingKeepsTheAPIPrefix: a store on a JetStream
// reached under an API prefix announces under it too.
func TestAnnounceWithoutWaitingKeepsTheAPIPrefix(t *testing.T) {
	_, plain := natstest.Bus(t, bus.DefaultTopology(1))
	js, err := jetstream.NewWithAPIPrefix(plain.Conn(), "$JS.API")
	if err != nil {
		t.Fatal(err)
	}
	if js.Options().APIPrefix == jetstream.DefaultAPIPrefix {
		t.Fatalf("API prefix %q: want one other than the default, spelled differently", js.Options().APIPrefix)
	}
	testAnnounceWithoutWaiting(t, js)
}

func testAnnounceWithoutWaiting(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, js, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AnnounceWithoutWaiting(5*time.Second, 16); err != nil {
		t.Fatal(err)
	}
	newRecord(t, s, "fast")
	for _, st := range []palisadev1.OperationState{
		palisadev1.OperationState_OPERATION_STATE_RUNNING,
		palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
	} {
		if _, err := s.Transition(ctx, "fast", setState(st)); err != nil {
			t.Fatal(err)
		}
	}
	events, err := js.Stream(ctx, bus.EventStream)
	if err != nil {
		t.Fatal(err)
	}
	want := []palisadev1.OperationState{
		palisadev1.OperationState_OPERATION_STATE_ACCEPTED,
		palisadev1.OperationState_OPERATION_STATE_RUNNING,
		palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
	}
	for i, st := range want {
		m := waitForMsg(t, events, uint64(i+1))
		ev := decodeEvent(t, m.Data)
		if ev.GetState() != st || ev.GetSequence() != int32(i+1) {
			t.Errorf("event %d: %v (sequence %d), want %v (sequence %d)", i+1, ev.GetState(), ev.GetSequence(), st, i+1)
		}
	}
	if n := s.Unannounced(); n != 0 {
		t.Errorf("Unannounced = %d, want 0", n)
	}

	if err := js.DeleteStream(ctx, bus.EventStream); err != nil {
		t.Fatal(err)
	}
	newRecord(t, s, "quiet")
	if _, err := s.Transition(ctx, "quiet", setState(palisadev1.OperationState_OPERATION_STATE_RUNNING)); err != nil {
		t.Fatalf("Transition with no events stream: %v, want success", err)
	}
	if got, _, err := s.Get(ctx, "quiet"); err != nil || len(got.GetHistory()) != 2 {
		t.Fatalf("stored record: %v, %v; want two events in its history", got.GetHistory(), err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Unannounced() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Unannounced(); n != 2 {
		t.Errorf("Unannounced = %d, want 2 (the create and the transition)", n)
	}
}

func waitForMsg(t *testing.T, st jetstream.Stream, seq uint64) *jetstream.RawStreamMsg {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := st.GetMsg(context.Background(), seq)
		if err == nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %d not stored: %v", seq, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func decodeEvent(t *testing.T, b []byte) *palisadev1.OperationEvent {
	t.Helper()
	ev := &palisadev1.OperationEvent{}
	if err := proto.Unmarshal(b, ev); err != nil {
		t.Fatalf("event does not decode: %v", err)
	}
	return ev
}
