package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/tracing"
)

// observeFlags say where a part's metrics and traces go: both off unless
// asked for.
type observeFlags struct {
	metricsListen string
	otlpEndpoint  string
}

func (o *observeFlags) register(fs *commandFlags) {
	fs.StringVar(&o.metricsListen, "metrics-listen", "",
		"serve Prometheus metrics on http://ADDR/metrics, e.g. :9090 (\"\": no metrics endpoint)")
	fs.StringVar(&o.otlpEndpoint, "otlp-endpoint", "",
		"export traces over OTLP/gRPC to this collector, host:port (TLS) or http://host:port (plaintext) "+
			"(\"\": the OTEL_EXPORTER_OTLP_* variables decide; with none set, no export)")
	fs.checks = append(fs.checks, o.check)
}

func (o *observeFlags) check() error {
	if o.metricsListen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(o.metricsListen); err != nil {
		return fmt.Errorf("--metrics-listen %q: %w", o.metricsListen, err)
	}
	return nil
}

// start binds the metrics address and installs the trace exporter; the
// function it returns serves the metrics until ctx ends and then flushes
// the spans still buffered. A bad address fails here, before the part
// starts.
func (o *observeFlags) start(ctx context.Context, service string, log *slog.Logger) (run func(context.Context) error, err error) {
	var ln net.Listener
	if o.metricsListen != "" {
		if ln, err = metrics.Listen(o.metricsListen); err != nil {
			return nil, err
		}
		log.Info("metrics listening", "addr", "http://"+ln.Addr().String()+"/metrics")
	}
	shutdown, err := tracing.Setup(ctx, tracing.Options{Endpoint: o.otlpEndpoint, Service: service})
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return nil, err
	}
	return func(ctx context.Context) error {
		var serveErr error
		if ln != nil {
			serveErr = metrics.Serve(ctx, ln)
		} else {
			<-ctx.Done()
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("spans not flushed", "error", err)
		}
		return serveErr
	}, nil
}

// watchWorkerBus reports the worker's NATS connection and the commands
// waiting on each partition.
func watchWorkerBus(name string, nc *nats.Conn, js jetstream.JetStream) {
	metrics.WatchConnection(name, nc)
	names := make([]string, bus.Partitions)
	for p := range names {
		names[p] = bus.ConsumerName(p)
	}
	metrics.WatchConsumers(js, bus.CommandStream, names)
}
