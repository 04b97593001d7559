package services

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/audit"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/logging"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/policy"
)

// guard decides every call with the policy and writes the decision to the
// audit trail before the caller hears it. A decision that cannot be
// audited is not answered: the caller gets UNAVAILABLE and nothing is
// stored (design invariant 9).
type guard struct {
	policy *policy.Engine
	audit  *audit.Log
	reader reader
}

// about is what an audit record says of the call besides the decision.
type about struct {
	operation    string // the operation id stored or to be stored
	requestID    string
	hash         []byte
	validateOnly bool
}

// allow decides req for the calling identity and audits the decision. It
// returns nil when every part of req is allowed, PERMISSION_DENIED naming
// each denied rule by its field path, or UNAVAILABLE when the decision
// could not be made or recorded.
func (g *guard) allow(ctx context.Context, req proto.Message, a about) error {
	checks, err := g.checks(ctx, req)
	if err != nil {
		return err
	}
	return g.decide(ctx, checks, a)
}

// decide decides checks (all of one call), audits the decision and
// answers as allow does.
func (g *guard) decide(ctx context.Context, checks []policy.Check, a about) error {
	caller := CallerFrom(ctx)
	set := g.policy.Current()
	if set.UsesTags() {
		if err := g.groupTags(ctx, checks); err != nil {
			return err
		}
	}
	rec := &palisadev1.AuditRecord{
		Caller: caller, RequestId: a.requestID, RequestHash: a.hash, ValidateOnly: a.validateOnly,
		PolicyVersion: set.Version(), Decision: palisadev1.AuditDecision_AUDIT_DECISION_ALLOW,
	}
	if a.operation != "" && !a.validateOnly {
		rec.Operation = operations.Name(a.operation)
	}
	var denied []policy.Denial
	var allowedBy, deniedBy []string
	for i, c := range checks {
		rec.Action = c.Action
		if g := c.Group; g != nil {
			rec.Groups = append(rec.Groups, &palisadev1.AuditGroup{
				AccountId: g.AccountID, Region: g.Region, VpcId: g.VpcID, GroupId: g.GroupID, GroupName: g.Name, Tags: g.Tags,
			})
		}
		if i == 0 {
			for _, r := range c.Rules {
				rec.Rules = append(rec.Rules, &palisadev1.AuditRule{Field: r.Field, Change: string(r.Change), Rule: r.Rule.String()})
			}
		}
		d := set.Decide(c)
		if d.Allowed {
			allowedBy = append(allowedBy, d.Policies...)
			continue
		}
		deniedBy = append(deniedBy, d.Policies...)
		for _, den := range d.Denied {
			if len(checks) > 1 {
				den.What = targetName(c.Group) + ": " + den.What
			}
			denied = append(denied, den)
		}
	}
	rec.Policies = sortedUnique(allowedBy)
	if len(denied) > 0 {
		rec.Operation = "" // nothing is stored
		rec.Decision = palisadev1.AuditDecision_AUDIT_DECISION_DENY
		rec.Policies = sortedUnique(deniedBy)
		for _, d := range denied {
			rec.Denials = append(rec.Denials, &palisadev1.AuditDenial{Field: d.Field, What: d.What, Reason: d.Reason(), Policies: d.Policies})
		}
	}
	metrics.PolicyDecided(len(denied) == 0)
	if err := g.audit.Write(ctx, rec); err != nil {
		if gone := callerGone(ctx); gone != nil {
			return gone
		}
		g.reader.log.WarnContext(ctx, "decision not audited; refusing the call", "error", err)
		st := status.New(codes.Unavailable, "the audit trail is unavailable: the request was not accepted; retry with the same request_id")
		if d, e := st.WithDetails(&errdetails.ErrorInfo{Reason: "AUDIT_UNAVAILABLE", Domain: command.ErrorDomain}); e == nil {
			st = d
		}
		return st.Err()
	}
	if len(denied) > 0 {
		g.reader.log.InfoContext(ctx, "denied by policy", "action", rec.GetAction(), "policies", rec.GetPolicies(), logging.OperationID, a.operation)
		return policyDenied(rec, denied)
	}
	return nil
}

