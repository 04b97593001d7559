package main

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// call is one mutating RPC, with the request already built.
type call func(ctx context.Context, api *client.Client) (*client.Operation, error)

// submit sends a mutating request and deals with the answer: the
// validation verdict, the accepted operation's name, or, with --wait, the
// operation's events and then its result.
func (e *env) submit(ctx context.Context, send call) error {
	if err := e.connect(); err != nil {
		return err
	}
	e.verbosef("request id: %s", e.m.requestID)
	op, err := send(ctx, e.api)
	if err != nil {
		return err
	}
	switch {
	case e.m.validateOnly:
		return e.printOperation(op.Proto)
	case !e.m.wait:
		if e.g.json() {
			return writeJSON(e.stdout, op.Proto)
		}
		_, err := fmt.Fprintln(e.stdout, op.Name())
		return err
	}
	return e.await(ctx, op.Name())
}

// await follows an operation to its end with its events on standard
// error, then prints it and returns how it ended.
func (e *env) await(ctx context.Context, name string) error {
	op, err := e.api.Wait(ctx, name, func(ev *palisadev1.OperationEvent) { writeEvent(e.stderr, ev) })
	if op == nil {
		return e.stoppedWaiting(ctx, name, err)
	}
	if err := e.printOperation(op.Proto); err != nil {
		return err
	}
	if op.Proto.GetError() == nil {
		return nil
	}
	return e.failed(name, op.State(), op.Proto.GetError())
}

// stoppedWaiting explains that the operation goes on without us: it was
// accepted, so it will run whether or not anyone waits.
func (e *env) stoppedWaiting(ctx context.Context, name string, err error) error {
	// The server may end the stream on our deadline a moment before our
	// own timer fires, so its DEADLINE_EXCEEDED counts as ours.
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
	if ctx.Err() == nil && !timedOut {
		return err
	}
	why := "interrupted"
	if timedOut {
		why = fmt.Sprintf("--timeout %s passed", e.g.timeout)
	}
	return &exitErr{code: exitError, err: fmt.Errorf("%s: stopped waiting; operation %s goes on (follow it with: palisadectl watch %s)", why, name, name)}
}

func (e *env) printOperation(op *longrunningpb.Operation) error {
	if e.g.json() {
		return writeJSON(e.stdout, op)
	}
	return writeOperation(e.stdout, op)
}

// failed prints how an operation failed, EC2's error code first, on
// standard error, and ends the program with exit code 3.
func (e *env) failed(name string, state palisadev1.OperationState, st *spb.Status) error {
	fmt.Fprintf(e.stderr, "palisadectl: operation %s %s: %s\n", name, stateName(state), failureText(st))
	return errReported{code: exitOpFailed}
}
