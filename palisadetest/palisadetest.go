// Package palisadetest starts a whole Palisade for tests, as
// net/http/httptest starts an HTTP server: real NATS with JetStream, the
// local EC2 endpoint over real HTTP, the gRPC API from services.New on a
// free loopback port with a client connection to it, and any number of
// workers and rollout drivers from workers.New and workers.NewRollouts,
// all in the test process and all stopped when the test ends.
//
//	s := palisadetest.Start(t, palisadetest.Options{Workers: 1, Rollouts: 1})
//	op, err := s.SecurityGroups.CreateSecurityGroup(ctx, req)
//
// With Options.TLS the API is served over mutual TLS, and each test
// client dials with its own certificate:
//
//	alice := s.Dial(credentials.NewTLS(tlstest.ClientTLS(ca, ca.Client(t, "spiffe://example.org/alice"))))
//
// The lower half (NATS, the endpoint, the EC2 factory and the declared
// topology) is package infratest, which imports neither services nor
// workers so that package workers' own tests can use it too; a Stack
// embeds its Env. Only tests import either package: they start real
// parts, with test timings, and nothing in production depends on them.
package palisadetest

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/palisadetest/infratest"
	"github.com/palisadehq/palisade/services"
	"github.com/palisadehq/palisade/workers"
)

// Options says what to start. The zero value is NATS, the endpoint and
// the API, with no worker: operations are accepted and stay ACCEPTED.
type Options struct {
	// Infra configures NATS, the topology and the EC2 endpoint.
	Infra infratest.Options
	// APIRateFactor, when set, paces the API's EC2 reads in the rate
	// budget shared with the workers, at EC2's rates times this.
	APIRateFactor float64
	// Workers and Rollouts are how many workers and rollout drivers to
	// start at once, each with the options Worker.
	Workers, Rollouts int
	// Worker is the template of every worker and rollout driver Start
	// starts; WorkerOptions fills in the rest.
	Worker workers.Options
	// Policy decides the API's calls; nil: the permissive loopback
	// default.
	Policy *policy.Engine
	// TLS, when set, serves the API over TLS with this configuration,
	// which must require and verify client certificates (see
	// tlsfiles.Source.ServerConfig); Conn then dials with ClientTLS.
	TLS *tls.Config
	// ClientTLS is the configuration of Conn when TLS is set; nil: Conn
	// and the clients on it are nil, and the test dials with Dial.
	ClientTLS *tls.Config
	// Identify names the API's callers; nil: services.PeerIdentity with
	// TLS, services.LocalIdentity without.
	Identify services.Identify
	// ServerOptions are added to the API's gRPC server
	// (services.Hardening, say).
	ServerOptions []grpc.ServerOption
	// MaxWatchesPerCaller is the API's cap on one caller's open
	// watches; 0: the default.
	MaxWatchesPerCaller int
	// CallerRate bounds each caller's changes; the zero value: no limit.
	CallerRate services.CallerRate
	// Log receives the logs of the API and of every part; by default
	// warnings and errors are logged with the test.
	Log *slog.Logger
}

// Stack is a running Palisade.
type Stack struct {
	*infratest.Env

	// APIConn is the API's own NATS connection, which reconnects for
	// ever as `palisade api`'s does.
	APIConn *nats.Conn
	// Addr is the API's host:port; Clients a client connection to it
	// (none with Options.TLS but no Options.ClientTLS).
	Addr string
	Clients

	t   testing.TB
	log *slog.Logger
	api *services.Server
	// workerJS is the workers' connection as bus.RoleWorker with
	// Options.Infra.Auth; nil without: they share the Env's.
	workerJS jetstream.JetStream
}

