package workers

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/ec2client"
	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/ratebudget"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// executor applies one command to EC2, idempotently: every kind reads what
// EC2 holds where a repeat could differ from a first delivery and converges
// to the state the command asks for.
type executor struct {
	ec2         *ec2client.Factory
	budget      *ratebudget.Budget
	callTimeout time.Duration
	// visibilityWindow bounds how long EC2 may take to show a change.
	visibilityWindow time.Duration
}

// target is where a command applies.
type target struct {
	opID            string
	account, region string
	client          *ec2.Client
}

// call spends one token of the budget and makes one EC2 call under the
// per-call deadline, so a hung call cannot hold the group for ever.
func call[T any](ctx context.Context, x *executor, t target, action string, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := x.budget.Wait(ctx, t.account, t.region, action); err != nil {
		return zero, err
	}
	cctx, cancel := context.WithTimeout(ctx, x.callTimeout)
	defer cancel()
	out, err := f(cctx)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", action, err)
	}
	return out, nil
}

func (x *executor) target(opID string, loc *palisadev1.Location) target {
	return target{opID: opID, account: loc.GetAccountId(), region: loc.GetRegion(),
		client: x.ec2.Client(loc.GetAccountId(), loc.GetRegion())}
}

// progress is what earlier attempts of one delivery achieved.
type progress struct {
	// groupID is the group a create made, once EC2 answered it.
	groupID string
}

// run applies cmd. firstAttempt is true only for the very first attempt
// of the first delivery, when nothing can exist yet and reads are saved;
// prog carries progress from one attempt of a delivery to the next.
func (x *executor) run(ctx context.Context, cmd *palisadev1.Command, firstAttempt bool, prog *progress) (*palisadev1.OperationResult, error) {
	switch r := cmd.GetRequest().(type) {
	case *palisadev1.Command_CreateSecurityGroup:
		return x.create(ctx, cmd.GetOperationId(), r.CreateSecurityGroup, prog)
	case *palisadev1.Command_AuthorizeIngress:
		t := x.target(cmd.GetOperationId(), r.AuthorizeIngress.GetLocation())
		return x.authorize(ctx, t, r.AuthorizeIngress.GetGroupId(), rules.Ingress, r.AuthorizeIngress.GetIpPermissions(), firstAttempt)
	case *palisadev1.Command_AuthorizeEgress:
		t := x.target(cmd.GetOperationId(), r.AuthorizeEgress.GetLocation())
		return x.authorize(ctx, t, r.AuthorizeEgress.GetGroupId(), rules.Egress, r.AuthorizeEgress.GetIpPermissions(), firstAttempt)
	case *palisadev1.Command_RevokeIngress:
		t := x.target(cmd.GetOperationId(), r.RevokeIngress.GetLocation())
		return x.revoke(ctx, t, r.RevokeIngress.GetGroupId(), rules.Ingress, r.RevokeIngress.GetIpPermissions(), r.RevokeIngress.GetSecurityGroupRuleIds())
	case *palisadev1.Command_RevokeEgress:
		t := x.target(cmd.GetOperationId(), r.RevokeEgress.GetLocation())
		return x.revoke(ctx, t, r.RevokeEgress.GetGroupId(), rules.Egress, r.RevokeEgress.GetIpPermissions(), r.RevokeEgress.GetSecurityGroupRuleIds())
	case *palisadev1.Command_DeleteSecurityGroup:
		t := x.target(cmd.GetOperationId(), r.DeleteSecurityGroup.GetLocation())
		return x.delete(ctx, t, r.DeleteSecurityGroup.GetGroupId())
	case *palisadev1.Command_ApplyRuleChange:
		return x.applyChange(ctx, cmd.GetOperationId(), r.ApplyRuleChange, firstAttempt)
	case *palisadev1.Command_CreateTags:
		return x.createTags(ctx, x.target(cmd.GetOperationId(), r.CreateTags.GetLocation()), r.CreateTags)
	case *palisadev1.Command_DeleteTags:
		return x.deleteTags(ctx, x.target(cmd.GetOperationId(), r.DeleteTags.GetLocation()), r.DeleteTags)
	case *palisadev1.Command_ModifySecurityGroupRules:
		return x.modifyRules(ctx, x.target(cmd.GetOperationId(), r.ModifySecurityGroupRules.GetLocation()), r.ModifySecurityGroupRules)
	case *palisadev1.Command_UpdateDescriptionsIngress:
		u := r.UpdateDescriptionsIngress
		return x.updateDescriptions(ctx, x.target(cmd.GetOperationId(), u.GetLocation()), u.GetGroupId(), rules.Ingress, u.GetIpPermissions(), u.GetSecurityGroupRuleDescriptions())
	case *palisadev1.Command_UpdateDescriptionsEgress:
		u := r.UpdateDescriptionsEgress
		return x.updateDescriptions(ctx, x.target(cmd.GetOperationId(), u.GetLocation()), u.GetGroupId(), rules.Egress, u.GetIpPermissions(), u.GetSecurityGroupRuleDescriptions())
	}
	return nil, &ec2Error{class: ec2errors.Terminal, message: "command carries no request"}
}

