package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/workers"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func tcp(from, to int32, cidrs ...string) *palisadev1.IpPermission {
	p := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &from, ToPort: &to}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, &palisadev1.IpRange{CidrIp: c})
	}
	return p
}

// wait waits for an operation to end and returns it.
func (e *env) wait(op *longrunningpb.Operation) *longrunningpb.Operation {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	defer cancel()
	for {
		got, err := e.ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
		if err != nil {
			e.t.Fatalf("wait %s: %v", op.GetName(), err)
		}
		if got.GetDone() {
			return got
		}
		if ctx.Err() != nil {
			e.t.Fatalf("operation %s did not end", op.GetName())
		}
	}
}

// succeeded waits for op and returns its result, failing the test unless it
// succeeded.
func (e *env) succeeded(op *longrunningpb.Operation) *palisadev1.OperationResult {
	e.t.Helper()
	done := e.wait(op)
	if done.GetError() != nil {
		e.t.Fatalf("operation %s failed: %v", op.GetName(), done.GetError())
	}
	res := &palisadev1.OperationResult{}
	if err := done.GetResponse().UnmarshalTo(res); err != nil {
		e.t.Fatal(err)
	}
	return res
}

func metadata(t testing.TB, op *longrunningpb.Operation) *palisadev1.OperationMetadata {
	t.Helper()
	md := &palisadev1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatal(err)
	}
	return md
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustKV(t *testing.T, e *env) jetstream.KeyValue {
	t.Helper()
	kv, err := e.js.KeyValue(e.ctx, bus.OperationsBucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// sleep pauses for ms milliseconds or until ctx ends.
func sleep(ctx context.Context, ms int) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(ms) * time.Millisecond):
	}
}

// envWorker is a worker with the harness's defaults.
func envWorker() workers.Options { return workers.Options{} }
