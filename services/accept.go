package services

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rules"
)

// acceptor stores commands and answers with their operations.
//
// Order of writes, and why every crash point is safe:
//  1. look the operation up: a retried request returns what exists;
//  2. publish the command (message id = operation id) and wait for
//     JetStream's ack: from here on the request is accepted;
//  3. create the record: if this never happens, the worker creates it from
//     the command before acting, so no operation is left without a record,
//     and a record never exists without its command.
//
// The caller hears "accepted" only after step 2; if NATS cannot store the
// command the answer is UNAVAILABLE.
type acceptor struct {
	js       jetstream.JetStream
	link     *link // nil: requests are bounded by storeTimeout alone
	store    *operations.Store
	commands jetstream.Stream
	log      *slog.Logger
	now      func() time.Time
}

// storeTimeout bounds the NATS round trips of one accept. JetStream
// stores a command in milliseconds, with an fsync per write in tens.
const storeTimeout = 5 * time.Second

// OperationID derives the id from the caller and request_id, so that the
// same request from the same caller always lands on the same record; with
// no request_id every request gets a fresh id.
func OperationID(caller, requestID string) string {
	if requestID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	sum := sha256.Sum256([]byte(caller + "\x00" + strings.ToLower(requestID)))
	return hex.EncodeToString(sum[:16])
}

// RequestHash fingerprints a request without its idempotency fields; a
// retried request has the same hash, a different one under the same
// request_id does not.
func RequestHash(req proto.Message) ([]byte, error) {
	c := proto.Clone(req)
	m := c.ProtoReflect()
	for _, name := range []string{"request_id", "validate_only"} {
		if fd := m.Descriptor().Fields().ByName(protoreflect.Name(name)); fd != nil {
			m.Clear(fd)
		}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// groupKey is the subject token that orders a command with the others on
// the same group. A create has no group id yet: its key is derived from the
// name, which EC2 makes unique per VPC (case-insensitively).
func groupKey(cmd *palisadev1.Command) string {
	if c := cmd.GetCreateSecurityGroup(); c != nil {
		sum := sha256.Sum256([]byte(c.GetVpcId() + "\x00" + strings.ToLower(strings.TrimRight(c.GetGroupName(), " "))))
		return "new-" + hex.EncodeToString(sum[:8])
	}
	_, _, group := operations.Describe(cmd)
	return group
}

// accept runs the write sequence for one validated request.
func (a *acceptor) accept(ctx context.Context, req proto.Message, requestID string, v rules.Violations, validateOnly bool, wrap func(*palisadev1.Command)) (*longrunningpb.Operation, error) {
	if len(v) > 0 {
		return nil, invalidArgument(v)
	}
	caller := CallerFrom(ctx)
	hash, err := RequestHash(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "fingerprint request: %v", err)
	}
	cmd := &palisadev1.Command{
		Caller:      caller,
		RequestId:   requestID,
		RequestHash: hash,
		AcceptTime:  timestamppb.New(a.now()),
	}
	wrap(cmd)
	if validateOnly {
		return validatedOperation(cmd)
	}
	cmd.OperationId = OperationID(caller, requestID)
	// While the connection is down every request to NATS would wait in the
	// reconnect buffer until its timeout: the lookup below as much as the
	// publish. Say so at once instead.
	if st := a.js.Conn().Status(); st != nats.CONNECTED {
		return nil, unavailable("the command queue is unavailable (NATS "+st.String()+")", nil)
	}
	// Bound the writes by storeTimeout, not by the caller's deadline: a
	// request whose answer was lost (the server went down after receiving
	// it) otherwise waits out the caller's whole deadline, and the caller
	// gets DEADLINE_EXCEEDED instead of an UNAVAILABLE it can retry on.
	// A retry with the same request_id is safe at every step.
	// And end them the moment the connection drops.
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	a.link.bind(ctx, cancel)

	// A fresh id (no request_id) cannot have been used: skip the lookup.
	if requestID != "" {
		if op, err := a.existing(ctx, cmd); op != nil || err != nil {
			return op, err
		}
	}
	body, err := proto.Marshal(cmd)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode command: %v", err)
	}
	// While the connection is down a publish would sit in the reconnect
	// buffer until its timeout; say so at once instead.
	if st := a.js.Conn().Status(); st != nats.CONNECTED {
		return nil, unavailable("the command queue is unavailable (NATS "+st.String()+")", nil)
	}
	_, loc, _ := operations.Describe(cmd)
	ack, err := a.js.Publish(ctx, bus.CommandSubject(loc.GetAccountId(), loc.GetRegion(), groupKey(cmd)), body,
		jetstream.WithMsgID(cmd.GetOperationId()), jetstream.WithExpectStream(bus.CommandStream))
	if err != nil {
		a.log.WarnContext(ctx, "command not stored", "operation_id", cmd.GetOperationId(), "error", err)
		return nil, unavailable("the command queue is unavailable", err)
	}
	if ack.Duplicate {
		// A request with this id was stored before, possibly by a replica
		// that died before writing the record: make sure it is this one.
		if stored, err := a.commands.GetMsg(ctx, ack.Sequence); err == nil {
			prev := &palisadev1.Command{}
			if proto.Unmarshal(stored.Data, prev) == nil && string(prev.GetRequestHash()) != string(hash) {
				return nil, requestIDReused(requestID, operations.Name(cmd.GetOperationId()))
			}
		}
	}
	rec := operations.NewRecord(cmd)
	switch err := a.store.Create(ctx, rec); {
	case errors.Is(err, operations.ErrExists):
		if op, err := a.existing(ctx, cmd); op != nil || err != nil {
			return op, err
		}
		// The store said the record exists and then could not show it
		// (a leader change in between). The command is stored, so the
		// request is safe to repeat: the same request_id lands on it.
		a.log.WarnContext(ctx, "operation record not readable right after it was written", "operation_id", cmd.GetOperationId())
		return nil, unavailable("the operation store did not show the operation just written", nil)
	case errors.Is(err, operations.ErrEventNotPublished):
		a.log.WarnContext(ctx, "accepted, event not published", "operation_id", cmd.GetOperationId(), "error", err)
	case err != nil:
		// The command is stored, so the request is accepted; the worker
		// writes the record when it meets the command.
		a.log.WarnContext(ctx, "accepted, record not written", "operation_id", cmd.GetOperationId(), "error", err)
	}
	return toOperation(rec)
}

