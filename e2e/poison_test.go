package e2e

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/services"
	"github.com/palisadehq/palisade/workers"
)

// TestPoisonCommandIsDeadLettered: a command no delivery ever finishes (the
// worker dies on it every time) stops being redelivered after MaxDeliver,
// lands in the dead-letter stream, and its operation FAILS with the reason;
// the next command of the same group then runs.
func TestPoisonCommandIsDeadLettered(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the ack wait of every delivery: long; make test runs it")
	}
	e := newEnv(t, envOptions{maxDeliver: 2})
	const poisonRequest = "7b0e8c52-31f4-4a0e-9d7e-2f1c5b9a8e11"
	poison := command.OperationID(services.LocalCaller, poisonRequest)
	e.startWorker(workers.Options{AfterApply: func(id string) bool { return id != poison }})

	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "poison", Description: "poison"})
	if err != nil {
		t.Fatal(err)
	}
	group := e.succeeded(op).GetGroupId()
	bad, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group,
		IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.0.0.0/8")}, RequestId: poisonRequest})
	if err != nil {
		t.Fatal(err)
	}
	if bad.GetName() != operations.Name(poison) {
		t.Fatalf("operation %s, want %s", bad.GetName(), operations.Name(poison))
	}
	next, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group,
		IpPermissions: []*palisadev1.IpPermission{tcp(80, 80, "10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	done := e.wait(bad)
	st := status.FromProto(done.GetError())
	if st.Code() != codes.Aborted || !strings.Contains(st.Message(), "2 deliveries") {
		t.Fatalf("poison operation ended with %v, want Aborted after 2 deliveries", st)
	}
	e.succeeded(next)

	dl, err := e.js.Stream(e.ctx, bus.DeadLetterStream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := dl.GetLastMsgForSubject(e.ctx, bus.DeadLetterSubject(poison))
	if err != nil {
		t.Fatalf("no dead letter for %s: %v", poison, err)
	}
	if msg.Header.Get(workers.HeaderDeliveries) != "2" {
		t.Errorf("dead letter headers %v", msg.Header)
	}
	cmds, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cmds.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 0 {
		t.Fatalf("%d commands left in the work queue, want 0", info.State.Msgs)
	}
}
