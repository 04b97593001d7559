package operations

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// NamePrefix starts every operation's resource name (AIP-151).
const NamePrefix = "operations/"

// RolloutNamePrefix starts every rollout's resource name; a rollout and
// its operation share the id.
const RolloutNamePrefix = "rollouts/"

// Name is the resource name of an operation id.
func Name(id string) string { return NamePrefix + id }

// IDFromName returns the id in an operation's resource name.
func IDFromName(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, NamePrefix)
	if !ok || id == "" || strings.ContainsAny(id, "/. *>") {
		return "", false
	}
	return id, true
}

// ToOperation renders a record as a google.longrunning.Operation.
func ToOperation(rec *palisadev1.OperationRecord) (*longrunningpb.Operation, error) {
	md, err := anypb.New(rec.GetMetadata())
	if err != nil {
		return nil, fmt.Errorf("pack metadata: %w", err)
	}
	op := &longrunningpb.Operation{Name: Name(rec.GetId()), Metadata: md}
	switch rec.GetMetadata().GetState() {
	case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED:
		var result proto.Message = rec.GetResult()
		if rec.GetMetadata().GetKind() == palisadev1.OperationKind_OPERATION_KIND_ROLLOUT {
			result = rec.GetRollout() // StartRollout's declared response type
		}
		res, err := anypb.New(result)
		if err != nil {
			return nil, fmt.Errorf("pack result: %w", err)
		}
		op.Done = true
		op.Result = &longrunningpb.Operation_Response{Response: res}
	case palisadev1.OperationState_OPERATION_STATE_FAILED, palisadev1.OperationState_OPERATION_STATE_CANCELLED:
		op.Done = true
		op.Result = &longrunningpb.Operation_Error{Error: rec.GetError()}
	}
	return op, nil
}

// List returns up to pageSize records whose ids sort after pageToken and
// that keep says to keep, plus the token of the next page ("" at the end).
func (s *Store) List(ctx context.Context, pageSize int, pageToken string, keep func(*palisadev1.OperationRecord) bool) ([]*palisadev1.OperationRecord, string, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("list operations: %w", err)
	}
	var ids []string
	for id := range lister.Keys() {
		if id > pageToken {
			ids = append(ids, id)
		}
	}
	// The key channel is drained, so the lister has already unsubscribed;
	// Stop only makes sure of it.
	_ = lister.Stop()
	sort.Strings(ids)
	var out []*palisadev1.OperationRecord
	for i, id := range ids {
		rec, _, err := s.Get(ctx, id)
		if err == ErrNotFound {
			continue // expired or deleted since listed
		}
		if err != nil {
			return nil, "", err
		}
		if keep != nil && !keep(rec) {
			continue
		}
		out = append(out, rec)
		if len(out) == pageSize && i < len(ids)-1 {
			return out, id, nil
		}
	}
	return out, "", nil
}
