package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/tlsfiles"
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
	creds, err := transport(g)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(g.server,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: g.connectTimeout}),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return tlsHint(g, invoker(ctx, method, req, reply, cc, opts...))
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			cs, err := streamer(ctx, desc, cc, method, opts...)
			return cs, tlsHint(g, err)
		}),
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

// transport is TLS with the --tls-* files, or plaintext without them
// (the insecure loopback default).
func transport(g *globalFlags) (credentials.TransportCredentials, error) {
	if !g.tls() {
		return insecure.NewCredentials(), nil
	}
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: g.tlsCert, Key: g.tlsKey, CA: g.tlsCA}, slog.New(slog.DiscardHandler))
	if err != nil {
		var fe *tlsfiles.FileError
		if errors.As(err, &fe) {
			flag := map[tlsfiles.Part]string{tlsfiles.CertFile: "--tls-cert", tlsfiles.KeyFile: "--tls-key", tlsfiles.CAFile: "--tls-ca"}[fe.Part]
			return nil, usagef("%s: %v", flag, err)
		}
		return nil, usagef("%v", err)
	}
	return credentials.NewTLS(src.ClientConfig()), nil
}

// tlsHint adds the flags to check to a connection error that TLS
// explains: a server that hung up on plaintext may want TLS, a failed
// handshake names a certificate, and a server that refused the client's
// certificate may be heard only as a connection cut short.
func tlsHint(g *globalFlags, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return err
	}
	msg := st.Message()
	switch {
	case !g.tls() && strings.Contains(msg, "connection error") && strings.Contains(msg, "server preface"):
		msg += " (if the server takes mutual TLS only, give --tls-cert, --tls-key and --tls-ca)"
	case g.tls() && strings.Contains(msg, "connection error") && (strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:")):
		msg += " (check --tls-cert, --tls-key and --tls-ca)"
	case g.tls() && (strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset")):
		msg += " (the server may have refused the client certificate: check --tls-cert, --tls-key and --tls-ca)"
	default:
		return err
	}
	return status.Error(codes.Unavailable, msg)
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
	how := "plaintext"
	if e.g.tls() {
		how = "mutual TLS"
		if e.g.tlsCert == "" {
			how = "TLS without a client certificate"
		}
	}
	e.verbosef("server: %s (%s), account %s, region %s", e.g.server, how, e.g.account, e.g.region)
	return nil
}

func (e *env) close() {
	if e.api != nil {
		e.api.close()
	}
}
