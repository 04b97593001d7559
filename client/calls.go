package client

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/google/uuid"
	"google.golang.org/grpc"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// requestID gives a request without one a new UUID, in the request
// itself: every retry then carries the same one, and the caller can read
// it back.
func requestID(id *string) {
	if *id == "" {
		*id = uuid.NewString()
	}
}

// submit sends a mutating call and decodes the operation it returns.
func submit[Req any](ctx context.Context, c *Client, call func(context.Context, Req, ...grpc.CallOption) (*longrunningpb.Operation, error), req Req, opts []grpc.CallOption) (*Operation, error) {
	op, err := invoke(ctx, c, call, req, opts)
	if err != nil {
		return nil, err
	}
	return decode(op)
}

// CreateSecurityGroup creates a group, with its first rules if the
// request has them. Wait on the operation for the group's id.
func (c *Client) CreateSecurityGroup(ctx context.Context, req *palisadev1.CreateSecurityGroupRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.CreateSecurityGroup, req, opts)
}

// AuthorizeSecurityGroupIngress adds inbound rules.
func (c *Client) AuthorizeSecurityGroupIngress(ctx context.Context, req *palisadev1.AuthorizeSecurityGroupIngressRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.AuthorizeSecurityGroupIngress, req, opts)
}

// AuthorizeSecurityGroupEgress adds outbound rules.
func (c *Client) AuthorizeSecurityGroupEgress(ctx context.Context, req *palisadev1.AuthorizeSecurityGroupEgressRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.AuthorizeSecurityGroupEgress, req, opts)
}

// RevokeSecurityGroupIngress removes inbound rules, by description or by id.
func (c *Client) RevokeSecurityGroupIngress(ctx context.Context, req *palisadev1.RevokeSecurityGroupIngressRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.RevokeSecurityGroupIngress, req, opts)
}

// RevokeSecurityGroupEgress removes outbound rules, by description or by id.
func (c *Client) RevokeSecurityGroupEgress(ctx context.Context, req *palisadev1.RevokeSecurityGroupEgressRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.RevokeSecurityGroupEgress, req, opts)
}

// DeleteSecurityGroup deletes a group.
func (c *Client) DeleteSecurityGroup(ctx context.Context, req *palisadev1.DeleteSecurityGroupRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.DeleteSecurityGroup, req, opts)
}

// GetSecurityGroup reads a group as EC2 holds it now.
func (c *Client) GetSecurityGroup(ctx context.Context, req *palisadev1.GetSecurityGroupRequest, opts ...grpc.CallOption) (*palisadev1.SecurityGroup, error) {
	return invoke(ctx, c, c.groups.GetSecurityGroup, req, opts)
}

// ListSecurityGroups reads one page of groups from EC2.
func (c *Client) ListSecurityGroups(ctx context.Context, req *palisadev1.ListSecurityGroupsRequest, opts ...grpc.CallOption) (*palisadev1.ListSecurityGroupsResponse, error) {
	return invoke(ctx, c, c.groups.ListSecurityGroups, req, opts)
}

// GetOperation reads an operation by name ("operations/<id>").
func (c *Client) GetOperation(ctx context.Context, name string, opts ...grpc.CallOption) (*Operation, error) {
	op, err := invoke(ctx, c, c.ops.GetOperation, &longrunningpb.GetOperationRequest{Name: name}, opts)
	if err != nil {
		return nil, err
	}
	return decode(op)
}

// ListOperations reads one page of the caller's operations, oldest first.
func (c *Client) ListOperations(ctx context.Context, req *longrunningpb.ListOperationsRequest, opts ...grpc.CallOption) (*longrunningpb.ListOperationsResponse, error) {
	return invoke(ctx, c, c.ops.ListOperations, req, opts)
}

// CancelOperation cancels an operation no worker has started.
func (c *Client) CancelOperation(ctx context.Context, name string, opts ...grpc.CallOption) error {
	_, err := invoke(ctx, c, c.ops.CancelOperation, &longrunningpb.CancelOperationRequest{Name: name}, opts)
	return err
}

// DeleteOperation is the Operations service's; Palisade keeps its
// history and answers UNIMPLEMENTED.
func (c *Client) DeleteOperation(ctx context.Context, name string, opts ...grpc.CallOption) error {
	_, err := invoke(ctx, c, c.ops.DeleteOperation, &longrunningpb.DeleteOperationRequest{Name: name}, opts)
	return err
}

// WaitOperation is the Operations service's own wait: the server holds
// the call until the operation ends or the timeout in req passes. Wait
// is usually handier: it returns the typed result.
func (c *Client) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest, opts ...grpc.CallOption) (*Operation, error) {
	op, err := invoke(ctx, c, c.ops.WaitOperation, req, opts)
	if err != nil {
		return nil, err
	}
	return decode(op)
}

// WatchOperation opens the stream of an operation's events. Watch
// resumes a broken stream; this is the bare call.
func (c *Client) WatchOperation(ctx context.Context, req *palisadev1.WatchOperationRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[palisadev1.WatchOperationResponse], error) {
	return invoke(ctx, c, c.events.WatchOperation, req, opts)
}

