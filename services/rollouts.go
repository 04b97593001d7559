package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// rollouts implements RolloutService. A rollout is accepted like any
// other operation (validate, store the command, write the records) but
// its command goes to the rollout stream, where one worker at a time
// drives it.
type rollouts struct {
	palisadev1.UnimplementedRolloutServiceServer
	acceptor
	reader
	store    *rollout.Store
	ops      *operations.Store // child operations' records, for a rollback
	watches  *watchLimit
	searches *watchLimit // remediations' searches
}

func (s *rollouts) StartRollout(ctx context.Context, r *palisadev1.StartRolloutRequest) (*longrunningpb.Operation, error) {
	if err := refuseDerivedFields(r); err != nil {
		return nil, err
	}
	if r.GetRemediation() != nil {
		return s.startRemediation(ctx, r)
	}
	if v := validate.StartRollout(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	return s.start(ctx, r, r, nil)
}

// start decides, and stores or plans, the rollout r. asked is the request
// as the caller sent it, which its request_id stands for: r itself, or
// the remediation or rollback r was derived from. annotate, when set, adds
// to each group's plan what the derivation knows (losses, gains).
func (s *rollouts) start(ctx context.Context, asked proto.Message, r *palisadev1.StartRolloutRequest, annotate func(*palisadev1.Location, *palisadev1.GroupPlan)) (*longrunningpb.Operation, error) {
	cmd, err := s.command(ctx, asked, r.GetRequestId(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_StartRollout{StartRollout: r}
	})
	if err != nil {
		return nil, err
	}
	cmd.OperationId = command.OperationID(cmd.GetCaller(), cmd.GetRequestId())
	if err := s.guard.allow(ctx, r, about{operation: cmd.GetOperationId(), requestID: r.GetRequestId(), hash: cmd.GetRequestHash(), validateOnly: r.GetValidateOnly()}); err != nil {
		return nil, err
	}
	if r.GetValidateOnly() {
		return s.plan(ctx, cmd, annotate)
	}
	ctx = logging.With(ctx, logging.RequestID, r.GetRequestId())
	// Once the command is stored, the rollout's record goes before the
	// operation's, so a caller who hears of the rollout finds it; the
	// driver writes it itself if this process stops first.
	return s.submit(ctx, cmd, func(ctx context.Context) {
		if _, err := s.store.Create(ctx, rollout.NewRecord(cmd)); err != nil && !errors.Is(err, rollout.ErrExists) {
			s.acceptor.log.WarnContext(ctx, "accepted, rollout record not written", logging.RolloutID, cmd.GetOperationId(), "error", err)
		}
	})
}

// plan answers validate_only: it reads the targets from EC2 and returns,
// as the response of a finished, unnamed operation, the Rollout that would
// run with its plan.
func (s *rollouts) plan(ctx context.Context, cmd *palisadev1.Command, annotate func(*palisadev1.Location, *palisadev1.GroupPlan)) (*longrunningpb.Operation, error) {
	r := cmd.GetStartRollout()
	change, _ := rollout.ExpandChange("change", r.GetChange()) // validated
	located, errs := rollout.ResolveAll(ctx, r.GetTargets(), func(ctx context.Context, t *palisadev1.RolloutTarget) (rollout.Located, error) {
		loc := t.GetLocation()
		res, err := rollout.Resolve(ctx, s.reader.ec2.Client(loc.GetAccountId(), loc.GetRegion()), s.reader.pace, t, rollout.AddedLists(r))
		return rollout.Located{Location: loc, Resolution: res}, err
	})
	for _, err := range errs {
		if err != nil {
			return nil, s.reader.ec2Status(ctx, err)
		}
	}
	changeOf := func(*palisadev1.Location, string) rollout.Change { return change }
	if len(r.GetGroupChanges()) > 0 {
		changeOf = rollout.ExpandedChangeOf(r) // a rollback: each group its own
	}
	plan, children, _ := rollout.PlanEach("validate-only", changeOf, located, int(r.GetStrategy().GetCanarySize()), true)
	ro := rollout.NewRecord(cmd).GetRollout()
	ro.Name, ro.Operation, ro.State = "", "", palisadev1.RolloutState_ROLLOUT_STATE_UNSPECIFIED
	ro.Plan = plan
	for _, lp := range plan.GetLocations() {
		for _, gp := range lp.GetGroupPlans() {
			if annotate != nil {
				annotate(lp.GetLocation(), gp)
			}
		}
	}
	ro.Progress = rollout.Count(children, 0, plan.GetEstimatedDuration().AsDuration())
	for _, c := range children {
		if c.GetFailureCode() != "" {
			ro.Failures = append(ro.Failures, &palisadev1.RolloutFailure{
				Location: c.GetLocation(), GroupId: c.GetGroupId(), Code: c.GetFailureCode(), Message: c.GetFailureMessage(),
			})
		}
	}
	md, err := anypb.New(&palisadev1.OperationMetadata{
		Kind: palisadev1.OperationKind_OPERATION_KIND_ROLLOUT, Caller: cmd.GetCaller(), CreateTime: cmd.GetAcceptTime(),
	})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "render plan: %v", err)
	}
	res, err := anypb.New(ro)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "render plan: %v", err)
	}
	return &longrunningpb.Operation{Metadata: md, Done: true, Result: &longrunningpb.Operation_Response{Response: res}}, nil
}

