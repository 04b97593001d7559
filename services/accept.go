package services

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rules"
)

// acceptor turns validated requests into stored commands (command.Submit
// owns the write sequence and why every crash point is safe) and answers
// with their operations. The caller hears "accepted" only once JetStream
// has stored the command; if NATS cannot store it the answer is
// UNAVAILABLE, safe to repeat with the same request_id.
type acceptor struct {
	guard     *guard
	submitter *command.Submitter
	log       *slog.Logger
	now       func() time.Time
}

// accept validates, builds and stores the command of one request.
func (a *acceptor) accept(ctx context.Context, req proto.Message, requestID string, v rules.Violations, validateOnly bool, wrap func(*palisadev1.Command)) (*longrunningpb.Operation, error) {
	if len(v) > 0 {
		return nil, invalidArgument(v)
	}
	cmd, err := a.command(ctx, req, requestID, wrap)
	if err != nil {
		return nil, err
	}
	// validate_only answers the same decision, so a pipeline can check a
	// change before making it.
	cmd.OperationId = command.OperationID(cmd.GetCaller(), requestID)
	if err := a.guard.allow(ctx, req, about{operation: cmd.GetOperationId(), requestID: requestID, hash: cmd.GetRequestHash(), validateOnly: validateOnly}); err != nil {
		return nil, err
	}
	if validateOnly {
		return validatedOperation(cmd)
	}
	_, loc, group := command.Describe(cmd)
	ctx = logging.With(ctx, logging.RequestID, requestID,
		logging.AccountID, loc.GetAccountId(), logging.Region, loc.GetRegion(), logging.GroupID, group)
	return a.submit(ctx, cmd, nil)
}

// command builds the command of a request from the calling identity.
func (a *acceptor) command(ctx context.Context, req proto.Message, requestID string, wrap func(*palisadev1.Command)) (*palisadev1.Command, error) {
	hash, err := command.RequestHash(req)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "fingerprint request: %v", err)
	}
	cmd := &palisadev1.Command{
		Caller:      CallerFrom(ctx),
		RequestId:   requestID,
		RequestHash: hash,
		AcceptTime:  timestamppb.New(a.now()),
	}
	wrap(cmd)
	return cmd, nil
}

// submit stores cmd, whose operation id is set, and answers with its
// operation.
func (a *acceptor) submit(ctx context.Context, cmd *palisadev1.Command, afterStore func(context.Context)) (*longrunningpb.Operation, error) {
	rec, err := a.submitter.Submit(ctx, cmd, afterStore)
	var unavailableErr *command.UnavailableError
	var reused *command.ReusedError
	var full *command.FullError
	switch gone := callerGone(ctx); {
	case err != nil && gone != nil:
		return nil, gone
	case errors.As(err, &full):
		a.log.WarnContext(ctx, "command queue full; request refused", "error", err)
		return nil, exhausted("the command queue is full: the request was not accepted; retry later with the same request_id", "QUEUE_FULL", queueFullRetry)
	case errors.As(err, &reused):
		return nil, requestIDReused(reused.RequestID, reused.Operation)
	case errors.As(err, &unavailableErr):
		return nil, unavailable(unavailableErr.What, unavailableErr.Err)
	case err != nil:
		return nil, status.Errorf(codes.Internal, "store command: %v", err)
	}
	return toOperation(rec)
}

// callerGone is CANCELLED (or DEADLINE_EXCEEDED) when the caller's own
// context has ended, and nil otherwise. A call that failed after its
// caller left failed because the caller left: answering UNAVAILABLE,
// "retry", would blame the service and send the caller's retry logic
// after something that was never wrong.
func callerGone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
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
	kind, loc, group := command.Describe(cmd)
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
