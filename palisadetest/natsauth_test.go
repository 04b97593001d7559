package palisadetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/durationpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
)

// attacker is a raw client of the stack's NATS port as role r (or with
// no credentials when r is ""), with the errors the server reports on it.
type attacker struct {
	nc   *nats.Conn
	errs chan error
}

func connectAs(t *testing.T, s *palisadetest.Stack, r bus.Role) (*attacker, error) {
	t.Helper()
	a := &attacker{errs: make(chan error, 16)}
	opts := []nats.Option{nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case a.errs <- err:
		default:
		}
	})}
	if r != "" {
		ro, err := s.Credentials.ClientOptions(r)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, ro...)
	}
	nc, err := nats.Connect(s.NATSURL, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	a.nc = nc
	return a, nil
}

// refusal waits for the server's report of a permission violation on
// subject: NATS reports it asynchronously and keeps the connection.
func (a *attacker) refusal(t *testing.T, subject string) {
	t.Helper()
	if err := a.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.errs:
		if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), subject) {
			t.Fatalf("server reported %v, want a permission violation on %s", err, subject)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no permission violation reported for %s", subject)
	}
}

func authStack(t *testing.T) *palisadetest.Stack {
	return palisadetest.Start(t, palisadetest.Options{Infra: infratest.Options{Auth: true}, Workers: 1, Rollouts: 1})
}