// lookup finds a rollout by name for the calling identity; another
// caller's rollout is reported as not found.
func (s *rollouts) lookup(ctx context.Context, name string) (*palisadev1.RolloutRecord, error) {
	id, ok := operations.RolloutIDFromName(name)
	if !ok {
		return nil, invalidArgument(rules.Violations{{Field: "name", Description: fmt.Sprintf("%s is not a rollout name; expected rollouts/<id>, the id 32 lower-case hex digits", quoteName(name))}})
	}
	rec, _, err := s.store.Get(ctx, id)
	if err == nil && rec.GetRollout().GetCaller() != CallerFrom(ctx) {
		switch all, aerr := s.guard.mayReadAll(ctx); {
		case aerr != nil:
			return nil, aerr
		case !all:
			err = rollout.ErrNotFound
		}
	}
	if errors.Is(err, rollout.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "rollout %s not found", name)
	}
	if err != nil {
		s.acceptor.log.WarnContext(ctx, "rollout lookup failed", logging.RolloutID, id, "error", err)
		return nil, status.Error(codes.Unavailable, "the rollout store is unavailable; retry")
	}
	return rec, nil
}

func (s *rollouts) GetRollout(ctx context.Context, r *palisadev1.GetRolloutRequest) (*palisadev1.Rollout, error) {
	rec, err := s.lookup(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	return rec.GetRollout(), nil
}

func (s *rollouts) ListRollouts(ctx context.Context, r *palisadev1.ListRolloutsRequest) (*palisadev1.ListRolloutsResponse, error) {
	size := int(r.GetPageSize())
	switch {
	case size == 0:
		size = 50
	case size < 0 || size > 1000:
		return nil, invalidArgument(rules.Violations{{Field: "page_size", Description: "page_size must be between 1 and 1000, or 0 for 50"}})
	}
	caller := CallerFrom(ctx)
	all, err := s.guard.mayReadAll(ctx)
	if err != nil {
		return nil, err
	}
	of := caller
	if all {
		of = ""
	}
	recs, next, err := s.store.List(ctx, of, size, r.GetPageToken(), nil)
	if errors.Is(err, bus.ErrBadToken) {
		return nil, invalidArgument(rules.Violations{{Field: "page_token", Description: err.Error()}})
	}
	if err != nil {
		s.acceptor.log.WarnContext(ctx, "list rollouts failed", "error", err)
		return nil, status.Error(codes.Unavailable, "the rollout store is unavailable; retry")
	}
	resp := &palisadev1.ListRolloutsResponse{NextPageToken: next}
	for _, rec := range recs {
		resp.Rollouts = append(resp.Rollouts, rec.GetRollout())
	}
	return resp, nil
}

// rolloutWatchCheck is how often a watch reads the rollout itself when
// its watcher has been silent. A NATS node that dies takes the consumers
// it led with it, the watcher's among them, and nothing reports that
// until missed heartbeats make the watcher start again (or never, while
// the cluster elects new leaders): the watch then still sees every
// change within this long, at the cost of one read per quiet period.
const rolloutWatchCheck = 2 * time.Second

// WatchRollout sends the rollout as it is, then every change, until it
// ends; each response lists the failures new since the previous one.
func (s *rollouts) WatchRollout(r *palisadev1.WatchRolloutRequest, stream grpc.ServerStreamingServer[palisadev1.WatchRolloutResponse]) error {
	ctx := stream.Context()
	rec, err := s.lookup(ctx, r.GetName())
	if err != nil {
		return err
	}
	release, err := s.watches.acquire(CallerFrom(ctx))
	if err != nil {
		return err
	}
	defer release()
	w, err := s.store.Watch(ctx, rec.GetId())
	if err != nil {
		return status.Error(codes.Unavailable, "the rollout store is unavailable; watch again")
	}
	defer func() { _ = w.Stop() }()
	id := rec.GetId()
	var sentRev uint64
	sentFailures := 0
	// send answers with rec unless an answer as new was sent already; it
	// reports whether the rollout has ended.
	send := func(rec *palisadev1.RolloutRecord, rev uint64) (bool, error) {
		if rev <= sentRev {
			return false, nil
		}
		sentRev = rev
		ro := rec.GetRollout()
		resp := &palisadev1.WatchRolloutResponse{Rollout: ro}
		if f := ro.GetFailures(); len(f) > sentFailures {
			resp.NewFailures = f[sentFailures:]
			sentFailures = len(f)
		}
		if err := stream.Send(resp); err != nil {
			return false, err
		}
		return rollout.Terminal(ro.GetState()), nil
	}
	check := time.NewTimer(rolloutWatchCheck)
	defer check.Stop()
	for {
		var (
			ended bool
			err   error
		)
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case e, ok := <-w.Updates():
			if !ok {
				return status.Error(codes.Unavailable, "the rollout store went away; watch again")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // the "caught up" marker
			}
			rec, derr := rollout.Decode(e)
			if derr != nil {
				return status.Errorf(codes.Internal, "read rollout: %v", derr)
			}
			ended, err = send(rec, e.Revision())
		case <-check.C:
			rec, rev, gerr := s.store.Get(ctx, id)
			if gerr != nil {
				// The store is away too: the watcher may yet come back,
				// and the caller's deadline bounds the wait.
				s.acceptor.log.DebugContext(ctx, "rollout watch check failed", logging.RolloutID, id, "error", gerr)
				break
			}
			ended, err = send(rec, rev)
		}
		if err != nil || ended {
			return err
		}
		if !check.Stop() {
			select {
			case <-check.C:
			default:
			}
		}
		check.Reset(rolloutWatchCheck)
	}
}

