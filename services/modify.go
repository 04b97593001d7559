package services

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

func (s *securityGroups) ModifySecurityGroupRules(ctx context.Context, r *palisadev1.ModifySecurityGroupRulesRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.ModifySecurityGroupRules(r), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_ModifySecurityGroupRules{ModifySecurityGroupRules: r}
	})
}

func (s *securityGroups) UpdateSecurityGroupRuleDescriptionsIngress(ctx context.Context, r *palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.UpdateDescriptions(r, rules.Ingress), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_UpdateDescriptionsIngress{UpdateDescriptionsIngress: r}
	})
}

func (s *securityGroups) UpdateSecurityGroupRuleDescriptionsEgress(ctx context.Context, r *palisadev1.UpdateSecurityGroupRuleDescriptionsEgressRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.UpdateDescriptions(r, rules.Egress), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_UpdateDescriptionsEgress{UpdateDescriptionsEgress: r}
	})
}

// checks builds what the policy decides for req. A rule modification is
// decided on the new content in each rule's own direction, which it reads
// from EC2 first; a rule the group does not hold is NOT_FOUND, and nothing
// is stored.
func (g *guard) checks(ctx context.Context, req proto.Message) ([]policy.Check, error) {
	if m, ok := req.(*palisadev1.ModifySecurityGroupRulesRequest); ok {
		egress, err := g.ruleDirections(ctx, m)
		if err != nil {
			return nil, err
		}
		checks, err := policy.ModifyChecks(CallerFrom(ctx), m, egress)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "the request cannot be decided: %v", err)
		}
		return checks, nil
	}
	checks, err := policy.Checks(CallerFrom(ctx), req)
	if err != nil {
		// A validated request the policy cannot be asked about is a bug;
		// refuse it rather than let it through undecided.
		return nil, status.Errorf(codes.Internal, "the request cannot be decided: %v", err)
	}
	return checks, nil
}

// ruleDirections reads the rules a modification names, in one paced
// DescribeSecurityGroupRules of the group, and says which are outbound.
func (g *guard) ruleDirections(ctx context.Context, m *palisadev1.ModifySecurityGroupRulesRequest) (map[string]bool, error) {
	ids := make([]string, 0, len(m.GetSecurityGroupRules()))
	for _, u := range m.GetSecurityGroupRules() {
		ids = append(ids, u.GetSecurityGroupRuleId())
	}
	in := &ec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{
		{Name: aws.String("group-id"), Values: []string{m.GetGroupId()}},
		{Name: aws.String("security-group-rule-id"), Values: ids},
	}, MaxResults: aws.Int32(1000)}
	egress := map[string]bool{}
	for {
		out, err := g.reader.describeRules(ctx, m.GetLocation(), in)
		if err != nil {
			return nil, g.reader.ec2Status(ctx, err)
		}
		for _, r := range out.SecurityGroupRules {
			egress[aws.ToString(r.SecurityGroupRuleId)] = aws.ToBool(r.IsEgress)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	br := &errdetails.BadRequest{}
	var missing []string
	for i, id := range ids {
		if _, ok := egress[id]; !ok {
			missing = append(missing, id)
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       fmt.Sprintf("security_group_rules[%d].security_group_rule_id", i),
				Description: fmt.Sprintf("%s is not a rule of %s", id, m.GetGroupId()),
			})
		}
	}
	if len(missing) == 0 {
		return egress, nil
	}
	const code = "InvalidSecurityGroupRuleId.NotFound"
	loc := m.GetLocation()
	st := status.Newf(codes.NotFound, "EC2: %s: no rule %s in %s (%s/%s); nothing was changed", code,
		strings.Join(missing, ", "), m.GetGroupId(), loc.GetAccountId(), loc.GetRegion())
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: code, Domain: ec2errors.EC2Domain}, br); err == nil {
		st = d
	}
	return nil, st.Err()
}
