package workers

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
)

// publishBare stores an authorize command for port without its record, as
// a submitter does before it writes the record (or when it dies there).
func (e *claimEnv) publishBare(port int32) (*palisadev1.Command, jetstream.Consumer) {
	e.t.Helper()
	cmd := e.authorizeCommand(port)
	return cmd, e.publish(cmd, nil)
}

func (e *claimEnv) authorizeCommand(port int32) *palisadev1.Command {
	return &palisadev1.Command{OperationId: fmt.Sprintf("%032x", time.Now().UnixNano()), Caller: "local", AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: &palisadev1.Location{AccountId: staleAccount, Region: staleRegion}, GroupId: e.group,
			IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: proto.Int32(port), ToPort: proto.Int32(port),
				IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}}}}}
}

// publishNamed stores an authorize command for port as a submitter
// writing records first does: its record, then the command, whose header
// names the record's revision; or, with a revision, names that instead.
func (e *claimEnv) publishNamed(port int32, revision ...string) (*palisadev1.Command, jetstream.Consumer) {
	e.t.Helper()
	cmd := e.authorizeCommand(port)
	rec := command.NewRecord(cmd)
	if err := e.w.store.Index(e.ctx, rec); err != nil {
		e.t.Fatal(err)
	}
	rev, err := e.w.store.CreateIndexed(e.ctx, rec)
	if err != nil {
		e.t.Fatal(err)
	}
	named := strconv.FormatUint(rev, 10)
	if len(revision) > 0 {
		named = revision[0]
	}
	h := nats.Header{}
	h.Set(bus.RecordRevisionHeader, named)
	return cmd, e.publish(cmd, h)
}

func (e *claimEnv) publish(cmd *palisadev1.Command, header nats.Header) jetstream.Consumer {
	e.t.Helper()
	data, err := proto.Marshal(cmd)
	if err != nil {
		e.t.Fatal(err)
	}
	ack, err := e.js.PublishMsg(e.ctx, &nats.Msg{Subject: bus.CommandSubject(staleAccount, staleRegion, e.group), Data: data, Header: header},
		jetstream.WithMsgID(cmd.GetOperationId()))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.consumerOf(ack.Sequence)
}

// TestWorkerWaitsForTheRecordOfACommandJustStored: a worker that meets a
// command before its submitter has written the record waits for the
// record rather than writing it, so the submitter's create succeeds; the
// command then runs from that record.
func TestWorkerWaitsForTheRecordOfACommandJustStored(t *testing.T) {
	e := newClaimEnv(t, nil)
	cmd, cons := e.publishBare(22)
	d := e.fetch(cons, time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.handle(d)
	}()
	time.Sleep(30 * time.Millisecond)
	if err := e.w.store.Create(e.ctx, command.NewRecord(cmd)); err != nil {
		t.Fatalf("the submitter's create after the worker met the command: %v, want success", err)
	}
	<-done
	rec, _ := e.record(cmd.GetOperationId())
	if st := rec.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("operation %v, want SUCCEEDED", st)
	}
}

// TestWorkerWritesTheRecordNobodyWrote: a command whose submitter never
// wrote its record (it died after the command was stored) gets its record
// from the worker, once the wait for it is over, and runs.
func TestWorkerWritesTheRecordNobodyWrote(t *testing.T) {
	e := newClaimEnv(t, nil)
	cmd, cons := e.publishBare(443)
	e.handle(e.fetch(cons, time.Second))
	rec, _ := e.record(cmd.GetOperationId())
	if st := rec.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("operation %v, want SUCCEEDED", st)
	}
}

// recordReads counts the worker's reads of operation records from now
// on; the function it returns says how many were made so far.
func (e *claimEnv) recordReads() func() int32 {
	e.t.Helper()
	var reads atomic.Int32
	nc := e.js.Conn()
	sub, err := nc.Subscribe("$JS.API.STREAM.MSG.GET.KV_"+bus.OperationsBucket, func(*nats.Msg) { reads.Add(1) })
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		e.t.Fatal(err)
	}
	return func() int32 {
		e.t.Helper()
		if err := nc.Flush(); err != nil {
			e.t.Fatal(err)
		}
		return reads.Load()
	}
}

// TestWorkerStartsFromTheRecordItsCommandNames: a command naming its
// record's revision runs from the record as the command makes it,
// without a read of the record, and the record it leaves is the one a
// read would have given.
func TestWorkerStartsFromTheRecordItsCommandNames(t *testing.T) {
	e := newClaimEnv(t, nil)
	cmd, cons := e.publishNamed(8443)
	reads := e.recordReads()
	e.handle(e.fetch(cons, time.Second))
	if n := reads(); n != 0 {
		t.Errorf("%d reads of records, want none", n)
	}
	rec, _ := e.record(cmd.GetOperationId())
	if st := rec.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED || e.rules() != 1 {
		t.Fatalf("operation %v with %d rules, want SUCCEEDED with 1", st, e.rules())
	}
	if !proto.Equal(rec.GetCommand(), cmd) || len(rec.GetHistory()) != 3 {
		t.Fatalf("record's command %v and %d events, want the command as sent and 3 events", rec.GetCommand(), len(rec.GetHistory()))
	}
}

// TestWorkerReadsTheRecordWhenTheHeaderNamesNoRevision: a header that
// does not hold a revision is no name; the worker runs the command from
// the record as read.
func TestWorkerReadsTheRecordWhenTheHeaderNamesNoRevision(t *testing.T) {
	e := newClaimEnv(t, nil)
	for i, bad := range []string{"", "0", "-3", "twelve"} {
		cmd, cons := e.publishNamed(int32(7000+i), bad)
		e.handle(e.fetch(cons, time.Second))
		rec, _ := e.record(cmd.GetOperationId())
		if st := rec.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Fatalf("header %q: operation %v, want SUCCEEDED", bad, st)
		}
	}
	if n := e.rules(); n != 4 {
		t.Fatalf("%d rules, want 4", n)
	}
}

// TestWorkerReadsARecordChangedSinceItsCommand: a record that moved on
// after its command named it (here the rollout cancelled the child
// before a worker took it) fails the worker's compare-and-set, and the
// worker acts on the record as it is: nothing reaches EC2.
func TestWorkerReadsARecordChangedSinceItsCommand(t *testing.T) {
	e := newClaimEnv(t, nil)
	cmd, cons := e.publishNamed(9443)
	if _, err := e.w.store.Transition(e.ctx, cmd.GetOperationId(), func(rec *palisadev1.OperationRecord) (string, error) {
		rec.Metadata.State = palisadev1.OperationState_OPERATION_STATE_CANCELLED
		return "cancelled before it started", nil
	}); err != nil {
		t.Fatal(err)
	}
	e.handle(e.fetch(cons, time.Second))
	rec, _ := e.record(cmd.GetOperationId())
	if st := rec.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_CANCELLED || e.rules() != 0 {
		t.Fatalf("operation %v with %d rules, want CANCELLED with none", st, e.rules())
	}
	if n := e.ackPending(cons, 0); n != 0 {
		t.Fatalf("%d commands unacknowledged, want the cancelled one acknowledged", n)
	}
}
