package command

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/operations"
)

// NewRecord builds the ACCEPTED operation record of a command.
func NewRecord(cmd *palisadev1.Command) *palisadev1.OperationRecord {
	kind, loc, group := Describe(cmd)
	return operations.NewRecord(cmd.GetOperationId(), cmd.GetRequestHash(), cmd, &palisadev1.OperationMetadata{
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
	})
}

// recordOrNow is NewRecord for a command met without its record: one
// built before accept times existed is dated now.
func recordOrNow(cmd *palisadev1.Command) *palisadev1.OperationRecord {
	rec := NewRecord(cmd)
	if rec.GetMetadata().GetCreateTime() == nil {
		rec.Metadata.CreateTime = timestamppb.Now()
	}
	return rec
}
