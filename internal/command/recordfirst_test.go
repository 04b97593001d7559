package command

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/operations"
)

// recordFirstEnv is an env whose submitter writes records first, on a
// command queue of queueSize commands (0: the default).
func recordFirstEnv(t *testing.T, queueSize int64) *env {
	t.Helper()
	top := bus.DefaultTopology(1)
	if queueSize > 0 {
		top.CommandMaxMsgs = queueSize
	}
	e := newEnvOn(t, top)
	e.sub.WriteRecordFirst()
	return e
}

func (e *env) state(t *testing.T, id string) palisadev1.OperationState {
	t.Helper()
	rec, _, err := e.records.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec.GetMetadata().GetState()
}

// TestRecordFirstStoresRecordIndexAndCommand: a child submitted by a
// submitter writing records first is recorded, listed and queued once,
// however often it is submitted; afterStore runs once both are stored.
func TestRecordFirstStoresRecordIndexAndCommand(t *testing.T) {
	e := recordFirstEnv(t, 0)
	both := false
	afterStore := func(context.Context) {
		both = e.stored(t, bus.CommandStream) == 1 && e.state(t, ChildID("r1", account, region, groupID)) == palisadev1.OperationState_OPERATION_STATE_ACCEPTED
	}
	for range 2 {
		rec, err := e.sub.Submit(e.ctx, child(t, true), afterStore)
		if err != nil {
			t.Fatal(err)
		}
		if rec.GetId() != ChildID("r1", account, region, groupID) || rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
			t.Fatalf("record %v", rec)
		}
	}
	if got := e.stored(t, bus.CommandStream); got != 1 {
		t.Errorf("%d commands stored, want 1", got)
	}
	if !both {
		t.Error("afterStore ran before the command and the record were both stored")
	}
	list, _, err := e.records.List(e.ctx, operations.Query{GroupID: groupID}, 10, "", nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("the group's operations: %d (%v), want the child", len(list), err)
	}
}

// TestRecordFirstLeavesARecordARequeueCompletes: the crash point this
// order adds, a record whose command was not stored (here the queue is
// full), is what Requeue repairs; a repeated Submit, as a driver makes
// for a child it had not counted as started, does too, and neither stores
// the command twice.
func TestRecordFirstLeavesARecordARequeueCompletes(t *testing.T) {
	e := recordFirstEnv(t, 1)
	api, err := NewSubmitter(e.ctx, e.js, e.records, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Submit(e.ctx, authorize(t, requestID, 443), nil); err != nil {
		t.Fatal(err)
	}
	var full *FullError
	if _, err := e.sub.Submit(e.ctx, child(t, true), nil); !errors.As(err, &full) {
		t.Fatalf("a child on a full queue: %v, want FullError", err)
	}
	id := ChildID("r1", account, region, groupID)
	if st := e.state(t, id); st != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
		t.Fatalf("the child's record says %v before its command is stored", st)
	}
	if err := e.sub.Requeue(e.ctx, child(t, true)); !errors.As(err, &full) {
		t.Fatalf("requeue on a full queue: %v, want FullError", err)
	}

	commands, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := commands.Purge(e.ctx); err != nil { // the API's command ran
		t.Fatal(err)
	}
	if err := e.sub.Requeue(e.ctx, child(t, true)); err != nil {
		t.Fatal(err)
	}
	if err := e.sub.Requeue(e.ctx, child(t, true)); err != nil {
		t.Fatal(err)
	}
	if rec, err := e.sub.Submit(e.ctx, child(t, true), nil); err != nil || rec.GetId() != id {
		t.Fatalf("submitted again: %v, %v", rec.GetId(), err)
	}
	if got := e.stored(t, bus.CommandStream); got != 1 {
		t.Errorf("%d commands stored, want the child's once", got)
	}
}

