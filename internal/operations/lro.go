package operations

import (
	"fmt"
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

// IDLen is the length of every id Palisade issues (command.OperationID,
// command.ChildID): 16 bytes in lower-case hex.
const IDLen = 32

// ValidID reports whether id has the shape of the ids Palisade issues:
// IDLen lower-case hex digits. Nothing else can name an operation or a
// rollout, so anything else is the caller's mistake, never a store key.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IDFromName returns the id in an operation's resource name,
// "operations/<id>" with an id of the shape ValidID accepts.
func IDFromName(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, NamePrefix)
	if !ok || !ValidID(id) {
		return "", false
	}
	return id, true
}

// RolloutIDFromName returns the id in a rollout's resource name,
// "rollouts/<id>" with an id of the shape ValidID accepts.
func RolloutIDFromName(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, RolloutNamePrefix)
	if !ok || !ValidID(id) {
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
