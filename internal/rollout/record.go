package rollout

import (
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/operations"
)

// NewRecord is the PENDING record of an accepted rollout command. The API
// writes it after storing the command; the driver writes it if the API
// stopped in between.
func NewRecord(cmd *palisadev1.Command) *palisadev1.RolloutRecord {
	req := cmd.GetStartRollout()
	return &palisadev1.RolloutRecord{
		Id:          cmd.GetOperationId(),
		RequestHash: cmd.GetRequestHash(),
		Rollout: &palisadev1.Rollout{
			Name:         operations.RolloutNamePrefix + cmd.GetOperationId(),
			Operation:    operations.Name(cmd.GetOperationId()),
			State:        palisadev1.RolloutState_ROLLOUT_STATE_PENDING,
			Change:       req.GetChange(),
			Targets:      req.GetTargets(),
			Strategy:     req.GetStrategy(),
			Caller:       cmd.GetCaller(),
			RequestId:    cmd.GetRequestId(),
			CreateTime:   cmd.GetAcceptTime(),
			UpdateTime:   cmd.GetAcceptTime(),
			RollbackOf:   req.GetRollbackOf(),
			GroupChanges: req.GetGroupChanges(),
		},
	}
}

// Terminal reports whether a rollout in state s has ended.
func Terminal(s palisadev1.RolloutState) bool {
	switch s {
	case palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED, palisadev1.RolloutState_ROLLOUT_STATE_FAILED,
		palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED:
		return true
	}
	return false
}
