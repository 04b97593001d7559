package main

import (
	"fmt"
	"io"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// clients are the services palisadectl calls, on one connection.
type clients struct {
	conn   *grpc.ClientConn
	groups palisadev1.SecurityGroupServiceClient
	ops    longrunningpb.OperationsClient
	events palisadev1.OperationEventServiceClient
	// rollouts is RolloutService.
	rollouts palisadev1.RolloutServiceClient
}

// dial prepares the connection; nothing is sent until the first call.
//
// Calls are not wait-for-ready: a server that refuses the connection
// fails the call at once with UNAVAILABLE (exit 4), and one that does not
// answer the handshake does so after --connect-timeout, instead of the
// call hanging until --timeout.
func dial(g *globalFlags) (*clients, error) {
	conn, err := grpc.NewClient(g.server,
		grpc.WithTransportCredentials(insecure.NewCredentials()), // TLS comes with authentication
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: g.connectTimeout}),
	)
	if err != nil {
		return nil, usagef("--server %q: %v", g.server, err)
	}
	return &clients{
		conn:   conn,
		groups: palisadev1.NewSecurityGroupServiceClient(conn),
		ops:    longrunningpb.NewOperationsClient(conn),
		events: palisadev1.NewOperationEventServiceClient(conn),

		rollouts: palisadev1.NewRolloutServiceClient(conn),
	}, nil
}

func (c *clients) close() { _ = c.conn.Close() }

// env is what one command invocation works with.
type env struct {
	g      globalFlags
	m      mutateFlags
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	lookup func(string) (string, bool)
	api    *clients
}

// verbosef writes a diagnostic line on standard error with --verbose.
func (e *env) verbosef(format string, args ...any) {
	if e.g.verbose {
		fmt.Fprintf(e.stderr, format+"\n", args...)
	}
}

// connect dials the server, once.
func (e *env) connect() error {
	if e.api != nil {
		return nil
	}
	api, err := dial(&e.g)
	if err != nil {
		return err
	}
	e.api = api
	e.verbosef("server: %s, account %s, region %s", e.g.server, e.g.account, e.g.region)
	return nil
}

func (e *env) close() {
	if e.api != nil {
		e.api.close()
	}
}
