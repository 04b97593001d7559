package main

import (
	"context"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// maxResumes is how often in a row follow reopens a broken event stream
// that made no progress.
const maxResumes = client.MaxResumes

// operationName accepts an operation's name or its bare id.
func operationName(s string) string { return client.OperationName(s) }

// follow streams an operation's events to each, oldest first and each
// once, until the last (client.Watch, which resumes a broken stream).
func (e *env) follow(ctx context.Context, name string, each func(*palisadev1.OperationEvent) error) (*palisadev1.OperationEvent, error) {
	return e.api.Watch(ctx, name, each)
}
