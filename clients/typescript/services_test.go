package typescript_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	"github.com/palisadehq/palisade/client/clienttest"
	"github.com/palisadehq/palisade/palisadetest"
)

// TestServices runs test/services.test.ts (node --test) against a whole
// Palisade with one worker, one rollout driver and the permissive
// loopback policy: rollouts waited to their end and rolled back, tags and
// rule changes read back, a fleet search streamed, the audit trail read,
// and an invalid request to each call family. A proxy drops the
// connection once, after the API stored the first rollout and before its
// answer got out: the client must have sent that start again, with the
// same request id (the Node test finds one rollout of that id).
func TestServices(t *testing.T) {
	ctx := build(t)
	var proxy *clienttest.Dropper
	var starts atomic.Int32
	dropOnce := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if strings.HasSuffix(info.FullMethod, "/StartRollout") && starts.Add(1) == 1 {
			proxy.Drop()
		}
		return resp, err
	}
	s := palisadetest.Start(t, palisadetest.Options{
		Workers: 1, Rollouts: 1,
		ServerOptions: []grpc.ServerOption{grpc.ChainUnaryInterceptor(dropOnce)},
	})
	proxy = clienttest.NewDropper(t, s.Addr)

	out := run(t, ctx, ".", []string{"PALISADE_SERVER=" + proxy.Addr()}, "node", "--test", "dist/test/services.test.js")
	if !strings.Contains(out, "# fail 0") {
		t.Fatalf("node --test:\n%s", out)
	}
	// The rollout's start twice (dropped, then retried), the
	// remediation's plan, the invalid start.
	if n := starts.Load(); n != 4 {
		t.Fatalf("the API handled %d rollout starts, want 4 (one dropped and retried, a plan, an invalid one):\n%s", n, out)
	}
}
