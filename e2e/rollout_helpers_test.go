package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func (e *env) rollouts() palisadev1.RolloutServiceClient { return e.stack.Rollouts }

// makeGroups creates n groups straight on the EC2 endpoint (not through
// Palisade: they are the estate a rollout finds), tagged with tags.
func (e *env) makeGroups(account, region, prefix string, n int, tags map[string]string) []string {
	e.t.Helper()
	client := e.ec2.Client(account, region)
	var ts []types.Tag
	for k, v := range tags {
		ts = append(ts, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	var ids []string
	for i := 0; i < n; i++ {
		in := &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("%s-%d", prefix, i)), Description: aws.String("rollout target")}
		if len(ts) > 0 {
			in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: ts}}
		}
		out, err := client.CreateSecurityGroup(e.ctx, in)
		if err != nil {
			e.t.Fatalf("create group: %v", err)
		}
		ids = append(ids, aws.ToString(out.GroupId))
	}
	return ids
}

// ingress returns a group's inbound rules as EC2 holds them.
func (e *env) ingress(account, region, groupID string) []types.SecurityGroupRule {
	e.t.Helper()
	out, err := e.ec2.Client(account, region).DescribeSecurityGroupRules(e.ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var in []types.SecurityGroupRule
	for _, r := range out.SecurityGroupRules {
		if !aws.ToBool(r.IsEgress) {
			in = append(in, r)
		}
	}
	return in
}

// startRollout starts a rollout and returns its name.
func (e *env) startRollout(req *palisadev1.StartRolloutRequest) string {
	e.t.Helper()
	op, err := e.rollouts().StartRollout(e.ctx, req)
	if err != nil {
		e.t.Fatalf("start rollout: %v", err)
	}
	md := metadata(e.t, op)
	if md.GetKind() != palisadev1.OperationKind_OPERATION_KIND_ROLLOUT || md.GetRollout() == "" {
		e.t.Fatalf("rollout operation metadata = %v", md)
	}
	return md.GetRollout()
}

// watchRollout follows a rollout until it ends (or until stop says so)
// and returns it as it then was.
func (e *env) watchRollout(name string, stop func(*palisadev1.Rollout) bool) *palisadev1.Rollout {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Minute)
	defer cancel()
	for {
		stream, err := e.rollouts().WatchRollout(ctx, &palisadev1.WatchRolloutRequest{Name: name})
		if err != nil {
			e.t.Fatalf("watch %s: %v", name, err)
		}
		var last *palisadev1.Rollout
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return last
			}
			if err != nil {
				if ctx.Err() != nil {
					e.t.Fatalf("rollout %s did not end; last: %v", name, last)
				}
				break // watch again
			}
			last = resp.GetRollout()
			if stop != nil && stop(last) {
				return last
			}
		}
	}
}

func int32p(v int32) *int32 { return &v }

// rolloutOp waits for a rollout's operation to end.
func (e *env) rolloutOp(ro *palisadev1.Rollout) *longrunningpb.Operation {
	e.t.Helper()
	return e.wait(&longrunningpb.Operation{Name: ro.GetOperation()})
}

var _ = testing.Short
