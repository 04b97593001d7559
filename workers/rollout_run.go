package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/tracing"
	"github.com/palisadehq/palisade/internal/validate"
)

// maxDriven bounds the rollouts one process drives at once; the others
// wait in the stream for another process or a free slot.
const maxDriven = 64

// Rollouts drives rollouts. Each rollout is one message on the rollout
// stream; a process takes it, holds it with heartbeats while it resolves
// the targets, starts the child operations (on the groups' own command
// subjects, where the command workers apply them) and follows them to the
// end, and acknowledges it when the rollout has ended. Everything it
// decides is written to the rollout's record first, so a process that
// dies hands the rollout to another, which carries on from the record.
type Rollouts struct {
	opts  Options
	ops   *operations.Store
	store *rollout.Store
	// submitter stores children's commands as the API stores a request's.
	submitter *command.Submitter
	exec      *executor
	log       *slog.Logger
	// ackWait is the rollout consumer's, read when Run binds it.
	ackWait time.Duration
}

// NewRollouts binds a rollout driver to the declared streams and buckets.
// It uses the same options as the command worker (JetStream, EC2, Budget,
// Log, Heartbeat, MaxAttempts, backoff).
func NewRollouts(ctx context.Context, o Options) (*Rollouts, error) {
	o.setDefaults()
	ops, err := operations.Open(ctx, o.JetStream, o.Log)
	if err != nil {
		return nil, err
	}
	// Children's first events, and the changes a driver makes to their
	// records, go out as the workers' do (see New).
	if err := ops.AnnounceWithoutWaiting(announceTimeout, announceMaxPending); err != nil {
		return nil, err
	}
	store, err := rollout.OpenStore(ctx, o.JetStream)
	if err != nil {
		return nil, err
	}
	submitter, err := command.NewSubmitter(ctx, o.JetStream, ops, o.Log)
	if err != nil {
		return nil, err
	}
	// Children are one per group: stored first of their group, their
	// workers need not look for an earlier command. Their records go
	// before their commands, so a worker finds the record of each child
	// it is handed; a driver taking over requeues the children it finds
	// queued (driver.requeue), whose commands an earlier one may not have
	// stored.
	submitter.StoreFirstOfGroup()
	submitter.WriteRecordFirst()
	return &Rollouts{
		opts: o, ops: ops, store: store, submitter: submitter, log: o.Log,
		exec: &executor{ec2: o.EC2, budget: o.Budget, callTimeout: o.CallTimeout},
	}, nil
}

// Run takes rollouts until ctx ends, then hands the ones it drives back
// (their state is in the bucket; the next process resumes them).
func (r *Rollouts) Run(ctx context.Context) error {
	cons, err := r.opts.JetStream.Consumer(ctx, bus.RolloutStream, bus.RolloutConsumer)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bind consumer %s: %w", bus.RolloutConsumer, err)
	}
	r.ackWait = cons.CachedInfo().Config.AckWait
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxDriven)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		// One at a time, and only with a free slot, so no rollout waits
		// unheartbeated in a client buffer.
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			r.log.DebugContext(ctx, "fetch rollout", "error", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		took := false
		for msg := range batch.Messages() {
			took = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots }()
				r.handle(ctx, msg)
			}()
		}
		cancel()
		if !took {
			<-slots
		}
	}
}

// errClaimLost: another process drives the rollout now.
var errClaimLost = errors.New("rollout claimed by a later delivery")

