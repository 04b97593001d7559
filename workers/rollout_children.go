package workers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
)

// publishers bounds the children started concurrently by one driver: a
// start costs four JetStream round trips one after another (a position in
// the index, its entry, the record, the command), and a thousand children
// at a time keep a fleet's workers busy.
const publishers = 64

// resolve reads every target from EC2 (accounts and regions in parallel,
// under the shared rate budget), plans the rollout and records the plan.
func (d *driver) resolve(ctx context.Context) error {
	d.setState(palisadev1.RolloutState_ROLLOUT_STATE_RESOLVING, "")
	if err := d.write(ctx); err != nil {
		return err
	}
	change, v := rollout.ExpandChange("change", d.req.GetChange())
	if len(v) > 0 {
		return d.finish(ctx, palisadev1.RolloutState_ROLLOUT_STATE_FAILED, "invalid change: "+v.Error())
	}
	targets := d.req.GetTargets()
	located, errs := rollout.ResolveAll(ctx, targets, d.resolveTarget)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i, err := range errs {
		if err != nil {
			loc := targets[i].GetLocation()
			return d.finish(ctx, palisadev1.RolloutState_ROLLOUT_STATE_FAILED,
				fmt.Sprintf("targets[%d] (%s/%s) could not be read, nothing was changed: %v", i, loc.GetAccountId(), loc.GetRegion(), err))
		}
	}
	changeOf := func(*palisadev1.Location, string) rollout.Change { return change }
	if len(d.req.GetGroupChanges()) > 0 {
		changeOf = rollout.ExpandedChangeOf(d.req) // a rollback: each group its own
	}
	plan, children, read := rollout.PlanEach(d.id, changeOf, located, int(d.req.GetStrategy().GetCanarySize()), false)
	if len(children) == 0 {
		return d.finish(ctx, palisadev1.RolloutState_ROLLOUT_STATE_FAILED, "the targets matched no security group")
	}
	// The rules read go under keys of their own, stored before the record
	// names them: a delivery resuming from the record finds them all.
	parts := rollout.Parts(read, rollout.MaxPartBytes)
	if err := d.r.store.PutPlan(ctx, d.id, d.delivery, parts); err != nil {
		return err
	}
	d.observed = make(map[string]*palisadev1.GroupRules, len(read))
	for _, g := range read {
		d.observed[g.GetOperationId()] = g
	}
	d.rec.Rollout.Plan = plan
	d.rec.Children = children
	d.rec.Resolved = true
	d.rec.PlanDelivery, d.rec.PlanParts = d.delivery, int32(len(parts))
	d.dirty = true
	return d.write(ctx)
}

// loadPlan reads back the rules an earlier delivery read while resolving,
// for the groups not started yet (the others' commands carry them).
func (d *driver) loadPlan(ctx context.Context) error {
	d.observed = map[string]*palisadev1.GroupRules{}
	if !slices.ContainsFunc(d.rec.GetChildren(), rollout.Waiting) {
		return nil
	}
	for n := range int(d.rec.GetPlanParts()) {
		part, err := d.r.store.PlanPart(ctx, d.id, d.rec.GetPlanDelivery(), n)
		if errors.Is(err, rollout.ErrNotFound) {
			// Not fatal: the first attempt of these groups' children reads
			// the group itself, as every later attempt does.
			d.log.WarnContext(ctx, "rollout plan part missing; its groups will be read again", "part", n)
			continue
		}
		if err != nil {
			return err
		}
		for _, g := range part.GetGroups() {
			d.observed[g.GetOperationId()] = g
		}
	}
	return nil
}

// resolveTarget reads one target, retrying what EC2 says may be retried.
func (d *driver) resolveTarget(ctx context.Context, t *palisadev1.RolloutTarget) (rollout.Located, error) {
	loc := t.GetLocation()
	client := d.r.opts.EC2.Client(loc.GetAccountId(), loc.GetRegion())
	for attempt := 1; ; attempt++ {
		res, err := rollout.Resolve(ctx, client, d.r.opts.Budget.Wait, t, rollout.AddedLists(d.req))
		if err == nil {
			return rollout.Located{Location: loc, Resolution: res}, nil
		}
		e := classify(err)
		if e.class == ec2errors.Terminal || attempt >= d.r.opts.MaxAttempts || ctx.Err() != nil {
			return rollout.Located{}, e
		}
		sleepCtx(ctx, backoff(attempt, d.r.opts.BackoffBase, d.r.opts.BackoffMax))
	}
}

func (d *driver) index() {
	d.byID = make(map[string]*palisadev1.RolloutChild, len(d.rec.GetChildren()))
	for _, c := range d.rec.GetChildren() {
		d.byID[c.GetOperationId()] = c
	}
}

