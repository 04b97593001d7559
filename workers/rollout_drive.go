package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
)

const (
	// defaultMaxInFlight applies when the strategy leaves it at 0.
	defaultMaxInFlight = 50
	// writeEvery coalesces progress writes to the rollout record.
	writeEvery = 250 * time.Millisecond
	// progressBytesPerSecond bounds what progress writes of a large
	// rollout's record cost: every write stores the whole record (some
	// 700 KB for 5,760 groups) and every watcher reads it again, so a
	// large record is written less often than writeEvery.
	progressBytesPerSecond = 1 << 20
	// pollEvery is how often children in flight are re-read, in case an
	// event was missed (events are published after the record is stored).
	pollEvery = 2 * time.Second
	// rateWindow is the window of the groups-per-second figure.
	rateWindow = 10 * time.Second
)

// driver is one delivery's hold on a rollout.
type driver struct {
	r        *Rollouts
	cmd      *palisadev1.Command
	req      *palisadev1.StartRolloutRequest
	id       string
	delivery uint64
	log      *slog.Logger

	rec       *palisadev1.RolloutRecord
	rev       uint64
	byID      map[string]*palisadev1.RolloutChild
	observed  map[string]*palisadev1.GroupRules // rules read while resolving, by child, until it starts
	heard     map[string]time.Time              // when each child in flight last changed or was read
	dirty     bool
	lastWrite time.Time
	lastSize  int         // bytes of the record last written
	finished  []time.Time // recent child ends, for the rate
	control   palisadev1.RolloutControl_Action
	controlBy string
	ownChange func(*palisadev1.Location, string) *palisadev1.RuleChange // see changeOf; read-only once made, as children start concurrently
}

func newDriver(r *Rollouts, cmd *palisadev1.Command, delivery uint64, log *slog.Logger) *driver {
	req := cmd.GetStartRollout()
	return &driver{r: r, cmd: cmd, req: req, ownChange: rollout.ChangeOf(req), id: cmd.GetOperationId(), delivery: delivery, log: log,
		heard: map[string]time.Time{}}
}

