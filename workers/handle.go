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

// errStale: a later delivery of the command holds the operation now.
var errStale = errors.New("a later delivery holds the operation")

// fenced returns errStale when a delivery later than this one has started
// an attempt of the operation.
func fenced(rec *palisadev1.OperationRecord, delivery uint64) error {
	if rec.GetDelivery() > delivery {
		return errStale
	}
	return nil
}

// handle runs one delivery of a command to its end, or hands it back.
//
// The record is updated before the ack, so a crash anywhere leaves either
// an unacknowledged command (redelivered; the executors converge and the
// attempt count carries on) or a terminal record (the redelivery only
// re-announces the end and acks).
//
// A delivery may also outlive its claim: it waited in this process's
// buffer, or NATS was away while it ran, and the server gave the command
// to another worker. Such a holder must neither act nor ack (its ack
// would end the newer delivery's claim), so handle checks the delivery is
// current before it starts, keeps a renewed claim while it works, and
// writes its delivery number into the record with every attempt: a
// holder that finds a later number there stops.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	cmd := &palisadev1.Command{}
	if err := proto.Unmarshal(msg.Data(), cmd); err != nil || cmd.GetOperationId() == "" {
		w.log.Error("undecodable command dropped", "subject", msg.Subject(), "error", err)
		_ = msg.TermWithReason("undecodable command")
		return
	}
	id := cmd.GetOperationId()
	log := w.log.With("operation_id", id)
	md, err := msg.Metadata()
	if err != nil {
		log.Error("delivery without metadata dropped", "error", err)
		return // not a JetStream delivery: nothing to ack
	}
	delivery := md.NumDelivered
	log = log.With("delivery", delivery)
	log.Debug("command delivered", "stream_seq", md.Sequence.Stream)

	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl := newClaim(w.opts.JetStream.Conn(), msg, w.heartbeatEvery(), w.ackWait())
	if err := cl.renew(); err != nil {
		// NATS is away: nothing can be done or recorded, and a nak would
		// not arrive either. The server redelivers after the ack wait.
		log.Warn("claim not renewed; leaving the command to its redelivery", "error", err)
		return
	}
	switch cur, err := w.current(hctx, md); {
	case err != nil:
		log.Warn("delivery not checked; leaving the command to its redelivery", "error", err)
		return
	case !cur:
		log.Info("delivery outlived its claim in the buffer; a later one holds the command")
		return
	}
	go cl.keep(hctx, cancel, log)

	rec, err := w.ensureRecord(hctx, cmd)
	if err != nil {
		log.Warn("operation record unavailable; retrying later", "error", err)
		w.giveBack(hctx, msg, cl, log, "record unavailable", err)
		return
	}
	if operations.Terminal(rec.GetMetadata().GetState()) {
		// Finished by an earlier delivery whose ack was lost: say so again
		// (the event's id makes that a no-op if it was heard) and ack.
		_ = w.store.PublishLast(hctx, rec)
		w.ack(ctx, msg, log)
		return
	}
	if fenced(rec, delivery) != nil {
		log.Info("a later delivery holds the operation; stopping")
		return
	}
	if last := w.lastDelivery.Load(); last > 1 && delivery >= last {
		w.deadLetterDelivery(hctx, msg, md.Sequence.Stream, delivery-1, log)
		return
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
			if err := fenced(rec, delivery); err != nil {
				return "", err
			}
			rec.Delivery = delivery
			md := rec.GetMetadata()
			md.State = palisadev1.OperationState_OPERATION_STATE_RUNNING
			md.Attempts++
			md.RetryReason = ""
			return fmt.Sprintf("attempt %d", md.GetAttempts()), nil
		})
		if w.stopAfterUpdate(ctx, hctx, msg, cl, log, err) {
			return
		}
		res, runErr := w.exec.run(hctx, cmd, firstAttempt, &prog)
		firstAttempt = false
		if hctx.Err() != nil {
			w.giveBack(hctx, msg, cl, log, "stopped while working", hctx.Err())
			return
		}
		if runErr == nil {
			if w.opts.AfterApply != nil && !w.opts.AfterApply(id) {
				return // abandoned, as by a crash: no record, no ack
			}
			w.finish(ctx, hctx, msg, cl, log, id, delivery, res, nil)
			return
		}
		e := classify(runErr)
		if e.class == transient || e.class == throttled {
			failures++
		}
		wait, retry := w.decide(rec.GetMetadata(), e, failures)
		if !retry {
			w.finish(ctx, hctx, msg, cl, log, id, delivery, nil, w.exec.undoAdditions(hctx, cmd, e))
			return
		}
		_, err := w.store.Transition(hctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
			if err := fenced(rec, delivery); err != nil {
				return "", err
			}
			md := rec.GetMetadata()
			md.State = palisadev1.OperationState_OPERATION_STATE_RETRYING
			md.RetryReason = e.Error()
			return fmt.Sprintf("%s; retrying in %s", e.Error(), wait.Round(time.Millisecond)), nil
		})
		if w.stopAfterUpdate(ctx, hctx, msg, cl, log, err) {
			return
		}
		select {
		case <-hctx.Done():
			w.giveBack(hctx, msg, cl, log, "stopped while waiting to retry", hctx.Err())
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

// stopAfterUpdate handles the outcome of a record update by handle: it
// reports whether the delivery ends here (acked when the operation had
// ended, left alone when a later delivery holds it, handed back when the
// store failed).
func (w *Worker) stopAfterUpdate(ctx, hctx context.Context, msg jetstream.Msg, cl *claim, log *slog.Logger, err error) bool {
	switch {
	case err == nil, errors.Is(err, operations.ErrEventNotPublished):
		return false
	case errors.Is(err, operations.ErrEnded):
		// Cancelled meanwhile, or ended by a later delivery.
		w.ack(ctx, msg, log)
	case errors.Is(err, errStale):
		log.Info("a later delivery holds the operation; stopping")
	default:
		w.giveBack(hctx, msg, cl, log, "record not updated", err)
	}
	return true
}

// finish records the end of the operation and acks the command.
func (w *Worker) finish(ctx, hctx context.Context, msg jetstream.Msg, cl *claim, log *slog.Logger, id string, delivery uint64, res *palisadev1.OperationResult, failure *ec2Error) {
	_, err := w.store.Transition(hctx, id, func(rec *palisadev1.OperationRecord) (string, error) {
		if err := fenced(rec, delivery); err != nil {
			return "", err
		}
		md := rec.GetMetadata()
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
	if w.stopAfterUpdate(ctx, hctx, msg, cl, log, err) {
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
	case e.code == "UnauthorizedOperation" || e.code == "AuthFailure" || e.code == "InvalidClientTokenId" || e.code == "OptInRequired" || e.code == "Blocked" ||
		e.code == "AccessDenied" || e.code == "RegionDisabledException":
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
	domain := "ec2.amazonaws.com"
	if e.service == "STS" {
		domain = "sts.amazonaws.com"
	}
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: reason, Domain: domain,
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
		return
	}
	log.Debug("command acknowledged")
}

// giveBack returns the command for redelivery: at once when this worker is
// stopping, after a pause when the store is in trouble, so a NATS outage
// does not turn into a busy loop. A holder whose claim may have lapsed
// sends nothing: its nak could land on a later delivery, which the server
// would then take back from a worker in the middle of it.
func (w *Worker) giveBack(ctx context.Context, msg jetstream.Msg, cl *claim, log *slog.Logger, why string, err error) {
	if !cl.valid() {
		log.Info("command left to its redelivery", "why", why, "error", err)
		return
	}
	log.Info("command handed back", "why", why, "error", err)
	if ctx.Err() != nil {
		_ = msg.Nak()
		return
	}
	_ = msg.NakWithDelay(time.Second)
}
