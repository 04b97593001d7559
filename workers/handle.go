package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/operations"
)

var errEnded = errors.New("operation already ended")

// handle runs one delivery of a command to its end, or hands it back.
//
// The record is updated before the ack, so a crash anywhere leaves either
// an unacknowledged command (redelivered; the executors converge and the
// attempt count carries on) or a terminal record (the redelivery only
// re-announces the end and acks).
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	cmd := &palisadev1.Command{}
	if err := proto.Unmarshal(msg.Data(), cmd); err != nil || cmd.GetOperationId() == "" {
		w.log.Error("undecodable command dropped", "subject", msg.Subject(), "error", err)
		_ = msg.TermWithReason("undecodable command")
		return
	}
	id := cmd.GetOperationId()
	log := w.log.With("operation_id", id)

	// Keep the claim alive while working: a late ack after a redelivery
	// would let two workers act on one group at once.
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go keepClaim(hctx, msg, w.heartbeatEvery(), cancel, log)

	rec, err := w.ensureRecord(hctx, cmd)
	if err != nil {
		log.Warn("operation record unavailable; retrying later", "error", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if operations.Terminal(rec.GetMetadata().GetState()) {
		// Finished by an earlier delivery whose ack was lost: say so again
		// (the event's id makes that a no-op if it was heard) and ack.
		_ = w.store.PublishLast(hctx, rec)
		w.ack(ctx, msg, log)
		return
	}
	if md, err := msg.Metadata(); err == nil {
		if last := w.lastDelivery.Load(); last > 1 && md.NumDelivered >= last {
			w.deadLetterDelivery(hctx, msg, md.Sequence.Stream, md.NumDelivered-1, log)
			return
		}
	}
	firstAttempt := rec.GetMetadata().GetAttempts() == 0
	// prog carries what earlier attempts of this delivery achieved (the
	// group a create made), so a retry goes on from there rather than
	// repeating calls whose effect EC2 may not show yet.
	var prog progress
	// failures counts the attempts of this delivery that EC2 faults or
	// throttling ended: --max-attempts bounds those, while waits for EC2's
	// eventual consistency have their own, time-based bound.
	failures := 0
	for {
		rec, err = w.store.Transition(hctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
			md := rec.GetMetadata()
			if operations.Terminal(md.GetState()) {
				return "", errEnded // cancelled meanwhile
			}
			md.State = palisadev1.OperationState_OPERATION_STATE_RUNNING
			md.Attempts++
			md.RetryReason = ""
			return fmt.Sprintf("attempt %d", md.GetAttempts()), nil
		})
		switch {
		case errors.Is(err, errEnded):
			w.ack(ctx, msg, log)
			return
		case err != nil && !errors.Is(err, operations.ErrEventNotPublished):
			w.giveBack(hctx, msg, log, "record not updated", err)
			return
		}
		res, runErr := w.exec.run(hctx, cmd, firstAttempt, &prog)
		firstAttempt = false
		if hctx.Err() != nil {
			w.giveBack(hctx, msg, log, "stopped while working", hctx.Err())
			return
		}
		if runErr == nil {
			if w.opts.AfterApply != nil && !w.opts.AfterApply(id) {
				return // abandoned, as by a crash: no record, no ack
			}
			w.finish(hctx, msg, log, id, res, nil)
			return
		}
		e := classify(runErr)
		if e.class == transient || e.class == throttled {
			failures++
		}
		wait, retry := w.decide(rec.GetMetadata(), e, failures)
		if !retry {
			w.finish(hctx, msg, log, id, nil, e)
			return
		}
		if _, err := w.store.Transition(hctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
			md := rec.GetMetadata()
			md.State = palisadev1.OperationState_OPERATION_STATE_RETRYING
			md.RetryReason = e.Error()
			return fmt.Sprintf("%s; retrying in %s", e.Error(), wait.Round(time.Millisecond)), nil
		}); err != nil && !errors.Is(err, operations.ErrEventNotPublished) {
			w.giveBack(hctx, msg, log, "record not updated", err)
			return
		}
		select {
		case <-hctx.Done():
			w.giveBack(hctx, msg, log, "stopped while waiting to retry", hctx.Err())
			return
		case <-time.After(wait):
		}
	}
}

// decide says whether a failed attempt is retried, and after how long.
//
// failures is how many attempts of this delivery EC2 faults or throttling
// ended, this one included. Counting them apart from the operation's
// attempts matters: a create whose new group EC2 does not show for a few
// seconds spends attempts waiting, and with those counted one EC2 fault
// afterwards would fail an operation that had hardly been tried.
func (w *Worker) decide(md *palisadev1.OperationMetadata, e *ec2Error, failures int) (time.Duration, bool) {
	attempts := int(md.GetAttempts())
	elapsed := time.Since(md.GetStartTime().AsTime())
	switch e.class {
	case transient:
		return w.backoff(failures, w.opts.BackoffBase), failures < w.opts.MaxAttempts
	case throttled:
		// The budget should have prevented this; back off harder.
		return w.backoff(failures, 2*w.opts.BackoffBase), failures < w.opts.MaxAttempts
	case notVisible:
		return w.backoff(attempts, w.opts.BackoffBase), elapsed < w.opts.VisibilityWindow
	case dependency:
		return w.backoff(attempts, 2*w.opts.BackoffBase), elapsed < w.opts.DependencyWindow
	}
	return 0, false
}

