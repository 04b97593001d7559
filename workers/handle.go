package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/tracing"
	"github.com/palisadehq/palisade/internal/validate"
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

// delivery is one delivery of a command to this worker and what handling
// it needs at every step: the command, its delivery number (which fences
// an older holder), the claim kept on it, and the logger that names it.
type delivery struct {
	w   *Worker
	msg jetstream.Msg
	cmd *palisadev1.Command
	id  string // the operation id
	// md is the delivery's: its count (which fences an older holder) and
	// the command's stream sequence.
	md    *jetstream.MsgMetadata
	claim *claim
	// pulled is when the pull that brought the delivery was sent; slot
	// is the worker's slot it runs in.
	pulled time.Time
	slot   *slot
	log    *slog.Logger
	// ctx ends when the worker is told to stop for good; work ends with
	// it and also when the claim lapses or the delivery is done.
	ctx, work context.Context
	// rec is the operation's record as this delivery last stored it, at
	// revision rev (nil: not known), so its next change needs no read.
	rec *palisadev1.OperationRecord
	rev uint64
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
//
// pulled is when the pull that brought the delivery was sent (its
// delivery came later); sl is the slot it runs in, given back when it
// ends (nil: none).
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg, pulled time.Time, sl *slot) {
	defer sl.release()
	defer w.turns.ended(msg.Subject())
	// One span per delivery, in the trace of the call that stored it.
	ctx, span := tracing.Consume(ctx, msg.Headers(), "apply command", msg.Subject())
	defer span.End()
	d, ok := w.receive(ctx, msg)
	if !ok || !d.valid() {
		return
	}
	d.pulled, d.slot = pulled, sl
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	// Every EC2 call of the delivery names the operation and its caller
	// in its user agent, which CloudTrail records.
	work = ec2client.ForOperation(work, d.id, d.cmd.GetCaller())
	d.work = work
	if !d.hold(cancel) {
		return
	}
	// The record is read, unless the command names it, while the group's
	// turn is looked for: two reads in one round trip's time. A record
	// read (or named) before a wait may be stale; begin's compare-and-set
	// then finds out and reads it again.
	read := d.startingRecord()
	switch d.awaitTurn() {
	case turnGone:
		d.log.InfoContext(work, "command no longer queued: an earlier delivery ended it")
		return
	case turnStopped:
		d.giveBack("stopped while waiting for its group's turn", work.Err())
		return
	}
	rec, firstAttempt, err := d.begin(<-read)
	switch {
	case errors.Is(err, errForeign):
		// The operation belongs to another command: a request_id used
		// again for a different request after the command stream forgot
		// the first (its caller was refused), or a command published
		// under a known operation id. Dead-lettered; the operation is
		// left as it is.
		d.log.WarnContext(work, "command under the id of another command's operation refused")
		w.refuse(work, msg, nil)
	case errors.Is(err, operations.ErrEnded):
		// Finished by an earlier delivery whose ack was lost: say so again
		// (the event's id makes that a no-op if it was heard) and ack.
		_ = w.store.PublishLast(work, rec)
		d.ack()
	case errors.Is(err, errStale):
		d.log.InfoContext(work, "a later delivery holds the operation; stopping")
	case errors.Is(err, errLastDelivery):
		w.deadLetterDelivery(work, msg, d.md.Sequence.Stream, d.md.NumDelivered-1, d.log)
	case err != nil:
		d.giveBack("record unavailable", err)
	default:
		d.attempt(firstAttempt, rec)
	}
}

// Why begin did not start an attempt, besides errStale and
// operations.ErrEnded.
var (
	errForeign      = errors.New("the operation belongs to another command")
	errLastDelivery = errors.New("last delivery: dead-lettered instead of attempted")
)

