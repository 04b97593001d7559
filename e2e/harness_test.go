package e2e

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/services"
	"github.com/palisadehq/palisade/workers"
)

const (
	account = "111122223333"
	region  = "us-east-1"
)

var loc = &palisadev1.Location{AccountId: account, Region: region}

// env is one running Palisade: NATS, the EC2 endpoint, the API, workers.
type env struct {
	t        testing.TB
	ctx      context.Context
	ns       *server.Server
	js       jetstream.JetStream
	sim      *ec2sim.Sim
	simURL   string
	ec2      *ec2client.Factory
	conn     *grpc.ClientConn
	sg       palisadev1.SecurityGroupServiceClient
	ops      longrunningpb.OperationsClient
	events   palisadev1.OperationEventServiceClient
	topology bus.Topology
}

type envOptions struct {
	// syncAlways makes JetStream fsync before every ack, as `palisade
	// serve` does by default; tests leave it off for speed.
	syncAlways bool
	// maxDeliver overrides the command consumers' delivery limit.
	maxDeliver int
	sim        ec2sim.Options
	// assumeRole and externalID make every part assume a role per
	// account, through the endpoint's STS.
	assumeRole, externalID string
	// apiRateFactor, when set, paces the API's reads in the shared rate
	// budget at EC2's rates times this.
	apiRateFactor float64
	workers       int
	worker        workers.Options // template; JetStream, EC2 and Log are filled in
}

// newEnv starts everything and stops it when the test ends.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, ctx: ctx}
	t.Cleanup(cancel)

	sim, err := ec2sim.New(o.sim)
	if err != nil {
		t.Fatal(err)
	}
	e.sim = sim
	hs := httptest.NewServer(http.Handler(sim))
	t.Cleanup(hs.Close)
	e.simURL = hs.URL

	e.ns = natstest.Server(t, natsembed.Options{SyncAlways: o.syncAlways})
	js := natstest.Connect(t, e.ns, nats.MaxReconnects(-1))
	e.js = js
	e.topology = bus.DefaultTopology(1)
	// Short enough that an abandoned delivery comes back within the test.
	e.topology.AckWait = 2 * time.Second
	if o.maxDeliver > 0 {
		e.topology.MaxDeliver = o.maxDeliver
	}
	if err := bus.Declare(ctx, js, e.topology); err != nil {
		t.Fatal(err)
	}
	e.ec2, err = ec2client.New(ctx, ec2client.Options{Endpoint: hs.URL, AssumeRole: o.assumeRole, ExternalID: o.externalID})
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var budget *ratebudget.Budget
	if o.apiRateFactor > 0 {
		if budget, err = ratebudget.NewShared(ctx, js, o.apiRateFactor); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := services.New(ctx, services.Deps{JetStream: js, EC2: e.ec2, Budget: budget, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e.conn = conn
	e.sg = palisadev1.NewSecurityGroupServiceClient(conn)
	e.ops = longrunningpb.NewOperationsClient(conn)
	e.events = palisadev1.NewOperationEventServiceClient(conn)

	for i := 0; i < o.workers; i++ {
		e.startWorker(o.worker)
	}
	return e
}

// startWorker starts a worker with options o and returns a function that
// stops it and waits until it has.
func (e *env) startWorker(o workers.Options) func() {
	e.t.Helper()
	w, err := workers.New(e.ctx, e.workerOptions(o))
	if err != nil {
		e.t.Fatal(err)
	}
	return e.runPart("worker", w.Run)
}

// workerOptions fills in what the env provides and the test defaults: a
// quick heartbeat and backoff, a short shutdown grace, warnings logged
// with the test.
func (e *env) workerOptions(o workers.Options) workers.Options {
	o.JetStream, o.EC2 = e.js, e.ec2
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 500 * time.Millisecond
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = 20 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 200 * time.Millisecond
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 2 * time.Second
	}
	return o
}

// runPart runs one part until the test ends and returns a function that
// stops it and waits until it has. Cleanups run last-registered first:
// parts stop before NATS does.
func (e *env) runPart(name string, run func(context.Context) error) func() {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil {
			e.t.Errorf("%s: %v", name, err)
		}
	}()
	stop := func() { cancel(); <-done }
	e.t.Cleanup(stop)
	return stop
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
