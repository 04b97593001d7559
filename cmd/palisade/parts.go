package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/services"
	"github.com/palisadehq/palisade/workers"
)

// connect opens a NATS connection that reconnects for ever and, unless top
// is nil, declares the streams, consumers and buckets (idempotent; every
// part declares the same definitions, which takes the NATS role admin).
// url is ignored when an in-process server is given in extra. Errors the
// server reports on the connection, permission violations among them, are
// logged.
func connect(ctx context.Context, url, name string, log *slog.Logger, top *bus.Topology, extra ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	opts := append([]nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("NATS reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Error("NATS error", "connection", name, "error", err)
		}),
	}, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("JetStream: %w", err)
	}
	if top == nil {
		return nc, js, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bus.Declare(dctx, js, *top); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// serveAPI serves the gRPC front end on addr until ctx ends, then stops
// accepting and drains in-flight calls for up to ten seconds. With TLS
// (af.loadTLS) every caller is named by its client certificate; without,
// every caller is "local".
func serveAPI(ctx context.Context, af apiFlags, js jetstream.JetStream, ec2 *ec2client.Factory, rateFactor float64, log *slog.Logger) error {
	budget, err := ratebudget.NewShared(ctx, js, rateFactor)
	if err != nil {
		return err
	}
	engine, err := af.engine(af.reachable())
	if err != nil {
		return err
	}
	log.Info("policy in force", "source", engine.Current().Source(), "version", engine.Current().Version())
	go engine.Watch(ctx, 2*time.Second, log)
	srv, err := services.New(ctx, services.Deps{
		JetStream: js, EC2: ec2, Budget: budget, Policy: engine, Log: log,
		TLS: af.serverTLS, ServerOptions: services.Hardening(),
		CallerRate: services.CallerRate{PerSecond: af.callerRate, Burst: af.callerBurst},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", af.listen)
	if err != nil {
		return fmt.Errorf("gRPC listen: %w", err)
	}
	// The flags were checked by name; this is the address bound.
	if tcp, ok := ln.Addr().(*net.TCPAddr); af.serverTLS == nil && !af.insecure && (!ok || !tcp.IP.IsLoopback()) {
		_ = ln.Close()
		return fmt.Errorf("--grpc-listen %s bound %s, not a loopback address, and the API has no TLS: give --tls-cert, --tls-key and --tls-client-ca, or --insecure",
			af.listen, ln.Addr())
	}
	switch {
	case af.spiffeSocket != "":
		log.Info("gRPC API listening with mutual TLS", "addr", ln.Addr().String(), "spiffe_endpoint_socket", af.spiffeSocket)
	case af.serverTLS != nil:
		log.Info("gRPC API listening with mutual TLS", "addr", ln.Addr().String(), "cert", af.tlsCert, "client_ca", af.tlsClientCA)
	case af.reachable():
		log.Warn("gRPC API listening WITHOUT TLS on a non-loopback address (--insecure): anyone who reaches it calls as \"local\", unauthenticated",
			"addr", ln.Addr().String())
	default:
		log.Info("gRPC API listening", "addr", ln.Addr().String())
	}
	stopHealth, err := serveHealth(af.healthListen, srv.Health, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopHealth()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	srv.Health.Shutdown()
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		srv.Stop()
	}
	return nil
}

// runWorkers runs a worker (commands and rollouts) until ctx ends. Its
// EC2 rate budget lives in JetStream, shared with every other worker and
// API process.
func runWorkers(ctx context.Context, js jetstream.JetStream, ec2 *ec2client.Factory, wf workerFlags, log *slog.Logger) error {
	o := wf.options()
	o.JetStream, o.EC2, o.Log = js, ec2, log
	budget, err := ratebudget.NewShared(ctx, js, wf.rateFactor)
	if err != nil {
		return err
	}
	o.Budget = budget
	w, err := workers.New(ctx, o)
	if err != nil {
		return err
	}
	r, err := workers.NewRollouts(ctx, o)
	if err != nil {
		return err
	}
	log.Info("worker started")
	return firstErr(ctx, w.Run, r.Run)
}

// firstErr runs parts until ctx ends or one fails; a failure stops the rest.
func firstErr(ctx context.Context, parts ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(parts))
	for _, p := range parts {
		go func() { errc <- p(ctx) }()
	}
	var errs []error
	for range parts {
		if err := <-errc; err != nil {
			errs = append(errs, err)
			cancel()
		}
	}
	return errors.Join(errs...)
}
