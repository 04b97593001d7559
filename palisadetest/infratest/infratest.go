// Package infratest starts what Palisade runs on, for tests, as
// net/http/httptest starts an HTTP server: NATS with JetStream and the bus
// topology declared on it, and the local EC2 endpoint over real HTTP with
// a client factory for it. Everything stops when the test ends.
//
// It is the lower half of package palisadetest, which starts the gRPC API
// and workers on top of it. It is a package of its own because it imports
// neither services nor workers: package workers' own tests cannot import
// a package that imports workers, and they start the same NATS and
// endpoint through this one.
package infratest

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/natsauth"
	"github.com/palisadehq/palisade/internal/natsembed"
	"github.com/palisadehq/palisade/internal/natsembed/natstest"
)

// AuthEnv, set to true, turns Options.Auth on in every test: the whole
// suite then runs each part on its own role.
const AuthEnv = "PALISADE_TEST_NATS_AUTH"

// Options says what to start. The zero value is one NATS node on a fresh
// store with the production topology and a plain, fast endpoint.
type Options struct {
	// NATSURL, when set, is a NATS the caller runs (one URL, or a
	// cluster's joined by commas, as clients are configured in
	// production), used instead of starting one; it must answer
	// JetStream requests already.
	NATSURL string
	// NATSCredentials are the roles' nkey seeds of the NATS at NATSURL,
	// when its users are those of bus.Roles: every connection then
	// authenticates as its role, as with Auth.
	NATSCredentials natsauth.Credentials
	// NATSTLS is the client TLS of every connection to the NATS at
	// NATSURL (its CA, and a client certificate when the server verifies
	// clients).
	NATSTLS *tls.Config
	// Auth starts the server with a user per role (bus.Roles), as
	// `palisade serve` does: nobody connects without credentials, and
	// each connection may only what its role may (bus.Role.Permissions).
	// The topology is declared as RoleAdmin; the test's own connection
	// (JetStream) is RoleBreakGlass; ConnectAs connects as any role and
	// fails the test on any permission violation. Ignored with NATSURL.
	Auth bool
	// SyncAlways makes the started server fsync before every ack, as
	// `palisade serve` does by default; tests leave it off for speed.
	SyncAlways bool

	// Replicas, AckWait and MaxDeliver override those of
	// bus.DefaultTopology when set.
	Replicas   int
	AckWait    time.Duration
	MaxDeliver int

	// Sim configures the local EC2 endpoint.
	Sim ec2sim.Options
	// Handler, when set, serves the endpoint in the sim's place, given
	// the sim: a test wraps it to see every request.
	Handler func(*ec2sim.Sim) http.Handler
	// AssumeRole and ExternalID make the EC2 factory assume a role per
	// account, through the endpoint's STS (ec2client.Options).
	AssumeRole, ExternalID string
}

// Env is what Start started.
type Env struct {
	// Server is the NATS server started for the test; nil when
	// Options.NATSURL named one.
	Server *server.Server
	// NATSURL is where clients connect, for other processes too.
	NATSURL string
	// JetStream is the test's own connection, which reconnects for ever.
	JetStream jetstream.JetStream
	// Topology is what was declared.
	Topology bus.Topology
	// Credentials are the roles' nkey seeds with Options.Auth; the zero
	// value without.
	Credentials natsauth.Credentials

	// Sim is the EC2 endpoint's state; EndpointURL where it answers.
	Sim         *ec2sim.Sim
	EndpointURL string
	// EC2 hands out clients of the endpoint, one per (account, region).
	EC2 *ec2client.Factory

	t       testing.TB
	ctx     context.Context
	natsTLS *tls.Config
}

// Start starts the endpoint and NATS, declares the topology and builds
// the EC2 factory. Everything stops when the test ends, after whatever
// the test started later on top of it.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // registered first: cancelled last
	e := &Env{t: t, ctx: ctx}

	sim, err := ec2sim.New(o.Sim)
	if err != nil {
		t.Fatal(err)
	}
	e.Sim = sim
	var h http.Handler = sim
	if o.Handler != nil {
		h = o.Handler(sim)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	e.EndpointURL = hs.URL

	e.NATSURL, e.Credentials, e.natsTLS = o.NATSURL, o.NATSCredentials, o.NATSTLS
	if v, _ := strconv.ParseBool(os.Getenv(AuthEnv)); v {
		o.Auth = true
	}
	if e.NATSURL == "" {
		no := natsembed.Options{SyncAlways: o.SyncAlways}
		if o.Auth {
			e.Credentials, err = natsauth.EnsureCredentials(t.TempDir(), bus.Roles()...)
			if err != nil {
				t.Fatal(err)
			}
			if no.Users, err = e.Credentials.Users(bus.Roles()...); err != nil {
				t.Fatal(err)
			}
		}
		e.Server = natstest.Server(t, no)
		e.NATSURL = e.Server.ClientURL()
	}
	_, e.JetStream = e.ConnectAs("palisadetest", bus.RoleBreakGlass)
	declareJS := e.JetStream
	if e.Credentials.Dir != "" {
		_, declareJS = e.ConnectAs("palisadetest-admin", bus.RoleAdmin)
	}

	e.Topology = bus.DefaultTopology(max(o.Replicas, 1))
	if o.AckWait > 0 {
		e.Topology.AckWait = o.AckWait
	}
	if o.MaxDeliver > 0 {
		e.Topology.MaxDeliver = o.MaxDeliver
	}
	// A cluster may take a while to place replicated streams.
	dctx, dcancel := context.WithTimeout(ctx, time.Minute)
	defer dcancel()
	if err := bus.Declare(dctx, declareJS, e.Topology); err != nil {
		t.Fatal(err)
	}

	e.EC2, err = ec2client.New(ctx, ec2client.Options{Endpoint: hs.URL, AssumeRole: o.AssumeRole, ExternalID: o.ExternalID})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Connect opens another client connection named name, which reconnects
// for ever as the palisade commands' do, closed when the test ends.
func (e *Env) Connect(name string) (*nats.Conn, jetstream.JetStream) {
	e.t.Helper()
	return e.ConnectAs(name, bus.RoleBreakGlass)
}

// ConnectAs opens another client connection named name as role r (with
// Options.Auth; without, any connection may do anything), which
// reconnects for ever as the palisade commands' do, closed when the test
// ends. Any error the server reports on it, a permission violation say,
// fails the test.
func (e *Env) ConnectAs(name string, r bus.Role) (*nats.Conn, jetstream.JetStream) {
	e.t.Helper()
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if e.natsTLS != nil {
		opts = append(opts, nats.Secure(e.natsTLS))
	}
	if e.Credentials.Dir != "" {
		ro, err := e.Credentials.ClientOptions(r)
		if err != nil {
			e.t.Fatal(err)
		}
		t := e.t
		opts = append(opts, ro...)
		opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// A write cut by a node going away (a cluster scenario
			// kills nodes) is no refusal: the connection reconnects.
			var netErr *net.OpError
			if e.ctx.Err() == nil && !errors.As(err, &netErr) {
				t.Errorf("NATS connection %s as %s: %v", name, r, err)
			}
		}))
	}
	nc, err := nats.Connect(e.NATSURL, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	return nc, js
}

// Context is cancelled when the test's cleanups have stopped everything
// started on the Env.
func (e *Env) Context() context.Context { return e.ctx }
