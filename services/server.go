// Package services is Palisade's gRPC front end: it identifies the caller,
// validates every request as strictly as EC2 would, stores accepted
// commands on JetStream and answers with long-running operations, and
// serves the operations and read calls.
package services

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/audit"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/tracing"
)

// Deps are what the front end needs.
type Deps struct {
	JetStream jetstream.JetStream
	EC2       *ec2client.Factory
	// Budget paces the API's own EC2 reads (Get/List, validate-only
	// rollouts) in the budget the workers spend from; nil: unpaced.
	Budget *ratebudget.Budget
	// Identify names the caller of every call; nil: PeerIdentity with
	// TLS, LocalIdentity without.
	Identify Identify
	// Policy decides every call; nil: policy.Permissive, for the
	// insecure loopback default only.
	Policy *policy.Engine
	Log    *slog.Logger
	// TLS, when set, serves the API over TLS with this configuration,
	// which must require and verify client certificates (see
	// tlsfiles.Source.ServerConfig); nil: plaintext, for the loopback
	// default only.
	TLS *tls.Config
	// ServerOptions are added to the gRPC server's: Hardening's limits,
	// for one.
	ServerOptions []grpc.ServerOption
	// MaxWatchesPerCaller bounds the watches one caller holds open at
	// once in this process; 0: DefaultMaxWatchesPerCaller.
	MaxWatchesPerCaller int
	// CallerRate bounds each caller's mutating calls in this process;
	// the zero value: no limit.
	CallerRate CallerRate
}

// Server is the gRPC front end with its health service.
type Server struct {
	*grpc.Server
	Health *health.Server
}

// New builds the gRPC server with every service registered, health and
// reflection on.
func New(ctx context.Context, d Deps) (*Server, error) {
	if d.TLS != nil && d.TLS.GetConfigForClient == nil && d.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
		return nil, errors.New("the API's TLS configuration must require and verify client certificates")
	}
	if d.Identify == nil {
		d.Identify = LocalIdentity
		if d.TLS != nil {
			d.Identify = PeerIdentity
		}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	store, err := operations.Open(ctx, d.JetStream, d.Log)
	if err != nil {
		return nil, err
	}
	submitter, err := command.NewSubmitter(ctx, d.JetStream, store, d.Log)
	if err != nil {
		return nil, err
	}
	if d.Policy == nil {
		d.Policy = policy.Permissive()
	}
	host, _ := os.Hostname()
	read := reader{ec2: d.EC2, budget: d.Budget, log: d.Log}
	g := &guard{policy: d.Policy, audit: audit.New(d.JetStream, host), reader: read}
	accept := acceptor{guard: g, submitter: submitter, log: d.Log, now: time.Now}
	var limiter *callerLimiter
	if d.CallerRate.PerSecond > 0 {
		limiter = newCallerLimiter(d.CallerRate)
	}
	opts := []grpc.ServerOption{
		// Timed first, so calls the identity and rate checks refuse count.
		grpc.ChainUnaryInterceptor(metrics.UnaryServerInterceptor(), identityUnary(d.Identify), rateUnary(limiter)),
		grpc.ChainStreamInterceptor(identityStream(d.Identify)),
		tracing.ServerOption(),
	}
	if d.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(d.TLS)))
	}
	gs := grpc.NewServer(append(opts, d.ServerOptions...)...)
	searches := newSearchLimit()
	palisadev1.RegisterSecurityGroupServiceServer(gs, &securityGroups{
		acceptor: accept,
		reader:   read,
		searches: searches,
	})
	rstore, err := rollout.OpenStore(ctx, d.JetStream)
	if err != nil {
		return nil, err
	}
	watches := newWatchLimit(d.MaxWatchesPerCaller)
	palisadev1.RegisterRolloutServiceServer(gs, &rollouts{
		acceptor: accept,
		reader:   read,
		store:    rstore,
		ops:      store,
		watches:  watches,
		searches: searches,
	})
	ops := &operationsServer{store: store, guard: g, log: d.Log, watches: watches}
	palisadev1.RegisterAuditServiceServer(gs, &auditServer{guard: g, reader: audit.NewReader(d.JetStream)})
	longrunningpb.RegisterOperationsServer(gs, ops)
	palisadev1.RegisterOperationEventServiceServer(gs, ops)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return &Server{Server: gs, Health: hs}, nil
}
