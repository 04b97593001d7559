package tracing

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Options say where spans go.
type Options struct {
	// Endpoint is the OTLP/gRPC collector, host:port or a URL
	// (http://host:4317 is plaintext); "": the OTEL_EXPORTER_OTLP_*
	// variables decide, and with none of them set nothing is exported.
	Endpoint string
	// Service is the default service.name (OTEL_SERVICE_NAME overrides it).
	Service string
	// Getenv reads the environment; nil: os.Getenv.
	Getenv func(string) string
}

// exportConfigured reports whether o or the standard variables name an
// OTLP endpoint.
func (o Options) exportConfigured() bool {
	if o.Endpoint != "" {
		return true
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs a tracer provider exporting over OTLP/gRPC when an
// endpoint is configured, and returns the function that flushes and stops
// it. Without one it installs nothing: spans stay non-recording, while the
// trace context callers send still crosses NATS to the workers.
// OTEL_TRACES_SAMPLER and OTEL_RESOURCE_ATTRIBUTES apply as the SDK reads
// them.
func Setup(ctx context.Context, o Options) (shutdown func(context.Context) error, err error) {
	if !o.exportConfigured() {
		return func(context.Context) error { return nil }, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(o.Service)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	var opts []otlptracegrpc.Option
	if o.Endpoint != "" {
		opts = append(opts, otlptracegrpc.WithEndpointURL(endpointURL(o.Endpoint)))
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// endpointURL makes host:port a URL reached over TLS: plaintext only when
// asked for by name (http://), as spans name the operations and callers.
func endpointURL(endpoint string) string {
	if strings.HasPrefix(endpoint, "http://") || strings.HasPrefix(endpoint, "https://") {
		return endpoint
	}
	return "https://" + endpoint
}
