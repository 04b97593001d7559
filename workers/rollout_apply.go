package workers

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/rollout"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// applyChange applies one group's share of a rollout: it checks the quota
// headroom of both directions first (a prefix list counting as its size,
// as EC2 counts it, and the additions before the removals, which come
// after them), then adds every missing rule in one
// call per direction, then removes every named rule still present, so a
// replaced rule is never absent and a group without headroom is never
// touched.
//
// The first attempt works from the rules the rollout read when it
// resolved its targets, with no read of its own; a later attempt (after
// an error, or a redelivery) reads the group's rules, since an earlier
// attempt may have landed in part.
func (x *executor) applyChange(ctx context.Context, opID string, r *palisadev1.ApplyRuleChange, firstAttempt bool) (*palisadev1.OperationResult, error) {
	t := x.target(opID, r.GetLocation())
	groupID := r.GetGroupId()
	change, v := rollout.ExpandChange("change", r.GetChange())
	if len(v) > 0 {
		return nil, &ec2Error{class: ec2errors.Terminal, message: "invalid change: " + v.Error()}
	}
	var current [2][]liveRule
	fromSnapshot := firstAttempt && r.GetObserved()
	if fromSnapshot {
		for i, perms := range [2][]*palisadev1.IpPermission{r.GetObservedIngress(), r.GetObservedEgress()} {
			for _, rule := range rollout.Observed(rollout.Directions[i], perms) {
				current[i] = append(current[i], liveRule{rule: rule})
			}
		}
	} else {
		live, err := x.liveRules(ctx, t, groupID)
		if err != nil {
			return nil, err
		}
		for _, l := range live {
			i := 0
			if l.rule.Direction == rules.Egress {
				i = 1
			}
			current[i] = append(current[i], l)
		}
	}
	have := [2][]rules.Rule{rulesOf(current[0]), rulesOf(current[1])}
	// A prefix list counts against the quota as its size: read the sizes
	// of the lists involved (none when no rule names one).
	sizes, _, err := rollout.LookupPrefixLists(ctx, t.client, x.budget.Wait, t.account, t.region, change.Lists(have))
	if err != nil {
		return nil, err
	}
	gc := change.For(have, sizes.Weight)
	if gc.Quota != nil {
		return nil, &ec2Error{class: ec2errors.Terminal, code: rollout.CodeQuota,
			message: "checked before any change, nothing was changed: " + gc.Quota.Error()}
	}
	res := &palisadev1.OperationResult{GroupId: groupID}
	for i, dir := range rollout.Directions {
		if len(gc.Add[i]) == 0 {
			continue
		}
		created, err := x.authorizeRules(ctx, t, groupID, dir, gc.Add[i])
		if code := ec2errors.Code(err); code == "InvalidPermission.Duplicate" {
			// Someone added one of them since the rules were read: the next
			// attempt reads them again and adds the rest.
			return nil, &ec2Error{class: ec2errors.Transient, code: code, message: "a rule appeared since the group was read; reading again", err: err}
		}
		if err != nil {
			return nil, err
		}
		for _, c := range created {
			res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, c.id, c.rule))
		}
	}
	for i, dir := range rollout.Directions {
		if len(gc.Remove[i]) == 0 {
			continue
		}
		if !fromSnapshot {
			removed, err := x.revokeRules(ctx, t, groupID, dir, gc.Remove[i], current[i])
			if err != nil {
				return nil, err
			}
			res.SecurityGroupRules = append(res.SecurityGroupRules, removed.GetSecurityGroupRules()...)
			continue
		}
		// No rule ids without a read: revoke by permission. A rule gone
		// meanwhile fails the call; the next attempt reads and revokes by id.
		if err := x.revokePermissions(ctx, t, groupID, dir, gc.Remove[i]); err != nil {
			return nil, err
		}
		for _, rule := range gc.Remove[i] {
			res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, "", rule))
		}
	}
	return res, nil
}

func (x *executor) revokePermissions(ctx context.Context, t target, groupID string, dir rules.Direction, rs []rules.Rule) error {
	var err error
	if dir == rules.Ingress {
		_, err = call(ctx, x, t, "RevokeSecurityGroupIngress", func(ctx context.Context) (*ec2.RevokeSecurityGroupIngressOutput, error) {
			return t.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: toEC2(rs)})
		})
	} else {
		_, err = call(ctx, x, t, "RevokeSecurityGroupEgress", func(ctx context.Context) (*ec2.RevokeSecurityGroupEgressOutput, error) {
			return t.client.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(groupID), IpPermissions: toEC2(rs)})
		})
	}
	if code := ec2errors.Code(err); code == "InvalidPermission.NotFound" {
		return &ec2Error{class: ec2errors.Transient, code: code, message: "a rule vanished since the group was read; reading again", err: err}
	}
	return err
}

// undoAdditions runs when a group's share of a rollout is about to fail
// for good: it removes again the rules the change added to the group, so
// a failed group is left as the rollout found it rather than half changed
// (additions come first, so a failure in a later direction or in the
// removals would otherwise leave them). The rules the change added are
// its additions that the rollout's own read of the group did not show;
// they are removed by id, as EC2 holds them now. failure is returned with
// what was undone, or why not, added to its message.
//
// Without that read nothing is removed: a rule the group already had
// must never go.
func (x *executor) undoAdditions(ctx context.Context, cmd *palisadev1.Command, failure *ec2Error) *ec2Error {
	r := cmd.GetApplyRuleChange()
	if r == nil || failure.code == rollout.CodeQuota {
		return failure // not a rollout's change, or refused before any change
	}
	change, v := rollout.ExpandChange("change", r.GetChange())
	if len(v) > 0 {
		return failure
	}
	amended := func(note string) *ec2Error {
		e := *failure
		e.message += "; " + note
		return &e
	}
	if !r.GetObserved() {
		return amended("rules it may have added were left in place: the rollout had not read the group's rules before")
	}
	var before [2][]rules.Rule
	for i, perms := range [2][]*palisadev1.IpPermission{r.GetObservedIngress(), r.GetObservedEgress()} {
		before[i] = rollout.Observed(rollout.Directions[i], perms)
	}
	added := change.For(before, nil).Add // additions only: no quota weights needed
	if len(added[0])+len(added[1]) == 0 {
		return failure
	}
	t := x.target(cmd.GetOperationId(), r.GetLocation())
	live, err := x.liveRules(ctx, t, r.GetGroupId())
	if err != nil {
		return amended("the rules it added could not be removed again: " + err.Error())
	}
	var now [2][]liveRule
	for _, l := range live {
		i := 0
		if l.rule.Direction == rules.Egress {
			i = 1
		}
		now[i] = append(now[i], l)
	}
	removed := 0
	for i, dir := range rollout.Directions {
		res, err := x.revokeRules(ctx, t, r.GetGroupId(), dir, added[i], now[i])
		if err != nil {
			return amended("the rules it added could not be removed again: " + err.Error())
		}
		removed += len(res.GetSecurityGroupRules())
	}
	switch removed {
	case 0:
		return failure
	case 1:
		return amended("the rule it had added was removed again")
	}
	return amended(fmt.Sprintf("the %d rules it had added were removed again", removed))
}
