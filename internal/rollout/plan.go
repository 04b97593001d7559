package rollout

import (
	"sort"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2limits"
	"github.com/palisadehq/palisade/internal/rules"
)

// Codes of the failures found while planning. They are EC2's codes for
// the same situations, so callers match one code whoever found it.
const (
	CodeQuota    = "RulesPerSecurityGroupLimitExceeded"
	CodeNotFound = "InvalidGroup.NotFound"
)

// Located is what one target resolved to, with its location.
type Located struct {
	Location *palisadev1.Location
	Resolution
}

// Plan turns the resolved targets into the rollout's plan, its children in
// the order they are to start, and the rules read from every group found,
// in the same order (kept apart from the children: they are most of the
// plan's bytes). Targets on the same account and region are merged. With
// detail, the plan lists every group (validate_only).
func Plan(rolloutID string, c Change, targets []Located, canary int, detail bool) (*palisadev1.RolloutPlan, []*palisadev1.RolloutChild, []*palisadev1.GroupRules) {
	return PlanEach(rolloutID, func(*palisadev1.Location, string) Change { return c }, targets, canary, detail)
}

// PlanEach is Plan for a rollout whose groups each have their own change
// (a rollback): changeOf returns a group's.
func PlanEach(rolloutID string, changeOf func(loc *palisadev1.Location, groupID string) Change, targets []Located, canary int, detail bool) (*palisadev1.RolloutPlan, []*palisadev1.RolloutChild, []*palisadev1.GroupRules) {
	type lane struct {
		loc      *palisadev1.Location
		groups   map[string]Group
		missing  map[string]bool
		describe int
		lists    int
		sizes    PrefixListSizes
	}
	lanes := map[string]*lane{}
	var keys []string
	for _, t := range targets {
		k := t.Location.GetAccountId() + "/" + t.Location.GetRegion()
		l := lanes[k]
		if l == nil {
			l = &lane{loc: t.Location, groups: map[string]Group{}, missing: map[string]bool{}}
			lanes[k] = l
			keys = append(keys, k)
		}
		for _, g := range t.Groups {
			l.groups[g.ID] = g
		}
		for _, id := range t.Missing {
			l.missing[id] = true
		}
		l.describe += t.Calls
		l.lists += t.ListCalls
		l.sizes = l.sizes.merge(t.PrefixLists)
	}
	sort.Strings(keys)

	plan := &palisadev1.RolloutPlan{}
	total := map[string]int{}
	var longest int64
	var perLane [][]*palisadev1.RolloutChild
	read := map[string]*palisadev1.GroupRules{}
	for _, k := range keys {
		l := lanes[k]
		lp := &palisadev1.LocationPlan{Location: l.loc}
		calls := map[string]int{"DescribeSecurityGroups": l.describe, "DescribeManagedPrefixLists": l.lists}
		var children []*palisadev1.RolloutChild
		ids := make([]string, 0, len(l.groups)+len(l.missing))
		for id := range l.groups {
			ids = append(ids, id)
		}
		for id := range l.missing {
			if _, ok := l.groups[id]; !ok {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			child := &palisadev1.RolloutChild{
				Location: l.loc, GroupId: id,
				OperationId: command.ChildID(rolloutID, l.loc.GetAccountId(), l.loc.GetRegion(), id),
			}
			gp := &palisadev1.GroupPlan{GroupId: id}
			g, found := l.groups[id]
			if !found {
				gp.Failure = failure(codes.NotFound, CodeNotFound, "security group "+id+" does not exist in "+l.loc.GetAccountId()+"/"+l.loc.GetRegion())
			} else {
				gp.GroupName, gp.VpcId = g.Name, g.VpcID
				read[child.OperationId] = &palisadev1.GroupRules{OperationId: child.OperationId, Ingress: g.Ingress, Egress: g.Egress}
				gc := changeOf(l.loc, id).For([2][]rules.Rule{Observed(rules.Ingress, g.Ingress), Observed(rules.Egress, g.Egress)}, l.sizes.Weight)
				gp.IngressAdded, gp.IngressRemoved = int32(len(gc.Add[0])), int32(len(gc.Remove[0]))
				gp.EgressAdded, gp.EgressRemoved = int32(len(gc.Add[1])), int32(len(gc.Remove[1]))
				if gc.Quota != nil {
					gp.Failure = failure(codes.ResourceExhausted, CodeQuota,
						"checked before any change, nothing was changed: "+gc.Quota.Error())
				}
				for a, n := range gc.Calls() {
					calls[a] += n
					gp.Ec2Calls += int32(n)
				}
			}
			if gp.Failure != nil {
				lp.FailingGroups++
				child.State = palisadev1.OperationState_OPERATION_STATE_FAILED
				child.FailureCode = reasonOf(gp.Failure)
				child.FailureMessage = gp.Failure.GetMessage()
			}
			lp.Groups++
			if detail {
				lp.GroupPlans = append(lp.GroupPlans, gp)
			}
			children = append(children, child)
		}
		lp.Ec2Calls = actionCalls(calls)
		d := ec2limits.Slowest(calls, 1)
		lp.EstimatedDuration = durationpb.New(d)
		longest = max(longest, int64(d))
		for a, n := range calls {
			total[a] += n
		}
		plan.TotalGroups += lp.Groups
		plan.FailingGroups += lp.FailingGroups
		plan.Locations = append(plan.Locations, lp)
		perLane = append(perLane, children)
	}
	plan.Ec2Calls = actionCalls(total)
	plan.EstimatedDuration = durationpb.New(durationOf(longest))
	children := order(perLane, canary)
	groups := make([]*palisadev1.GroupRules, 0, len(read))
	for _, ch := range children {
		// A group failing already is never queued: its rules are not needed.
		if g := read[ch.GetOperationId()]; g != nil && ch.GetFailureCode() == "" {
			groups = append(groups, g)
		}
	}
	return plan, children, groups
}

// order interleaves the lanes (accounts and regions) so that every one of
// them gets its share of the canary and of the early groups, and marks the
// first canary groups that can be changed as the canary.
func order(lanes [][]*palisadev1.RolloutChild, canary int) []*palisadev1.RolloutChild {
	var out []*palisadev1.RolloutChild
	for i := 0; ; i++ {
		added := false
		for _, l := range lanes {
			if i < len(l) {
				out = append(out, l[i])
				added = true
			}
		}
		if !added {
			break
		}
	}
	for _, c := range out {
		if canary <= 0 {
			break
		}
		if c.GetFailureCode() == "" {
			c.Canary = true
			canary--
		}
	}
	return out
}

func failure(code codes.Code, reason, msg string) *spb.Status {
	st := status.New(code, reason+": "+msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: command.ErrorDomain}); err == nil {
		st = d
	}
	return st.Proto()
}

// reasonOf returns the ErrorInfo reason of a planning failure.
func reasonOf(st *spb.Status) string {
	for _, d := range status.FromProto(st).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return codes.Code(st.GetCode()).String()
}

func actionCalls(m map[string]int) []*palisadev1.ActionCalls {
	out := make([]*palisadev1.ActionCalls, 0, len(m))
	for a, n := range m {
		if n > 0 {
			out = append(out, &palisadev1.ActionCalls{Action: a, Calls: int32(n)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Action < out[j].Action })
	return out
}
