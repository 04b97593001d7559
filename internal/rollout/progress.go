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
//
// The driver asks after every batch of its children's events, over every
// child of the rollout (thousands), so it counts first and gathers only
// what it may start.
func Next(children []*palisadev1.RolloutChild, limit int, canaryOnly bool) []*palisadev1.RolloutChild {
	type lane struct {
		inFlight int
		waiting  []*palisadev1.RolloutChild
	}
	index := map[laneKey]int{}
	var lanes []lane
	laneOf := func(c *palisadev1.RolloutChild) *lane {
		k := laneKey{c.GetLocation().GetAccountId(), c.GetLocation().GetRegion()}
		i, ok := index[k]
		if !ok {
			i = len(lanes)
			index[k] = i
			lanes = append(lanes, lane{})
		}
		return &lanes[i]
	}
	total := 0
	for _, c := range children {
		l := laneOf(c) // every lane, in order of first appearance
		if InFlight(c) {
			l.inFlight++
			total++
		}
	}
	room := limit - total
	if room <= 0 {
		return nil
	}
	for _, c := range children {
		if Waiting(c) && (!canaryOnly || c.GetCanary()) {
			if l := laneOf(c); len(l.waiting) < room {
				l.waiting = append(l.waiting, c)
			}
		}
	}
	var out []*palisadev1.RolloutChild
	for len(out) < room {
		best := -1
		for i := range lanes {
			if len(lanes[i].waiting) > 0 && (best < 0 || lanes[i].inFlight < lanes[best].inFlight) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		l := &lanes[best]
		out = append(out, l.waiting[0])
		l.waiting = l.waiting[1:]
		l.inFlight++
	}
	return out
}

// laneKey is an account and region: where a child's EC2 calls go.
type laneKey struct{ account, region string }
