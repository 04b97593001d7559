package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

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

// DefaultAddress is where `palisade serve` listens by default.
const DefaultAddress = "127.0.0.1:50051"

// Options configure Dial. The zero value dials in plaintext, as the
// loopback default expects, and retries UNAVAILABLE with DefaultRetry.
type Options struct {
	// TLSCert and TLSKey are the client certificate (PEM) of mutual TLS,
	// which names the caller to the policy, and its key; TLSCA holds the
	// CA certificates that verify the server (empty: the system's roots).
	// Any of them turns TLS on; TLSCert and TLSKey go together.
	TLSCert, TLSKey, TLSCA string
	// ConnectTimeout bounds one attempt to reach the server (0: 5s). A
	// call fails UNAVAILABLE when the server cannot be reached, instead
	// of hanging.
	ConnectTimeout time.Duration
	// Retry is how UNAVAILABLE is retried; the zero value is DefaultRetry.
	Retry Retry
	// DialOptions are added to the connection's own (interceptors, say).
	DialOptions []grpc.DialOption
}

// TLS reports whether the options turn TLS on.
func (o Options) TLS() bool { return o.TLSCert != "" || o.TLSKey != "" || o.TLSCA != "" }

// Retry is the backoff of retried calls: full jitter, each wait drawn
// between 0 and min(Max, Initial·2^attempt).
type Retry struct {
	// Attempts is how many times a call is sent at most, the first
	// included; 1 turns retries off.
	Attempts int
	Initial  time.Duration
	Max      time.Duration
}

// DefaultRetry rides out an API replica restarting or NATS failing over
// (a few seconds) without hiding a server that is down for good.
var DefaultRetry = Retry{Attempts: 5, Initial: 100 * time.Millisecond, Max: 2 * time.Second}

func (r Retry) orDefault() Retry {
	if r.Attempts == 0 {
		return DefaultRetry
	}
	if r.Initial <= 0 {
		r.Initial = DefaultRetry.Initial
	}
	if r.Max < r.Initial {
		r.Max = max(r.Initial, DefaultRetry.Max)
	}
	return r
}

// wait is the pause before retry number n (1 for the first retry).
func (r Retry) wait(n int) time.Duration {
	ceiling := r.Initial << min(n-1, 16)
	if ceiling <= 0 || ceiling > r.Max {
		ceiling = r.Max
	}
	return rand.N(ceiling + 1)
}

// Client calls every Palisade service on one connection.
type Client struct {
	conn  *grpc.ClientConn
	owned bool
	retry Retry

	groups   palisadev1.SecurityGroupServiceClient
	ops      longrunningpb.OperationsClient
	events   palisadev1.OperationEventServiceClient
	rollouts palisadev1.RolloutServiceClient
	audit    palisadev1.AuditServiceClient
}

// Dial prepares a connection to the API at target (host:port); nothing
// is sent until the first call. The TLS files are read now, so a missing
// or bad one is reported here.
func Dial(target string, o Options) (*Client, error) {
	creds, err := transport(o)
	if err != nil {
		return nil, err
	}
	connect := o.ConnectTimeout
	if connect <= 0 {
		connect = 5 * time.Second
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.DefaultConfig, MinConnectTimeout: connect}),
	}, o.DialOptions...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, &AddressError{Target: target, Err: err}
	}
	c := New(conn, o.Retry)
	c.owned = true
	return c, nil
}

// AddressError is an address Dial cannot use.
type AddressError struct {
	Target string
	Err    error
}

func (e *AddressError) Error() string { return fmt.Sprintf("palisade address %q: %v", e.Target, e.Err) }
func (e *AddressError) Unwrap() error { return e.Err }

// New is a Client on a connection the caller made and closes.
func New(conn *grpc.ClientConn, r Retry) *Client {
	return &Client{
		conn:     conn,
		retry:    r.orDefault(),
		groups:   palisadev1.NewSecurityGroupServiceClient(conn),
		ops:      longrunningpb.NewOperationsClient(conn),
		events:   palisadev1.NewOperationEventServiceClient(conn),
		rollouts: palisadev1.NewRolloutServiceClient(conn),
		audit:    palisadev1.NewAuditServiceClient(conn),
	}
}

// Conn is the underlying connection, for services this package does not
// wrap (health, reflection).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection Dial made; on New's, it does nothing.
func (c *Client) Close() error {
	if !c.owned {
		return nil
	}
	return c.conn.Close()
}

// transport is TLS with the files, or plaintext without any.
func transport(o Options) (credentials.TransportCredentials, error) {
	if !o.TLS() {
		return insecure.NewCredentials(), nil
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("TLSCert and TLSKey go together: the client certificate and its key")
	}
	src, err := tlsfiles.Load(tlsfiles.Files{Cert: o.TLSCert, Key: o.TLSKey, CA: o.TLSCA}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(src.ClientConfig()), nil
}

// invoke sends one unary call and retries it while the answer is
// UNAVAILABLE. The request is the same value each time, so a mutating
// call's request_id is the same on every attempt.
func invoke[Req, Resp any](ctx context.Context, c *Client, call func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, opts []grpc.CallOption) (Resp, error) {
	for attempt := 1; ; attempt++ {
		resp, err := call(ctx, req, opts...)
		if err == nil {
			return resp, nil
		}
		if status.Code(err) != codes.Unavailable || attempt >= c.retry.Attempts || ctx.Err() != nil {
			return resp, wrap(err)
		}
		pause := c.retry.wait(attempt)
		if e := fromStatus(status.Convert(err)); e.RetryAfter > pause {
			pause = e.RetryAfter
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, wrap(err)
		case <-t.C:
		}
	}
}