func (s *rollouts) PauseRollout(ctx context.Context, r *palisadev1.PauseRolloutRequest) (*palisadev1.Rollout, error) {
	return s.control(ctx, r.GetName(), palisadev1.RolloutControl_ACTION_PAUSE)
}

func (s *rollouts) ResumeRollout(ctx context.Context, r *palisadev1.ResumeRolloutRequest) (*palisadev1.Rollout, error) {
	return s.control(ctx, r.GetName(), palisadev1.RolloutControl_ACTION_RUN)
}

func (s *rollouts) CancelRollout(ctx context.Context, r *palisadev1.CancelRolloutRequest) (*palisadev1.Rollout, error) {
	return s.control(ctx, r.GetName(), palisadev1.RolloutControl_ACTION_CANCEL)
}

// control records what the caller asks; the driver acts on it. The answer
// is the rollout as it is now: the change shows in its state shortly.
func (s *rollouts) control(ctx context.Context, name string, action palisadev1.RolloutControl_Action) (*palisadev1.Rollout, error) {
	rec, err := s.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if st := rec.GetRollout().GetState(); rollout.Terminal(st) {
		return nil, rolloutPrecondition(name, fmt.Sprintf("rollout %s has ended (%s)", name, st), "ROLLOUT_ENDED")
	}
	got, err := s.store.SetControl(ctx, rec.GetId(), &palisadev1.RolloutControl{Action: action, Caller: CallerFrom(ctx), Time: timestamppb.New(s.now())})
	if err != nil {
		s.acceptor.log.WarnContext(ctx, "rollout control failed", logging.RolloutID, rec.GetId(), "error", err)
		return nil, status.Error(codes.Unavailable, "the rollout store is unavailable; retry")
	}
	if got.GetAction() != action {
		return nil, rolloutPrecondition(name, fmt.Sprintf("rollout %s is being cancelled", name), "ROLLOUT_CANCELLED")
	}
	return rec.GetRollout(), nil
}

func rolloutPrecondition(name, msg, kind string) error {
	st := status.New(codes.FailedPrecondition, msg)
	if d, err := st.WithDetails(&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
		Type: kind, Subject: name, Description: msg,
	}}}); err == nil {
		st = d
	}
	return st.Err()
}
