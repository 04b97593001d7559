package main

import (
	"context"
	"io"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/metrics"
)

// runAPI runs the gRPC front end alone against an external NATS.
func runAPI(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := newFlags("api", stderr)
	var (
		ec2URL     = fs.String("ec2-endpoint", "", "EC2 endpoint for reads (\"\": real AWS through the standard credential chain)")
		rateFactor = fs.Float64("ec2-rate-factor", 1, rateFactorUsage)
		af         apiFlags
		tf         topologyFlags
		nf         natsFlags
		rf         roleFlags
		of         observeFlags
	)
	af.register(fs)
	tf.register(fs)
	nf.register(fs, bus.RoleAPI, true)
	rf.register(fs)
	of.register(fs)
	log, err := fs.parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	if err := af.loadTLS(ctx, log); err != nil {
		return err
	}
	defer af.closeTLS()
	nopts, err := nf.options()
	if err != nil {
		return err
	}
	nc, js, err := connect(ctx, nf.url, "palisade-api", log, nf.topology(tf.topology()), nopts...)
	if err != nil {
		return err
	}
	defer func() { _ = nc.Drain() }()
	metrics.WatchConnection("palisade-api", nc)
	factory, err := ec2client.New(ctx, rf.options(*ec2URL, 3))
	if err != nil {
		return err
	}
	observe, err := of.start(ctx, "palisade-api", log)
	if err != nil {
		return err
	}
	return firstErr(ctx, observe, func(ctx context.Context) error { return serveAPI(ctx, af, js, factory, *rateFactor, log) })
}