// run drives the rollout to its end. It returns nil once the rollout has
// ended and is recorded so; errClaimLost when a later delivery took over.
func (d *driver) run(ctx context.Context) error {
	if err := d.load(ctx); err != nil {
		return err
	}
	if rollout.Terminal(d.rec.GetRollout().GetState()) {
		return d.ended(ctx) // ended by an earlier delivery whose ack was lost
	}
	// Claim it: from now on a write by an older delivery fails.
	d.rec.DriverDelivery = d.delivery
	if d.rec.GetRollout().GetStartTime() == nil {
		d.rec.Rollout.StartTime = timestamppb.Now()
	}
	if err := d.write(ctx); err != nil {
		return err
	}
	if err := d.startOperation(ctx); err != nil {
		return err
	}

	// Follow child events and control changes from here on, before the
	// state is read, so nothing in between is missed.
	events := newEventInbox()
	sub, err := d.r.opts.JetStream.Conn().Subscribe(bus.EventSubjectPrefix+".*", func(m *nats.Msg) {
		ev := &palisadev1.OperationEvent{}
		if proto.Unmarshal(m.Data, ev) != nil || ev.GetMetadata().GetRollout() != d.rec.GetRollout().GetName() {
			return
		}
		events.put(ev)
	})
	if err != nil {
		return fmt.Errorf("follow child events: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	cw, err := d.r.store.WatchControl(ctx, d.id)
	if err != nil {
		return fmt.Errorf("follow rollout control: %w", err)
	}
	defer func() { _ = cw.Stop() }()

	resumed := d.rec.GetResolved()
	if !resumed {
		if err := d.resolve(ctx); err != nil {
			return err
		}
		if rollout.Terminal(d.rec.GetRollout().GetState()) {
			return nil // nothing to change (no group matched, or a target could not be read)
		}
	} else if err := d.loadPlan(ctx); err != nil {
		return err
	}
	d.index()
	if err := d.recordPlanFailures(ctx); err != nil {
		return err
	}
	// A delivery taking over reads every child an earlier one may have
	// started. One that has just planned the rollout has none: no child
	// starts before the plan is recorded, so reading 5,760 absent records
	// one by one would only delay the first.
	if err := d.refresh(ctx, resumed); err != nil {
		return err
	}
	if resumed {
		if err := d.requeue(ctx); err != nil {
			return err
		}
	}

	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	for {
		done, err := d.step(ctx)
		if err != nil || done {
			return err
		}
		if err := d.maybeWrite(ctx, false); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-events.ready:
			for _, ev := range events.take() {
				d.apply(ev)
			}
		case e := <-cw.Updates():
			if e != nil && e.Operation() == 0 { // a put
				c := &palisadev1.RolloutControl{}
				if proto.Unmarshal(e.Value(), c) == nil {
					d.control, d.controlBy = c.GetAction(), c.GetCaller()
				}
			}
		case <-poll.C:
			if err := d.refresh(ctx, false); err != nil {
				return err
			}
		}
	}
}

// step decides what to do next with the rollout as it now is; done when it
// has ended.
func (d *driver) step(ctx context.Context) (bool, error) {
	ro := d.rec.GetRollout()
	p := d.progress()
	strategy := ro.GetStrategy()

	stop, stopState, reason := false, palisadev1.RolloutState_ROLLOUT_STATE_UNSPECIFIED, ""
	switch {
	case d.control == palisadev1.RolloutControl_ACTION_CANCEL:
		stop, stopState, reason = true, palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED, "cancelled by "+d.controlBy
	case strategy != nil && strategy.MaxFailures != nil && p.GetFailed() > strategy.GetMaxFailures():
		stop, stopState, reason = true, palisadev1.RolloutState_ROLLOUT_STATE_FAILED,
			fmt.Sprintf("%d groups failed, more than the threshold of %d", p.GetFailed(), strategy.GetMaxFailures())
	case !d.rec.GetCanaryDone() && d.canaryFailed() != nil:
		c := d.canaryFailed()
		stop, stopState, reason = true, palisadev1.RolloutState_ROLLOUT_STATE_FAILED,
			fmt.Sprintf("canary group %s in %s/%s failed: %s", c.GetGroupId(), c.GetLocation().GetAccountId(), c.GetLocation().GetRegion(), c.GetFailureMessage())
	case ro.GetState() == palisadev1.RolloutState_ROLLOUT_STATE_STOPPING:
		// Stopping for a reason decided earlier (kept across restarts).
		stop, stopState, reason = true, d.stopStateFromReason(), ro.GetStateReason()
	}
	if stop {
		return d.stop(ctx, stopState, reason)
	}

	if !d.rec.GetCanaryDone() && p.GetCanarySucceeded() == p.GetCanarySize() {
		d.rec.CanaryDone = true
		d.dirty = true
	}
	if d.control == palisadev1.RolloutControl_ACTION_PAUSE {
		d.setState(palisadev1.RolloutState_ROLLOUT_STATE_PAUSED, "paused by "+d.controlBy)
		return false, nil
	}
	if d.rec.GetCanaryDone() {
		d.setState(palisadev1.RolloutState_ROLLOUT_STATE_ROLLING, "")
	} else {
		d.setState(palisadev1.RolloutState_ROLLOUT_STATE_CANARY, "")
	}
	if p.GetWaiting() == 0 && p.GetQueued() == 0 && p.GetRunning() == 0 {
		final, why := palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED, ""
		if p.GetFailed() > 0 {
			final, why = palisadev1.RolloutState_ROLLOUT_STATE_FAILED, fmt.Sprintf("%d of %d groups failed", p.GetFailed(), p.GetTotalGroups())
		}
		return true, d.finish(ctx, final, why)
	}
	limit := int(strategy.GetMaxInFlight())
	if limit <= 0 {
		limit = defaultMaxInFlight
	}
	return false, d.start(ctx, rollout.Next(d.rec.GetChildren(), limit, !d.rec.GetCanaryDone()))
}

// stop ends the rollout early: groups not started never are, queued ones
// are cancelled, running ones finish first.
func (d *driver) stop(ctx context.Context, final palisadev1.RolloutState, reason string) (bool, error) {
	if d.rec.GetRollout().GetState() != palisadev1.RolloutState_ROLLOUT_STATE_STOPPING {
		d.log.InfoContext(ctx, "rollout stopping", "reason", reason)
	}
	d.setState(palisadev1.RolloutState_ROLLOUT_STATE_STOPPING, reason)
	d.rec.Rollout.StateReason = reason
	running := 0
	for _, c := range d.rec.GetChildren() {
		switch {
		case rollout.Waiting(c):
			c.State = palisadev1.OperationState_OPERATION_STATE_CANCELLED
			d.dirty = true
		case c.GetState() == palisadev1.OperationState_OPERATION_STATE_ACCEPTED:
			if err := d.cancelChild(ctx, c, reason); err != nil {
				return false, err
			}
			if rollout.InFlight(c) {
				running++
			}
		case rollout.InFlight(c):
			running++
		}
	}
	if running > 0 {
		return false, d.maybeWrite(ctx, true)
	}
	return true, d.finish(ctx, final, reason)
}

func (d *driver) stopStateFromReason() palisadev1.RolloutState {
	if d.control == palisadev1.RolloutControl_ACTION_CANCEL {
		return palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED
	}
	return palisadev1.RolloutState_ROLLOUT_STATE_FAILED
}

func (d *driver) canaryFailed() *palisadev1.RolloutChild {
	for _, c := range d.rec.GetChildren() {
		if c.GetCanary() && (c.GetState() == palisadev1.OperationState_OPERATION_STATE_FAILED ||
			c.GetState() == palisadev1.OperationState_OPERATION_STATE_CANCELLED) {
			return c
		}
	}
	return nil
}

func (d *driver) setState(s palisadev1.RolloutState, reason string) {
	ro := d.rec.GetRollout()
	if ro.GetState() != s || ro.GetStateReason() != reason {
		ro.State, ro.StateReason = s, reason
		d.dirty = true
	}
}

func (d *driver) progress() *palisadev1.RolloutProgress {
	now := time.Now()
	for len(d.finished) > 0 && now.Sub(d.finished[0]) > rateWindow {
		d.finished = d.finished[1:]
	}
	var rate float64
	if len(d.finished) > 1 {
		span := max(now.Sub(d.finished[0]), time.Second)
		rate = float64(len(d.finished)) / span.Seconds()
	}
	est := d.rec.GetRollout().GetPlan().GetEstimatedDuration().AsDuration()
	return rollout.Count(d.rec.GetChildren(), rate, est)
}

// finish records the end in the rollout record and then in its operation.
func (d *driver) finish(ctx context.Context, final palisadev1.RolloutState, reason string) error {
	d.setState(final, reason)
	d.rec.Rollout.EndTime = timestamppb.Now()
	if err := d.maybeWrite(ctx, true); err != nil {
		return err
	}
	metrics.RolloutEnded(final.String())
	d.log.InfoContext(ctx, "rollout ended", "state", final, "reason", reason)
	return d.ended(ctx)
}

// ended follows the rollout's end as recorded: it ends its operation and
// drops the rules read while planning, which nothing reads any more.
func (d *driver) ended(ctx context.Context) error {
	if err := d.endOperation(ctx); err != nil {
		return err
	}
	// Left behind, they only take space until the bucket's TTL.
	if err := d.r.store.DropPlan(ctx, d.id); err != nil && ctx.Err() == nil {
		d.log.WarnContext(ctx, "rollout plan not dropped", "error", err)
	}
	return nil
}

// maybeWrite stores the record when it changed, at most every writeEvery
// (longer for a large record: progressBytesPerSecond) unless now.
func (d *driver) maybeWrite(ctx context.Context, now bool) error {
	every := max(writeEvery, time.Duration(d.lastSize)*time.Second/progressBytesPerSecond)
	if !d.dirty || (!now && time.Since(d.lastWrite) < every) {
		return nil
	}
	return d.write(ctx)
}

// write stores the record with compare-and-set. Only the driver writes it
// after creation, so a conflict means a later delivery has taken over.
func (d *driver) write(ctx context.Context) error {
	ro := d.rec.GetRollout()
	ro.Progress = d.progress()
	ro.UpdateTime = timestamppb.Now()
	for {
		rev, err := d.r.store.Update(ctx, d.rec, d.rev)
		if errors.Is(err, rollout.ErrConflict) {
			cur, curRev, gerr := d.r.store.Get(ctx, d.id)
			if gerr != nil {
				return gerr
			}
			if cur.GetDriverDelivery() > d.delivery {
				return errClaimLost
			}
			d.rev = curRev
			continue
		}
		if err != nil {
			return err
		}
		d.rev, d.dirty, d.lastWrite, d.lastSize = rev, false, time.Now(), proto.Size(d.rec)
		return nil
	}
}

// load reads the record, creating it (and the rollout's operation record)
// from the command when the API stopped before writing them.
func (d *driver) load(ctx context.Context) error {
	if _, err := command.EnsureRecord(ctx, d.r.ops, d.cmd); err != nil {
		return err
	}
	for {
		rec, rev, err := d.r.store.Get(ctx, d.id)
		if errors.Is(err, rollout.ErrNotFound) {
			if _, err := d.r.store.Create(ctx, rollout.NewRecord(d.cmd)); err != nil && !errors.Is(err, rollout.ErrExists) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if rec.GetDriverDelivery() > d.delivery {
			return errClaimLost
		}
		d.rec, d.rev = rec, rev
		if c, err := d.r.store.Control(ctx, d.id); err != nil {
			return err
		} else if c != nil {
			d.control, d.controlBy = c.GetAction(), c.GetCaller()
		}
		return nil
	}
}

// startOperation marks the rollout's operation RUNNING.
func (d *driver) startOperation(ctx context.Context) error {
	_, err := d.r.ops.Transition(ctx, d.id, func(rec *palisadev1.OperationRecord) (string, error) {
		md := rec.GetMetadata()
		if md.GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
			return "", operations.ErrNoChange
		}
		md.State = palisadev1.OperationState_OPERATION_STATE_RUNNING
		md.Attempts = 1
		return "rollout started", nil
	})
	if err != nil && !errors.Is(err, operations.ErrEnded) {
		return err
	}
	return nil
}

// endOperation ends the rollout's operation as the record says it ended.
func (d *driver) endOperation(ctx context.Context) error {
	ro := proto.CloneOf(d.rec.GetRollout())
	rec, err := d.r.ops.Transition(ctx, d.id, func(rec *palisadev1.OperationRecord) (string, error) {
		md := rec.GetMetadata()
		rec.Rollout = ro
		switch ro.GetState() {
		case palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED:
			md.State = palisadev1.OperationState_OPERATION_STATE_SUCCEEDED
			rec.Result = &palisadev1.OperationResult{}
		case palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED:
			md.State = palisadev1.OperationState_OPERATION_STATE_CANCELLED
			rec.Error = status.New(codes.Canceled, ro.GetStateReason()).Proto()
		default:
			md.State = palisadev1.OperationState_OPERATION_STATE_FAILED
			rec.Error = status.New(codes.Aborted, ro.GetStateReason()).Proto()
		}
		return ro.GetStateReason(), nil
	})
	if err == nil {
		metrics.OperationEnded(rec.GetMetadata())
	}
	if err != nil && !errors.Is(err, operations.ErrEnded) {
		return err
	}
	return nil
}

// eventInbox keeps the latest event of each child heard since the driver
// last looked. A rollout's children announce three events each, far
// faster than the driver takes them while it starts a thousand children;
// kept by child, none is dropped and memory stays bounded by the
// children in flight.
type eventInbox struct {
	mu     sync.Mutex
	latest map[string]*palisadev1.OperationEvent
	ready  chan struct{} // holds a token while latest is not empty
}

func newEventInbox() *eventInbox {
	return &eventInbox{latest: map[string]*palisadev1.OperationEvent{}, ready: make(chan struct{}, 1)}
}

// put keeps ev unless a later event of its operation is already kept.
func (in *eventInbox) put(ev *palisadev1.OperationEvent) {
	in.mu.Lock()
	if old := in.latest[ev.GetOperationId()]; old == nil || old.GetSequence() < ev.GetSequence() {
		in.latest[ev.GetOperationId()] = ev
	}
	in.mu.Unlock()
	select {
	case in.ready <- struct{}{}:
	default:
	}
}

// take returns the events kept and forgets them.
func (in *eventInbox) take() []*palisadev1.OperationEvent {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]*palisadev1.OperationEvent, 0, len(in.latest))
	for _, ev := range in.latest {
		out = append(out, ev)
	}
	clear(in.latest)
	return out
}
