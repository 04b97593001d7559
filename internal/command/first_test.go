package command

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
)

// TestStoredFirstOnlyWhileNoOtherCommandOfTheGroupIsQueued: the first
// command of a group is stored on the condition that none is queued, and
// carries the proof; a second one while the first is queued is refused
// that condition, stored without it, and carries none. Once the first has
// left the queue, the next is stored first again. A repeat of a stored
// command is still the one command.
func TestStoredFirstOnlyWhileNoOtherCommandOfTheGroupIsQueued(t *testing.T) {
	e := newEnv(t)
	e.sub.StoreFirstOfGroup()
	commands, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	first := func(seq uint64) bool {
		t.Helper()
		m, err := commands.GetMsg(e.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		return StoredFirst(m.Header)
	}
	// The stream is new: the commands are its messages 1, 2 and 3.
	seqs := []uint64{1, 2}
	for i, port := range []int32{22, 443} {
		if _, err := e.sub.Submit(e.ctx, authorize(t, fmt.Sprintf("%s-%d", requestID[:30], i), port), nil); err != nil {
			t.Fatal(err)
		}
	}
	if !first(seqs[0]) {
		t.Error("the group's first command carries no proof it was stored first")
	}
	if first(seqs[1]) {
		t.Error("a command stored behind a queued one of its group claims it was stored first")
	}
	if n := e.stored(t, bus.CommandStream); n != 2 {
		t.Fatalf("%d commands stored, want 2", n)
	}
	// A repeat is the one command, not a third.
	if _, err := e.sub.Submit(e.ctx, authorize(t, requestID[:30]+"-1", 443), nil); err != nil {
		t.Fatal(err)
	}
	if n := e.stored(t, bus.CommandStream); n != 2 {
		t.Fatalf("%d commands stored after a repeat, want 2", n)
	}
	for _, seq := range seqs {
		if err := commands.DeleteMsg(e.ctx, seq); err != nil { // as an ack would
			t.Fatal(err)
		}
	}
	if _, err := e.sub.Submit(e.ctx, authorize(t, requestID[:30]+"-2", 8443), nil); err != nil {
		t.Fatal(err)
	}
	if !first(3) {
		t.Error("the group's next command, with none queued, carries no proof it was stored first")
	}
}

// TestSubmitterStoresFirstOnlyWhenTold: a submitter not told to (the
// API's) stores a group's first command without the condition.
func TestSubmitterStoresFirstOnlyWhenTold(t *testing.T) {
	e := newEnv(t)
	if _, err := e.sub.Submit(e.ctx, authorize(t, requestID, 22), nil); err != nil {
		t.Fatal(err)
	}
	commands, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := commands.GetMsg(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if StoredFirst(m.Header) {
		t.Error("a command of a submitter not told to store first carries the condition")
	}
}

// TestStoredFirstNeedsTheCommandsOwnSubject: a check made on another
// subject, or asking for another sequence, proves nothing about the
// command's group.
func TestStoredFirstNeedsTheCommandsOwnSubject(t *testing.T) {
	for _, c := range []struct {
		h    nats.Header
		want bool
	}{
		{nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"0"}}, true},
		{nats.Header{}, false},
		{nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"7"}}, false},
		{nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"0"}, jetstream.ExpectedLastSubjSeqSubjHeader: {"elsewhere"}}, false},
	} {
		if got := StoredFirst(c.h); got != c.want {
			t.Errorf("StoredFirst(%v) = %v, want %v", c.h, got, c.want)
		}
	}
}
