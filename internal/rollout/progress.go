package rollout

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func durationOf(ns int64) time.Duration { return time.Duration(ns) }

// Waiting reports whether a child has not been started.
func Waiting(c *palisadev1.RolloutChild) bool {
	return c.GetState() == palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED
}

// InFlight reports whether a child is started and not finished.
func InFlight(c *palisadev1.RolloutChild) bool {
	switch c.GetState() {
	case palisadev1.OperationState_OPERATION_STATE_ACCEPTED,
		palisadev1.OperationState_OPERATION_STATE_RUNNING,
		palisadev1.OperationState_OPERATION_STATE_RETRYING:
		return true
	}
	return false
}

// Count tallies the children by state. rate is groups finished per second
// lately; the estimate of the time left uses it, or est (the plan's
// estimate at EC2's rates) while nothing has finished.
func Count(children []*palisadev1.RolloutChild, rate float64, est time.Duration) *palisadev1.RolloutProgress {
	p := &palisadev1.RolloutProgress{TotalGroups: int32(len(children)), GroupsPerSecond: rate}
	for _, c := range children {
		if c.GetCanary() {
			p.CanarySize++
		}
		switch c.GetState() {
		case palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED:
			p.Waiting++
		case palisadev1.OperationState_OPERATION_STATE_ACCEPTED:
			p.Queued++
		case palisadev1.OperationState_OPERATION_STATE_RUNNING, palisadev1.OperationState_OPERATION_STATE_RETRYING:
			p.Running++
		case palisadev1.OperationState_OPERATION_STATE_SUCCEEDED:
			p.Succeeded++
			if c.GetCanary() {
				p.CanarySucceeded++
			}
		case palisadev1.OperationState_OPERATION_STATE_FAILED:
			p.Failed++
		case palisadev1.OperationState_OPERATION_STATE_CANCELLED:
			p.Cancelled++
		}
	}
	left := p.Waiting + p.Queued + p.Running
	switch {
	case left == 0:
		p.EstimatedTimeRemaining = durationpb.New(0)
	case rate > 0:
		p.EstimatedTimeRemaining = durationpb.New(time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second))
	default:
		p.EstimatedTimeRemaining = durationpb.New(est)
	}
	return p
}

// Next picks up to limit−(children in flight) waiting children to start,
// in order, taking each from the account and region with the fewest
// children in flight so that one slow region does not hold every slot.
// canaryOnly restricts the choice to the canary.
func Next(children []*palisadev1.RolloutChild, limit int, canaryOnly bool) []*palisadev1.RolloutChild {
	inFlight := map[string]int{}
	waiting := map[string][]*palisadev1.RolloutChild{}
	var lanes []string
	total := 0
	for _, c := range children {
		k := laneKey(c)
		if _, ok := waiting[k]; !ok {
			waiting[k] = nil
			lanes = append(lanes, k)
		}
		switch {
		case InFlight(c):
			inFlight[k]++
			total++
		case Waiting(c) && (!canaryOnly || c.GetCanary()):
			waiting[k] = append(waiting[k], c)
		}
	}
	var out []*palisadev1.RolloutChild
	for total < limit {
		best := ""
		for _, k := range lanes {
			if len(waiting[k]) > 0 && (best == "" || inFlight[k] < inFlight[best]) {
				best = k
			}
		}
		if best == "" {
			break
		}
		out = append(out, waiting[best][0])
		waiting[best] = waiting[best][1:]
		inFlight[best]++
		total++
	}
	return out
}

func laneKey(c *palisadev1.RolloutChild) string {
	return c.GetLocation().GetAccountId() + "/" + c.GetLocation().GetRegion()
}