// create makes the group tagged with the operation id, or adopts the group
// an earlier delivery of the same operation made, then adds its first rules.
func (x *executor) create(ctx context.Context, opID string, r *palisadev1.CreateSecurityGroupRequest, prog *progress) (*palisadev1.OperationResult, error) {
	t := x.target(opID, r.GetLocation())
	tags := []types.Tag{{Key: aws.String(command.MarkerTagKey), Value: aws.String(opID)}}
	for k, v := range r.GetTags() {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	in := &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(r.GetGroupName()),
		Description: aws.String(r.GetDescription()),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroup, Tags: tags,
		}},
	}
	if r.GetVpcId() != "" {
		in.VpcId = aws.String(r.GetVpcId())
	}
	groupID := prog.groupID
	var out *ec2.CreateSecurityGroupOutput
	var err error
	if groupID == "" {
		out, err = call(ctx, x, t, "CreateSecurityGroup", func(ctx context.Context) (*ec2.CreateSecurityGroupOutput, error) {
			return t.client.CreateSecurityGroup(ctx, in)
		})
	}
	switch {
	case groupID != "":
		// An earlier attempt made it; EC2 may not show it yet.
	case err == nil:
		groupID = aws.ToString(out.GroupId)
	case ec2errors.Code(err) == "InvalidGroup.Duplicate":
		// Ours from an earlier attempt or delivery, or someone else's name:
		// then EC2's answer is the operation's answer.
		own, ferr := x.findOwnGroup(ctx, t, r)
		if ferr != nil {
			return nil, ferr
		}
		if own == "" {
			return nil, err
		}
		groupID = own
	default:
		return nil, err
	}
	prog.groupID = groupID
	res := &palisadev1.OperationResult{GroupId: groupID}
	if len(r.GetIpPermissions()) > 0 {
		in, err := x.authorize(ctx, t, groupID, rules.Ingress, r.GetIpPermissions(), false)
		if err != nil {
			return nil, err
		}
		res.SecurityGroupRules = append(res.SecurityGroupRules, in.GetSecurityGroupRules()...)
	}
	if len(r.GetIpPermissionsEgress()) > 0 {
		out, err := x.authorize(ctx, t, groupID, rules.Egress, r.GetIpPermissionsEgress(), false)
		if err != nil {
			return nil, err
		}
		res.SecurityGroupRules = append(res.SecurityGroupRules, out.GetSecurityGroupRules()...)
		if err := x.revokeDefaultEgress(ctx, t, groupID, r.GetIpPermissionsEgress()); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// findOwnGroup looks up the group holding the name a create met as
// taken: its id if it carries this operation's marker, "" if it is
// someone else's.
//
// EC2's reads lag its writes: a group an earlier attempt created moments
// ago can be invisible to every lookup. Only a lookup by name tells that
// apart from a group someone else owns, so it lists the VPC's groups and
// compares names as EC2 does for uniqueness (case-insensitively; the
// group-name filter is exact). When no group of that name shows yet the
// error is retried as not yet visible, bounded by the visibility window,
// instead of failing the operation on its own group's name.
func (x *executor) findOwnGroup(ctx context.Context, t target, r *palisadev1.CreateSecurityGroupRequest) (string, error) {
	vpc := r.GetVpcId()
	if vpc == "" {
		// A create without a VPC goes to the default VPC.
		out, err := read(ctx, x, t, "DescribeVpcs", func(ctx context.Context) (*ec2.DescribeVpcsOutput, error) {
			return t.client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{
				Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
		})
		if err != nil {
			return "", err
		}
		if len(out.Vpcs) == 0 {
			return "", nil
		}
		vpc = aws.ToString(out.Vpcs[0].VpcId)
	}
	in := &ec2.DescribeSecurityGroupsInput{
		Filters:    []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}},
		MaxResults: aws.Int32(1000),
	}
	for {
		page, err := read(ctx, x, t, "DescribeSecurityGroups", func(ctx context.Context) (*ec2.DescribeSecurityGroupsOutput, error) {
			return t.client.DescribeSecurityGroups(ctx, in)
		})
		if err != nil {
			return "", err
		}
		for _, g := range page.SecurityGroups {
			if command.GroupNameKey(aws.ToString(g.GroupName)) != command.GroupNameKey(r.GetGroupName()) {
				continue
			}
			for _, tag := range g.Tags {
				if aws.ToString(tag.Key) == command.MarkerTagKey && aws.ToString(tag.Value) == t.opID {
					return aws.ToString(g.GroupId), nil
				}
			}
			return "", nil // someone else's
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	return "", &ec2Error{class: ec2errors.NotVisible, code: "InvalidGroup.Duplicate",
		message: fmt.Sprintf("the name %q is taken by a group EC2 does not show yet; looking again", r.GetGroupName())}
}

// revokeDefaultEgress removes EC2's allow-all egress rules a new group gets,
// unless the caller asked for them, so the group's egress is exactly what
// the create asked for.
func (x *executor) revokeDefaultEgress(ctx context.Context, t target, groupID string, asked []*palisadev1.IpPermission) error {
	keep, _ := rules.Expand("ip_permissions_egress", rules.Egress, ruleconv.Permissions(asked))
	live, err := x.liveRules(ctx, t, groupID)
	if err != nil {
		return err
	}
	var defaults []rules.Rule
	for _, l := range live {
		r := l.rule
		if r.Direction == rules.Egress && r.Protocol == "-1" &&
			(r.Source == "0.0.0.0/0" || r.Source == "::/0") {
			defaults = append(defaults, r)
		}
	}
	drop := rules.Missing(defaults, keep)
	if len(drop) == 0 {
		return nil
	}
	_, err = x.revokeRules(ctx, t, groupID, rules.Egress, drop, live)
	return err
}

// liveRules reads every rule of a group.
func (x *executor) liveRules(ctx context.Context, t target, groupID string) ([]liveRule, error) {
	var out []liveRule
	in := &ec2.DescribeSecurityGroupRulesInput{
		Filters:    []types.Filter{{Name: aws.String("group-id"), Values: []string{groupID}}},
		MaxResults: aws.Int32(1000),
	}
	for {
		page, err := read(ctx, x, t, "DescribeSecurityGroupRules", func(ctx context.Context) (*ec2.DescribeSecurityGroupRulesOutput, error) {
			return t.client.DescribeSecurityGroupRules(ctx, in)
		})
		if err != nil {
			return nil, err
		}
		for _, r := range page.SecurityGroupRules {
			out = append(out, fromEC2(r))
		}
		if aws.ToString(page.NextToken) == "" {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

// authorize adds what is missing of the requested rules and reports every
// requested rule with its id, whether this call or an earlier one added it.
func (x *executor) authorize(ctx context.Context, t target, groupID string, dir rules.Direction, perms []*palisadev1.IpPermission, firstAttempt bool) (*palisadev1.OperationResult, error) {
	desired, v := rules.Expand("ip_permissions", dir, ruleconv.Permissions(perms))
	if len(v) > 0 {
		return nil, &ec2Error{class: ec2errors.Terminal, message: "invalid permissions: " + v.Error()}
	}
	var live []liveRule
	if !firstAttempt {
		var err error
		if live, err = x.liveRules(ctx, t, groupID); err != nil {
			return nil, err
		}
	}
	// A rule added by someone else between the read and the write makes EC2
	// answer InvalidPermission.Duplicate; read again and add the rest.
	added := false
	for round := 0; ; round++ {
		missing := rules.Missing(desired, rulesOf(live))
		if len(missing) == 0 {
			break
		}
		_, err := x.authorizeRules(ctx, t, groupID, dir, missing)
		if ec2errors.Code(err) == "InvalidPermission.Duplicate" {
			if round >= 3 {
				// EC2 holds them but its reads do not show them yet.
				return nil, &ec2Error{class: ec2errors.NotVisible, code: "InvalidPermission.Duplicate",
					message: "EC2 holds the rules but does not show them yet; looking again", err: err}
			}
			if live, err = x.liveRules(ctx, t, groupID); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		added = true
		break
	}
	if added {
		var err error
		if live, err = x.awaitVisible(ctx, t, groupID, desired); err != nil {
			return nil, err
		}
	}
	return result(groupID, desired, live), nil
}

// awaitVisible reads the group's rules until EC2 shows every one of rs,
// with backoff, within the visibility window. EC2's reads lag its writes
// (reference §5), and the next command on the group starts as soon as
// this one is acknowledged: a revoke that read the group before the rule
// showed would take it for absent and leave it in place. Confirming what
// was added, as AWS advises, gives the next command a read that includes
// it, and the result the rule ids as EC2 reports them.
func (x *executor) awaitVisible(ctx context.Context, t target, groupID string, rs []rules.Rule) ([]liveRule, error) {
	window := x.visibilityWindow
	if window <= 0 {
		window = 30 * time.Second
	}
	deadline := time.Now().Add(window)
	wait := 100 * time.Millisecond
	for {
		live, err := x.liveRules(ctx, t, groupID)
		if err != nil {
			return nil, err
		}
		if len(rules.Missing(rs, rulesOf(live))) == 0 {
			return live, nil
		}
		if time.Now().After(deadline) {
			return nil, &ec2Error{class: ec2errors.NotVisible, code: "InvalidPermission.NotFound",
				message: fmt.Sprintf("EC2 does not show the added rules after %s", window)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (x *executor) authorizeRules(ctx context.Context, t target, groupID string, dir rules.Direction, rs []rules.Rule) ([]liveRule, error) {
	var out []types.SecurityGroupRule
	if dir == rules.Ingress {
		o, err := call(ctx, x, t, "AuthorizeSecurityGroupIngress", func(ctx context.Context) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
			return t.client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: toEC2(rs)})
		})
		if err != nil {
			return nil, err
		}
		out = o.SecurityGroupRules
	} else {
		o, err := call(ctx, x, t, "AuthorizeSecurityGroupEgress", func(ctx context.Context) (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
			return t.client.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(groupID), IpPermissions: toEC2(rs)})
		})
		if err != nil {
			return nil, err
		}
		out = o.SecurityGroupRules
	}
	created := make([]liveRule, 0, len(out))
	for _, r := range out {
		created = append(created, fromEC2(r))
	}
	return created, nil
}

// revoke removes the named rules that are still there; an absent rule is
// already where the command wants it.
func (x *executor) revoke(ctx context.Context, t target, groupID string, dir rules.Direction, perms []*palisadev1.IpPermission, ids []string) (*palisadev1.OperationResult, error) {
	live, err := x.liveRules(ctx, t, groupID)
	if err != nil {
		return nil, err
	}
	var named []rules.Rule
	if len(ids) > 0 {
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		for _, l := range live {
			if want[l.id] {
				if l.rule.Direction != dir {
					return nil, &ec2Error{class: ec2errors.Terminal, code: "InvalidSecurityGroupRuleId.NotFound",
						message: fmt.Sprintf("rule %s of %s is an %s rule", l.id, groupID, l.rule.Direction)}
				}
				named = append(named, l.rule)
			}
		}
	} else {
		var v rules.Violations
		if named, v = rules.Expand("ip_permissions", dir, ruleconv.Permissions(perms)); len(v) > 0 {
			return nil, &ec2Error{class: ec2errors.Terminal, message: "invalid permissions: " + v.Error()}
		}
	}
	return x.revokeRules(ctx, t, groupID, dir, named, live)
}

// revokeRules revokes, by id, those of rs that live holds.
func (x *executor) revokeRules(ctx context.Context, t target, groupID string, dir rules.Direction, rs []rules.Rule, live []liveRule) (*palisadev1.OperationResult, error) {
	present := rules.Present(rs, rulesOf(live))
	res := result(groupID, present, live)
	if len(present) == 0 {
		return res, nil
	}
	ids := make([]string, 0, len(res.GetSecurityGroupRules()))
	for _, r := range res.GetSecurityGroupRules() {
		ids = append(ids, r.GetSecurityGroupRuleId())
	}
	var err error
	if dir == rules.Ingress {
		_, err = call(ctx, x, t, "RevokeSecurityGroupIngress", func(ctx context.Context) (*ec2.RevokeSecurityGroupIngressOutput, error) {
			return t.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groupID), SecurityGroupRuleIds: ids})
		})
	} else {
		_, err = call(ctx, x, t, "RevokeSecurityGroupEgress", func(ctx context.Context) (*ec2.RevokeSecurityGroupEgressOutput, error) {
			return t.client.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(groupID), SecurityGroupRuleIds: ids})
		})
	}
	switch ec2errors.Code(err) {
	case "InvalidPermission.NotFound", "InvalidSecurityGroupRuleId.NotFound":
		// Someone removed one meanwhile: retry from a fresh read.
		return nil, &ec2Error{class: ec2errors.Transient, code: ec2errors.Code(err), message: "a rule vanished during the revoke; reading again", err: err}
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// delete removes the group; a group already gone is the state asked for.
func (x *executor) delete(ctx context.Context, t target, groupID string) (*palisadev1.OperationResult, error) {
	_, err := call(ctx, x, t, "DeleteSecurityGroup", func(ctx context.Context) (*ec2.DeleteSecurityGroupOutput, error) {
		return t.client.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(groupID)})
	})
	if err != nil && ec2errors.Code(err) != "InvalidGroup.NotFound" {
		return nil, err
	}
	return &palisadev1.OperationResult{GroupId: groupID}, nil
}

func rulesOf(live []liveRule) []rules.Rule {
	out := make([]rules.Rule, len(live))
	for i, l := range live {
		out[i] = l.rule
	}
	return out
}

// result reports each of rs with the id EC2 gave it in live.
func result(groupID string, rs []rules.Rule, live []liveRule) *palisadev1.OperationResult {
	ids := map[string]liveRule{}
	for _, l := range live {
		ids[l.rule.Key()] = l
	}
	res := &palisadev1.OperationResult{GroupId: groupID}
	for _, r := range rs {
		l, ok := ids[r.Key()]
		if !ok {
			continue
		}
		res.SecurityGroupRules = append(res.SecurityGroupRules, ruleconv.Rule(groupID, l.id, l.rule))
	}
	return res
}
