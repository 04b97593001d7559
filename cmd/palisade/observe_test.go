package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestObserveFlagsRefuseABadAddress(t *testing.T) {
	for _, args := range [][]string{
		{"api", "--metrics-listen", "9090"},
		{"worker", "--metrics-listen", "localhost"},
		{"serve", "--metrics-listen", "[::1"},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), args, noEnv, &out); code != 1 || !strings.Contains(out.String(), "--metrics-listen") {
			t.Errorf("%v: exit %d, output %q: want 1 and an error naming --metrics-listen", args, code, out.String())
		}
	}
}

// TestServeServesMetrics: `palisade serve --metrics-listen` answers
// /metrics with the API's and the worker's metrics, NATS connected and
// every command partition read.
func TestServeServesMetrics(t *testing.T) {
	addrs := freeAddrs(t, 4)
	grpcAddr, metricsAddr := addrs[0], addrs[3]
	args := []string{"serve", "--data-dir", filepath.Join(t.TempDir(), "data"), "--grpc-listen", grpcAddr,
		"--nats-listen", addrs[1], "--ec2-listen", addrs[2], "--nats-sync-always=false", "--log-level", "warn"}
	env := func(k string) (string, bool) {
		if k == "PALISADE_METRICS_LISTEN" {
			return metricsAddr, true
		}
		return "", false
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, env, &out) }()
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	awaitServing(ctx, t, conn, done, &out)

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %v %v", resp.Status, err)
	}
	for _, want := range []string{
		`palisade_nats_connected{connection="palisade-serve-api"} 1`,
		`palisade_nats_connected{connection="palisade-serve-worker"} 1`,
		`palisade_commands_consumer_info_up 1`,
		`palisade_commands_pending{consumer=`,
		`palisade_api_request_duration_seconds_count{code="OK",rpc="/grpc.health.v1.Health/Check"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited with %d after being stopped:\n%s", code, out.String())
	}
}

// TestObserveStart: a taken metrics address fails at start, naming the
// flag; with nothing asked for, the part's observer only waits for the
// end.
func TestObserveStart(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	o := observeFlags{metricsListen: taken.Addr().String()}
	if _, err := o.start(context.Background(), "palisade-test", log); err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Fatalf("start on a taken address: %v, want an error naming --metrics-listen", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run, err := (&observeFlags{}).start(ctx, "palisade-test", log)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := run(ctx); err != nil {
		t.Fatal(err)
	}
}