// existing returns the operation already recorded under cmd's id: the same
// one for a retried request, an error for a different request.
func (a *acceptor) existing(ctx context.Context, cmd *palisadev1.Command) (*longrunningpb.Operation, error) {
	rec, _, err := a.store.Get(ctx, cmd.GetOperationId())
	switch {
	case errors.Is(err, operations.ErrNotFound):
		return nil, nil
	case err != nil:
		a.log.WarnContext(ctx, "operation lookup failed", "operation_id", cmd.GetOperationId(), "error", err)
		return nil, unavailable("the operation store is unavailable", err)
	case string(rec.GetRequestHash()) != string(cmd.GetRequestHash()):
		return nil, requestIDReused(cmd.GetRequestId(), operations.Name(rec.GetId()))
	}
	return toOperation(rec)
}

func toOperation(rec *palisadev1.OperationRecord) (*longrunningpb.Operation, error) {
	op, err := operations.ToOperation(rec)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "render operation: %v", err)
	}
	return op, nil
}

// validatedOperation answers validate_only: a finished operation with no
// name (nothing was stored) whose metadata says what would have run.
func validatedOperation(cmd *palisadev1.Command) (*longrunningpb.Operation, error) {
	kind, loc, group := operations.Describe(cmd)
	md, err := anypb.New(&palisadev1.OperationMetadata{
		Kind: kind, AccountId: loc.GetAccountId(), Region: loc.GetRegion(), GroupId: group,
		Caller: cmd.GetCaller(), CreateTime: cmd.GetAcceptTime(),
	})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "render validation: %v", err)
	}
	res, err := anypb.New(&palisadev1.OperationResult{GroupId: group})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "render validation: %v", err)
	}
	return &longrunningpb.Operation{Metadata: md, Done: true, Result: &longrunningpb.Operation_Response{Response: res}}, nil
}