// TestRecordFirstStoresNothingForAStartedOperation: a child whose record
// has moved on had its command taken by a worker; submitting it again
// stores no second command.
func TestRecordFirstStoresNothingForAStartedOperation(t *testing.T) {
	e := recordFirstEnv(t, 0)
	id := ChildID("r1", account, region, groupID)
	if err := e.records.Create(e.ctx, NewRecord(child(t, true))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.records.Transition(e.ctx, id, func(r *palisadev1.OperationRecord) (string, error) {
		r.Metadata.State = palisadev1.OperationState_OPERATION_STATE_RUNNING
		return "attempt 1", nil
	}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.sub.Submit(e.ctx, child(t, true), nil)
	if err != nil || rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_RUNNING {
		t.Fatalf("submit of a running child: %v, %v; want its record as it is", rec.GetMetadata().GetState(), err)
	}
	if got := e.stored(t, bus.CommandStream); got != 0 {
		t.Errorf("%d commands stored for a child already running, want 0", got)
	}
}

// TestRecordFirstOnlyForCommands: a rollout itself is stored as the API
// stores any request, command first, whatever the submitter was told.
func TestRecordFirstOnlyForCommands(t *testing.T) {
	e := recordFirstEnv(t, 0)
	const id = "0b7c1f0e-8d1c-4c43-9a55-3a8f3f1f6a10"
	ro := &palisadev1.Command{
		OperationId: OperationID("alice", id), Caller: "alice", RequestId: id, RequestHash: []byte("h"),
		Request: &palisadev1.Command_StartRollout{StartRollout: &palisadev1.StartRolloutRequest{RequestId: id}},
	}
	stored := false
	if _, err := e.sub.Submit(e.ctx, ro, func(context.Context) { stored = e.stored(t, bus.RolloutStream) == 1 }); err != nil {
		t.Fatal(err)
	}
	if !stored {
		t.Error("the rollout was not stored before its record")
	}
}

// TestRequeueWithoutNATSIsUnavailable: a requeue on a closed connection
// fails at once, as Submit does.
func TestRequeueWithoutNATSIsUnavailable(t *testing.T) {
	e := recordFirstEnv(t, 0)
	e.js.Conn().Close()
	var unavailable *UnavailableError
	if err := e.sub.Requeue(e.ctx, child(t, true)); !errors.As(err, &unavailable) {
		t.Fatalf("requeue without NATS: %v, want UnavailableError", err)
	}
}

// TestRecordFirstCommandNamesItsRecord: the command a submitter writing
// records first stores names, in a header, the revision of the record it
// created, so the worker can start from that record without reading it;
// a command stored for a record found already there names none, nor
// does a command stored first (the API's).
func TestRecordFirstCommandNamesItsRecord(t *testing.T) {
	top := bus.DefaultTopology(1)
	top.DuplicateWindow = 100 * time.Millisecond
	e := newEnvOn(t, top)
	e.sub.WriteRecordFirst()
	stream, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	// named is the revision the command stored at seq names, "" for none.
	named := func(seq uint64) (string, *palisadev1.Command) {
		t.Helper()
		m, err := stream.GetMsg(e.ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		cmd := &palisadev1.Command{}
		if err := proto.Unmarshal(m.Data, cmd); err != nil {
			t.Fatal(err)
		}
		return m.Header.Get(bus.RecordRevisionHeader), cmd
	}

	sent := child(t, true)
	if _, err := e.sub.Submit(e.ctx, sent, nil); err != nil {
		t.Fatal(err)
	}
	rec, rev, err := e.records.Get(e.ctx, sent.GetOperationId())
	if err != nil {
		t.Fatal(err)
	}
	got, cmd := named(1)
	if got != strconv.FormatUint(rev, 10) {
		t.Fatalf("stored command names revision %q, the record is at %d", got, rev)
	}
	if !proto.Equal(NewRecord(cmd), rec) {
		t.Fatalf("the record the stored command makes is not the record stored:\n%v\n%v", NewRecord(cmd), rec)
	}

	// The record there already, and the command stored again after the
	// de-duplication window: no revision is named.
	time.Sleep(2 * top.DuplicateWindow)
	if _, err := e.sub.Submit(e.ctx, child(t, true), nil); err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(e.ctx)
	if err != nil || info.State.Msgs != 2 {
		t.Fatalf("after the repeat: %+v, %v; want the command stored twice", info.State, err)
	}
	if got, _ := named(info.State.LastSeq); got != "" {
		t.Errorf("command for a record found there names revision %q, want none", got)
	}

	api, err := NewSubmitter(e.ctx, e.js, e.records, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Submit(e.ctx, authorize(t, requestID, 443), nil); err != nil {
		t.Fatal(err)
	}
	if info, err = stream.Info(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := named(info.State.LastSeq); got != "" {
		t.Errorf("a command stored first names revision %q, want none", got)
	}
}
