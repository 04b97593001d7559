package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestServeHealth: the plaintext health listener answers what the API's
// health server says, NOT_SERVING once it shuts down, and nothing else.
func TestServeHealth(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := health.NewServer()
	addr := freeAddrs(t, 1)[0]
	stop, err := serveHealth(addr, hs, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	client := healthpb.NewHealthClient(conn)
	check := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != want {
			t.Fatalf("Check: %v %v, want %v", resp.GetStatus(), err, want)
		}
	}
	check(healthpb.HealthCheckResponse_SERVING)
	hs.Shutdown()
	check(healthpb.HealthCheckResponse_NOT_SERVING)
	if err := conn.Invoke(ctx, "/palisade.v1.SecurityGroups/GetSecurityGroup", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}); err == nil ||
		!strings.Contains(err.Error(), "Unimplemented") {
		t.Errorf("a call beside the health service: %v, want Unimplemented", err)
	}

	if _, err := serveHealth("no-port", hs, log); err == nil || !strings.Contains(err.Error(), "--health-listen") {
		t.Errorf("bad address: %v, want an error naming --health-listen", err)
	}
	if stop, err := serveHealth("", hs, log); err != nil {
		t.Errorf("no address: %v", err)
	} else {
		stop()
	}
}
