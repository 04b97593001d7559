package services

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

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
// stands for (the groups found, by id, each with its own change: its
// matching rules revoked, and with ACTION_REPLACE_PEER_CIDR the same rules
// with the new peer added first) and starts that rollout as any other: the
// policy decides, group by group, and the rollout shows exactly the
// derived changes. A target the search cannot read fails the call and
// nothing is stored.
func (s *rollouts) startRemediation(ctx context.Context, r *palisadev1.StartRolloutRequest) (*longrunningpb.Operation, error) {
	if v := validate.Remediation(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	derived, losses, gains, err := s.derive(ctx, r)
	if err != nil {
		return nil, err
	}
	return s.startDerived(ctx, r, derived, losses, gains)
}

// startDerived starts the rollout a remediation or a rollback derived
// per group, its plan naming each group's losses and gains (by group
// key). The derived request is checked as any StartRollout is.
func (s *rollouts) startDerived(ctx context.Context, r proto.Message, derived *palisadev1.StartRolloutRequest, losses, gains map[string][]*palisadev1.SecurityGroupRule) (*longrunningpb.Operation, error) {
	if v := validate.StartRollout(derived); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	return s.start(ctx, r, derived, func(loc *palisadev1.Location, gp *palisadev1.GroupPlan) {
		k := rollout.GroupKey(loc, gp.GetGroupId())
		gp.Losses, gp.Gains = losses[k], gains[k]
	})
}

// derive searches and returns the rollout request the remediation stands
// for (each group's own change, their union, the groups as targets), and
// each group's losses and gains by rollout.GroupKey.
func (s *rollouts) derive(ctx context.Context, r *palisadev1.StartRolloutRequest) (*palisadev1.StartRolloutRequest, map[string][]*palisadev1.SecurityGroupRule, map[string][]*palisadev1.SecurityGroupRule, error) {
	release, err := s.searches.acquire(CallerFrom(ctx))
	if err != nil {
		return nil, nil, nil, err
	}
	defer release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan *palisadev1.SearchSecurityGroupsResponse, searchParallel)
	go s.reader.search(ctx, r.GetRemediation().GetSearch(), found)
	var results []*palisadev1.SearchSecurityGroupsResponse
	var unread error
	for res := range found {
		if e := res.GetError(); e != nil {
			if unread == nil {
				st, loc := status.FromProto(e), res.GetLocation()
				unread = status.Errorf(st.Code(), "%s/%s could not be searched, nothing was stored: %s", loc.GetAccountId(), loc.GetRegion(), st.Message())
			}
			continue
		}
		results = append(results, res)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, status.FromContextError(err).Err()
	}
	if unread != nil {
		return nil, nil, nil, unread
	}
	if len(results) == 0 {
		return nil, nil, nil, status.Error(codes.FailedPrecondition, "the search found no group to remediate; nothing was stored")
	}
	slices.SortFunc(results, func(a, b *palisadev1.SearchSecurityGroupsResponse) int {
		return strings.Compare(rollout.GroupKey(a.GetLocation(), a.GetSecurityGroup().GetGroupId()), rollout.GroupKey(b.GetLocation(), b.GetSecurityGroup().GetGroupId()))
	})
	m := r.GetRemediation()
	var replacement netip.Prefix
	if m.GetAction() == palisadev1.RolloutRemediation_ACTION_REPLACE_PEER_CIDR {
		replacement = netip.MustParsePrefix(m.GetReplacementCidr()) // validated
	}
	derived := proto.Clone(r).(*palisadev1.StartRolloutRequest)
	all := newUnion()
	losses := map[string][]*palisadev1.SecurityGroupRule{}
	gains := map[string][]*palisadev1.SecurityGroupRule{}
	groups := map[string][]string{} // account/region → group ids, in order
	locs := map[string]*palisadev1.Location{}
	var places []string
	for _, res := range results {
		loc, id := res.GetLocation(), res.GetSecurityGroup().GetGroupId()
		k := rollout.GroupKey(loc, id)
		var add, remove byDirection
		for _, sr := range res.GetMatchingRules() {
			cr, ok := ruleconv.CanonicalRule(sr)
			if !ok {
				continue // a rule the model cannot name cannot be revoked by content
			}
			remove.add(cr)
			losses[k] = append(losses[k], sr)
			if !replacement.IsValid() {
				continue
			}
			nr, err := replaced(cr, sr, replacement)
			if err != nil {
				return nil, nil, nil, status.Errorf(codes.FailedPrecondition, "%s in %s: %v; narrow the search, nothing was stored", sr.GetSecurityGroupRuleId(), k, err)
			}
			add.add(nr)
			gains[k] = append(gains[k], ruleconv.Rule(id, "", nr))
		}
		if remove.empty() {
			continue
		}
		all.include(add, remove)
		derived.GroupChanges = append(derived.GroupChanges, &palisadev1.GroupChange{Location: loc, GroupId: id, Change: ruleChange(add, remove)})
		place := loc.GetAccountId() + "/" + loc.GetRegion()
		if len(groups[place]) == 0 {
			places, locs[place] = append(places, place), loc
		}
		groups[place] = append(groups[place], id)
	}
	derived.Change = all.change()
	for _, place := range places {
		for chunk := range slices.Chunk(groups[place], validate.MaxTargetGroupIDs) {
			derived.Targets = append(derived.Targets, &palisadev1.RolloutTarget{Location: locs[place], GroupIds: chunk})
		}
	}
	if len(derived.Targets) > validate.MaxRolloutTargets {
		return nil, nil, nil, status.Errorf(codes.InvalidArgument, "the search found groups in %d accounts, regions and chunks of %d; a rollout reaches at most %d: narrow the search",
			len(derived.Targets), validate.MaxTargetGroupIDs, validate.MaxRolloutTargets)
	}
	return derived, losses, gains, nil
}

// replaced is rule cr (as sr reports it, with its description) with its
// peer replaced by cidr, of the same family.
func replaced(cr rules.Rule, sr *palisadev1.SecurityGroupRule, cidr netip.Prefix) (rules.Rule, error) {
	want := rules.SourceIPv4
	if cidr.Addr().Is6() {
		want = rules.SourceIPv6
	}
	if cr.Kind != want {
		return rules.Rule{}, fmt.Errorf("%s has a %s peer, which %s cannot replace", cr, cr.Kind, cidr)
	}
	nr := cr
	nr.Source, nr.Description = cidr.String(), sr.GetDescription()
	return nr, nil
}
