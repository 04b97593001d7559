package workers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// TestAdvisoryBackstop: when the delivery that should have dead-lettered a
// command did not (its worker died), the server's max-deliveries advisory
// still moves the command to the dead-letter stream, fails its operation
// and removes it from the work queue; an advisory for a command already
// gone changes nothing.
func TestAdvisoryBackstop(t *testing.T) {
	_, js := natstest.Bus(t, bus.DefaultTopology(1))
	ctx := context.Background()
	w, err := New(ctx, Options{JetStream: js})
	if err != nil {
		t.Fatal(err)
	}
	cmd := &palisadev1.Command{OperationId: "0123456789abcdef0123456789abcdef", Caller: "local", AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_DeleteSecurityGroup{DeleteSecurityGroup: &palisadev1.DeleteSecurityGroupRequest{
			Location: &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}, GroupId: "sg-0123456789abcdef0"}}}
	data, _ := proto.Marshal(cmd)
	ack, err := js.Publish(ctx, bus.CommandSubject("111122223333", "us-east-1", "sg-0123456789abcdef0"), data)
	if err != nil {
		t.Fatal(err)
	}
	commands, err := js.Stream(ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	adv, _ := json.Marshal(maxDeliveries{Stream: bus.CommandStream, StreamSeq: ack.Sequence, Deliveries: 21})
	for i := 0; i < 2; i++ { // the second finds nothing left to do
		if err := w.deadLetter(ctx, commands, adv); err != nil {
			t.Fatalf("advisory #%d: %v", i+1, err)
		}
	}
	if _, err := commands.GetMsg(ctx, ack.Sequence); err == nil {
		t.Fatal("the command is still in the work queue")
	}
	rec, _, err := w.store.Get(ctx, cmd.GetOperationId())
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_FAILED ||
		!strings.Contains(rec.GetError().GetMessage(), "20 deliveries") {
		t.Fatalf("operation %v: %v", rec.GetMetadata().GetState(), rec.GetError())
	}
	dl, err := js.Stream(ctx, bus.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dl.GetLastMsgForSubject(ctx, bus.DeadLetterSubject(cmd.GetOperationId()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get(HeaderDeliveries) != "20" || string(m.Data) != string(data) {
		t.Fatalf("dead letter %v %q", m.Header, m.Data)
	}
	// Garbage on the advisory subject is dropped, not retried for ever.
	if err := w.deadLetter(ctx, commands, []byte("{")); err != nil {
		t.Fatalf("unreadable advisory: %v", err)
	}
}
