package services

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/validate"
)

// describeRules makes one paced DescribeSecurityGroupRules call.
func (r reader) describeRules(ctx context.Context, loc *palisadev1.Location, in *ec2.DescribeSecurityGroupRulesInput) (*ec2.DescribeSecurityGroupRulesOutput, error) {
	if err := r.pace(ctx, loc.GetAccountId(), loc.GetRegion(), "DescribeSecurityGroupRules"); err != nil {
		return nil, err
	}
	ctx = ec2client.ForOperation(ctx, "", CallerFrom(ctx))
	return r.ec2.Client(loc.GetAccountId(), loc.GetRegion()).DescribeSecurityGroupRules(ctx, in)
}

// groupRules reads every rule of one group, page by page.
func (r reader) groupRules(ctx context.Context, loc *palisadev1.Location, groupID string) ([]*palisadev1.SecurityGroupRule, error) {
	in := &ec2.DescribeSecurityGroupRulesInput{
		Filters:    []types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}},
		MaxResults: aws.Int32(1000),
	}
	var out []*palisadev1.SecurityGroupRule
	for {
		page, err := r.describeRules(ctx, loc, in)
		if err != nil {
			return nil, err
		}
		for _, sr := range page.SecurityGroupRules {
			out = append(out, ruleconv.SecurityGroupRule(sr))
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

func (s *securityGroups) ListSecurityGroupRules(ctx context.Context, r *palisadev1.ListSecurityGroupRulesRequest) (*palisadev1.ListSecurityGroupRulesResponse, error) {
	if v := validate.ListSecurityGroupRules(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	if err := s.guard.allow(ctx, r, about{}); err != nil {
		return nil, err
	}
	size := r.GetPageSize()
	if size == 0 {
		size = 100
	}
	// Group and rule ids as filters: EC2 refuses SecurityGroupRuleIds
	// together with MaxResults, and an id given as a filter that EC2 does
	// not have is absent from the answer rather than an error for the
	// whole page.
	var filters []types.Filter
	if r.GetGroupId() != "" {
		filters = append(filters, types.Filter{Name: aws.String("group-id"), Values: []string{r.GetGroupId()}})
	}
	if len(r.GetSecurityGroupRuleIds()) > 0 {
		filters = append(filters, types.Filter{Name: aws.String("security-group-rule-id"), Values: r.GetSecurityGroupRuleIds()})
	}
	filters = append(filters, ec2Filters(r.GetFilters())...)
	in := &ec2.DescribeSecurityGroupRulesInput{Filters: filters, MaxResults: aws.Int32(size)}
	if r.GetPageToken() != "" {
		in.NextToken = aws.String(r.GetPageToken())
	}
	out, err := s.reader.describeRules(ctx, r.GetLocation(), in)
	if err != nil {
		return nil, s.reader.ec2Status(ctx, err)
	}
	resp := &palisadev1.ListSecurityGroupRulesResponse{NextPageToken: aws.ToString(out.NextToken)}
	for _, sr := range out.SecurityGroupRules {
		resp.SecurityGroupRules = append(resp.SecurityGroupRules, ruleconv.SecurityGroupRule(sr))
	}
	return resp, nil
}

// ec2Filters passes validated filters on to EC2 as they are.
func ec2Filters(fs []*palisadev1.Filter) []types.Filter {
	out := make([]types.Filter, 0, len(fs))
	for _, f := range fs {
		out = append(out, types.Filter{Name: aws.String(f.GetName()), Values: f.GetValues()})
	}
	return out
}
