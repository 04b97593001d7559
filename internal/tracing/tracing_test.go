package tracing

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// install makes an in-memory exporter the global provider's for the test.
func install(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })
	return exp
}

// TestPublishAndConsumeShareATrace: the producer span's context crosses a
// NATS header as a lower-case W3C traceparent, and the consumer's span
// is its child in the same trace.
func TestPublishAndConsumeShareATrace(t *testing.T) {
	exp := install(t)
	ctx, root := Start(context.Background(), "call")
	h, done := Publish(ctx, "COMMANDS", "palisade.commands.x")
	done(nil)
	root.End()
	if h == nil || len(h["traceparent"]) != 1 || !strings.HasPrefix(h["traceparent"][0], "00-") {
		t.Fatalf("header %v: want one lower-case traceparent", h)
	}
	// As delivered: the header as the server hands it back.
	_, span := Consume(context.Background(), h, "apply command", "palisade.commands.x")
	span.End()

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	pub, cons := spans[0], spans[2]
	if pub.SpanKind != trace.SpanKindProducer || cons.SpanKind != trace.SpanKindConsumer {
		t.Errorf("kinds %v, %v", pub.SpanKind, cons.SpanKind)
	}
	if cons.SpanContext.TraceID() != root.SpanContext().TraceID() {
		t.Errorf("consumer in trace %s, want %s", cons.SpanContext.TraceID(), root.SpanContext().TraceID())
	}
	if cons.Parent.SpanID() != pub.SpanContext.SpanID() || !cons.Parent.IsRemote() {
		t.Errorf("consumer's parent %s (remote %v), want the producer %s", cons.Parent.SpanID(), cons.Parent.IsRemote(), pub.SpanContext.SpanID())
	}
}

// TestUntracedPublishSendsNoHeader: with nothing recording and no
// incoming context there is nothing to carry, and a message without a
// header starts a trace of its own.
func TestUntracedPublishSendsNoHeader(t *testing.T) {
	if h := Header(context.Background()); h != nil {
		t.Fatalf("header %v, want none", h)
	}
	exp := install(t)
	_, span := Consume(context.Background(), nil, "apply command", "s")
	span.End()
	if got := exp.GetSpans(); len(got) != 1 || got[0].Parent.IsValid() {
		t.Fatalf("spans %v: want one root span", got)
	}
	if ctx := Extract(context.Background(), nats.Header{"traceparent": {"garbage"}}); trace.SpanContextFromContext(ctx).IsValid() {
		t.Error("a malformed traceparent gave a valid parent")
	}
}

func TestFailMarksTheSpan(t *testing.T) {
	exp := install(t)
	_, span := Start(context.Background(), "x")
	Fail(span, nil)
	Fail(span, errors.New("RequestLimitExceeded"))
	span.End()
	s := exp.GetSpans()[0]
	if s.Status.Description != "RequestLimitExceeded" || len(s.Events) != 1 {
		t.Fatalf("status %+v, events %d", s.Status, len(s.Events))
	}
}

// TestSetupExportsOnlyWhenConfigured: no flag and no OTEL_ variable
// installs nothing; an endpoint installs an exporting provider, which
// shuts down cleanly with nothing to send.
func TestSetupExportsOnlyWhenConfigured(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	none := func(string) string { return "" }
	shutdown, err := Setup(context.Background(), Options{Service: "palisade-test", Getenv: none})
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != prev {
		t.Fatal("a provider was installed with no endpoint configured")
	}
	_ = shutdown(context.Background())

	env := func(k string) string {
		if k == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" {
			return "http://127.0.0.1:4317"
		}
		return ""
	}
	if !(Options{Getenv: env}).exportConfigured() {
		t.Error("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT not honoured")
	}
	shutdown, err = Setup(context.Background(), Options{Endpoint: "http://127.0.0.1:1", Service: "palisade-test", Getenv: none})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Fatalf("provider %T, want the SDK's", otel.GetTracerProvider())
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointURL(t *testing.T) {
	for in, want := range map[string]string{
		"collector:4317":        "https://collector:4317",
		"http://127.0.0.1:4317": "http://127.0.0.1:4317",
		"https://c.example:443": "https://c.example:443",
	} {
		if got := endpointURL(in); got != want {
			t.Errorf("endpointURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSetupRefusesMalformedResourceAttributes: a malformed
// OTEL_RESOURCE_ATTRIBUTES stops the start with an error saying so,
// rather than exporting spans under a half-read resource.
func TestSetupRefusesMalformedResourceAttributes(t *testing.T) {
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team")
	_, err := Setup(context.Background(), Options{Endpoint: "http://127.0.0.1:1", Service: "palisade-test", Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "trace resource") {
		t.Fatalf("err = %v, want one about the trace resource", err)
	}
	if otel.GetTracerProvider() != prev {
		t.Error("a provider was installed although the setup failed")
	}
}
