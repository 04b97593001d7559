// Package operations keeps operation records in the operations bucket and
// publishes their status events. The API and the workers change a record
// only through Transition, a compare-and-set loop, so two writers can never
// silently overwrite each other, and every state change becomes both a
// history entry and an event.
package operations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

// ErrNotFound: no operation has that id.
var ErrNotFound = errors.New("operation not found")

// ErrExists: an operation with that id already exists.
var ErrExists = errors.New("operation already exists")

// ErrEventNotPublished: the record was stored but its event could not be
// published. The change happened; watchers still see it because they
// re-read the record's history.
var ErrEventNotPublished = errors.New("operation event not published")

// ErrNoChange is returned by a Transition func to leave the record as it is.
var ErrNoChange = errors.New("no change")

// ErrEnded: Transition found the operation already ended. An ended record
// never changes again, whoever asks: a worker that lost its claim and
// carries on must not turn a SUCCEEDED operation back into RUNNING.
var ErrEnded = errors.New("operation already ended")

// Store reads and writes operation records.
type Store struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	now func() time.Time
}

// Open binds to the operations bucket, which bus.Declare has created.
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.KeyValue(ctx, bus.OperationsBucket)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", bus.OperationsBucket, err)
	}
	return &Store{js: js, kv: kv, now: time.Now}, nil
}

// Get returns the record and its revision.
func (s *Store) Get(ctx context.Context, id string) (*palisadev1.OperationRecord, uint64, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get operation %s: %w", id, err)
	}
	rec := &palisadev1.OperationRecord{}
	if err := proto.Unmarshal(e.Value(), rec); err != nil {
		return nil, 0, fmt.Errorf("decode operation %s: %w", id, err)
	}
	return rec, e.Revision(), nil
}

// NewRecord builds the ACCEPTED record of a command.
func NewRecord(cmd *palisadev1.Command) *palisadev1.OperationRecord {
	kind, loc, group := Describe(cmd)
	md := &palisadev1.OperationMetadata{
		State:      palisadev1.OperationState_OPERATION_STATE_ACCEPTED,
		Kind:       kind,
		AccountId:  loc.GetAccountId(),
		Region:     loc.GetRegion(),
		GroupId:    group,
		Caller:     cmd.GetCaller(),
		RequestId:  cmd.GetRequestId(),
		CreateTime: cmd.GetAcceptTime(),
		UpdateTime: cmd.GetAcceptTime(),
		Rollout:    RolloutOf(cmd),
	}
	rec := &palisadev1.OperationRecord{
		Id:          cmd.GetOperationId(),
		RequestHash: cmd.GetRequestHash(),
		Metadata:    md,
		Command:     cmd,
	}
	rec.History = append(rec.History, eventOf(rec, cmd.GetAcceptTime(), ""))
	return rec
}

// Create stores a new record and publishes its first event. ErrExists when
// the id is taken (by a retried request, or by a worker that met the command
// first).
func (s *Store) Create(ctx context.Context, rec *palisadev1.OperationRecord) error {
	b, err := proto.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode operation %s: %w", rec.GetId(), err)
	}
	if _, err := s.kv.Create(ctx, rec.GetId(), b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return ErrExists
		}
		return fmt.Errorf("create operation %s: %w", rec.GetId(), err)
	}
	return s.PublishLast(ctx, rec)
}

// Transition applies change to the latest record and stores it if the
// record did not move meanwhile, retrying on conflicts. change sets the new
// state and what goes with it and returns the event's reason; it returns
// ErrNoChange to leave the record alone, or another error to abort. The new
// event is appended to the history and published. A record that has ended
// is returned with ErrEnded and change is not called.
func (s *Store) Transition(ctx context.Context, id string, change func(rec *palisadev1.OperationRecord) (reason string, err error)) (*palisadev1.OperationRecord, error) {
	for {
		rec, rev, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if Terminal(rec.GetMetadata().GetState()) {
			return rec, ErrEnded
		}
		reason, err := change(rec)
		if errors.Is(err, ErrNoChange) {
			return rec, nil
		}
		if err != nil {
			return rec, err
		}
		now := timestamppb.New(s.now())
		md := rec.GetMetadata()
		md.UpdateTime = now
		switch md.GetState() {
		case palisadev1.OperationState_OPERATION_STATE_RUNNING:
			if md.StartTime == nil {
				md.StartTime = now
			}
		case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
			palisadev1.OperationState_OPERATION_STATE_FAILED,
			palisadev1.OperationState_OPERATION_STATE_CANCELLED:
			md.EndTime = now
		}
		rec.History = append(rec.History, eventOf(rec, now, reason))
		b, err := proto.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("encode operation %s: %w", id, err)
		}
		if _, err := s.kv.Update(ctx, id, b, rev); err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
				isWrongLastSequence(err) {
				continue // someone else moved it; look again
			}
			return nil, fmt.Errorf("update operation %s: %w", id, err)
		}
		return rec, s.PublishLast(ctx, rec)
	}
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// PublishLast publishes the record's latest event. The message id makes a
// repeat (a redelivered command re-announcing its end) a no-op.
func (s *Store) PublishLast(ctx context.Context, rec *palisadev1.OperationRecord) error {
	h := rec.GetHistory()
	if len(h) == 0 {
		return nil
	}
	ev := h[len(h)-1]
	b, err := proto.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	_, err = s.js.Publish(ctx, bus.EventSubject(rec.GetId()), b,
		jetstream.WithMsgID(fmt.Sprintf("%s.%d", rec.GetId(), ev.GetSequence())))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrEventNotPublished, rec.GetId(), err)
	}
	return nil
}

