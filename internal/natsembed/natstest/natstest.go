// Package natstest runs a real NATS server with JetStream for tests, as
// net/http/httptest runs a real HTTP server.
package natstest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsembed"
)

// Server starts a NATS server with JetStream, by default on a fresh store
// in the test's temporary folder and a free loopback port (so clients can
// reconnect to it, and other processes reach it), with a store bound of
// 1 TiB, and shuts it down when the test ends.
func Server(t testing.TB, o natsembed.Options) *server.Server {
	t.Helper()
	if o.StoreDir == "" {
		o.StoreDir = filepath.Join(t.TempDir(), "js")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.MaxStore == 0 {
		// The streams' reservations are accounting, and a test writes
		// little: a bound taken from the disk's free space would fail
		// tests on a nearly full disk for what they never store.
		o.MaxStore = 1 << 40
	}
	srv, err := natsembed.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

// Connect opens a client connection to srv, closed when the test ends.
func Connect(t testing.TB, srv *server.Server, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Bus starts a server, connects to it and declares every stream, consumer
// and bucket of top.
func Bus(t testing.TB, top bus.Topology) (*server.Server, jetstream.JetStream) {
	t.Helper()
	srv := Server(t, natsembed.Options{})
	js := Connect(t, srv)
	if err := bus.Declare(context.Background(), js, top); err != nil {
		t.Fatal(err)
	}
	return srv, js
}

// StandaloneBinary is the standalone nats-server that
// scripts/install-nats-server.sh installs; "" when there is none, and
// the tests that start the shipped configuration as real processes skip.
func StandaloneBinary(root string) string {
	return ToolBinary(root, "nats-server")
}

// ToolBinary is the tool name from the tools bin ($PALISADE_TOOLS_BIN, or
// .bin under the repository root root), else from PATH; "" when there is
// none.
func ToolBinary(root, name string) string {
	for _, d := range []string{os.Getenv("PALISADE_TOOLS_BIN"), filepath.Join(root, ".bin")} {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	p, _ := exec.LookPath(name)
	return p
}