// begin starts the delivery's first attempt: in one change of the
// operation's record, written only if the delivery may act, it checks the
// record is this command's (errForeign), not ended (operations.ErrEnded,
// with the record), held by no later delivery (errStale) and that this is
// not the last delivery (errLastDelivery), and marks the operation RUNNING
// under this delivery's number. The record read for the checks is the one
// the change is made on, so a delivery costs no read of its own; a record
// whoever stored the command did not write is created from the command
// first. firstAttempt is true when no delivery had attempted the
// operation before.
func (d *delivery) begin(read recordRead) (rec *palisadev1.OperationRecord, firstAttempt bool, err error) {
	last := d.w.lastDelivery.Load()
	for created := false; ; created = true {
		var rev uint64
		rec, rev, err = d.w.store.TransitionFrom(d.work, d.id, read.rec, read.rev, func(rec *palisadev1.OperationRecord) (string, error) {
			if foreign(rec, d.cmd) {
				return "", errForeign
			}
			if err := fenced(rec, d.md.NumDelivered); err != nil {
				return "", err
			}
			if last > 1 && d.md.NumDelivered >= last {
				return "", errLastDelivery
			}
			md := rec.GetMetadata()
			firstAttempt = md.GetAttempts() == 0
			rec.Delivery = d.md.NumDelivered
			return startAttempt(md), nil
		})
		if err == nil {
			d.rec, d.rev = rec, rev
		}
		if errors.Is(err, operations.ErrEnded) && foreign(rec, d.cmd) {
			return rec, false, errForeign
		}
		if !errors.Is(err, operations.ErrNotFound) || created {
			return rec, firstAttempt, err
		}
		if _, err := command.EnsureRecord(d.work, d.w.store, d.cmd); err != nil {
			return nil, false, err
		}
		read = recordRead{}
	}
}

// recordRead is an operation's record as read, at revision rev; rec is
// nil when it could not be read (begin then reads it itself).
type recordRead struct {
	rec *palisadev1.OperationRecord
	rev uint64
}

// startingRecord is the delivery's operation record for begin to start
// from. A command whose submitter stored the record first names the
// record's revision (bus.RecordRevisionHeader; see
// command.Submitter.WriteRecordFirst), and the record it stored there is
// the one the command makes: begin's compare-and-set on that revision
// proves it is still there, and a record changed since (the rollout
// stopped, an earlier delivery ran) fails it and is read then. So the
// commands of a rollout's children start without a read. Any other
// command's record is read (readRecord), as is one whose header does not
// hold a revision. The revision is trusted as far as the command is:
// only the API's and the workers' users may publish commands (bus
// permissions), and whoever can could as well publish any change.
func (d *delivery) startingRecord() <-chan recordRead {
	rev, err := strconv.ParseUint(d.msg.Headers().Get(bus.RecordRevisionHeader), 10, 64)
	if err != nil || rev == 0 {
		return d.readRecord()
	}
	read := make(chan recordRead, 1)
	read <- recordRead{rec: command.NewRecord(d.cmd), rev: rev}
	return read
}

// readRecord reads the delivery's operation record on a goroutine of its
// own; the channel gets what it found.
//
// A command just stored may have no record yet: the API writes the
// record once JetStream has acknowledged the command, and a worker can
// meet the command first (a rollout driver writes its children's records
// before their commands; see command.Submitter.WriteRecordFirst). For
// up to recordGrace after the command was stored, the read is made again,
// after 5 ms doubling, rather than left to begin, which would write the
// record itself: its index entries, the record and its first event, and
// the submitter's create would then fail and read it.
func (d *delivery) readRecord() <-chan recordRead {
	read := make(chan recordRead, 1)
	go func() {
		wait, waited := 5*time.Millisecond, time.Duration(0)
		for {
			rec, rev, err := d.w.store.Get(d.work, d.id)
			if errors.Is(err, operations.ErrNotFound) && waited+wait <= recordGrace &&
				time.Since(d.md.Timestamp) < recordGrace && pause(d.work, wait) {
				waited += wait
				wait *= 2
				continue
			}
			if err != nil {
				rec, rev = nil, 0 // not found, corrupt, unavailable: begin's own read says which
			}
			read <- recordRead{rec: rec, rev: rev}
			return
		}
	}()
	return read
}

// pause waits for d, and reports false when ctx ended first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// recordGrace bounds how long a worker waits for the record of a command
// just stored before it writes the record itself (see readRecord).
const recordGrace = 500 * time.Millisecond

// startAttempt marks the operation RUNNING in a new attempt and returns
// the event's reason.
func startAttempt(md *palisadev1.OperationMetadata) string {
	md.State = palisadev1.OperationState_OPERATION_STATE_RUNNING
	md.Attempts++
	md.RetryReason = ""
	return fmt.Sprintf("attempt %d", md.GetAttempts())
}