func eventOf(rec *palisadev1.OperationRecord, at *timestamppb.Timestamp, reason string) *palisadev1.OperationEvent {
	md := rec.GetMetadata()
	ev := &palisadev1.OperationEvent{
		OperationId: rec.GetId(),
		State:       md.GetState(),
		Time:        at,
		Attempt:     md.GetAttempts(),
		Reason:      reason,
		Metadata:    proto.CloneOf(md),
		Sequence:    int32(len(rec.GetHistory()) + 1),
	}
	switch md.GetState() {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED:
		ev.Result = rec.GetResult()
	case palisadev1.OperationState_OPERATION_STATE_FAILED:
		ev.Error = rec.GetError()
	}
	return ev
}

// Terminal reports whether an operation in state st has ended.
func Terminal(st palisadev1.OperationState) bool {
	switch st {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED,
		palisadev1.OperationState_OPERATION_STATE_FAILED,
		palisadev1.OperationState_OPERATION_STATE_CANCELLED:
		return true
	}
	return false
}

// RolloutOf names the rollout a command is ("rollouts/<id>") or belongs
// to, or returns "".
func RolloutOf(cmd *palisadev1.Command) string {
	switch r := cmd.GetRequest().(type) {
	case *palisadev1.Command_StartRollout:
		return RolloutNamePrefix + cmd.GetOperationId()
	case *palisadev1.Command_ApplyRuleChange:
		return r.ApplyRuleChange.GetRollout()
	}
	return ""
}

// Describe returns a command's kind, location and the group it touches
// ("" for a create).
func Describe(cmd *palisadev1.Command) (palisadev1.OperationKind, *palisadev1.Location, string) {
	switch r := cmd.GetRequest().(type) {
	case *palisadev1.Command_CreateSecurityGroup:
		return palisadev1.OperationKind_OPERATION_KIND_CREATE_SECURITY_GROUP, r.CreateSecurityGroup.GetLocation(), ""
	case *palisadev1.Command_AuthorizeIngress:
		return palisadev1.OperationKind_OPERATION_KIND_AUTHORIZE_INGRESS, r.AuthorizeIngress.GetLocation(), r.AuthorizeIngress.GetGroupId()
	case *palisadev1.Command_AuthorizeEgress:
		return palisadev1.OperationKind_OPERATION_KIND_AUTHORIZE_EGRESS, r.AuthorizeEgress.GetLocation(), r.AuthorizeEgress.GetGroupId()
	case *palisadev1.Command_RevokeIngress:
		return palisadev1.OperationKind_OPERATION_KIND_REVOKE_INGRESS, r.RevokeIngress.GetLocation(), r.RevokeIngress.GetGroupId()
	case *palisadev1.Command_RevokeEgress:
		return palisadev1.OperationKind_OPERATION_KIND_REVOKE_EGRESS, r.RevokeEgress.GetLocation(), r.RevokeEgress.GetGroupId()
	case *palisadev1.Command_DeleteSecurityGroup:
		return palisadev1.OperationKind_OPERATION_KIND_DELETE_SECURITY_GROUP, r.DeleteSecurityGroup.GetLocation(), r.DeleteSecurityGroup.GetGroupId()
	case *palisadev1.Command_StartRollout:
		// Many accounts and regions: the rollout's own record says which.
		return palisadev1.OperationKind_OPERATION_KIND_ROLLOUT, nil, ""
	case *palisadev1.Command_ApplyRuleChange:
		return palisadev1.OperationKind_OPERATION_KIND_APPLY_RULE_CHANGE, r.ApplyRuleChange.GetLocation(), r.ApplyRuleChange.GetGroupId()
	}
	return palisadev1.OperationKind_OPERATION_KIND_UNSPECIFIED, nil, ""
}
