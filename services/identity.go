package services

import (
	"context"

	"google.golang.org/grpc"

	"github.com/palisadehq/palisade/internal/logging"
)

// LocalCaller is the identity of every caller on the insecure local default.
const LocalCaller = "local"

type callerKey struct{}

// Identify returns the caller's identity for a request. Today it is the
// constant LocalCaller; mTLS / SPIFFE identities plug in here without
// touching the handlers.
type Identify func(ctx context.Context) (string, error)

// LocalIdentity is the Identify of the insecure local default.
func LocalIdentity(context.Context) (string, error) { return LocalCaller, nil }

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
