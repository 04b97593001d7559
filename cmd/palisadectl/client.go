package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/client"
	"github.com/palisadehq/palisade/internal/tlsfiles"
)

// cliRetry retries UNAVAILABLE a little: enough to ride out an API
// restarting, short enough that a server that is not there is reported
// (exit 4) within seconds.
var cliRetry = client.Retry{Attempts: 3, Initial: 200 * time.Millisecond, Max: time.Second}

// dial prepares the connection through package client, with the
// --tls-* files; nothing is sent until the first call.
//
// Calls are not wait-for-ready: a server that refuses the connection
// fails the call with UNAVAILABLE (exit 4), and one that does not answer
// the handshake does so after --connect-timeout, instead of the call
// hanging until --timeout.
func dial(g *globalFlags) (*client.Client, error) {
	c, err := client.Dial(g.server, client.Options{
		TLSCert: g.tlsCert, TLSKey: g.tlsKey, TLSCA: g.tlsCA,
		ConnectTimeout: g.connectTimeout,
		Retry:          cliRetry,
		DialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				return tlsHint(g, invoker(ctx, method, req, reply, cc, opts...))
			}),
			grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
				cs, err := streamer(ctx, desc, cc, method, opts...)
				return cs, tlsHint(g, err)
			}),
		},
	})
	if err == nil {
		return c, nil
	}
	var fe *tlsfiles.FileError
	if errors.As(err, &fe) {
		flag := map[tlsfiles.Part]string{tlsfiles.CertFile: "--tls-cert", tlsfiles.KeyFile: "--tls-key", tlsfiles.CAFile: "--tls-ca"}[fe.Part]
		return nil, usagef("%s: %v", flag, err)
	}
	var addr *client.AddressError
	if errors.As(err, &addr) {
		return nil, usagef("--server %q: %v", g.server, addr.Err)
	}
	return nil, usagef("%v", err)
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

// env is what one command invocation works with.
type env struct {
	g      globalFlags
	m      mutateFlags
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	lookup func(string) (string, bool)
	api    *client.Client
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
		_ = e.api.Close()
	}
}