// receive decodes a delivery; one that cannot be handled is dropped.
func (w *Worker) receive(ctx context.Context, msg jetstream.Msg) (*delivery, bool) {
	cmd := &palisadev1.Command{}
	if err := proto.Unmarshal(msg.Data(), cmd); err != nil {
		w.log.ErrorContext(ctx, "undecodable command", "subject", msg.Subject(), "error", err)
		w.refuse(ctx, msg, nil)
		return nil, false
	}
	_, loc, group := command.Describe(cmd)
	// One With for all the keys: each With copies the logger's handler.
	attrs := make([]any, 0, 16)
	attrs = append(attrs, logging.OperationID, cmd.GetOperationId(), logging.Caller, cmd.GetCaller(),
		logging.AccountID, loc.GetAccountId(), logging.Region, loc.GetRegion())
	if id := cmd.GetRequestId(); id != "" {
		attrs = append(attrs, logging.RequestID, id)
	}
	if group != "" {
		attrs = append(attrs, logging.GroupID, group)
	}
	if r := command.RolloutOf(cmd); r != "" {
		attrs = append(attrs, logging.RolloutID, strings.TrimPrefix(r, operations.RolloutNamePrefix))
	}
	md, err := msg.Metadata()
	if err != nil {
		w.log.With(attrs...).ErrorContext(ctx, "delivery without metadata dropped", "error", err)
		return nil, false // not a JetStream delivery: nothing to ack
	}
	log := w.log.With(append(attrs, "delivery", md.NumDelivered)...)
	log.DebugContext(ctx, "command delivered", "stream_seq", md.Sequence.Stream)
	return &delivery{
		w: w, msg: msg, cmd: cmd, id: cmd.GetOperationId(), md: md,
		claim: newClaim(w.opts.JetStream.Conn(), msg, w.heartbeatEvery(), w.ackWait()),
		log:   log, ctx: ctx,
	}, true
}

// valid re-validates the command before anything is done for it (design
// invariant 8): its request with the very checks the API ran on it
// (internal/validate), an operation id of Palisade's shape, a caller, a
// kind this worker applies, a rollout named by a rollout's child. Anyone
// who can publish on the command subjects reaches this point, and the API
// is not the only way there; a command that fails is refused as the API
// would have refused its request (INVALID_ARGUMENT with a BadRequest, or
// PERMISSION_DENIED for tags only AWS or Palisade may set), its operation
// FAILED, and the command dead-lettered. EC2 sees nothing of it.
//
// What a worker cannot check is who published the command: a well-formed
// command naming a real caller looks the same whether the API stored it
// or someone else did. That is for NATS to enforce, by letting only the
// API publish on the command subjects.
func (d *delivery) valid() bool {
	v, reserved := validate.Command(d.cmd)
	if d.cmd.GetStartRollout() != nil {
		v = append(v, rules.Violation{Field: "request", Description: "a rollout is driven from the rollout stream; no worker applies it"})
	}
	if len(v) == 0 {
		return true
	}
	d.log.WarnContext(d.ctx, "invalid command refused", "violations", len(v), "first", v[0].Field+": "+v[0].Description, "reserved_tags", reserved)
	d.w.refuse(d.ctx, d.msg, refusal(v, reserved))
	return false
}

// refuse dead-letters a command no worker will act on, its operation (if
// it names one of Palisade's shape) FAILED with failure, and removes it
// from the work queue. A nil failure is an undecodable command's.
func (w *Worker) refuse(ctx context.Context, msg jetstream.Msg, failure *spb.Status) {
	md, err := msg.Metadata()
	if err != nil {
		w.log.ErrorContext(ctx, "refused delivery without metadata dropped", "error", err)
		return // not a JetStream delivery: nothing to ack
	}
	if err := w.bury(ctx, msg.Data(), msg.Subject(), md.Sequence.Stream, md.NumDelivered, failure); err != nil {
		// Handed back: the next delivery refuses it again.
		w.log.WarnContext(ctx, "refused command not dead-lettered", "error", err)
		_ = msg.NakWithDelay(time.Second)
		return
	}
	if err := msg.TermWithReason("refused"); err != nil {
		w.log.WarnContext(ctx, "refused command not removed", "error", err)
	}
}

// refusal is the error of an operation whose command was refused: what the
// API answers for the same request.
func refusal(v rules.Violations, reserved bool) *spb.Status {
	code, reason, msg := codes.InvalidArgument, "INVALID_COMMAND", "invalid command: "
	if reserved {
		code, reason, msg = codes.PermissionDenied, "RESERVED_TAG", "the command sets tags only AWS or Palisade may set: "
	}
	msg += v[0].Field + ": " + v[0].Description
	if len(v) > 1 {
		msg += fmt.Sprintf(" (and %d more; see the BadRequest details)", len(v)-1)
	}
	br := &errdetails.BadRequest{}
	for _, x := range v {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: x.Field, Description: x.Description})
	}
	st := status.New(code, msg)
	if d, err := st.WithDetails(br, &errdetails.ErrorInfo{Reason: reason, Domain: command.ErrorDomain}); err == nil {
		st = d
	}
	return st.Proto()
}

