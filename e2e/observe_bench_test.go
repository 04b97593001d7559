package e2e

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// discard is an exporter that drops what it is given: the SDK's whole
// recording and batching cost, without a collector's.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkAcceptTraced measures what tracing costs on the accept path:
// the same accept (no fsync per ack, so the cost shows) with no tracer
// provider (the default: metrics only) and with every span recorded and
// batched for export, one client at a time, in one run.
//
//	go test -run '^$' -bench AcceptTraced -benchtime 3s -count 5 ./e2e/
func BenchmarkAcceptTraced(b *testing.B) {
	for _, traced := range []bool{false, true} {
		name := "traces=off"
		if traced {
			name = "traces=on"
		}
		b.Run(name, func(b *testing.B) {
			if traced {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
				otel.SetTracerProvider(tp)
				b.Cleanup(func() {
					otel.SetTracerProvider(noop.NewTracerProvider())
					_ = tp.Shutdown(context.Background())
				})
			}
			e := newEnv(b, envOptions{})
			req := benchRequest()
			measureSerial(b, func() error {
				_, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, req)
				return err
			})
		})
	}
}
