package workers

import (
	"fmt"
	"testing"
	"time"

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
	cmd := &palisadev1.Command{OperationId: fmt.Sprintf("%032x", time.Now().UnixNano()), Caller: "local", AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: &palisadev1.Location{AccountId: staleAccount, Region: staleRegion}, GroupId: e.group,
			IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: proto.Int32(port), ToPort: proto.Int32(port),
				IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}}}}}
	data, err := proto.Marshal(cmd)
	if err != nil {
		e.t.Fatal(err)
	}
	ack, err := e.js.Publish(e.ctx, bus.CommandSubject(staleAccount, staleRegion, e.group), data, jetstream.WithMsgID(cmd.GetOperationId()))
	if err != nil {
		e.t.Fatal(err)
	}
	return cmd, e.consumerOf(ack.Sequence)
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
