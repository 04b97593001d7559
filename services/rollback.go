package services

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// refuseDerivedFields refuses a caller's StartRollout that sets what only
// a rollback's derivation may set.
func refuseDerivedFields(r *palisadev1.StartRolloutRequest) error {
	var v rules.Violations
	if len(r.GetGroupChanges()) > 0 {
		v = append(v, rules.Violation{Field: "group_changes", Description: "set by Palisade for a rollback; undo a rollout with RollbackRollout"})
	}
	if r.GetRollbackOf() != "" {
		v = append(v, rules.Violation{Field: "rollback_of", Description: "set by Palisade for a rollback; undo a rollout with RollbackRollout"})
	}
	if len(v) > 0 {
		return invalidArgument(v)
	}
	return nil
}

// undo is what rolling back one group means.
type undo struct {
	loc     *palisadev1.Location
	groupID string
	// added are the rules the rollout added, removed those it removed (with
	// their descriptions as they were), in canonical form; addedIDs the ids
	// EC2 gave the added ones, where the child reported them.
	added, removed []rules.Rule
	addedIDs       map[string]string // rule key → sgr- id
}

func (s *rollouts) RollbackRollout(ctx context.Context, r *palisadev1.RollbackRolloutRequest) (*longrunningpb.Operation, error) {
	if v := validate.RollbackRollout(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	rec, err := s.lookup(ctx, r.GetName())
	if err != nil {
		return nil, err
	}
	ro := rec.GetRollout()
	if !rollout.Terminal(ro.GetState()) {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is %s: a rollout is rolled back once it has ended (cancel it first)", r.GetName(), ro.GetState())
	}
	undos, err := s.undos(ctx, rec)
	if err != nil {
		return nil, err
	}
	derived, gains, losses, err := s.inverse(ctx, r, ro, undos)
	if err != nil {
		return nil, err
	}
	return s.startDerived(ctx, r, derived, losses, gains)
}

// undos works out, for every group whose child operation SUCCEEDED, what
// the rollout changed there: the additions its read of the group did not
// show (so a rule the group already had is never taken for the rollout's),
// and the removals it did show, with their descriptions. A child that
// FAILED undid its own additions; one never started changed nothing.
func (s *rollouts) undos(ctx context.Context, rec *palisadev1.RolloutRecord) ([]undo, error) {
	ro := rec.GetRollout()
	changeOf := rollout.ExpandedChangeOf(&palisadev1.StartRolloutRequest{Change: ro.GetChange(), GroupChanges: ro.GetGroupChanges()})
	var out []undo
	for _, c := range rec.GetChildren() {
		if c.GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			continue
		}
		op, _, err := s.ops.Get(ctx, c.GetOperationId())
		if errors.Is(err, operations.ErrNotFound) {
			continue // expired with its history: nothing known to undo
		}
		if err != nil {
			return nil, status.Errorf(codes.Unavailable, "the operation store is unavailable; retry: %v", err)
		}
		change := changeOf(c.GetLocation(), c.GetGroupId())
		u := undo{loc: c.GetLocation(), groupID: c.GetGroupId(), addedIDs: map[string]string{}}
		apply := op.GetCommand().GetApplyRuleChange()
		reported := map[string]*palisadev1.SecurityGroupRule{}
		for _, sr := range op.GetResult().GetSecurityGroupRules() {
			if cr, ok := ruleconv.CanonicalRule(sr); ok {
				reported[cr.Key()] = sr
			}
		}
		for i, dir := range rollout.Directions {
			var before []rules.Rule
			perms := [2][]*palisadev1.IpPermission{apply.GetObservedIngress(), apply.GetObservedEgress()}[i]
			if apply.GetObserved() {
				before = rollout.Observed(dir, perms)
			}
			described := descriptions(dir, perms)
			for _, a := range change.Authorize[i] {
				sr, ok := reported[a.Key()]
				if apply.GetObserved() && len(rules.Present([]rules.Rule{a}, before)) > 0 || !apply.GetObserved() && !ok {
					continue // the group had it already, or nothing says it was added
				}
				u.added = append(u.added, a)
				if ok && sr.GetSecurityGroupRuleId() != "" {
					u.addedIDs[a.Key()] = sr.GetSecurityGroupRuleId()
				}
			}
			for _, rm := range change.Revoke[i] {
				if apply.GetObserved() && len(rules.Present([]rules.Rule{rm}, before)) == 0 || !apply.GetObserved() && reported[rm.Key()] == nil {
					continue // it was not there to remove
				}
				if d, ok := described[rm.Key()]; ok {
					rm.Description = d
				} else if sr := reported[rm.Key()]; sr != nil {
					rm.Description = sr.GetDescription()
				}
				u.removed = append(u.removed, rm)
			}
		}
		if len(u.added)+len(u.removed) > 0 {
			out = append(out, u)
		}
	}
	return out, nil
}

