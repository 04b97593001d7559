package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// maxResumes bounds how often in a row a broken event stream is reopened
// without any progress before follow gives up.
const maxResumes = 3

// operationName accepts an operation's name or its bare id.
func operationName(s string) string {
	if strings.HasPrefix(s, "operations/") {
		return s
	}
	return "operations/" + s
}

func terminal(s palisadev1.OperationState) bool {
	switch s {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
		palisadev1.OperationState_OPERATION_STATE_FAILED,
		palisadev1.OperationState_OPERATION_STATE_CANCELLED:
		return true
	}
	return false
}

// follow streams an operation's events to each, oldest first and each
// once, until the last. The server replays the history on every watch, so
// a stream that breaks (the server asks to "watch again to resume") is
// reopened and the events already seen, known by their sequence, are
// skipped.
func (e *env) follow(ctx context.Context, name string, each func(*palisadev1.OperationEvent) error) (*palisadev1.OperationEvent, error) {
	var seen int32
	for fails := 0; ; {
		progressed := false
		stream, err := e.api.events.WatchOperation(ctx, &palisadev1.WatchOperationRequest{Name: name})
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
			if err := each(ev); err != nil {
				return nil, err
			}
			if terminal(ev.GetState()) {
				return ev, nil
			}
		}
		if errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, "the event stream ended before the operation did")
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return nil, err
		}
		if progressed {
			fails = 0
		}
		if fails++; fails > maxResumes {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(fails) * 200 * time.Millisecond):
		}
	}
}
