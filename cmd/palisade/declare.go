package main

import (
	"context"
	"io"

	"github.com/palisadehq/palisade/internal/bus"
)

// runDeclare declares the streams, consumers and buckets on an external
// NATS as the admin role, once per deployment and upgrade, for api and
// worker processes that run with --declare=false on their own roles.
func runDeclare(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := newFlags("declare", stderr)
	var (
		tf topologyFlags
		nf natsFlags
	)
	tf.register(fs)
	nf.register(fs, bus.RoleAdmin, false)
	log, err := fs.parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	nopts, err := nf.options()
	if err != nil {
		return err
	}
	top := tf.topology()
	nc, _, err := connect(ctx, nf.url, "palisade-declare", log, &top, nopts...)
	if err != nil {
		return err
	}
	nc.Close()
	log.Info("declared the streams, consumers and buckets")
	return nil
}