// mayReadAll reports whether the caller may see every caller's operations
// and rollouts; the decision is audited like any other.
func (g *guard) mayReadAll(ctx context.Context) (bool, error) {
	err := g.decide(ctx, []policy.Check{{Caller: CallerFrom(ctx), Action: policy.ReadAllOperations}}, about{})
	switch status.Code(err) {
	case codes.OK:
		return true, nil
	case codes.PermissionDenied:
		return false, nil
	}
	return false, err
}

// policyDenied is PERMISSION_DENIED with the policies that decided (in
// ErrorInfo) and each denied rule by its field path (in BadRequest).
func policyDenied(rec *palisadev1.AuditRecord, denied []policy.Denial) error {
	var parts []string
	br := &errdetails.BadRequest{}
	for _, d := range denied {
		field := d.Field
		if field == "" {
			field = "(the call)"
		}
		parts = append(parts, fmt.Sprintf("%s (%s): %s", field, d.What, d.Reason()))
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: d.Field, Description: d.What + ": " + d.Reason(),
		})
	}
	st := status.New(codes.PermissionDenied, rec.GetAction()+" denied by policy: "+strings.Join(parts, "; "))
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: "POLICY_DENIED", Domain: command.ErrorDomain,
		Metadata: map[string]string{"policies": strings.Join(rec.GetPolicies(), ","), "policy_version": rec.GetPolicyVersion(), "audit_id": rec.GetId()},
	}, br); err == nil {
		st = d
	}
	return st.Err()
}

// groupTags fills in the tags of the existing groups the checks name, as
// EC2 holds them, for a policy that looks at tags: one filtered
// DescribeSecurityGroups per account and region (per 200 groups), paced
// in the shared budget.
func (g *guard) groupTags(ctx context.Context, checks []policy.Check) error {
	type place struct{ account, region string }
	want := map[place][]string{}
	for _, c := range checks {
		if c.Group != nil && c.Group.GroupID != "" && c.Group.Tags == nil {
			p := place{c.Group.AccountID, c.Group.Region}
			want[p] = append(want[p], c.Group.GroupID)
		}
	}
	tags := map[string]map[string]string{}
	for p, ids := range want {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		loc := &palisadev1.Location{AccountId: p.account, Region: p.region}
		for start := 0; start < len(ids); start += 200 {
			batch := ids[start:min(start+200, len(ids))]
			in := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: batch}}}
			for {
				out, err := g.reader.describeGroups(ctx, loc, in)
				if err != nil {
					return g.reader.ec2Status(ctx, err)
				}
				for _, sg := range out.SecurityGroups {
					m := map[string]string{}
					for _, t := range sg.Tags {
						m[aws.ToString(t.Key)] = aws.ToString(t.Value)
					}
					tags[p.account+"/"+p.region+"/"+aws.ToString(sg.GroupId)] = m
				}
				if aws.ToString(out.NextToken) == "" {
					break
				}
				in.NextToken = out.NextToken
			}
		}
	}
	for _, c := range checks {
		if c.Group != nil && c.Group.GroupID != "" && c.Group.Tags == nil {
			// A group EC2 does not have carries no tags; the worker then
			// fails with EC2's own answer.
			c.Group.Tags = tags[c.Group.AccountID+"/"+c.Group.Region+"/"+c.Group.GroupID]
			if c.Group.Tags == nil {
				c.Group.Tags = map[string]string{}
			}
		}
	}
	return nil
}

func targetName(g *policy.Group) string {
	if g == nil {
		return "palisade"
	}
	id := g.GroupID
	if id == "" {
		id = "groups tagged " + fmt.Sprint(g.Tags)
	}
	return g.AccountID + "/" + g.Region + "/" + id
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
