package workers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/ruleconv"
)

// tagTargets checks that every sgr- id among resources is a rule of the
// group, so that a tag never lands on a rule whose changes are ordered on
// another group, and returns the rules named. Tagging converges by
// itself (CreateTags overwrites, DeleteTags of an absent tag succeeds), so
// a redelivery only repeats the call.
func (x *executor) tagTargets(ctx context.Context, t target, groupID string, resources []string) (*palisadev1.OperationResult, error) {
	res := &palisadev1.OperationResult{GroupId: groupID}
	if !slices.ContainsFunc(resources, func(id string) bool { return strings.HasPrefix(id, "sgr-") }) {
		return res, nil
	}
	live, err := x.liveRules(ctx, t, groupID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]liveRule, len(live))
	for _, l := range live {
		byID[l.id] = l
	}
	for _, id := range resources {
		if !strings.HasPrefix(id, "sgr-") {
			continue
		}
		l, ok := byID[id]
		if !ok {
			return nil, &ec2Error{class: ec2errors.Terminal, code: "InvalidSecurityGroupRuleId.NotFound",
				message: fmt.Sprintf("%s is not a rule of %s; nothing was tagged", id, groupID)}
		}
		res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, id, l.rule))
	}
	return res, nil
}

// createTags sets tags on a group and its rules.
func (x *executor) createTags(ctx context.Context, t target, r *palisadev1.CreateTagsRequest) (*palisadev1.OperationResult, error) {
	res, err := x.tagTargets(ctx, t, r.GetGroupId(), r.GetResourceIds())
	if err != nil {
		return nil, err
	}
	in := &ec2.CreateTagsInput{Resources: r.GetResourceIds(), Tags: ec2Tags(r.GetTags())}
	if _, err := call(ctx, x, t, "CreateTags", func(ctx context.Context) (*ec2.CreateTagsOutput, error) {
		return t.client.CreateTags(ctx, in)
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// deleteTags removes tags from a group and its rules: those in tags only
// where they have that value, those in tag_keys whatever their value.
func (x *executor) deleteTags(ctx context.Context, t target, r *palisadev1.DeleteTagsRequest) (*palisadev1.OperationResult, error) {
	res, err := x.tagTargets(ctx, t, r.GetGroupId(), r.GetResourceIds())
	if err != nil {
		return nil, err
	}
	tags := ec2Tags(r.GetTags())
	for _, k := range r.GetTagKeys() {
		tags = append(tags, types.Tag{Key: aws.String(k)})
	}
	if len(tags) == 0 {
		// Validation refuses this; never let EC2 read it as "every tag".
		return nil, &ec2Error{class: ec2errors.Terminal, message: "no tag named to delete"}
	}
	in := &ec2.DeleteTagsInput{Resources: r.GetResourceIds(), Tags: tags}
	if _, err := call(ctx, x, t, "DeleteTags", func(ctx context.Context) (*ec2.DeleteTagsOutput, error) {
		return t.client.DeleteTags(ctx, in)
	}); err != nil {
		return nil, err
	}
	return res, nil
}

// ec2Tags renders tags in key order, so that the call is the same on
// every delivery.
func ec2Tags(tags map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