// StartRollout starts one rule change across many groups.
func (c *Client) StartRollout(ctx context.Context, req *palisadev1.StartRolloutRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.rollouts.StartRollout, req, opts)
}

// RollbackRollout undoes what an ended rollout changed, as a new rollout.
func (c *Client) RollbackRollout(ctx context.Context, req *palisadev1.RollbackRolloutRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.rollouts.RollbackRollout, req, opts)
}

// GetRollout reads a rollout.
func (c *Client) GetRollout(ctx context.Context, req *palisadev1.GetRolloutRequest, opts ...grpc.CallOption) (*palisadev1.Rollout, error) {
	return invoke(ctx, c, c.rollouts.GetRollout, req, opts)
}

// ListRollouts reads one page of rollouts.
func (c *Client) ListRollouts(ctx context.Context, req *palisadev1.ListRolloutsRequest, opts ...grpc.CallOption) (*palisadev1.ListRolloutsResponse, error) {
	return invoke(ctx, c, c.rollouts.ListRollouts, req, opts)
}

// WatchRollout opens the stream of a rollout's progress.
func (c *Client) WatchRollout(ctx context.Context, req *palisadev1.WatchRolloutRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[palisadev1.WatchRolloutResponse], error) {
	return invoke(ctx, c, c.rollouts.WatchRollout, req, opts)
}

// PauseRollout pauses a rollout between waves.
func (c *Client) PauseRollout(ctx context.Context, req *palisadev1.PauseRolloutRequest, opts ...grpc.CallOption) (*palisadev1.Rollout, error) {
	return invoke(ctx, c, c.rollouts.PauseRollout, req, opts)
}

// ResumeRollout resumes a paused rollout.
func (c *Client) ResumeRollout(ctx context.Context, req *palisadev1.ResumeRolloutRequest, opts ...grpc.CallOption) (*palisadev1.Rollout, error) {
	return invoke(ctx, c, c.rollouts.ResumeRollout, req, opts)
}

// CancelRollout stops a rollout before its next wave.
func (c *Client) CancelRollout(ctx context.Context, req *palisadev1.CancelRolloutRequest, opts ...grpc.CallOption) (*palisadev1.Rollout, error) {
	return invoke(ctx, c, c.rollouts.CancelRollout, req, opts)
}

// ListAuditRecords reads one page of the audit trail.
func (c *Client) ListAuditRecords(ctx context.Context, req *palisadev1.ListAuditRecordsRequest, opts ...grpc.CallOption) (*palisadev1.ListAuditRecordsResponse, error) {
	return invoke(ctx, c, c.audit.ListAuditRecords, req, opts)
}

// WatchAuditRecords opens the stream of audit records as they are written.
func (c *Client) WatchAuditRecords(ctx context.Context, req *palisadev1.WatchAuditRecordsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[palisadev1.WatchAuditRecordsResponse], error) {
	return invoke(ctx, c, c.audit.WatchAuditRecords, req, opts)
}

// ListSecurityGroupRules reads one page of rules from EC2, each with its
// sgr- id and tags.
func (c *Client) ListSecurityGroupRules(ctx context.Context, req *palisadev1.ListSecurityGroupRulesRequest, opts ...grpc.CallOption) (*palisadev1.ListSecurityGroupRulesResponse, error) {
	return invoke(ctx, c, c.groups.ListSecurityGroupRules, req, opts)
}

// CreateTags sets tags on a group and on rules of that group.
func (c *Client) CreateTags(ctx context.Context, req *palisadev1.CreateTagsRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.CreateTags, req, opts)
}

// DeleteTags removes tags from a group and from rules of that group.
func (c *Client) DeleteTags(ctx context.Context, req *palisadev1.DeleteTagsRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.DeleteTags, req, opts)
}

// ModifySecurityGroupRules changes rules in place, by id.
func (c *Client) ModifySecurityGroupRules(ctx context.Context, req *palisadev1.ModifySecurityGroupRulesRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.ModifySecurityGroupRules, req, opts)
}

// UpdateSecurityGroupRuleDescriptionsIngress changes inbound rules'
// descriptions, by content or by id.
func (c *Client) UpdateSecurityGroupRuleDescriptionsIngress(ctx context.Context, req *palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.UpdateSecurityGroupRuleDescriptionsIngress, req, opts)
}

// UpdateSecurityGroupRuleDescriptionsEgress changes outbound rules'
// descriptions, by content or by id.
func (c *Client) UpdateSecurityGroupRuleDescriptionsEgress(ctx context.Context, req *palisadev1.UpdateSecurityGroupRuleDescriptionsEgressRequest, opts ...grpc.CallOption) (*Operation, error) {
	requestID(&req.RequestId)
	return submit(ctx, c, c.groups.UpdateSecurityGroupRuleDescriptionsEgress, req, opts)
}

// SearchSecurityGroups opens a fleet search: one answer per matching
// group (or per target that could not be read) as each target is read.
// Receive until io.EOF.
func (c *Client) SearchSecurityGroups(ctx context.Context, req *palisadev1.SearchSecurityGroupsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[palisadev1.SearchSecurityGroupsResponse], error) {
	return invoke(ctx, c, c.groups.SearchSecurityGroups, req, opts)
}
