package workers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// modifyRules changes rules in place by id. It converges: a rule that
// already has its new content (an earlier delivery changed it) is left
// alone, and a change that would make two rules of a direction the same
// fails before any call, as EC2 would refuse it.
func (x *executor) modifyRules(ctx context.Context, t target, r *palisadev1.ModifySecurityGroupRulesRequest) (*palisadev1.OperationResult, error) {
	groupID := r.GetGroupId()
	live, err := x.liveRules(ctx, t, groupID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]liveRule, len(live))
	for _, l := range live {
		byID[l.id] = l
	}
	next := map[string]rules.Rule{} // rule id → its new content
	var after []rules.Rule
	var updates []types.SecurityGroupRuleUpdate
	for i, u := range r.GetSecurityGroupRules() {
		id := u.GetSecurityGroupRuleId()
		l, ok := byID[id]
		if !ok {
			return nil, &ec2Error{class: ec2errors.Terminal, code: "InvalidSecurityGroupRuleId.NotFound",
				message: fmt.Sprintf("%s is not a rule of %s; nothing was changed", id, groupID)}
		}
		path := "security_group_rules[" + strconv.Itoa(i) + "].security_group_rule"
		rs, v := rules.Expand(path, l.rule.Direction, []rules.Permission{ruleconv.RuleRequest(u.GetSecurityGroupRule())})
		if len(v) > 0 || len(rs) != 1 {
			return nil, &ec2Error{class: ec2errors.Terminal, message: "invalid rule: " + v.Error()}
		}
		nr := rs[0]
		if nr.Kind != l.rule.Kind {
			return nil, &ec2Error{class: ec2errors.Terminal, code: "InvalidParameter",
				message: fmt.Sprintf("%s is a rule with a %s peer; a rule changed in place keeps its kind of peer (%s given); nothing was changed", id, l.rule.Kind, nr.Kind)}
		}
		next[id] = nr
		after = append(after, nr)
		if l.rule.Key() == nr.Key() && l.rule.Description == nr.Description {
			continue
		}
		updates = append(updates, types.SecurityGroupRuleUpdate{SecurityGroupRuleId: aws.String(id), SecurityGroupRule: ruleRequest(nr)})
	}
	if err := distinctAfter(live, next); err != nil {
		return nil, err
	}
	if len(updates) > 0 {
		_, err := call(ctx, x, t, "ModifySecurityGroupRules", func(ctx context.Context) (*ec2.ModifySecurityGroupRulesOutput, error) {
			return t.client.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: aws.String(groupID), SecurityGroupRules: updates})
		})
		if err != nil {
			return nil, err
		}
		if _, err := x.awaitVisible(ctx, t, groupID, after); err != nil {
			return nil, err
		}
	}
	res := &palisadev1.OperationResult{GroupId: groupID}
	for _, u := range r.GetSecurityGroupRules() {
		res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, u.GetSecurityGroupRuleId(), next[u.GetSecurityGroupRuleId()]))
	}
	return res, nil
}

// distinctAfter refuses a change after which two rules of the group would
// be the same rule (InvalidPermission.Duplicate, which EC2 answers too):
// changed in place, a rule keeps its id, so it cannot merge into another.
func distinctAfter(live []liveRule, next map[string]rules.Rule) error {
	holder := map[string]string{} // rule key → id of the rule that has it after the change
	for _, l := range live {
		r := l.rule
		if n, ok := next[l.id]; ok {
			r = n
		}
		if other, dup := holder[r.Key()]; dup {
			return &ec2Error{class: ec2errors.Terminal, code: "InvalidPermission.Duplicate",
				message: fmt.Sprintf("after the change %s and %s would be the same rule (%s); nothing was changed", other, l.id, r)}
		}
		holder[r.Key()] = l.id
	}
	return nil
}