// hold makes sure no later delivery exists, and keeps the claim renewed
// until the work ends; stop ends the work if the claim lapses. It reports
// whether the delivery may go on.
//
// The delivery came after its pull was sent, so its ack wait runs for
// AckWait from then at least. A delivery younger than AckWait less two
// beats is therefore current without asking the server: the first renewal
// keep sends, one beat from now, reaches the server within another beat,
// before that ack wait can run out. An older one renews first. The server
// answers a renewal also for a message it has redelivered since, so the
// answer alone does not show the claim is this delivery's. Its timing
// does: a renewal answered less than AckWait (less one beat of margin)
// after the pull reached the server before the delivery's ack wait could
// run out.
func (d *delivery) hold(stop context.CancelFunc) bool {
	if time.Since(d.pulled) < d.claim.ackWait-2*d.claim.every {
		d.claim.heldSince(d.pulled)
		go d.claim.keep(d.work, stop, d.log)
		return true
	}
	if err := d.claim.renew(); err != nil {
		// NATS is away: nothing can be done or recorded, and a nak would
		// not arrive either. The server redelivers after the ack wait.
		d.log.WarnContext(d.work, "claim not renewed; leaving the command to its redelivery", "error", err)
		return false
	}
	if age := time.Since(d.pulled); age >= d.claim.ackWait-d.claim.every {
		d.log.InfoContext(d.work, "delivery outlived its claim before it started; a later one holds the command", "age", age)
		return false
	}
	go d.claim.keep(d.work, stop, d.log)
	return true
}

// attempt runs the command until it ends or the delivery stops, from the
// attempt begin started (rec). firstAttempt is true when no delivery had
// attempted it before.
func (d *delivery) attempt(firstAttempt bool, rec *palisadev1.OperationRecord) {
	// prog carries what earlier attempts of this delivery achieved (the
	// group a create made), so a retry goes on from there rather than
	// repeating calls whose effect EC2 may not show yet.
	var prog progress
	// failures counts the attempts of this delivery that EC2 faults or
	// throttling ended: --max-attempts bounds those, while waits for EC2's
	// eventual consistency have their own, time-based bound.
	failures := 0
	for started := true; ; started = false {
		if !started {
			var err error
			rec, err = d.transition(startAttempt)
			if d.stopAfterUpdate(err) {
				return
			}
		}
		actx, span := tracing.Start(d.work, fmt.Sprintf("attempt %d", rec.GetMetadata().GetAttempts()))
		res, runErr := d.w.exec.run(actx, d.cmd, firstAttempt, &prog)
		tracing.Fail(span, runErr)
		span.End()
		firstAttempt = false
		if d.work.Err() != nil {
			d.giveBack("stopped while working", d.work.Err())
			return
		}
		if runErr == nil {
			if d.w.opts.AfterApply != nil && !d.w.opts.AfterApply(d.id) {
				return // abandoned, as by a crash: no record, no ack
			}
			d.finish(res, nil)
			return
		}
		e := classify(runErr)
		if e.class == ec2errors.Transient || e.class == ec2errors.Throttled {
			failures++
		}
		wait, retry := d.w.decide(rec.GetMetadata(), e, failures)
		if !retry {
			d.finish(nil, d.w.exec.undoAdditions(d.work, d.cmd, e))
			return
		}
		_, err := d.transition(func(md *palisadev1.OperationMetadata) string {
			md.State = palisadev1.OperationState_OPERATION_STATE_RETRYING
			md.RetryReason = e.Error()
			return fmt.Sprintf("%s; retrying in %s", e.Error(), wait.Round(time.Millisecond))
		})
		if d.stopAfterUpdate(err) {
			return
		}
		select {
		case <-d.work.Done():
			d.giveBack("stopped while waiting to retry", d.work.Err())
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
	case ec2errors.Transient:
		return w.backoff(failures, w.opts.BackoffBase), failures < w.opts.MaxAttempts
	case ec2errors.Throttled:
		// The budget should have prevented this; back off harder.
		return w.backoff(failures, 2*w.opts.BackoffBase), failures < w.opts.MaxAttempts
	case ec2errors.NotVisible:
		return w.backoff(attempts, w.opts.BackoffBase), elapsed < w.opts.VisibilityWindow
	case ec2errors.Dependency:
		return w.backoff(attempts, 2*w.opts.BackoffBase), elapsed < w.opts.DependencyWindow
	}
	return 0, false
}

// transition changes the operation's record on behalf of this delivery,
// unless a later delivery holds it (errStale). change returns the event's
// reason.
func (d *delivery) transition(change func(*palisadev1.OperationMetadata) string) (*palisadev1.OperationRecord, error) {
	return d.change(func(rec *palisadev1.OperationRecord) (string, error) {
		if err := fenced(rec, d.md.NumDelivered); err != nil {
			return "", err
		}
		rec.Delivery = d.md.NumDelivered
		return change(rec.GetMetadata()), nil
	})
}

// change changes the operation's record from the one this delivery last
// stored, read again only if someone else wrote it since.
func (d *delivery) change(change func(*palisadev1.OperationRecord) (string, error)) (*palisadev1.OperationRecord, error) {
	rec, rev, err := d.w.store.TransitionFrom(d.work, d.id, d.rec, d.rev, change)
	if err != nil {
		d.rec, d.rev = nil, 0
		return rec, err
	}
	d.rec, d.rev = rec, rev
	return rec, nil
}

// stopAfterUpdate handles the outcome of a record update: it reports
// whether the delivery ends here (acked when the operation had ended, left
// alone when a later delivery holds it, handed back when the store
// failed).
func (d *delivery) stopAfterUpdate(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, operations.ErrEnded):
		// Cancelled meanwhile, or ended by a later delivery.
		d.ack()
	case errors.Is(err, errStale):
		d.log.InfoContext(d.work, "a later delivery holds the operation; stopping")
	default:
		d.giveBack("record not updated", err)
	}
	return true
}