// Start starts everything o asks for and stops it when the test ends:
// workers and rollout drivers first, then the API, then NATS and the
// endpoint.
func Start(t testing.TB, o Options) *Stack {
	t.Helper()
	s := &Stack{Env: infratest.Start(t, o.Infra), t: t, log: o.Log}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx := s.Context()

	nc, js := s.ConnectAs("palisade-api", bus.RoleAPI)
	s.APIConn = nc
	if s.Credentials.Dir != "" {
		_, s.workerJS = s.ConnectAs("palisade-worker", bus.RoleWorker)
	}
	var budget *ratebudget.Budget
	if o.APIRateFactor > 0 {
		var err error
		if budget, err = ratebudget.NewShared(ctx, js, o.APIRateFactor); err != nil {
			t.Fatal(err)
		}
	}
	api, err := services.New(ctx, services.Deps{
		JetStream: js, EC2: s.EC2, Budget: budget, Policy: o.Policy, Log: s.log,
		Identify: o.Identify, TLS: o.TLS, ServerOptions: o.ServerOptions,
		MaxWatchesPerCaller: o.MaxWatchesPerCaller,
		CallerRate:          o.CallerRate,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = api.Serve(ln) }()
	t.Cleanup(api.Stop)
	s.api = api
	s.Addr = ln.Addr().String()
	switch {
	case o.TLS == nil:
		s.Clients = *s.Dial(insecure.NewCredentials())
	case o.ClientTLS != nil:
		s.Clients = *s.Dial(credentials.NewTLS(o.ClientTLS))
	}

	for range o.Workers {
		s.StartWorker(o.Worker)
	}
	for range o.Rollouts {
		s.StartRollouts(o.Worker)
	}
	return s
}

// Clients are the API's services on one connection.
type Clients struct {
	Conn           *grpc.ClientConn
	SecurityGroups palisadev1.SecurityGroupServiceClient
	Operations     longrunningpb.OperationsClient
	Events         palisadev1.OperationEventServiceClient
	Rollouts       palisadev1.RolloutServiceClient
}

// Dial opens a connection of its own to the API with creds, closed when
// the test ends: with the API on TLS, a client certificate of the
// test's, credentials.NewTLS(tlstest.ClientTLS(ca, cert)). Nothing is
// sent until the first call.
func (s *Stack) Dial(creds credentials.TransportCredentials) *Clients {
	s.t.Helper()
	conn, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return &Clients{
		Conn:           conn,
		SecurityGroups: palisadev1.NewSecurityGroupServiceClient(conn),
		Operations:     longrunningpb.NewOperationsClient(conn),
		Events:         palisadev1.NewOperationEventServiceClient(conn),
		Rollouts:       palisadev1.NewRolloutServiceClient(conn),
	}
}

// StopAPI stops the gRPC server gracefully: it takes no new calls and
// returns once the calls in progress have been answered.
func (s *Stack) StopAPI() { s.api.GracefulStop() }

// StartWorker starts a worker with options o (see WorkerOptions) and
// returns a function that stops it and waits until it has. Whatever is
// still running when the test ends is stopped then.
func (s *Stack) StartWorker(o workers.Options) (stop func()) {
	s.t.Helper()
	w, err := workers.New(s.Context(), s.WorkerOptions(o))
	if err != nil {
		s.t.Fatal(err)
	}
	return s.run("worker", w.Run)
}

// StartRollouts starts a rollout driver with options o (see
// WorkerOptions) and returns a function that stops it and waits until it
// has.
func (s *Stack) StartRollouts(o workers.Options) (stop func()) {
	s.t.Helper()
	r, err := workers.NewRollouts(s.Context(), s.WorkerOptions(o))
	if err != nil {
		s.t.Fatal(err)
	}
	return s.run("rollouts", r.Run)
}

// WorkerOptions fills in what the stack provides (JetStream, EC2, Log)
// and, where o leaves them zero, test timings: a quick heartbeat and
// backoff and a short shutdown grace.
func (s *Stack) WorkerOptions(o workers.Options) workers.Options {
	o.JetStream, o.EC2 = s.JetStream, s.EC2
	if s.workerJS != nil {
		o.JetStream = s.workerJS
	}
	if o.Log == nil {
		o.Log = s.log
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

// stopWithin bounds how long a part may take to stop once told to
// (ShutdownGrace plus one EC2 call, with room to spare); a part that
// takes longer is reported, and still waited for.
const stopWithin = 10 * time.Second

// run runs one part until it is stopped or the test ends and returns a
// function that stops it and waits until it has. Cleanups run
// last-registered first: parts stop before the API, NATS and the
// endpoint they use.
func (s *Stack) run(name string, run func(context.Context) error) func() {
	ctx, cancel := context.WithCancel(s.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := run(ctx); err != nil {
			s.t.Errorf("%s: %v", name, err)
		}
	}()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(stopWithin):
			s.t.Errorf("the %s did not stop within %v", name, stopWithin)
			<-done
		}
	}
	s.t.Cleanup(stop)
	return stop
}

// testWriter logs each record with the test.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
