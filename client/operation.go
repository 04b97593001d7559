package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// Operation is a google.longrunning.Operation with its metadata and
// result decoded.
type Operation struct {
	// Proto is the operation as the server sent it.
	Proto *longrunningpb.Operation
	// Metadata is the operation's state, kind, attempts and timestamps.
	Metadata *palisadev1.OperationMetadata
	// Result is set once the operation SUCCEEDED: the group's id and the
	// rules as EC2 holds them, with their sgr- ids. A rollout's operation
	// has its Rollout in Proto.Response instead.
	Result *palisadev1.OperationResult
}

// Name is "operations/<id>".
func (o *Operation) Name() string { return o.Proto.GetName() }

// Done reports whether the operation has ended.
func (o *Operation) Done() bool { return o.Proto.GetDone() }

// State is the operation's state.
func (o *Operation) State() palisadev1.OperationState { return o.Metadata.GetState() }

// GroupID is the security group the operation created or changed.
func (o *Operation) GroupID() string {
	if id := o.Result.GetGroupId(); id != "" {
		return id
	}
	return o.Metadata.GetGroupId()
}

// Err is how the operation failed (an *Error carrying EC2's code), or
// nil while it runs or once it SUCCEEDED.
func (o *Operation) Err() error {
	if o.Proto.GetError() == nil {
		return nil
	}
	return operationError(o.Name(), o.State(), o.Proto.GetError())
}

func decode(op *longrunningpb.Operation) (*Operation, error) {
	o := &Operation{Proto: op, Metadata: &palisadev1.OperationMetadata{}}
	// A rollout's operation carries a Rollout instead: it stays in Proto.
	if op.GetMetadata().MessageIs(o.Metadata) {
		if err := op.GetMetadata().UnmarshalTo(o.Metadata); err != nil {
			return nil, fmt.Errorf("operation %s: read metadata: %w", op.GetName(), err)
		}
	}
	if res := (&palisadev1.OperationResult{}); op.GetResponse().MessageIs(res) {
		o.Result = res
		if err := op.GetResponse().UnmarshalTo(o.Result); err != nil {
			return nil, fmt.Errorf("operation %s: read result: %w", op.GetName(), err)
		}
	}
	return o, nil
}

// OperationName accepts an operation's name or its bare id.
func OperationName(s string) string {
	if strings.HasPrefix(s, "operations/") {
		return s
	}
	return "operations/" + s
}

// Terminal reports whether an operation in state s has ended.
func Terminal(s palisadev1.OperationState) bool {
	switch s {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
		palisadev1.OperationState_OPERATION_STATE_FAILED,
		palisadev1.OperationState_OPERATION_STATE_CANCELLED:
		return true
	}
	return false
}

// MaxResumes bounds how often in a row a broken event stream is reopened
// without any progress before Watch gives up.
const MaxResumes = 3

// Watch passes an operation's events to each, oldest first and each
// once, until the last, which it returns. The server replays the history
// on every watch, so a stream that breaks is reopened and the events
// already seen, known by their sequence, are skipped. An error from each
// stops the watch and is returned.
func (c *Client) Watch(ctx context.Context, name string, each func(*palisadev1.OperationEvent) error) (*palisadev1.OperationEvent, error) {
	name = OperationName(name)
	var seen int32
	for fails := 0; ; {
		progressed := false
		stream, err := c.events.WatchOperation(ctx, &palisadev1.WatchOperationRequest{Name: name})
		for err == nil {
			var resp *palisadev1.WatchOperationResponse
			if resp, err = stream.Recv(); err != nil {
				break
			}
			ev := resp.GetEvent()
			if ev.GetSequence() > 0 && ev.GetSequence() <= seen {
				continue
			}
			seen, progressed = ev.GetSequence(), true
			if each != nil {
				if err := each(ev); err != nil {
					return nil, err
				}
			}
			if Terminal(ev.GetState()) {
				return ev, nil
			}
		}
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, "the event stream ended before the operation did")
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return nil, wrap(err)
		}
		if progressed {
			fails = 0
		}
		if fails++; fails > MaxResumes {
			return nil, wrap(err)
		}
		t := time.NewTimer(c.retry.wait(fails))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// Wait follows an operation to its end, passing each event to onEvent
// (nil: none), and returns it with its result. An operation that ended
// FAILED or CANCELLED is returned too, with an *Error carrying EC2's
// code (Error.EC2Code) or Palisade's reason.
func (c *Client) Wait(ctx context.Context, name string, onEvent func(*palisadev1.OperationEvent)) (*Operation, error) {
	name = OperationName(name)
	if _, err := c.Watch(ctx, name, func(ev *palisadev1.OperationEvent) error {
		if onEvent != nil {
			onEvent(ev)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	op, err := c.GetOperation(ctx, name)
	if err != nil {
		return nil, err
	}
	return op, op.Err()
}
