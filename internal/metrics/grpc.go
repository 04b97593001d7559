package metrics

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor times every unary call the API answers, by RPC
// and status code; first in the chain, it counts the calls the
// interceptors after it refuse too.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		RPCDone(info.FullMethod, status.Code(err).String(), time.Since(start))
		return resp, err
	}
}
