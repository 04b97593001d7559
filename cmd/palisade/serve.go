package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/natsembed"
)

// runServe runs everything in one process: the local EC2 endpoint, an
// embedded NATS server with JetStream on --data-dir, the API and a worker.
func runServe(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var (
		dataDir    = fs.String("data-dir", defaultDataDir, "where JetStream and the local EC2 endpoint keep their state")
		natsListen = fs.String("nats-listen", defaultNATSListen, "embedded NATS client address, for `nats` tools and subscribers (\"\": in-process only)")
		ec2Listen  = fs.String("ec2-listen", defaultEC2Listen, "local EC2 endpoint address")
		ec2URL     = fs.String("ec2-endpoint", "", "EC2 endpoint for the workers (default: the local one on --ec2-listen)")
		syncAlways = fs.Bool("nats-sync-always", true, "fsync every JetStream write before acknowledging it, so an accepted request survives a machine crash")
		af         apiFlags
		sf         simFlags
		wf         workerFlags
		rf         roleFlags
	)
	af.register(fs)
	sf.register(fs)
	wf.register(fs)
	rf.register(fs)
	log, err := fs.parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	if err := af.loadTLS(ctx, log); err != nil {
		return err
	}
	defer af.closeTLS()
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}

	sim, err := ec2sim.New(sf.options(filepath.Join(*dataDir, "ec2sim.json")))
	if err != nil {
		return fmt.Errorf("local EC2 endpoint: %w", err)
	}
	endpoint := *ec2URL
	if endpoint == "" {
		endpoint = "http://" + *ec2Listen
	}
	ns, err := natsembed.Start(natsembed.Options{
		StoreDir: filepath.Join(*dataDir, "jetstream"), Listen: *natsListen, SyncAlways: *syncAlways,
	})
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if *natsListen != "" {
		log.Info("embedded NATS listening", "addr", *natsListen, "store", filepath.Join(*dataDir, "jetstream"), "sync_always", *syncAlways)
	}
	nc, js, err := connect(ctx, "", "palisade-serve", log, bus.DefaultTopology(1), nats.InProcessServer(ns))
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	factory, err := ec2client.New(ctx, rf.options(endpoint, 0))
	if err != nil {
		return err
	}
	readFactory, err := ec2client.New(ctx, rf.options(endpoint, 3))
	if err != nil {
		return err
	}
	log.Info("local EC2 endpoint listening", "addr", *ec2Listen, "state", filepath.Join(*dataDir, "ec2sim.json"))
	err = firstErr(ctx,
		func(ctx context.Context) error { return sim.ListenAndServe(ctx, *ec2Listen) },
		func(ctx context.Context) error {
			return serveAPI(ctx, af, js, readFactory, wf.rateFactor, log)
		},
		func(ctx context.Context) error { return runWorkers(ctx, js, factory, wf, log) },
	)
	log.Info("stopping", "error", err)
	return err
}
