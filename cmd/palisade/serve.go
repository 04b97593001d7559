package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"

	"github.com/palisadehq/palisade/ec2sim"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/natsauth"
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
		natsTLS    natsServeFlags
		af         apiFlags
		sf         simFlags
		wf         workerFlags
		rf         roleFlags
		of         observeFlags
	)
	af.register(fs)
	sf.register(fs)
	wf.register(fs)
	rf.register(fs)
	of.register(fs)
	natsTLS.register(fs, natsListen)
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
	// Every part connects as its NATS role, with keys made on first start.
	creds, err := natsauth.EnsureCredentials(filepath.Join(*dataDir, "nats"), bus.Roles()...)
	if err != nil {
		return err
	}
	users, err := creds.Users(bus.Roles()...)
	if err != nil {
		return err
	}
	ns, err := natsembed.Start(natsembed.Options{
		StoreDir: filepath.Join(*dataDir, "jetstream"), Listen: *natsListen, SyncAlways: *syncAlways,
		Users: users, TLS: natsTLS.files(),
	})
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if *natsListen != "" {
		log.Info("embedded NATS listening", "addr", *natsListen, "store", filepath.Join(*dataDir, "jetstream"), "sync_always", *syncAlways,
			"tls", natsTLS.cert != "", "credentials", creds.Dir)
		log.Info("to follow operation events: nats --server "+ns.ClientURL()+" --nkey "+creds.SeedFile(bus.RoleSubscriber)+" sub 'palisade.events.>'",
			"subscriber_nkey", creds.SeedFile(bus.RoleSubscriber))
	}
	admin, err := creds.ClientOptions(bus.RoleAdmin)
	if err != nil {
		return err
	}
	top := bus.DefaultTopology(1)
	anc, _, err := connect(ctx, "", "palisade-serve-admin", log, &top, append(admin, nats.InProcessServer(ns))...)
	if err != nil {
		return err
	}
	anc.Close()
	apiConn, err := creds.ClientOptions(bus.RoleAPI)
	if err != nil {
		return err
	}
	nc, js, err := connect(ctx, "", "palisade-serve-api", log, nil, append(apiConn, nats.InProcessServer(ns))...)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	metrics.WatchConnection("palisade-serve-api", nc)
	workerConn, err := creds.ClientOptions(bus.RoleWorker)
	if err != nil {
		return err
	}
	wnc, wjs, err := connect(ctx, "", "palisade-serve-worker", log, nil, append(workerConn, nats.InProcessServer(ns))...)
	if err != nil {
		return err
	}
	defer func() { _ = wnc.Drain() }()
	watchWorkerBus("palisade-serve-worker", wnc, wjs)
	factory, err := ec2client.New(ctx, rf.options(endpoint, 0))
	if err != nil {
		return err
	}
	readFactory, err := ec2client.New(ctx, rf.options(endpoint, 3))
	if err != nil {
		return err
	}
	observe, err := of.start(ctx, "palisade", log)
	if err != nil {
		return err
	}
	log.Info("local EC2 endpoint listening", "addr", *ec2Listen, "state", filepath.Join(*dataDir, "ec2sim.json"))
	err = firstErr(ctx, observe,
		func(ctx context.Context) error { return sim.ListenAndServe(ctx, *ec2Listen) },
		func(ctx context.Context) error {
			return serveAPI(ctx, af, js, readFactory, wf.rateFactor, log)
		},
		func(ctx context.Context) error { return runWorkers(ctx, wjs, factory, wf, log) },
	)
	log.Info("stopping", "error", err)
	return err
}

// natsServeFlags secure the embedded NATS server's client port: TLS, and
// whether it may listen beyond loopback without it.
type natsServeFlags struct {
	cert, key, clientCA string
	insecure            bool
	listen              *string
}

func (n *natsServeFlags) register(fs *commandFlags, listen *string) {
	n.listen = listen
	fs.StringVar(&n.cert, "nats-tls-cert", "", "serve the embedded NATS client port over TLS with this PEM certificate chain (with --nats-tls-key)")
	fs.StringVar(&n.key, "nats-tls-key", "", "the PEM private key of --nats-tls-cert")
	fs.StringVar(&n.clientCA, "nats-tls-client-ca", "", "PEM CA certificates that verify NATS clients' certificates, which every client must then present")
	fs.BoolVar(&n.insecure, "nats-insecure", false, "let the embedded NATS listen on a non-loopback --nats-listen without TLS (clients still need their nkeys)")
	fs.checks = append(fs.checks, n.check)
}

func (n *natsServeFlags) check() error {
	if (n.cert == "") != (n.key == "") {
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	if n.clientCA != "" && n.cert == "" {
		return errors.New("--nats-tls-client-ca needs --nats-tls-cert and --nats-tls-key")
	}
	if *n.listen == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(*n.listen)
	if err != nil {
		return fmt.Errorf("--nats-listen %q: %w", *n.listen, err)
	}
	if n.cert == "" && !n.insecure && !loopback(host) {
		return fmt.Errorf("--nats-listen %s is not a loopback address, and NATS has no TLS: give --nats-tls-cert and --nats-tls-key, "+
			"or --nats-insecure to send its credentials and commands in the clear", *n.listen)
	}
	return nil
}

func (n *natsServeFlags) files() *natsembed.TLSFiles {
	if n.cert == "" {
		return nil
	}
	return &natsembed.TLSFiles{Cert: n.cert, Key: n.key, CA: n.clientCA}
}
