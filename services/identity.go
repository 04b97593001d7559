package services

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/internal/logging"
)

// LocalCaller is the identity of every caller on the insecure local default.
const LocalCaller = "local"

type callerKey struct{}

// Identify returns the caller's identity for a request: LocalIdentity on
// the insecure loopback default, PeerIdentity under mTLS. An error is the
// call's answer (UNAUTHENTICATED).
type Identify func(ctx context.Context) (string, error)

// LocalIdentity is the Identify of the insecure local default.
func LocalIdentity(context.Context) (string, error) { return LocalCaller, nil }

// PeerIdentity is the Identify of an API served over mutual TLS: the
// caller is named by the client certificate the handshake verified.
//
//   - A certificate with URI SANs is an X.509-SVID: exactly one URI SAN,
//     a valid SPIFFE ID (spiffe://<trust domain>/<path>), which is the
//     caller. Anything else (two URIs, a URI that is no SPIFFE ID) is
//     refused, never passed over for a weaker name.
//   - Without a URI SAN, the first DNS SAN is the caller; without one
//     either, the subject's common name.
//
// A DNS SAN or common name is refused when it could pass for another
// kind of caller: one holding a colon (it could read as a SPIFFE ID,
// "spiffe://…", or any URI), "local" (the caller of the insecure
// default), or one that is not clean text (control characters, invalid
// UTF-8). A certificate that names no one, is a CA's, was not verified
// by the handshake, or has expired since the connection was made is
// refused UNAUTHENTICATED.
func PeerIdentity(ctx context.Context) (string, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", status.Error(codes.Unauthenticated, "no peer")
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.PeerCertificates) == 0 {
		return "", status.Error(codes.Unauthenticated, "a client certificate is required")
	}
	if len(ti.State.VerifiedChains) == 0 {
		return "", status.Error(codes.Unauthenticated, "the client certificate was not verified")
	}
	leaf := ti.State.PeerCertificates[0]
	if leaf.IsCA {
		return "", status.Error(codes.Unauthenticated, "a CA certificate cannot name a caller")
	}
	if time.Now().After(leaf.NotAfter) {
		return "", status.Errorf(codes.Unauthenticated, "the client certificate expired at %s; reconnect with a current one", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(leaf.URIs) > 0 {
		id, err := x509svid.IDFromCert(leaf)
		if err != nil {
			return "", status.Errorf(codes.Unauthenticated, "the client certificate's URI SAN is not one SPIFFE ID: %v", err)
		}
		return id.String(), nil
	}
	name, from := leaf.Subject.CommonName, "subject common name"
	if len(leaf.DNSNames) > 0 {
		name, from = leaf.DNSNames[0], "DNS SAN"
	}
	if name == "" {
		return "", status.Error(codes.Unauthenticated, "the client certificate names no one: no URI SAN (SPIFFE ID), DNS SAN or subject common name")
	}
	if strings.Contains(name, ":") || strings.EqualFold(name, LocalCaller) || !utf8.ValidString(name) ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", status.Errorf(codes.Unauthenticated, "the client certificate's %s %q cannot name a caller", from, name)
	}
	return name, nil
}

// CallerFrom returns the identity the interceptor put in ctx.
func CallerFrom(ctx context.Context) string {
	c, _ := ctx.Value(callerKey{}).(string)
	return c
}

// withCaller puts the caller's identity in ctx, for the handlers and for
// every line logged under ctx.
func withCaller(ctx context.Context, caller string) context.Context {
	return logging.With(context.WithValue(ctx, callerKey{}, caller), logging.Caller, caller)
}

func identityUnary(id Identify) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		caller, err := id(ctx)
		if err != nil {
			return nil, err
		}
		return next(withCaller(ctx, caller), req)
	}
}

func identityStream(id Identify) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		caller, err := id(ss.Context())
		if err != nil {
			return err
		}
		return next(srv, &identifiedStream{ServerStream: ss, ctx: withCaller(ss.Context(), caller)})
	}
}

type identifiedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *identifiedStream) Context() context.Context { return s.ctx }
