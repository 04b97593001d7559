package main

import (
	"context"
	"io"

	"github.com/palisadehq/palisade/ec2sim"
)

// runEC2Sim runs the local EC2-compatible endpoint alone.
func runEC2Sim(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	fs := newFlags("ec2sim", stderr)
	var (
		listen    = fs.String("ec2-listen", defaultEC2Listen, "address to serve EC2's Query API on")
		stateFile = fs.String("ec2-state-file", "", "keep state in this file across restarts (\"\": memory only)")
		syncState = fs.Bool("ec2-sync-state", false, "fsync the state file's journal after every change (survives an OS crash, not only a process crash)")
		sf        simFlags
	)
	sf.register(fs)
	log, err := fs.parse(args, lookup, stderr)
	if err != nil {
		return err
	}
	opts := sf.options(*stateFile)
	opts.SyncJournal = *syncState
	sim, err := ec2sim.New(opts)
	if err != nil {
		return err
	}
	log.Info("local EC2 endpoint listening", "addr", *listen)
	return sim.ListenAndServe(ctx, *listen)
}
