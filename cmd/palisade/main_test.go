package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func noEnv(string) (string, bool) { return "", false }

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		say  string
	}{
		{"no command", nil, nil, 2, "usage: palisade"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"help", []string{"worker", "-h"}, nil, 0, "-nats-url"},
		{"unknown flag", []string{"api", "--bogus"}, nil, 1, "flag provided but not defined"},
		{"stray argument", []string{"ec2sim", "extra"}, nil, 1, `unexpected arguments ["extra"]`},
		{"bad variable", []string{"ec2sim"}, map[string]string{"PALISADE_LOG_LEVEL": "loud"}, 1, "--log-level"},
		{"bad log format", []string{"ec2sim", "--log-format", "yaml"}, nil, 1, `--log-format: log format "yaml"`},
		{"negative caller rate", []string{"api", "--caller-rate", "-1"}, nil, 1, "--caller-rate -1"},
		{"caller rate without burst", []string{"serve"}, map[string]string{"PALISADE_CALLER_BURST": "0"}, 1, "--caller-rate 50 with --caller-burst 0"},
		{"bad variable type", []string{"worker"}, map[string]string{"PALISADE_MAX_ATTEMPTS": "many"}, 1, "PALISADE_MAX_ATTEMPTS"},
		{"role without account", []string{"worker", "--assume-role", "arn:aws:iam::111122223333:role/palisade"}, nil, 1, "--assume-role: role ARN template"},
		{"role not a role", []string{"api"}, map[string]string{"PALISADE_ASSUME_ROLE": "arn:aws:iam::{account}:user/bob"}, 1, "--assume-role: role ARN template"},
		{"external id alone", []string{"serve", "--assume-role-external-id", "ext"}, nil, 1, "--assume-role-external-id needs --assume-role"},
		{"help names the TLS flags", []string{"api", "-h"}, nil, 0, "-tls-client-ca"},
		{"every address without TLS", []string{"serve", "--grpc-listen", "0.0.0.0:50051"}, nil, 1,
			"--grpc-listen 0.0.0.0:50051 is not a loopback address, and the API has no TLS: give --tls-cert, --tls-key and --tls-client-ca"},
		{"no host without TLS", []string{"api", "--grpc-listen", ":50051"}, nil, 1, "or --insecure"},
		{"a LAN address from the environment", []string{"api"}, map[string]string{"PALISADE_GRPC_LISTEN": "10.1.2.3:50051"}, 1, "is not a loopback address"},
		{"a host name without TLS", []string{"api", "--grpc-listen", "palisade.example.org:50051"}, nil, 1, "is not a loopback address"},
		{"IPv6 every address without TLS", []string{"api", "--grpc-listen", "[::]:50051"}, nil, 1, "is not a loopback address"},
		{"bad listen address", []string{"api", "--grpc-listen", "50051"}, nil, 1, `--grpc-listen "50051"`},
		{"cert without key", []string{"api", "--tls-cert", "server.pem"}, nil, 1, "--tls-cert needs --tls-key and --tls-client-ca"},
		{"cert and key without client CA", []string{"serve", "--tls-cert", "server.pem"}, map[string]string{"PALISADE_TLS_KEY": "server-key.pem"}, 1,
			"--tls-cert and --tls-key need --tls-client-ca"},
		{"client CA alone", []string{"api", "--tls-client-ca", "ca.pem"}, nil, 1, "--tls-client-ca needs --tls-cert and --tls-key"},
		{"TLS and insecure", []string{"api", "--tls-cert", "a", "--tls-key", "b", "--tls-client-ca", "c", "--insecure"}, nil, 1,
			"--insecure and --tls-cert contradict each other"},
		{"two sources of the certificate", []string{"api", "--spiffe-endpoint-socket", "unix:///run/spire/agent.sock", "--tls-cert", "a"}, nil, 1,
			"--spiffe-endpoint-socket and --tls-cert are two sources"},
		{"SPIFFE and insecure", []string{"serve", "--insecure"}, map[string]string{"PALISADE_SPIFFE_ENDPOINT_SOCKET": "unix:///run/spire/agent.sock"}, 1,
			"--insecure and --spiffe-endpoint-socket contradict each other"},
		// Past the flag checks, the API stops at NATS, which is not there.
		{"insecure on purpose", []string{"api", "--grpc-listen", "0.0.0.0:50051", "--insecure", "--nats-url", "nats://127.0.0.1:1"}, nil, 1, "connect to NATS"},
		{"loopback without TLS", []string{"api", "--grpc-listen", "[::1]:50051", "--nats-url", "nats://127.0.0.1:1"}, nil, 1, "connect to NATS"},
		{"localhost without TLS", []string{"api", "--grpc-listen", "localhost:50051", "--nats-url", "nats://127.0.0.1:1"}, nil, 1, "connect to NATS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			if code := run(context.Background(), tc.args, lookup, &out); code != tc.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.code, out.String())
			}
			if !strings.Contains(out.String(), tc.say) {
				t.Fatalf("output lacks %q:\n%s", tc.say, out.String())
			}
		})
	}
}

// TestLogFormatJSON: --log-format json writes one JSON object a line,
// with the message under msg.
func TestLogFormatJSON(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // log the start, then stop at once
	var out bytes.Buffer
	run(ctx, []string{"ec2sim", "--ec2-listen", freeAddrs(t, 1)[0], "--log-format", "json"}, noEnv, &out)
	first, _, _ := strings.Cut(out.String(), "\n")
	var line map[string]any
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatalf("first line is not JSON: %v\n%s", err, out.String())
	}
	if line["msg"] != "local EC2 endpoint listening" || line["level"] != "INFO" {
		t.Errorf("first line %v", line)
	}
}

// freeAddrs returns n distinct loopback addresses nobody listens on now;
// all are held until every one is chosen, so none is handed out twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// TestServeStartsAndStopsCleanly runs `palisade serve` as a user would,
// waits until the API reports itself serving, then stops it as Ctrl-C
// does and expects a clean exit.
func TestServeStartsAndStopsCleanly(t *testing.T) {
	addrs := freeAddrs(t, 3)
	grpcAddr := addrs[0]
	args := []string{"serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--grpc-listen", grpcAddr,
		"--nats-listen", addrs[1], "--ec2-listen", addrs[2], "--nats-sync-always=false", "--log-level", "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, noEnv, &out) }()

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	awaitServing(ctx, t, conn, done, &out)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited with %d after being stopped:\n%s", code, out.String())
	}
}

// awaitServing waits until the API on conn reports SERVING, and fails the
// test if serve exits first (done carries its exit code, out its output).
func awaitServing(ctx context.Context, t *testing.T, conn *grpc.ClientConn, done <-chan int, out *bytes.Buffer) {
	t.Helper()
	health := healthpb.NewHealthClient(conn)
	for {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d:\n%s", code, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
