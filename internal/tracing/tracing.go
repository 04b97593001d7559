// Package tracing carries OpenTelemetry traces through Palisade: the W3C
// trace context in NATS message headers from the API's command publish
// to the worker that applies it (and from a rollout to its children),
// the gRPC server's spans, and the export of spans over OTLP when an
// endpoint is configured.
//
// Spans are started from the global tracer provider at each use, so a
// provider installed later (Setup, or a test's in-memory one) takes
// effect everywhere; until one is, spans cost nothing and record nothing.
package tracing

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
)

// ScopeName names Palisade's instrumentation scope.
const ScopeName = "github.com/palisadehq/palisade"

// propagator is W3C trace context and baggage. It is Palisade's own, not
// the global one, so the context crosses NATS and gRPC whether or not
// anything installed a global propagator (the global default drops it).
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Propagator is what Palisade carries trace context with.
func Propagator() propagation.TextMapPropagator { return propagator }

// Tracer is Palisade's tracer from the current global provider.
func Tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(ScopeName) }

// Start starts a span of Palisade's tracer.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return Tracer().Start(ctx, name, opts...)
}

// headerCarrier adapts nats.Header. nats.Header's keys are case-sensitive
// and kept as given, so traceparent stays lower-case on the wire, as W3C
// asks (http.Header would canonicalise it to Traceparent).
type headerCarrier nats.Header

func (c headerCarrier) Get(k string) string { return nats.Header(c).Get(k) }
func (c headerCarrier) Set(k, v string)     { nats.Header(c).Set(k, v) }
func (c headerCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Inject writes ctx's trace context into h (traceparent, and tracestate
// and baggage when there are any). h must not be nil.
func Inject(ctx context.Context, h nats.Header) {
	propagator.Inject(ctx, headerCarrier(h))
}

// Header returns a new message header carrying ctx's trace context, or
// nil when ctx carries none, so an untraced publish sends no header.
func Header(ctx context.Context) nats.Header {
	h := nats.Header{}
	Inject(ctx, h)
	if len(h) == 0 {
		return nil
	}
	return h
}

// Extract returns ctx with the trace context h carries as its remote
// parent; ctx unchanged when h carries none.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return propagator.Extract(ctx, headerCarrier(h))
}

// Consume starts the consumer span of a message delivered from subject,
// child of the trace context its header carries.
func Consume(ctx context.Context, h nats.Header, name, subject string) (context.Context, trace.Span) {
	return Start(Extract(ctx, h), name,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", subject),
		))
}

// Fail marks span as failed with err; a nil err leaves it as it is.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// ServerOption traces every gRPC call the API serves, health checks
// aside (a probe every few seconds would drown the rest), continuing the
// caller's trace when its metadata carries one.
func ServerOption() grpc.ServerOption {
	return grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithPropagators(propagator),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	))
}

// DialOption traces a client's calls and sends their trace context.
func DialOption() grpc.DialOption {
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithPropagators(propagator)))
}

// Publish starts the producer span of a message to subject, stored on
// stream, and returns the header that carries it to the consumer (nil
// when nothing is traced) and the function that ends the span with the
// publish's error. The span is named after the stream: subjects name
// groups, too many names to group spans by.
func Publish(ctx context.Context, stream, subject string) (nats.Header, func(error)) {
	ctx, span := Start(ctx, "publish "+stream,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", subject),
		))
	return Header(ctx), func(err error) {
		Fail(span, err)
		span.End()
	}
}
