package e2e

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/tracing"
)

// traced installs an in-memory span exporter as the process's tracer
// provider until the test ends, and dials the API with a client that
// sends its trace context.
func traced(t *testing.T, e *env) (*tracetest.InMemoryExporter, palisadev1.SecurityGroupServiceClient, palisadev1.RolloutServiceClient) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		_ = tp.Shutdown(context.Background())
	})
	conn, err := grpc.NewClient(e.stack.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()), tracing.DialOption())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return exp, palisadev1.NewSecurityGroupServiceClient(conn), palisadev1.NewRolloutServiceClient(conn)
}

// spansOf waits until the trace holds at least n spans named name (the
// worker ends its spans after the operation's end is recorded) and
// returns the whole trace, by span id.
func spansOf(t *testing.T, exp *tracetest.InMemoryExporter, id trace.TraceID, name string, n int) map[trace.SpanID]tracetest.SpanStub {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		byID := map[trace.SpanID]tracetest.SpanStub{}
		found := 0
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID() != id {
				continue
			}
			byID[s.SpanContext.SpanID()] = s
			if s.Name == name {
				found++
			}
		}
		if found >= n {
			return byID
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range byID {
				names = append(names, s.Name)
			}
			t.Fatalf("trace %s has %d spans named %q, want %d; it has %v", id, found, name, n, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ancestors lists the names from span up to the trace's root.
func ancestors(byID map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub) []string {
	var names []string
	for {
		names = append(names, s.Name)
		p, ok := byID[s.Parent.SpanID()]
		if !ok {
			return names
		}
		s = p
	}
}

// wantChain fails unless span's ancestors include each of want, in order
// from the span upwards.
func wantChain(t *testing.T, byID map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub, want ...string) {
	t.Helper()
	chain := ancestors(byID, s)
	i := 0
	for _, name := range chain {
		if i < len(want) && name == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Errorf("span %s descends from %v, want %v among them", s.Name, chain, want)
	}
}

// TestOneTraceFromAPIToEC2: a change sent under a caller's span is one
// trace: the API's gRPC span, the command's publish, the worker's
// delivery and attempt (across NATS, by the traceparent header), and the
// EC2 call, each the child of the one before.
func TestOneTraceFromAPIToEC2(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	exp, sg, _ := traced(t, e)

	ctx, root := otel.Tracer("e2e").Start(e.ctx, "caller")
	op, err := sg.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "traced", Description: "traced"})
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	e.succeeded(op)

	byID := spansOf(t, exp, root.SpanContext().TraceID(), "apply command", 1)
	var ec2Call *tracetest.SpanStub
	for _, s := range byID {
		if s.Name == "EC2.CreateSecurityGroup" {
			ec2Call = &s
		}
	}
	if ec2Call == nil {
		t.Fatal("no EC2.CreateSecurityGroup span in the caller's trace")
	}
	if ec2Call.SpanKind != trace.SpanKindClient {
		t.Errorf("EC2 call span kind %v, want client", ec2Call.SpanKind)
	}
	wantChain(t, byID, *ec2Call, "EC2.CreateSecurityGroup", "attempt 1", "apply command",
		"publish "+bus.CommandStream, "palisade.v1.SecurityGroupService/CreateSecurityGroup", "caller")
}

// TestOneTraceFromStartRolloutToEveryChild: the rollout driver's delivery
// and every child's worker delivery, with their EC2 calls, join the trace
// of the StartRollout call.
func TestOneTraceFromStartRolloutToEveryChild(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	exp, _, rollouts := traced(t, e)
	ids := e.makeGroups(account, region, "traced-rollout", 3, nil)

	ctx, root := otel.Tracer("e2e").Start(e.ctx, "caller")
	op, err := rollouts.StartRollout(ctx, &palisadev1.StartRolloutRequest{
		RequestId: "8a4f2c6e-1d3b-4e5f-9a7b-0c2d4e6f8a1b",
		Change:    &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(8443, 8443, "10.70.0.0/16")}},
		Targets:   []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	})
	root.End()
	if err != nil {
		t.Fatal(err)
	}
	if ro := e.watchRollout(metadata(t, op).GetRollout(), nil); ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}

	// The driver's span ends once it has acknowledged the rollout.
	spansOf(t, exp, root.SpanContext().TraceID(), "drive rollout", 1)
	byID := spansOf(t, exp, root.SpanContext().TraceID(), "apply command", len(ids))
	authorized := 0
	for _, s := range byID {
		switch s.Name {
		case "apply command":
			wantChain(t, byID, s, "apply command", "drive rollout", "palisade.v1.RolloutService/StartRollout", "caller")
		case "EC2.AuthorizeSecurityGroupIngress":
			authorized++
			wantChain(t, byID, s, "EC2.AuthorizeSecurityGroupIngress", "apply command", "drive rollout", "caller")
		}
	}
	if authorized < len(ids) {
		t.Errorf("%d EC2.AuthorizeSecurityGroupIngress spans in the trace, want one per group (%d)", authorized, len(ids))
	}
}
