package main

import (
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// serveHealth serves hs, and nothing else, without TLS on addr, for
// probes that cannot present a client certificate: the kubelet's gRPC
// probes connect in plaintext, and the API itself takes only mutual TLS.
// It serves until the returned stop is called; "" serves nothing.
func serveHealth(addr string, hs *health.Server, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--health-listen: %w", err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	log.Info("gRPC health service listening without TLS", "addr", ln.Addr().String())
	return srv.Stop, nil
}
