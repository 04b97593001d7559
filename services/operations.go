package services

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/rules"
)

// maxWait caps WaitOperation, so a forgotten client does not hold a stream
// open for ever.
const maxWait = 10 * time.Minute

// operationsServer implements google.longrunning.Operations and
// OperationEventService.
type operationsServer struct {
	longrunningpb.UnimplementedOperationsServer
	palisadev1.UnimplementedOperationEventServiceServer
	store   *operations.Store
	guard   *guard
	log     *slog.Logger
	watches *watchLimit
}

// lookup finds an operation by name for the calling identity. Another
// caller's operation is reported as not found, so ids leak nothing.
func (s *operationsServer) lookup(ctx context.Context, name string) (*palisadev1.OperationRecord, error) {
	id, ok := operations.IDFromName(name)
	if !ok {
		return nil, invalidArgument(rules.Violations{{Field: "name", Description: fmt.Sprintf("%s is not an operation name; expected operations/<id>, the id 32 lower-case hex digits", quoteName(name))}})
	}
	rec, _, err := s.store.Get(ctx, id)
	if err == nil && rec.GetMetadata().GetCaller() != CallerFrom(ctx) {
		switch all, aerr := s.guard.mayReadAll(ctx); {
		case aerr != nil:
			return nil, aerr
		case !all:
			err = operations.ErrNotFound
		}
	}
	if errors.Is(err, operations.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "operation %s not found", name)
	}
	if err != nil {
		return nil, s.storeError(ctx, "operation lookup failed", err)
	}
	return rec, nil
}

// storeError answers for an error of the operation store. A corrupt
// record is DATA_LOSS, named only to callers who may read every
// operation (whose it is cannot be read from it); anything else is the
// store being away.
func (s *operationsServer) storeError(ctx context.Context, what string, err error) error {
	var corrupt *operations.CorruptError
	if errors.As(err, &corrupt) {
		s.log.ErrorContext(ctx, what+": corrupt operation record", logging.OperationID, corrupt.ID, "error", err)
		if all, aerr := s.guard.mayReadAll(ctx); aerr == nil && all {
			return status.Errorf(codes.DataLoss, "operation record %s is corrupt; it is not served", operations.Name(corrupt.ID))
		}
		return status.Error(codes.DataLoss, "an operation record is corrupt; it is not served")
	}
	s.log.WarnContext(ctx, what, "error", err)
	return status.Error(codes.Unavailable, "the operation store is unavailable; retry")
}

func (s *operationsServer) GetOperation(ctx context.Context, r *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	rec, err := s.lookup(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	return toOperation(rec)
}

func (s *operationsServer) ListOperations(ctx context.Context, r *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	match, q, err := parseFilter(r.GetFilter())
	if err != nil {
		return nil, err
	}
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
	q.Caller = caller
	if all {
		q.Caller = ""
	}
	recs, next, err := s.store.List(ctx, q, size, r.GetPageToken(), func(rec *palisadev1.OperationRecord) bool {
		return (all || rec.GetMetadata().GetCaller() == caller) && match(rec.GetMetadata())
	})
	if errors.Is(err, bus.ErrBadToken) {
		return nil, invalidArgument(rules.Violations{{Field: "page_token", Description: err.Error()}})
	}
	if err != nil {
		return nil, s.storeError(ctx, "list operations failed", err)
	}
	resp := &longrunningpb.ListOperationsResponse{NextPageToken: next}
	for _, rec := range recs {
		op, err := toOperation(rec)
		if err != nil {
			return nil, err
		}
		resp.Operations = append(resp.Operations, op)
	}
	return resp, nil
}

// parseFilter understands the AIP-160 subset operators need:
// `field=value` terms joined by AND, over state, kind, account_id, region
// and group_id. State and kind take their enum names with or without the
// prefix (state=FAILED, state=OPERATION_STATE_FAILED). Besides the match,
// it returns the terms of the index's query, which picks the list to read
// by state and group (the first of each field; two different values of
// one field match nothing anyway).
func parseFilter(f string) (func(*palisadev1.OperationMetadata) bool, operations.Query, error) {
	type term struct{ field, value string }
	var terms []term
	var q operations.Query
	if strings.TrimSpace(f) != "" {
		for _, part := range strings.Split(f, " AND ") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
			if !ok || k == "" || v == "" {
				return nil, q, invalidArgument(rules.Violations{{Field: "filter", Description: fmt.Sprintf("cannot read %q; write field=value terms joined by AND", part)}})
			}
			switch k {
			case "state":
				st, ok := palisadev1.OperationState_value[enumName("OPERATION_STATE_", v)]
				if !ok {
					return nil, q, invalidArgument(rules.Violations{{Field: "filter", Description: fmt.Sprintf("unknown state %q", v)}})
				}
				if q.State == palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED {
					q.State = palisadev1.OperationState(st)
				}
			case "kind":
				if _, ok := palisadev1.OperationKind_value[enumName("OPERATION_KIND_", v)]; !ok {
					return nil, q, invalidArgument(rules.Violations{{Field: "filter", Description: fmt.Sprintf("unknown kind %q", v)}})
				}
			case "account_id":
				q.AccountID = cmp.Or(q.AccountID, v)
			case "group_id":
				q.GroupID = cmp.Or(q.GroupID, v)
			case "region":
			default:
				return nil, q, invalidArgument(rules.Violations{{Field: "filter", Description: fmt.Sprintf("cannot filter on %q; use state, kind, account_id, region or group_id", k)}})
			}
			terms = append(terms, term{k, v})
		}
	}
	return func(md *palisadev1.OperationMetadata) bool {
		for _, t := range terms {
			var got string
			switch t.field {
			case "state":
				got, t.value = md.GetState().String(), enumName("OPERATION_STATE_", t.value)
			case "kind":
				got, t.value = md.GetKind().String(), enumName("OPERATION_KIND_", t.value)
			case "account_id":
				got = md.GetAccountId()
			case "region":
				got = md.GetRegion()
			case "group_id":
				got = md.GetGroupId()
			}
			if got != t.value {
				return false
			}
		}
		return true
	}, q, nil
}

