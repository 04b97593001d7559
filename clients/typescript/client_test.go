package typescript_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	"github.com/palisadehq/palisade/client/clienttest"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/palisadetest"
)

// TestClient runs the TypeScript client's tests in test/client.test.ts
// (with node --test) against a whole Palisade: one worker, the default
// policy, and a proxy that drops the connection once, after the API
// stored the first create and before its answer got out. The client must
// have retried that create (the API handled it twice) and made one
// operation (the Node test lists them).
func TestClient(t *testing.T) {
	ctx := build(t)
	engine, err := policy.NewEngine("")
	if err != nil {
		t.Fatal(err)
	}
	var proxy *clienttest.Dropper
	var creates atomic.Int32
	dropOnce := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if strings.HasSuffix(info.FullMethod, "/CreateSecurityGroup") && creates.Add(1) == 1 {
			proxy.Drop()
		}
		return resp, err
	}
	s := palisadetest.Start(t, palisadetest.Options{
		Workers: 1, Policy: engine,
		ServerOptions: []grpc.ServerOption{grpc.ChainUnaryInterceptor(dropOnce)},
	})
	proxy = clienttest.NewDropper(t, s.Addr)

	out := run(t, ctx, ".", []string{"PALISADE_SERVER=" + proxy.Addr()}, "node", "--test", "dist/test/client.test.js")
	// Two creates by the first test (the dropped one and its retry), one
	// by the second.
	if n := creates.Load(); n != 3 {
		t.Fatalf("the API handled %d creates, want 3 (one dropped and retried, one refused by EC2):\n%s", n, out)
	}
	if !strings.Contains(out, "# fail 0") {
		t.Fatalf("node --test:\n%s", out)
	}
}