// TestForgedCommandsAreRefusedByNATS: a Command published on a command
// subject with the subscriber's credentials is refused by NATS, one
// without credentials cannot even connect, and the worker never sees
// either: nothing was ever stored in the command stream and the EC2
// endpoint got no call.
func TestForgedCommandsAreRefusedByNATS(t *testing.T) {
	s := authStack(t)
	subject := bus.CommandSubject(loc.GetAccountId(), loc.GetRegion(), "sg-0123456789abcdef0")

	if _, err := connectAs(t, s, ""); err == nil || !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connect without credentials: %v, want an authorization violation", err)
	}

	sub, err := connectAs(t, s, bus.RoleSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.nc.Publish(subject, []byte("forged command")); err != nil {
		t.Fatal(err)
	}
	sub.refusal(t, subject)
	// JetStream's publish gets no acknowledgement either.
	js, err := jetstream.New(sub.nc)
	if err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(s.Context(), 2*time.Second)
	defer cancel()
	if _, err := js.Publish(pctx, subject, []byte("forged command")); err == nil {
		t.Fatal("a JetStream publish of a forged command was acknowledged")
	}
	sub.refusal(t, subject)

	st, err := s.JetStream.Stream(s.Context(), bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(s.Context()); err != nil || info.State.LastSeq != 0 {
		t.Fatalf("command stream: %+v, %v; want nothing ever stored", info.State, err)
	}
	if calls := s.Sim.CallLog(); len(calls) != 0 {
		t.Fatalf("the EC2 endpoint got %d calls, want none: %+v", len(calls), calls)
	}
}

// TestSubscriberOnlyReadsEvents: the subscriber's credentials cannot
// write operation records or the rate budget, nor create a consumer;
// they can follow events.
func TestSubscriberOnlyReadsEvents(t *testing.T) {
	s := authStack(t)
	sub, err := connectAs(t, s, bus.RoleSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	events, err := sub.nc.SubscribeSync(bus.EventSubjectPrefix + ".>")
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{
		"$KV." + bus.OperationsBucket + ".op-forged",
		"$KV." + bus.BudgetBucket + "." + loc.GetAccountId() + "." + loc.GetRegion() + ".mutating",
		"$JS.API.CONSUMER.CREATE." + bus.EventStream + ".spy",
		bus.AuditSubject(true),
	} {
		if err := sub.nc.Publish(subject, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		sub.refusal(t, subject)
	}
	ops, err := s.JetStream.KeyValue(s.Context(), bus.OperationsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Get(s.Context(), "op-forged"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("forged operation record: %v, want none", err)
	}

	// The normal flow, with the API and the worker each on its role, and
	// the subscriber hears its events.
	op, err := s.SecurityGroups.CreateSecurityGroup(s.Context(), &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "web", Description: "web servers"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.Operations.WaitOperation(s.Context(), &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if !done.GetDone() || done.GetError() != nil {
		t.Fatalf("operation %s: done=%v error=%v", op.GetName(), done.GetDone(), done.GetError())
	}
	if _, err := events.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("subscriber heard no event: %v", err)
	}
}

// TestOnlyBreakGlassChangesTheAuditStream: neither the API's, the
// worker's nor the admin's credentials may delete, purge or update the
// audit stream or delete its records; the request is refused and gets no
// answer, and the stream is still there.
func TestOnlyBreakGlassChangesTheAuditStream(t *testing.T) {
	s := authStack(t)
	for _, r := range []bus.Role{bus.RoleAPI, bus.RoleWorker, bus.RoleAdmin, bus.RoleSubscriber} {
		a, err := connectAs(t, s, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, subject := range bus.AuditStreamChanges() {
			if _, err := a.nc.Request(subject, []byte(`{"seq":1}`), 250*time.Millisecond); err == nil {
				t.Fatalf("%s: %s answered", r, subject)
			}
			a.refusal(t, subject)
		}
	}
	if _, err := s.JetStream.Stream(s.Context(), bus.AuditStream); err != nil {
		t.Fatalf("audit stream: %v", err)
	}
}

// TestIndexPermissions: the worker may append to the operation and
// rollout indexes (take a position, write the entry: JetStream
// acknowledges both) and read nothing of them back; the API may look
// lists up but not create consumers on them; the subscriber may do
// neither.
func TestIndexPermissions(t *testing.T) {
	s := authStack(t)
	ctx := s.Context()
	key := bus.ListKey("test", "permissions")
	var entries, lookups []string
	for _, ix := range bus.OperationIndexStreams() {
		entries = append(entries, ix.Prefix+"."+key+".1")
		lookups = append(lookups, "$JS.API.DIRECT.GET."+ix.Stream)
	}
	entries = append(entries, bus.RolloutIndexSubjectPrefix+"."+key+".1")
	lookups = append(lookups, "$JS.API.DIRECT.GET."+bus.RolloutIndexStream, "$JS.API.DIRECT.GET."+bus.IndexCountStream)

	worker, err := connectAs(t, s, bus.RoleWorker)
	if err != nil {
		t.Fatal(err)
	}
	wjs, err := jetstream.New(worker.nc, jetstream.WithDefaultTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := wjs.PublishMsg(ctx, &nats.Msg{Subject: bus.IndexCountSubjectPrefix + "." + key, Header: nats.Header{"Nats-Incr": []string{"1"}}})
	if err != nil || ack.Value != "1" {
		t.Fatalf("worker takes a position: %+v, %v", ack, err)
	}
	for _, subject := range entries {
		if _, err := wjs.Publish(ctx, subject, []byte("0123456789abcdef0123456789abcdef")); err != nil {
			t.Fatalf("worker writes %s: %v", subject, err)
		}
	}
	for _, subject := range lookups {
		if _, err := worker.nc.Request(subject, []byte(`{"multi_last":["`+entries[0]+`"]}`), 250*time.Millisecond); err == nil {
			t.Fatalf("worker: %s answered", subject)
		}
		worker.refusal(t, subject)
	}

	api, err := connectAs(t, s, bus.RoleAPI)
	if err != nil {
		t.Fatal(err)
	}
	got, err := api.nc.Request(lookups[0], []byte(`{"last_by_subj":"`+entries[0]+`"}`), 5*time.Second)
	if err != nil || string(got.Data) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("API looks the entry up: %v, %v", got, err)
	}
	spy := "$JS.API.CONSUMER.CREATE." + bus.OperationIndexStream + ".spy"
	if _, err := api.nc.Request(spy, []byte(`{}`), 250*time.Millisecond); err == nil {
		t.Fatal("API created a consumer on the operation index")
	}
	api.refusal(t, spy)

	sub, err := connectAs(t, s, bus.RoleSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range append(append([]string{bus.IndexCountSubjectPrefix + "." + key}, entries...), lookups...) {
		if err := sub.nc.Publish(subject, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		sub.refusal(t, subject)
	}
	st, err := s.JetStream.Stream(ctx, bus.IndexCountStream)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetLastMsgForSubject(ctx, bus.IndexCountSubjectPrefix+"."+key); err != nil || string(m.Data) != `{"val":"1"}` {
		t.Fatalf("the counter after the subscriber's try: %v, %v", m, err)
	}
}