// finish records the end of the operation, with its result or its
// failure, and acks the command.
func (d *delivery) finish(res *palisadev1.OperationResult, failure *ec2Error) {
	rec, err := d.change(func(rec *palisadev1.OperationRecord) (string, error) {
		if err := fenced(rec, d.md.NumDelivered); err != nil {
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
	if d.stopAfterUpdate(err) {
		return
	}
	metrics.OperationEnded(rec.GetMetadata())
	if failure != nil {
		d.log.InfoContext(d.work, "operation failed", "code", failure.code, "error", failure.Error())
	}
	d.ack()
}

// failureStatus turns a final EC2 failure into the operation's error,
// keeping EC2's code in ErrorInfo so callers can match it.
func failureStatus(e *ec2Error, attempts int32) *spb.Status {
	code := ec2errors.Of(e.code).GRPC
	if e.class != ec2errors.Terminal {
		code = codes.Unavailable // retries exhausted
	}
	st := status.New(code, e.Error())
	reason := e.code
	if reason == "" {
		reason = "EC2_UNREACHABLE"
	}
	domain := ec2errors.EC2Domain
	if e.service == "STS" {
		domain = ec2errors.STSDomain
	}
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: reason, Domain: domain,
		Metadata: map[string]string{"attempts": fmt.Sprint(attempts), "class": e.class.String()},
	}); err == nil {
		st = d
	}
	return st.Proto()
}

// ack acknowledges the command without waiting for the server's answer:
// the command leaves its slot a round trip sooner. An ack that never
// arrives (the connection dropped with it) costs a redelivery, which finds
// the record ended, announces the end again and acks; the group's next
// command waits for it meanwhile, as for any command not yet acked.
func (d *delivery) ack() {
	if err := d.msg.Ack(); err != nil {
		d.log.WarnContext(d.ctx, "ack not sent; the redelivery acks", "error", err)
		return
	}
	d.log.DebugContext(d.ctx, "command acknowledged")
}

// giveBack returns the command for redelivery: at once when this worker is
// stopping, after a pause when the store is in trouble, so a NATS outage
// does not turn into a busy loop. A holder whose claim may have lapsed
// sends nothing: its nak could land on a later delivery, which the server
// would then take back from a worker in the middle of it.
func (d *delivery) giveBack(why string, err error) {
	if !d.claim.valid() {
		d.log.InfoContext(d.ctx, "command left to its redelivery", "why", why, "error", err)
		return
	}
	d.log.InfoContext(d.ctx, "command handed back", "why", why, "error", err)
	if d.work.Err() != nil {
		_ = d.msg.Nak()
		return
	}
	_ = d.msg.NakWithDelay(time.Second)
}