func enumName(prefix, v string) string {
	v = strings.ToUpper(v)
	if strings.HasPrefix(v, prefix) {
		return v
	}
	return prefix + v
}

func (s *operationsServer) DeleteOperation(context.Context, *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "operations are kept for the retention period and cannot be deleted")
}

// CancelOperation cancels an operation no worker has started. A started
// operation cannot be cancelled: its EC2 calls may already have landed.
func (s *operationsServer) CancelOperation(ctx context.Context, r *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	rec, err := s.lookup(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	md := rec.GetMetadata()
	if err := s.guard.decide(ctx, []policy.Check{{Caller: CallerFrom(ctx), Action: policy.CancelOperation, Group: &policy.Group{
		AccountID: md.GetAccountId(), Region: md.GetRegion(), GroupID: md.GetGroupId(),
	}}}, about{operation: rec.GetId()}); err != nil {
		return nil, err
	}
	var refused palisadev1.OperationState
	latest, err := s.store.Transition(ctx, rec.GetId(), func(rec *palisadev1.OperationRecord) (string, error) {
		md := rec.GetMetadata()
		if md.GetState() == palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
			md.State = palisadev1.OperationState_OPERATION_STATE_CANCELLED
			rec.Error = status.New(codes.Canceled, "cancelled by "+CallerFrom(ctx)+" before it started").Proto()
			return "cancelled by " + CallerFrom(ctx), nil
		}
		refused = md.GetState()
		return "", errNotCancellable
	})
	if err == nil {
		metrics.OperationEnded(latest.GetMetadata())
	}
	if errors.Is(err, operations.ErrEnded) {
		// Cancelling a cancelled operation again is a no-op.
		if refused = latest.GetMetadata().GetState(); refused == palisadev1.OperationState_OPERATION_STATE_CANCELLED {
			err = nil
		} else {
			err = errNotCancellable
		}
	}
	switch {
	case errors.Is(err, errNotCancellable):
		st := status.New(codes.FailedPrecondition, fmt.Sprintf("operation %s is %s; only an operation that has not started can be cancelled", r.GetName(), refused))
		if d, e := st.WithDetails(&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: "OPERATION_STATE", Subject: r.GetName(), Description: "operation already started",
		}}}); e == nil {
			st = d
		}
		return nil, st.Err()
	case err != nil:
		return nil, s.storeError(ctx, "cancel failed", err)
	}
	return &emptypb.Empty{}, nil
}

var errNotCancellable = errors.New("operation not cancellable")

// WaitOperation returns once the operation is done or the timeout passes
// (default and cap: ten minutes), with the operation as it then is.
func (s *operationsServer) WaitOperation(ctx context.Context, r *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	rec, err := s.lookup(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	release, err := s.watches.acquire(CallerFrom(ctx))
	if err != nil {
		return nil, err
	}
	defer release()
	wait := maxWait
	if t := r.GetTimeout(); t != nil && t.AsDuration() > 0 && t.AsDuration() < wait {
		wait = t.AsDuration()
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err = s.store.Watch(wctx, rec.GetId(), func(*palisadev1.OperationEvent) error { return nil })
	if err != nil && ctx.Err() != nil {
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if errors.Is(err, operations.ErrCorrupt) {
		return nil, s.storeError(ctx, "wait failed", err)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.WarnContext(ctx, "wait failed", logging.OperationID, strings.TrimPrefix(r.GetName(), operations.NamePrefix), "error", err)
	}
	return s.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: r.GetName()})
}

// WatchOperation streams the operation's events so far, then live ones,
// and ends after the last.
func (s *operationsServer) WatchOperation(r *palisadev1.WatchOperationRequest, stream grpc.ServerStreamingServer[palisadev1.WatchOperationResponse]) error {
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
	err = s.store.Watch(ctx, rec.GetId(), func(ev *palisadev1.OperationEvent) error {
		return stream.Send(&palisadev1.WatchOperationResponse{Event: ev})
	})
	if err != nil && ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if errors.Is(err, operations.ErrCorrupt) {
		return s.storeError(ctx, "watch failed", err)
	}
	if err != nil {
		s.log.WarnContext(ctx, "watch failed", logging.OperationID, strings.TrimPrefix(r.GetName(), operations.NamePrefix), "error", err)
		return status.Error(codes.Unavailable, "the event stream is unavailable; watch again to resume")
	}
	return nil
}
