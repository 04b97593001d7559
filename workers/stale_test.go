package workers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/palisadetest/infratest"
)

const (
	staleAccount = "111122223333"
	staleRegion  = "us-east-1"
	staleAckWait = time.Second
)

// claimEnv is a real NATS with the command stream declared (ack wait one
// second) and the EC2 endpoint over HTTP with one group in it, started by
// infratest (palisadetest would import this package), and a worker bound
// to both whose handle the tests call with deliveries they fetched
// themselves, to hold two deliveries of one command at once.
type claimEnv struct {
	t     *testing.T
	ctx   context.Context
	ns    *server.Server
	js    jetstream.JetStream
	sim   *ec2sim.Sim
	ec2   *ec2client.Factory
	w     *Worker
	group string

	mu     sync.Mutex
	pulled map[jetstream.Msg]time.Time // when the fetch that brought each delivery began
}

func newClaimEnv(t *testing.T, afterApply func(string) bool) *claimEnv {
	t.Helper()
	infra := infratest.Start(t, infratest.Options{AckWait: staleAckWait})
	e := &claimEnv{t: t, ctx: infra.Context(), ns: infra.Server, js: infra.JetStream, sim: infra.Sim, ec2: infra.EC2,
		pulled: map[jetstream.Msg]time.Time{}}
	out, err := e.ec2.Client(staleAccount, staleRegion).CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("stale"), Description: aws.String("stale deliveries")})
	if err != nil {
		t.Fatal(err)
	}
	e.group = aws.ToString(out.GroupId)
	e.w, err = New(e.ctx, Options{JetStream: e.js, EC2: e.ec2, AfterApply: afterApply, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	e.w.fitHeartbeat(staleAckWait)
	return e
}

// submit stores an authorize command and its record, as the API does, and
// returns the operation id and the partition's consumer.
func (e *claimEnv) submit() (string, jetstream.Consumer) {
	e.t.Helper()
	id := fmt.Sprintf("%032x", time.Now().UnixNano())
	cmd := &palisadev1.Command{OperationId: id, Caller: "local", AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: &palisadev1.Location{AccountId: staleAccount, Region: staleRegion}, GroupId: e.group,
			IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: proto.Int32(22), ToPort: proto.Int32(22),
				IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}}}}}
	data, err := proto.Marshal(cmd)
	if err != nil {
		e.t.Fatal(err)
	}
	ack, err := e.js.Publish(e.ctx, bus.CommandSubject(staleAccount, staleRegion, e.group), data, jetstream.WithMsgID(id))
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.w.store.Create(e.ctx, command.NewRecord(cmd)); err != nil {
		e.t.Fatal(err)
	}
	return id, e.consumerOf(ack.Sequence)
}

// consumerOf returns the consumer of the partition the command stored at
// seq is in.
func (e *claimEnv) consumerOf(seq uint64) jetstream.Consumer {
	e.t.Helper()
	stream, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		e.t.Fatal(err)
	}
	stored, err := stream.GetMsg(e.ctx, seq)
	if err != nil {
		e.t.Fatal(err)
	}
	var p int
	if _, err := fmt.Sscanf(strings.TrimPrefix(stored.Subject, "palisade.queue."), "%d.", &p); err != nil {
		e.t.Fatalf("stored subject %s: %v", stored.Subject, err)
	}
	cons, err := stream.Consumer(e.ctx, bus.ConsumerName(p))
	if err != nil {
		e.t.Fatal(err)
	}
	return cons
}

// fetch waits for the next delivery on cons.
func (e *claimEnv) fetch(cons jetstream.Consumer, wait time.Duration) jetstream.Msg {
	e.t.Helper()
	// Short pulls, as the worker's loops make them: each one's start
	// bounds its delivery's age.
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		pulled := time.Now()
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			e.t.Fatal(err)
		}
		for m := range batch.Messages() {
			e.mu.Lock()
			e.pulled[m] = pulled
			e.mu.Unlock()
			return m
		}
	}
	e.t.Fatalf("no delivery within %v", wait)
	return nil
}

// handle runs a delivery the test fetched, as the worker's pull loop does.
func (e *claimEnv) handle(m jetstream.Msg) {
	e.mu.Lock()
	pulled := e.pulled[m]
	e.mu.Unlock()
	e.w.handle(e.ctx, m, pulled, nil)
}

