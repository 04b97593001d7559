package services

import (
	"context"
	"maps"
	"slices"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// startRemediation runs the remediation's search, derives the rollout it
// stands for (the groups found, by id; their matching rules, revoked) and
// starts that rollout as any other: the policy decides, and the rollout
// shows, exactly the derived change. A target the search cannot read
// fails the call and nothing is stored.
func (s *rollouts) startRemediation(ctx context.Context, r *palisadev1.StartRolloutRequest) (*longrunningpb.Operation, error) {
	if v := validate.Remediation(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	derived, losses, err := s.derive(ctx, r)
	if err != nil {
		return nil, err
	}
	if v := validate.StartRollout(derived); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	return s.start(ctx, r, derived, func(loc *palisadev1.Location, gp *palisadev1.GroupPlan) {
		gp.Losses = losses[rollout.GroupKey(loc, gp.GetGroupId())]
	})
}

// derive searches and returns the rollout request the remediation stands
// for, and each group's losses by rollout.GroupKey.
func (s *rollouts) derive(ctx context.Context, r *palisadev1.StartRolloutRequest) (*palisadev1.StartRolloutRequest, map[string][]*palisadev1.SecurityGroupRule, error) {
	release, err := s.searches.acquire(CallerFrom(ctx))
	if err != nil {
		return nil, nil, err
	}
	defer release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan *palisadev1.SearchSecurityGroupsResponse, searchParallel)
	go s.reader.search(ctx, r.GetRemediation().GetSearch(), found)
	var unread error
	groups := map[string][]string{} // account/region → group ids
	locs := map[string]*palisadev1.Location{}
	revoke := map[string]rules.Rule{} // rule key → rule
	losses := map[string][]*palisadev1.SecurityGroupRule{}
	for res := range found {
		loc := res.GetLocation()
		if res.GetError() != nil {
			if unread == nil {
				st := status.FromProto(res.GetError())
				unread = status.Errorf(st.Code(), "%s/%s could not be searched, nothing was stored: %s", loc.GetAccountId(), loc.GetRegion(), st.Message())
			}
			continue
		}
		key := loc.GetAccountId() + "/" + loc.GetRegion()
		locs[key] = loc
		id := res.GetSecurityGroup().GetGroupId()
		groups[key] = append(groups[key], id)
		losses[rollout.GroupKey(loc, id)] = res.GetMatchingRules()
		for _, m := range res.GetMatchingRules() {
			if cr, ok := ruleconv.CanonicalRule(m); ok {
				revoke[cr.Key()] = cr
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, status.FromContextError(err).Err()
	}
	if unread != nil {
		return nil, nil, unread
	}
	if len(groups) == 0 {
		return nil, nil, status.Error(codes.FailedPrecondition, "the search found no group to remediate; nothing was stored")
	}
	derived := proto.Clone(r).(*palisadev1.StartRolloutRequest)
	derived.Change = &palisadev1.RuleChange{}
	for _, k := range slices.Sorted(maps.Keys(revoke)) {
		perm := ruleconv.ToPermissions([]rules.Rule{revoke[k]})
		if revoke[k].Direction == rules.Egress {
			derived.Change.RevokeEgress = append(derived.Change.RevokeEgress, perm...)
		} else {
			derived.Change.RevokeIngress = append(derived.Change.RevokeIngress, perm...)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		ids := groups[k]
		slices.Sort(ids)
		for chunk := range slices.Chunk(ids, validate.MaxTargetGroupIDs) {
			derived.Targets = append(derived.Targets, &palisadev1.RolloutTarget{Location: locs[k], GroupIds: chunk})
		}
	}
	if len(derived.Targets) > validate.MaxRolloutTargets {
		return nil, nil, status.Errorf(codes.InvalidArgument, "the search found groups in %d accounts, regions and chunks of %d; a rollout reaches at most %d: narrow the search",
			len(derived.Targets), validate.MaxTargetGroupIDs, validate.MaxRolloutTargets)
	}
	return derived, losses, nil
}
