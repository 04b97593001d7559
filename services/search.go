package services

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// searchParallel bounds the targets one search reads at once, so a search
// of the whole fleet holds a bounded number of EC2 calls and goroutines
// (design invariant 10); each target is further paced by its own
// account's and region's rate budget.
const searchParallel = 16

// MaxSearchesPerCaller bounds the fleet searches (remediations' included)
// one caller runs at once in one API process: each holds up to
// searchParallel EC2 reads, and they share the fleet's read budget with
// everyone else's.
const MaxSearchesPerCaller = 4

// newSearchLimit counts each caller's searches in progress.
func newSearchLimit() *watchLimit {
	return &watchLimit{max: MaxSearchesPerCaller, what: "fleet searches", open: map[string]int{}}
}

// searchRuleBatch is how many groups one DescribeSecurityGroupRules names
// (EC2's limit on a filter's values).
const searchRuleBatch = validate.MaxFilterValues

func (s *securityGroups) SearchSecurityGroups(r *palisadev1.SearchSecurityGroupsRequest, stream grpc.ServerStreamingServer[palisadev1.SearchSecurityGroupsResponse]) error {
	ctx := stream.Context()
	if v := validate.SearchSecurityGroups(r); len(v) > 0 {
		return invalidArgument(v)
	}
	if err := s.guard.allow(ctx, r, about{}); err != nil {
		return err
	}
	release, err := s.searches.acquire(CallerFrom(ctx))
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	found := make(chan *palisadev1.SearchSecurityGroupsResponse, searchParallel)
	go s.reader.search(ctx, r, found)
	var sendErr error
	for res := range found {
		if sendErr != nil {
			continue // drain, so no reader blocks
		}
		if sendErr = stream.Send(res); sendErr != nil {
			cancel()
		}
	}
	return sendErr
}

// search reads every target of r, searchParallel at a time, sends each
// answer on found as it comes, and closes found once every target is
// read or ctx has ended.
func (rd reader) search(ctx context.Context, r *palisadev1.SearchSecurityGroupsRequest, found chan<- *palisadev1.SearchSecurityGroupsResponse) {
	defer close(found)
	slots := make(chan struct{}, searchParallel)
	var wg sync.WaitGroup
	for _, t := range r.GetTargets() {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			rd.searchTarget(ctx, t, r, found)
		}()
	}
	wg.Wait()
}

// searchTarget reads one account and region: the groups EC2's filters
// select, the caller's and those the predicates imply (pushedFilters; one
// paced DescribeSecurityGroups per page), tested against the
// predicates on their rules as DescribeSecurityGroups reports them (in the
// canonical model, as a rollout reads them), then
// the rules of the groups that match, with their ids (one paced
// DescribeSecurityGroupRules per 200 groups), tested again as EC2 now
// holds them. A target that cannot be read is one answer with its error.
func (rd reader) searchTarget(ctx context.Context, loc *palisadev1.Location, r *palisadev1.SearchSecurityGroupsRequest, found chan<- *palisadev1.SearchSecurityGroupsResponse) {
	emit := func(res *palisadev1.SearchSecurityGroupsResponse) bool {
		select {
		case found <- res:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(err error) {
		emit(&palisadev1.SearchSecurityGroupsResponse{Location: loc, Error: status.Convert(rd.ec2Status(ctx, err)).Proto()})
	}
	preds := make([]rules.Predicate, len(r.GetRulePredicates()))
	for i, p := range r.GetRulePredicates() {
		preds[i] = ruleconv.Predicate(p, loc.GetAccountId())
	}
	filters := append(ec2Filters(r.GetFilters()), pushedFilters(preds, r.GetFilters())...)
	in := &ec2.DescribeSecurityGroupsInput{Filters: filters, MaxResults: aws.Int32(1000)}
	var candidates []types.SecurityGroup
	for {
		out, err := rd.describeGroups(ctx, loc, in)
		if err != nil {
			fail(err)
			return
		}
		for _, g := range out.SecurityGroups {
			empty := len(g.IpPermissions) == 0 && len(g.IpPermissionsEgress) == 0
			if r.GetWithoutRules() && !empty {
				continue
			}
			if len(preds) == 0 {
				if !emit(&palisadev1.SearchSecurityGroupsResponse{Location: loc, SecurityGroup: securityGroup(loc.GetRegion(), g)}) {
					return
				}
				continue
			}
			described := append(rollout.Observed(rules.Ingress, ruleconv.FromEC2(g.IpPermissions)), rollout.Observed(rules.Egress, ruleconv.FromEC2(g.IpPermissionsEgress))...)
			if _, ok := matching(preds, described); ok {
				candidates = append(candidates, g)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	for start := 0; start < len(candidates); start += searchRuleBatch {
		batch := candidates[start:min(start+searchRuleBatch, len(candidates))]
		ids := make([]string, len(batch))
		for i, g := range batch {
			ids[i] = aws.ToString(g.GroupId)
		}
		byGroup, err := rd.rulesOfGroups(ctx, loc, ids)
		if err != nil {
			fail(err)
			return
		}
		for _, g := range batch {
			live := byGroup[aws.ToString(g.GroupId)]
			canon := make([]rules.Rule, len(live))
			for i, l := range live {
				canon[i] = ruleconv.Canonical(l)
			}
			hits, ok := matching(preds, canon)
			if !ok {
				continue // changed since it was described
			}
			res := &palisadev1.SearchSecurityGroupsResponse{Location: loc, SecurityGroup: securityGroup(loc.GetRegion(), g)}
			for _, i := range hits {
				res.MatchingRules = append(res.MatchingRules, ruleconv.SecurityGroupRule(live[i]))
			}
			if !emit(res) {
				return
			}
		}
	}
}

// rulesOfGroups reads every rule of the groups, by group.
func (rd reader) rulesOfGroups(ctx context.Context, loc *palisadev1.Location, groupIDs []string) (map[string][]types.SecurityGroupRule, error) {
	in := &ec2.DescribeSecurityGroupRulesInput{
		Filters:    []types.Filter{{Name: aws.String("group-id"), Values: groupIDs}},
		MaxResults: aws.Int32(1000),
	}
	out := map[string][]types.SecurityGroupRule{}
	for {
		page, err := rd.describeRules(ctx, loc, in)
		if err != nil {
			return nil, err
		}
		for _, r := range page.SecurityGroupRules {
			out[aws.ToString(r.GroupId)] = append(out[aws.ToString(r.GroupId)], r)
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// matching returns the indexes of the rules satisfying some predicate, and
// whether every predicate is satisfied by some rule.
func matching(preds []rules.Predicate, rs []rules.Rule) ([]int, bool) {
	met := make([]bool, len(preds))
	var hits []int
	for i, r := range rs {
		hit := false
		for j, p := range preds {
			if p.Matches(r) {
				met[j], hit = true, true
			}
		}
		if hit {
			hits = append(hits, i)
		}
	}
	for _, m := range met {
		if !m {
			return nil, false
		}
	}
	return hits, true
}