// changeOf is a group's change: the rollout's, or the group's own in a
// rollout that gives each group its own (a rollback).
func (d *driver) changeOf(loc *palisadev1.Location, groupID string) *palisadev1.RuleChange {
	return d.ownChange(loc, groupID)
}

// childCommand is the command of one child operation.
func (d *driver) childCommand(c *palisadev1.RolloutChild) (*palisadev1.Command, error) {
	apply := &palisadev1.ApplyRuleChange{
		Location: c.GetLocation(), GroupId: c.GetGroupId(), Change: d.changeOf(c.GetLocation(), c.GetGroupId()),
		Rollout: d.rec.GetRollout().GetName(),
	}
	switch g := d.observed[c.GetOperationId()]; {
	case c.GetFailureCode() != "":
	case g != nil:
		apply.ObservedIngress, apply.ObservedEgress, apply.Observed = g.GetIngress(), g.GetEgress(), true
	case d.rec.GetPlanParts() == 0:
		// A record written before the rules moved out of it keeps them on
		// the child.
		apply.ObservedIngress, apply.ObservedEgress, apply.Observed = c.GetObservedIngress(), c.GetObservedEgress(), true //nolint:staticcheck // reading records of that older shape is why the fields remain
	default:
		// Its rules are lost: the child reads the group on its first attempt.
	}
	h, err := command.RequestHash(apply)
	if err != nil {
		return nil, err
	}
	return &palisadev1.Command{
		OperationId: c.GetOperationId(),
		Caller:      d.cmd.GetCaller(),
		RequestHash: h,
		AcceptTime:  timestamppb.Now(),
		Request:     &palisadev1.Command_ApplyRuleChange{ApplyRuleChange: apply},
	}, nil
}

// recordPlanFailures gives every group that failed while planning (no
// quota headroom, not found) its child operation, FAILED with the reason
// and never queued, and lists it among the rollout's failures.
func (d *driver) recordPlanFailures(ctx context.Context) error {
	for _, c := range d.rec.GetChildren() {
		if c.GetFailureCode() == "" {
			continue
		}
		cmd, err := d.childCommand(c)
		if err != nil {
			return err
		}
		if _, err := command.EnsureRecord(ctx, d.r.ops, cmd); err != nil {
			return err
		}
		code := codes.FailedPrecondition
		switch c.GetFailureCode() {
		case rollout.CodeQuota:
			code = codes.ResourceExhausted
		case rollout.CodeNotFound:
			code = codes.NotFound
		}
		_, err = d.r.ops.Transition(ctx, c.GetOperationId(), func(rec *palisadev1.OperationRecord) (string, error) {
			rec.Metadata.State = palisadev1.OperationState_OPERATION_STATE_FAILED
			st := status.New(code, c.GetFailureMessage())
			if withInfo, err := st.WithDetails(&errdetails.ErrorInfo{Reason: c.GetFailureCode(), Domain: command.ErrorDomain}); err == nil {
				st = withInfo
			}
			rec.Error = st.Proto()
			return c.GetFailureMessage(), nil
		})
		if err != nil && !errors.Is(err, operations.ErrEnded) {
			return err
		}
		d.addFailure(c, operations.Name(c.GetOperationId()))
	}
	return d.maybeWrite(ctx, true)
}

// start queues children: the command on the group's own subject (message
// id = the child's id), then its record, as every command is submitted. A
// child whose record exists was queued by an earlier delivery that died
// before noting it; it is adopted.
func (d *driver) start(ctx context.Context, next []*palisadev1.RolloutChild) error {
	if len(next) == 0 {
		return nil
	}
	states := make([]*palisadev1.OperationRecord, len(next))
	if err := eachChild(next, func(i int, c *palisadev1.RolloutChild) (err error) {
		states[i], err = d.startChild(ctx, c)
		return err
	}); err != nil {
		return err
	}
	for i, c := range next {
		d.note(c, states[i].GetMetadata().GetState(), states[i].GetError())
		delete(d.observed, c.GetOperationId()) // its command carries them now
	}
	return d.maybeWrite(ctx, true)
}

// requeue stores again the commands of the children whose records say
// they are queued: a driver before this one may have stopped between a
// child's record and its command (see command.Submitter.WriteRecordFirst).
// A command stored before is not stored twice, or, stored long before,
// its copy is dropped by its worker.
func (d *driver) requeue(ctx context.Context) error {
	var queued []*palisadev1.RolloutChild
	for _, c := range d.rec.GetChildren() {
		if c.GetState() == palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
			queued = append(queued, c)
		}
	}
	return eachChild(queued, func(_ int, c *palisadev1.RolloutChild) error {
		cmd, err := d.childCommand(c)
		if err != nil {
			return err
		}
		return d.r.submitter.Requeue(ctx, cmd)
	})
}

