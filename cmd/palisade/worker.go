package main

import (
	"context"
	"io"

	"github.com/palisadehq/palisade/internal/ec2client"
)

// runWorker runs one worker alone against an external NATS.
func runWorker(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := newFlags("worker", stderr)
	var (
		natsURL = fs.String("nats-url", defaultNATSURL, "NATS server URL(s), comma-separated")
		ec2URL  = fs.String("ec2-endpoint", "", "EC2 endpoint (\"\": real AWS through the standard credential chain)")
		wf      workerFlags
		tf      topologyFlags
		rf      roleFlags
	)
	wf.register(fs)
	tf.register(fs)
	rf.register(fs)
	log, err := fs.parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	nc, js, err := connect(ctx, *natsURL, "palisade-worker", log, tf.topology())
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	factory, err := ec2client.New(ctx, rf.options(*ec2URL, 0))
	if err != nil {
		return err
	}
	return runWorkers(ctx, js, factory, wf, log)
}