// handle drives one delivery of a rollout until the rollout ends, this
// process stops, or the claim is lost.
func (r *Rollouts) handle(ctx context.Context, msg jetstream.Msg) {
	// One span per delivery, in the trace of StartRollout; the children
	// it submits carry it on.
	ctx, span := tracing.Consume(ctx, msg.Headers(), "drive rollout", msg.Subject())
	defer span.End()
	defer metrics.RolloutDriving()()
	cmd := &palisadev1.Command{}
	if err := proto.Unmarshal(msg.Data(), cmd); err != nil || cmd.GetStartRollout() == nil || cmd.GetOperationId() == "" {
		r.log.ErrorContext(ctx, "undecodable rollout dropped", "subject", msg.Subject(), "error", err)
		_ = msg.TermWithReason("undecodable rollout")
		return
	}
	// Re-validated as every command is (see delivery.valid): a rollout
	// published past the API is refused before the driver reads EC2.
	if v, reserved := validate.Command(cmd); len(v) > 0 {
		r.log.WarnContext(ctx, "invalid rollout refused", logging.RolloutID, cmd.GetOperationId(), "violations", len(v), "first", v[0].Field+": "+v[0].Description)
		r.refuse(ctx, msg, cmd, refusal(v, reserved))
		return
	}
	// A rollout under the id of another command's operation is refused
	// without touching that operation (see refuse).
	if rec, err := command.EnsureRecord(ctx, r.ops, cmd); err != nil {
		r.log.WarnContext(ctx, "rollout's operation unavailable; handed back", logging.RolloutID, cmd.GetOperationId(), "error", err)
		_ = msg.NakWithDelay(time.Second)
		return
	} else if foreign(rec, cmd) {
		r.refuse(ctx, msg, cmd, nil)
		return
	}
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.NakWithDelay(time.Second)
		return
	}
	log := r.log.With(logging.RolloutID, cmd.GetOperationId(), logging.Caller, cmd.GetCaller(), logging.RequestID, cmd.GetRequestId())
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hctx = ec2client.ForOperation(hctx, cmd.GetOperationId(), cmd.GetCaller())
	every := r.opts.Heartbeat
	if r.ackWait > 0 {
		every = min(every, max(r.ackWait/3, 10*time.Millisecond))
	}
	cl := newClaim(r.opts.JetStream.Conn(), msg, every, r.ackWait)
	if err := cl.renew(); err != nil {
		log.WarnContext(ctx, "claim not renewed; leaving the rollout to its redelivery", "error", err)
		return
	}
	go cl.keep(hctx, cancel, log)

	d := newDriver(r, cmd, md.NumDelivered, log)
	err = d.run(hctx)
	switch {
	case err == nil:
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := msg.DoubleAck(actx); err != nil {
			log.WarnContext(ctx, "rollout ack not confirmed", "error", err) // the redelivery finds it ended
		}
	case errors.Is(err, errClaimLost):
		log.InfoContext(ctx, "rollout taken over by another delivery; stopping")
	case !cl.valid():
		// A nak now could land on a later delivery.
		log.WarnContext(ctx, "rollout left to its redelivery", "error", err)
	case ctx.Err() != nil:
		_ = msg.Nak() // stopping: the next process resumes it at once
	default:
		log.WarnContext(ctx, "rollout handed back", "error", err)
		_ = msg.NakWithDelay(time.Second)
	}
}

// refuse ends a refused rollout's operation FAILED with failure (when its
// id is one of Palisade's) and removes the rollout from its stream; a
// store that cannot record it gets the rollout back for a later try.
func (r *Rollouts) refuse(ctx context.Context, msg jetstream.Msg, cmd *palisadev1.Command, failure *spb.Status) {
	if operations.ValidID(cmd.GetOperationId()) {
		rec, err := command.EnsureRecord(ctx, r.ops, cmd)
		if err != nil {
			r.log.WarnContext(ctx, "refused rollout not recorded", "error", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		if foreign(rec, cmd) {
			// Another rollout's operation: refusing this command must not
			// end it.
			r.log.WarnContext(ctx, "rollout under the id of another command's operation refused; the operation was left as it is",
				logging.RolloutID, cmd.GetOperationId(), logging.Caller, cmd.GetCaller(), "operation_caller", rec.GetMetadata().GetCaller())
			if err := msg.TermWithReason("foreign"); err != nil {
				r.log.WarnContext(ctx, "refused rollout not removed", "error", err)
			}
			return
		}
		_, err = r.ops.Transition(ctx, cmd.GetOperationId(), func(rec *palisadev1.OperationRecord) (string, error) {
			rec.Metadata.State = palisadev1.OperationState_OPERATION_STATE_FAILED
			rec.Error = failure
			return failure.GetMessage(), nil
		})
		if err != nil && !errors.Is(err, operations.ErrEnded) {
			r.log.WarnContext(ctx, "refused rollout not recorded", "error", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
	}
	if err := msg.TermWithReason("refused"); err != nil {
		r.log.WarnContext(ctx, "refused rollout not removed", "error", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