// ruleRequest renders a canonical rule as EC2's SecurityGroupRuleRequest.
func ruleRequest(r rules.Rule) *types.SecurityGroupRuleRequest {
	q := &types.SecurityGroupRuleRequest{IpProtocol: aws.String(r.Protocol), Description: aws.String(r.Description)}
	if r.FromPort != -1 || r.ToPort != -1 || r.Protocol == "icmp" || r.Protocol == "icmpv6" {
		q.FromPort, q.ToPort = aws.Int32(r.FromPort), aws.Int32(r.ToPort)
	}
	switch r.Kind {
	case rules.SourceIPv4:
		q.CidrIpv4 = aws.String(r.Source)
	case rules.SourceIPv6:
		q.CidrIpv6 = aws.String(r.Source)
	case rules.SourcePrefixList:
		q.PrefixListId = aws.String(r.Source)
	case rules.SourceGroup:
		q.ReferencedGroupId = aws.String(r.Source)
	}
	return q
}

// updateDescriptions sets the descriptions of rules named by id or by
// content. Every rule named must be there in the direction asked, or
// nothing changes; a rule already described so is left alone.
func (x *executor) updateDescriptions(ctx context.Context, t target, groupID string, dir rules.Direction, perms []*palisadev1.IpPermission, ds []*palisadev1.SecurityGroupRuleDescription) (*palisadev1.OperationResult, error) {
	live, err := x.liveRules(ctx, t, groupID)
	if err != nil {
		return nil, err
	}
	res := &palisadev1.OperationResult{GroupId: groupID}
	var byID []types.SecurityGroupRuleDescription
	var byContent []rules.Rule
	if len(ds) > 0 {
		have := make(map[string]liveRule, len(live))
		for _, l := range live {
			have[l.id] = l
		}
		for _, d := range ds {
			l, ok := have[d.GetSecurityGroupRuleId()]
			if !ok || l.rule.Direction != dir {
				return nil, &ec2Error{class: ec2errors.Terminal, code: "InvalidSecurityGroupRuleId.NotFound",
					message: fmt.Sprintf("%s is not an %s rule of %s; nothing was changed", d.GetSecurityGroupRuleId(), dir, groupID)}
			}
			nr := l.rule
			nr.Description = d.GetDescription()
			res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, l.id, nr))
			if l.rule.Description != d.GetDescription() {
				byID = append(byID, types.SecurityGroupRuleDescription{SecurityGroupRuleId: aws.String(l.id), Description: aws.String(d.GetDescription())})
			}
		}
	} else {
		desired, v := rules.Expand("ip_permissions", dir, ruleconv.Permissions(perms))
		if len(v) > 0 {
			return nil, &ec2Error{class: ec2errors.Terminal, message: "invalid permissions: " + v.Error()}
		}
		if missing := rules.Missing(desired, rulesOf(live)); len(missing) > 0 {
			return nil, &ec2Error{class: ec2errors.Terminal, code: "InvalidPermission.NotFound",
				message: fmt.Sprintf("the group has no rule %s; nothing was changed", missing[0])}
		}
		current := make(map[string]liveRule, len(live))
		for _, l := range live {
			current[l.rule.Key()] = l
		}
		for _, d := range desired {
			l := current[d.Key()]
			res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, l.id, d))
			if l.rule.Description != d.Description {
				byContent = append(byContent, d)
			}
		}
	}
	if len(byID) == 0 && len(byContent) == 0 {
		return res, nil
	}
	if dir == rules.Ingress {
		in := &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(groupID), SecurityGroupRuleDescriptions: byID}
		if len(byContent) > 0 {
			in.IpPermissions = toEC2(byContent)
		}
		_, err = call(ctx, x, t, "UpdateSecurityGroupRuleDescriptionsIngress", func(ctx context.Context) (*ec2.UpdateSecurityGroupRuleDescriptionsIngressOutput, error) {
			return t.client.UpdateSecurityGroupRuleDescriptionsIngress(ctx, in)
		})
	} else {
		in := &ec2.UpdateSecurityGroupRuleDescriptionsEgressInput{GroupId: aws.String(groupID), SecurityGroupRuleDescriptions: byID}
		if len(byContent) > 0 {
			in.IpPermissions = toEC2(byContent)
		}
		_, err = call(ctx, x, t, "UpdateSecurityGroupRuleDescriptionsEgress", func(ctx context.Context) (*ec2.UpdateSecurityGroupRuleDescriptionsEgressOutput, error) {
			return t.client.UpdateSecurityGroupRuleDescriptionsEgress(ctx, in)
		})
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}