func (e *claimEnv) record(id string) (*palisadev1.OperationRecord, uint64) {
	e.t.Helper()
	rec, rev, err := e.w.store.Get(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec, rev
}

func (e *claimEnv) ackPending(cons jetstream.Consumer, want int) int {
	e.t.Helper()
	// A worker does not wait for its acks: read the count until it is
	// want, or a second has passed.
	deadline := time.Now().Add(time.Second)
	for {
		info, err := cons.Info(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if info.NumAckPending == want || time.Now().After(deadline) {
			return info.NumAckPending
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rules counts the group's ingress rules in EC2.
func (e *claimEnv) rules() int {
	e.t.Helper()
	out, err := e.ec2.Client(staleAccount, staleRegion).DescribeSecurityGroupRules(e.ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{e.group}}}})
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range out.SecurityGroupRules {
		if !aws.ToBool(r.IsEgress) {
			n++
		}
	}
	return n
}

func deliveryNum(t *testing.T, m jetstream.Msg) uint64 {
	t.Helper()
	md, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	return md.NumDelivered
}

// TestBufferedDeliveryPastItsClaimDoesNothing: a delivery that waited in a
// worker's buffer until the server gave the command to another worker
// makes no EC2 call, leaves the record alone and does not ack: its ack
// would have ended the later delivery's claim while that worker was
// applying the command.
func TestBufferedDeliveryPastItsClaimDoesNothing(t *testing.T) {
	e := newClaimEnv(t, nil)
	id, cons := e.submit()
	first := e.fetch(cons, time.Second)
	second := e.fetch(cons, 3*staleAckWait) // the first's ack wait ran out
	if deliveryNum(t, first) != 1 || deliveryNum(t, second) != 2 {
		t.Fatalf("deliveries %d and %d, want 1 and 2", deliveryNum(t, first), deliveryNum(t, second))
	}
	_, rev := e.record(id)
	e.sim.ResetCounters()

	e.handle(first)
	if calls := e.sim.CallLog(); len(calls) != 0 {
		t.Errorf("the stale delivery called EC2: %+v", calls)
	}
	if rec, rev2 := e.record(id); rev2 != rev {
		t.Errorf("the stale delivery changed the record to %v (revision %d → %d)", rec.GetMetadata().GetState(), rev, rev2)
	}
	if n := e.ackPending(cons, 1); n != 1 {
		t.Errorf("%d deliveries pending after the stale one ended, want the later one still held", n)
	}

	e.handle(second)
	rec, _ := e.record(id)
	if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED || rec.GetDelivery() != 2 {
		t.Fatalf("after the current delivery: %v by delivery %d", rec.GetMetadata().GetState(), rec.GetDelivery())
	}
	if n := e.rules(); n != 1 {
		t.Fatalf("EC2 holds %d ingress rules, want 1", n)
	}
}

// TestLaterDeliveryFencesAnEarlierHolder: a worker whose delivery was
// taken over while it ran (here: the command was handed back behind its
// back, redelivered, and the later delivery started an attempt) finds the
// later delivery in the record at its next step. It neither ends the
// operation nor acks, so the later delivery's claim stands; the command
// is finished by a delivery that holds it.
func TestLaterDeliveryFencesAnEarlierHolder(t *testing.T) {
	var (
		e       *claimEnv
		cons    jetstream.Consumer
		first   jetstream.Msg
		mu      sync.Mutex
		applied int
	)
	e = newClaimEnv(t, func(string) bool {
		mu.Lock()
		applied++
		n := applied
		mu.Unlock()
		switch n {
		case 1:
			// The first delivery has applied the rule. Behind its back
			// the command goes to a later delivery, which starts an
			// attempt and dies (as by a crash) before recording its end.
			if err := first.Nak(); err != nil {
				t.Error(err)
			}
			e.handle(e.fetch(cons, 3*staleAckWait))
			return true
		case 2:
			return false
		}
		return true
	})
	var id string
	id, cons = e.submit()
	first = e.fetch(cons, time.Second)

	e.handle(first)
	rec, _ := e.record(id)
	if st := rec.GetMetadata().GetState(); st != palisadev1.OperationState_OPERATION_STATE_RUNNING || rec.GetDelivery() != 2 {
		t.Fatalf("after the earlier holder stopped: %v by delivery %d, want RUNNING by delivery 2", st, rec.GetDelivery())
	}
	if n := e.ackPending(cons, 1); n != 1 {
		t.Fatalf("%d deliveries pending, want the later one still held (not acked by the earlier holder)", n)
	}

	third := e.fetch(cons, 3*staleAckWait) // the crashed delivery's claim lapses
	e.handle(third)
	rec, _ = e.record(id)
	if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED || rec.GetDelivery() != 3 {
		t.Fatalf("after the third delivery: %v by delivery %d", rec.GetMetadata().GetState(), rec.GetDelivery())
	}
	if n := e.rules(); n != 1 {
		t.Fatalf("EC2 holds %d ingress rules, want 1", n)
	}
	if n := e.ackPending(cons, 0); n != 0 {
		t.Fatalf("%d deliveries pending after the operation ended", n)
	}
}

// TestClaimHoldsWhileRenewedAndLapsesWithoutNATS: renewals keep the
// server from redelivering for many ack waits; when NATS goes away the
// claim lapses within the ack wait, its holder is stopped, and it would
// no longer nak.
func TestClaimHoldsWhileRenewedAndLapsesWithoutNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("holds a claim for three ack waits: long; make test runs it")
	}
	e := newClaimEnv(t, nil)
	_, cons := e.submit()
	msg := e.fetch(cons, time.Second)
	cl := newClaim(e.js.Conn(), msg, staleAckWait/3, staleAckWait)
	if cl.valid() {
		t.Fatal("a claim never renewed counts as valid")
	}
	if err := cl.renew(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	go cl.keep(ctx, cancel, discardLog())

	// Three ack waits: without renewals the command would come back.
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(3*staleAckWait))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		t.Fatalf("redelivered (delivery %d) while the claim was renewed", deliveryNum(t, m))
	}
	if !cl.valid() || ctx.Err() != nil {
		t.Fatal("claim given up while NATS answered")
	}

	start := time.Now()
	e.ns.Shutdown()
	select {
	case <-ctx.Done():
	case <-time.After(5 * staleAckWait):
		t.Fatal("holder not stopped after NATS went away")
	}
	if !cl.hasLapsed() || cl.valid() {
		t.Fatalf("claim lapsed=%v valid=%v after its holder was stopped", cl.hasLapsed(), cl.valid())
	}
	t.Logf("holder stopped %v after NATS went away", time.Since(start).Round(time.Millisecond))
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
