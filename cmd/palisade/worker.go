package main

import (
	"context"
	"io"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
)

// runWorker runs one worker alone against an external NATS.
func runWorker(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := newFlags("worker", stderr)
	var (
		ec2URL = fs.String("ec2-endpoint", "", "EC2 endpoint (\"\": real AWS through the standard credential chain)")
		wf     workerFlags
		tf     topologyFlags
		nf     natsFlags
		rf     roleFlags
		of     observeFlags
	)
	wf.register(fs)
	tf.register(fs)
	nf.register(fs, bus.RoleWorker, true)
	rf.register(fs)
	of.register(fs)
	log, err := fs.parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	nopts, err := nf.options()
	if err != nil {
		return err
	}
	nc, js, err := connect(ctx, nf.url, "palisade-worker", log, nf.topology(tf.topology()), nopts...)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	watchWorkerBus("palisade-worker", nc, js)
	factory, err := ec2client.New(ctx, rf.options(*ec2URL, 0))
	if err != nil {
		return err
	}
	observe, err := of.start(ctx, "palisade-worker", log)
	if err != nil {
		return err
	}
	return firstErr(ctx, observe, func(ctx context.Context) error { return runWorkers(ctx, js, factory, wf, log) })
}