// eachChild runs f for every child, publishers at a time, and returns the
// first error in the children's order.
func eachChild(children []*palisadev1.RolloutChild, f func(int, *palisadev1.RolloutChild) error) error {
	errs := make([]error, len(children))
	sem := make(chan struct{}, publishers)
	var wg sync.WaitGroup
	for i, c := range children {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(i, c)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *driver) startChild(ctx context.Context, c *palisadev1.RolloutChild) (*palisadev1.OperationRecord, error) {
	cmd, err := d.childCommand(c)
	if err != nil {
		return nil, err
	}
	return d.r.submitter.Submit(ctx, cmd, nil)
}

// cancelChild cancels a queued child unless a worker has started it.
func (d *driver) cancelChild(ctx context.Context, c *palisadev1.RolloutChild, reason string) error {
	rec, err := d.r.ops.Transition(ctx, c.GetOperationId(), func(rec *palisadev1.OperationRecord) (string, error) {
		md := rec.GetMetadata()
		if md.GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
			return "", operations.ErrNoChange
		}
		md.State = palisadev1.OperationState_OPERATION_STATE_CANCELLED
		rec.Error = status.New(codes.Canceled, "rollout stopped before this group started: "+reason).Proto()
		return "rollout stopped: " + reason, nil
	})
	if err != nil && !errors.Is(err, operations.ErrEnded) {
		return err
	}
	d.note(c, rec.GetMetadata().GetState(), rec.GetError())
	return nil
}

// apply takes a child's event into account.
func (d *driver) apply(ev *palisadev1.OperationEvent) {
	if c := d.byID[ev.GetOperationId()]; c != nil {
		d.note(c, ev.GetState(), ev.GetError())
	}
}

// refresh re-reads children in flight: all of them (at start, after a
// restart) or those an event may have been missed for: the ones not heard
// of for pollEvery. A child that moves is heard of by its events, so the
// poll reads the few that fell silent, not every child in flight (a
// thousand reads every pollEvery in a large rollout).
func (d *driver) refresh(ctx context.Context, all bool) error {
	now := time.Now()
	for _, c := range d.rec.GetChildren() {
		if !rollout.InFlight(c) && !(all && rollout.Waiting(c)) {
			continue
		}
		if heard, ok := d.heard[c.GetOperationId()]; !all && ok && now.Sub(heard) < pollEvery {
			continue
		}
		d.heard[c.GetOperationId()] = now
		rec, _, err := d.r.ops.Get(ctx, c.GetOperationId())
		if errors.Is(err, operations.ErrNotFound) {
			continue // not queued yet
		}
		if err != nil {
			return err
		}
		d.note(c, rec.GetMetadata().GetState(), rec.GetError())
	}
	return nil
}

// note records a child's state; a child's state only moves forward, so a
// late or repeated event changes nothing.
func (d *driver) note(c *palisadev1.RolloutChild, st palisadev1.OperationState, e *spb.Status) {
	if st == palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED || st == c.GetState() || operations.Terminal(c.GetState()) {
		return
	}
	if rollout.InFlight(c) && st == palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
		return
	}
	c.State = st
	d.dirty = true
	if !operations.Terminal(st) {
		d.heard[c.GetOperationId()] = time.Now()
		return
	}
	delete(d.heard, c.GetOperationId())
	d.finished = append(d.finished, time.Now())
	metrics.RolloutChildEnded(st.String())
	if st == palisadev1.OperationState_OPERATION_STATE_FAILED {
		c.FailureCode, c.FailureMessage = reasonOf(e), e.GetMessage()
		d.addFailure(c, operations.Name(c.GetOperationId()))
	}
	if st == palisadev1.OperationState_OPERATION_STATE_CANCELLED {
		c.FailureMessage = e.GetMessage()
	}
}

// addFailure lists a failed group on the rollout, once.
func (d *driver) addFailure(c *palisadev1.RolloutChild, operation string) {
	ro := d.rec.GetRollout()
	for _, f := range ro.GetFailures() {
		if f.GetGroupId() == c.GetGroupId() && proto.Equal(f.GetLocation(), c.GetLocation()) {
			return
		}
	}
	ro.Failures = append(ro.Failures, &palisadev1.RolloutFailure{
		Location: c.GetLocation(), GroupId: c.GetGroupId(), Operation: operation,
		Code: c.GetFailureCode(), Message: c.GetFailureMessage(), Time: timestamppb.Now(),
	})
	d.dirty = true
}

// reasonOf is the ErrorInfo reason of a status (EC2's code or Palisade's),
// or its gRPC code.
func reasonOf(st *spb.Status) string {
	for _, det := range status.FromProto(st).Details() {
		if ei, ok := det.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return codes.Code(st.GetCode()).String()
}

// backoff is full-jitter exponential: random in [0, min(max, base·2^n)).
func backoff(attempt int, base, ceiling time.Duration) time.Duration {
	d := base << min(attempt, 20)
	if d <= 0 || d > ceiling {
		d = ceiling
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}