// finish records the end of the operation and acks the command.
func (w *Worker) finish(ctx context.Context, msg jetstream.Msg, log *slog.Logger, id string, res *palisadev1.OperationResult, failure *ec2Error) {
	_, err := w.store.Transition(ctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
		md := rec.GetMetadata()
		if operations.Terminal(md.GetState()) {
			return "", operations.ErrNoChange
		}
		if failure != nil {
			md.State = palisadev1.OperationState_OPERATION_STATE_FAILED
			rec.Error = failureStatus(failure, md.GetAttempts())
			return failure.Error(), nil
		}
		md.State = palisadev1.OperationState_OPERATION_STATE_SUCCEEDED
		md.RetryReason = ""
		if md.GetGroupId() == "" {
			md.GroupId = res.GetGroupId()
		}
		rec.Result = res
		return "", nil
	})
	if err != nil && !errors.Is(err, operations.ErrEventNotPublished) {
		w.giveBack(ctx, msg, log, "end not recorded", err)
		return
	}
	if failure != nil {
		log.Info("operation failed", "code", failure.code, "error", failure.Error())
	}
	w.ack(ctx, msg, log)
}

// failureStatus turns a final EC2 failure into the operation's error,
// keeping EC2's code in ErrorInfo so callers can match it.
func failureStatus(e *ec2Error, attempts int32) *spb.Status {
	code := codes.FailedPrecondition
	switch {
	case e.class != terminal:
		code = codes.Unavailable // retries exhausted
	case e.code == "InvalidGroup.Duplicate" || e.code == "InvalidPermission.Duplicate":
		code = codes.AlreadyExists
	case e.code == "InvalidGroup.NotFound" || e.code == "InvalidVpcID.NotFound" || e.code == "InvalidSecurityGroupRuleId.NotFound":
		code = codes.NotFound
	case e.code == "RulesPerSecurityGroupLimitExceeded" || e.code == "SecurityGroupLimitExceeded" || e.code == "TagLimitExceeded":
		code = codes.ResourceExhausted
	case e.code == "UnauthorizedOperation" || e.code == "AuthFailure" || e.code == "InvalidClientTokenId" || e.code == "OptInRequired" || e.code == "Blocked":
		code = codes.PermissionDenied
	case e.code == "InvalidParameterValue" || e.code == "InvalidParameter" || e.code == "MissingParameter" ||
		e.code == "InvalidPermission.Malformed" || e.code == "InvalidGroupId.Malformed" || e.code == "InvalidParameterCombination":
		code = codes.InvalidArgument
	}
	st := status.New(code, e.Error())
	reason := e.code
	if reason == "" {
		reason = "EC2_UNREACHABLE"
	}
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: reason, Domain: "ec2.amazonaws.com",
		Metadata: map[string]string{"attempts": fmt.Sprint(attempts), "class": e.class.String()},
	}); err == nil {
		st = d
	}
	return st.Proto()
}

// ensureRecord loads the operation, creating it from the command when the
// API died between storing the command and writing the record.
func (w *Worker) ensureRecord(ctx context.Context, cmd *palisadev1.Command) (*palisadev1.OperationRecord, error) {
	rec, _, err := w.store.Get(ctx, cmd.GetOperationId())
	if !errors.Is(err, operations.ErrNotFound) {
		return rec, err
	}
	rec = operations.NewRecord(cmd)
	if rec.GetMetadata().GetCreateTime() == nil {
		rec.Metadata.CreateTime = timestamppb.Now()
	}
	switch err := w.store.Create(ctx, rec); {
	case errors.Is(err, operations.ErrExists):
		rec, _, err = w.store.Get(ctx, cmd.GetOperationId())
		return rec, err
	case err != nil && !errors.Is(err, operations.ErrEventNotPublished):
		return nil, err
	}
	return rec, nil
}

func (w *Worker) ack(ctx context.Context, msg jetstream.Msg, log *slog.Logger) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		// The redelivery finds the record terminal and only acks.
		log.Warn("ack not confirmed", "error", err)
	}
}

// giveBack returns the command for redelivery: at once when this worker is
// stopping, after a pause when the store is in trouble, so a NATS outage
// does not turn into a busy loop.
func (w *Worker) giveBack(ctx context.Context, msg jetstream.Msg, log *slog.Logger, why string, err error) {
	log.Info("command handed back", "why", why, "error", err)
	if ctx.Err() != nil {
		_ = msg.Nak()
		return
	}
	_ = msg.NakWithDelay(time.Second)
}