// descriptions maps each peer of perms, in canonical form, to its
// description as EC2 described it.
func descriptions(dir rules.Direction, perms []*palisadev1.IpPermission) map[string]string {
	out := map[string]string{}
	for _, p := range perms {
		from, to := int32(-1), int32(-1)
		if p.FromPort != nil && p.ToPort != nil {
			from, to = p.GetFromPort(), p.GetToPort()
		}
		note := func(r *palisadev1.SecurityGroupRule, desc string) {
			r.IsEgress, r.IpProtocol, r.FromPort, r.ToPort = dir == rules.Egress, p.GetIpProtocol(), from, to
			if cr, ok := ruleconv.CanonicalRule(r); ok {
				out[cr.Key()] = desc
			}
		}
		for _, c := range p.GetIpRanges() {
			note(&palisadev1.SecurityGroupRule{CidrIpv4: c.GetCidrIp()}, c.GetDescription())
		}
		for _, c := range p.GetIpv6Ranges() {
			note(&palisadev1.SecurityGroupRule{CidrIpv6: c.GetCidrIpv6()}, c.GetDescription())
		}
		for _, pl := range p.GetPrefixListIds() {
			note(&palisadev1.SecurityGroupRule{PrefixListId: pl.GetPrefixListId()}, pl.GetDescription())
		}
		for _, g := range p.GetUserIdGroupPairs() {
			note(&palisadev1.SecurityGroupRule{ReferencedGroupId: g.GetGroupId(), ReferencedUserId: g.GetUserId()}, g.GetDescription())
		}
	}
	return out
}

// inverse reads the groups as they are now and builds the rollback:
// each group's own change (remove what the rollout added, add back what it
// removed, where the group still is as the rollout left it; the rest is
// drift, reported), the targets, and the plan's gains and losses.
func (s *rollouts) inverse(ctx context.Context, r *palisadev1.RollbackRolloutRequest, ro *palisadev1.Rollout, undos []undo) (*palisadev1.StartRolloutRequest, map[string][]*palisadev1.SecurityGroupRule, map[string][]*palisadev1.SecurityGroupRule, error) {
	derived := &palisadev1.StartRolloutRequest{
		RequestId: r.GetRequestId(), ValidateOnly: r.GetValidateOnly(), Strategy: ro.GetStrategy(),
		Change: &palisadev1.RuleChange{}, RollbackOf: ro.GetName(),
	}
	if r.GetStrategy() != nil {
		derived.Strategy = r.GetStrategy()
	}
	gains := map[string][]*palisadev1.SecurityGroupRule{}
	losses := map[string][]*palisadev1.SecurityGroupRule{}
	byPlace := map[string][]undo{}
	for _, u := range undos {
		k := u.loc.GetAccountId() + "/" + u.loc.GetRegion()
		byPlace[k] = append(byPlace[k], u)
	}
	all := newUnion()
	for _, place := range slices.Sorted(maps.Keys(byPlace)) {
		us := byPlace[place]
		loc := us[0].loc
		ids := make([]string, len(us))
		for i, u := range us {
			ids[i] = u.groupID
		}
		live := map[string][]*palisadev1.SecurityGroupRule{}
		for chunk := range slices.Chunk(ids, searchRuleBatch) {
			got, err := s.reader.rulesOfGroups(ctx, loc, chunk)
			if err != nil {
				return nil, nil, nil, s.reader.ec2Status(ctx, err)
			}
			for g, rs := range got {
				for _, sr := range rs {
					live[g] = append(live[g], ruleconv.SecurityGroupRule(sr))
				}
			}
		}
		var targeted []string
		for _, u := range us {
			k := rollout.GroupKey(loc, u.groupID)
			now := map[string]*palisadev1.SecurityGroupRule{}
			for _, sr := range live[u.groupID] {
				if cr, ok := ruleconv.CanonicalRule(sr); ok {
					now[cr.Key()] = sr
				}
			}
			gc := &palisadev1.GroupChange{Location: loc, GroupId: u.groupID}
			var add, remove byDirection
			for _, a := range u.added {
				sr, there := now[a.Key()]
				id, known := u.addedIDs[a.Key()]
				if !there || known && sr.GetSecurityGroupRuleId() != id {
					gc.Drift = append(gc.Drift, fmt.Sprintf("%s, added by the rollout, has been removed or replaced since; left as it is", a))
					continue
				}
				remove.add(a)
				losses[k] = append(losses[k], sr)
			}
			for _, rm := range u.removed {
				if sr, there := now[rm.Key()]; there {
					gc.Drift = append(gc.Drift, fmt.Sprintf("%s, removed by the rollout, is there again (%s); left as it is", rm, sr.GetSecurityGroupRuleId()))
					continue
				}
				add.add(rm)
				gains[k] = append(gains[k], ruleconv.Rule(u.groupID, "", rm))
			}
			gc.Change = ruleChange(add, remove)
			all.include(add, remove)
			changes := !add.empty() || !remove.empty()
			if changes {
				targeted = append(targeted, u.groupID)
			}
			if changes || len(gc.Drift) > 0 {
				derived.GroupChanges = append(derived.GroupChanges, gc)
			}
		}
		slices.Sort(targeted)
		for chunk := range slices.Chunk(targeted, validate.MaxTargetGroupIDs) {
			derived.Targets = append(derived.Targets, &palisadev1.RolloutTarget{Location: loc, GroupIds: chunk})
		}
	}
	if len(derived.Targets) == 0 {
		return nil, nil, nil, status.Errorf(codes.FailedPrecondition, "%s left nothing that can be undone: %d groups changed, none still as it left them", ro.GetName(), len(undos))
	}
	if len(derived.Targets) > validate.MaxRolloutTargets {
		return nil, nil, nil, status.Errorf(codes.InvalidArgument, "the rollback reaches %d accounts, regions and chunks of %d groups; a rollout reaches at most %d", len(derived.Targets), validate.MaxTargetGroupIDs, validate.MaxRolloutTargets)
	}
	derived.Change = all.change()
	return derived, gains, losses, nil
}
