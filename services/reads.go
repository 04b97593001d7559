package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/validate"
)

// reader answers the read calls straight from EC2, so they always show
// what EC2 holds, not what Palisade believes.
type reader struct {
	ec2    *ec2client.Factory
	budget *ratebudget.Budget
	log    *slog.Logger
}

// errNoBudget: the rate budget had no room for a read before the caller's
// deadline.
var errNoBudget = errors.New("EC2 rate budget exhausted")

// maxBudgetWait bounds how long a read waits for room in the rate budget.
const maxBudgetWait = 10 * time.Second

// pace waits until the rate budget has room for one call of action, so the
// API's reads and the workers' calls stay inside EC2's limits together. It
// gives up in time to answer before the caller's deadline, and after
// maxBudgetWait at most.
func (r reader) pace(ctx context.Context, account, region, action string) error {
	limit := time.Now().Add(maxBudgetWait)
	if dl, ok := ctx.Deadline(); ok {
		if answerBy := dl.Add(-time.Until(dl) / 10); answerBy.Before(limit) {
			limit = answerBy
		}
	}
	wctx, cancel := context.WithDeadline(ctx, limit)
	defer cancel()
	if err := r.budget.Wait(wctx, account, region, action); err != nil {
		return fmt.Errorf("%w: %w", errNoBudget, err)
	}
	return nil
}

// describeGroups makes one paced DescribeSecurityGroups call.
func (r reader) describeGroups(ctx context.Context, loc *palisadev1.Location, in *ec2.DescribeSecurityGroupsInput) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := r.pace(ctx, loc.GetAccountId(), loc.GetRegion(), "DescribeSecurityGroups"); err != nil {
		return nil, err
	}
	// The read names its caller in its user agent, as the workers' calls do.
	ctx = ec2client.ForOperation(ctx, "", CallerFrom(ctx))
	return r.ec2.Client(loc.GetAccountId(), loc.GetRegion()).DescribeSecurityGroups(ctx, in)
}

func (s *securityGroups) GetSecurityGroup(ctx context.Context, r *palisadev1.GetSecurityGroupRequest) (*palisadev1.SecurityGroup, error) {
	if v := validate.GetSecurityGroup(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	if err := s.guard.allow(ctx, r, about{}); err != nil {
		return nil, err
	}
	loc := r.GetLocation()
	// A filter rather than GroupIds: a call with neither filter nor
	// pagination spends EC2's smaller "unfiltered" throttle bucket.
	out, err := s.reader.describeGroups(ctx, loc, &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{r.GetGroupId()}}},
	})
	if err != nil {
		return nil, s.reader.ec2Status(ctx, err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, status.Errorf(codes.NotFound, "security group %s not found in %s/%s", r.GetGroupId(), loc.GetAccountId(), loc.GetRegion())
	}
	g := securityGroup(loc.GetRegion(), out.SecurityGroups[0])
	// The grouped permissions carry no rule ids; the rules one by one do.
	if g.SecurityGroupRules, err = s.reader.groupRules(ctx, loc, r.GetGroupId()); err != nil {
		return nil, s.reader.ec2Status(ctx, err)
	}
	return g, nil
}

func (s *securityGroups) ListSecurityGroups(ctx context.Context, r *palisadev1.ListSecurityGroupsRequest) (*palisadev1.ListSecurityGroupsResponse, error) {
	if v := validate.ListSecurityGroups(r); len(v) > 0 {
		return nil, invalidArgument(v)
	}
	size := r.GetPageSize()
	if size == 0 {
		size = 100
	}
	if err := s.guard.allow(ctx, r, about{}); err != nil {
		return nil, err
	}
	// Filters rather than GroupIds, because EC2 refuses GroupIds together
	// with MaxResults, and a filtered, paginated call uses the larger
	// throttle bucket.
	var filters []types.Filter
	if r.GetVpcId() != "" {
		filters = append(filters, types.Filter{Name: aws.String("vpc-id"), Values: []string{r.GetVpcId()}})
	}
	if len(r.GetGroupIds()) > 0 {
		filters = append(filters, types.Filter{Name: aws.String("group-id"), Values: r.GetGroupIds()})
	}
	keys := make([]string, 0, len(r.GetTags()))
	for k := range r.GetTags() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		filters = append(filters, types.Filter{Name: aws.String("tag:" + k), Values: []string{r.GetTags()[k]}})
	}
	filters = append(filters, ec2Filters(r.GetFilters())...)
	in := &ec2.DescribeSecurityGroupsInput{Filters: filters, MaxResults: aws.Int32(size)}
	if r.GetPageToken() != "" {
		in.NextToken = aws.String(r.GetPageToken())
	}
	loc := r.GetLocation()
	out, err := s.reader.describeGroups(ctx, loc, in)
	if err != nil {
		return nil, s.reader.ec2Status(ctx, err)
	}
	resp := &palisadev1.ListSecurityGroupsResponse{NextPageToken: aws.ToString(out.NextToken)}
	for _, g := range out.SecurityGroups {
		resp.SecurityGroups = append(resp.SecurityGroups, securityGroup(loc.GetRegion(), g))
	}
	return resp, nil
}

// ec2Status maps an EC2 error on a read to a gRPC status the caller can act
// on, keeping EC2's code in ErrorInfo.
func (s *reader) ec2Status(ctx context.Context, err error) error {
	if errors.Is(err, errNoBudget) {
		return status.Error(codes.ResourceExhausted, "EC2's rate limit for this account and region has no room for the read before the deadline; retry later")
	}
	code := ec2errors.Code(err)
	if code == "" {
		s.log.WarnContext(ctx, "EC2 read failed", "error", err)
		return status.Error(codes.Unavailable, "EC2 could not be reached; retry later")
	}
	var apiErr smithy.APIError
	errors.As(err, &apiErr)
	st := status.New(ec2errors.Of(code).GRPC, "EC2: "+code+": "+apiErr.ErrorMessage())
	if d, e := st.WithDetails(&errdetails.ErrorInfo{Reason: code, Domain: ec2errors.EC2Domain}); e == nil {
		st = d
	}
	return st.Err()
}

func securityGroup(region string, g types.SecurityGroup) *palisadev1.SecurityGroup {
	out := &palisadev1.SecurityGroup{
		GroupId:             aws.ToString(g.GroupId),
		GroupName:           aws.ToString(g.GroupName),
		Description:         aws.ToString(g.Description),
		VpcId:               aws.ToString(g.VpcId),
		OwnerId:             aws.ToString(g.OwnerId),
		Region:              region,
		SecurityGroupArn:    aws.ToString(g.SecurityGroupArn),
		IpPermissions:       ruleconv.FromEC2(g.IpPermissions),
		IpPermissionsEgress: ruleconv.FromEC2(g.IpPermissionsEgress),
	}
	if len(g.Tags) > 0 {
		out.Tags = map[string]string{}
		for _, t := range g.Tags {
			out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return out
}
