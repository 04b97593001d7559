package services

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
	"github.com/palisadehq/palisade/internal/validate"
)

// securityGroups implements SecurityGroupService: every mutation is
// validated and accepted as an operation; reads go through to EC2.
type securityGroups struct {
	palisadev1.UnimplementedSecurityGroupServiceServer
	acceptor
	reader
	searches *watchLimit
}

func (s *securityGroups) CreateSecurityGroup(ctx context.Context, r *palisadev1.CreateSecurityGroupRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.Create(r), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_CreateSecurityGroup{CreateSecurityGroup: r}
	})
}

func (s *securityGroups) AuthorizeSecurityGroupIngress(ctx context.Context, r *palisadev1.AuthorizeSecurityGroupIngressRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.Authorize(r, rules.Ingress), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: r}
	})
}

func (s *securityGroups) AuthorizeSecurityGroupEgress(ctx context.Context, r *palisadev1.AuthorizeSecurityGroupEgressRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.Authorize(r, rules.Egress), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_AuthorizeEgress{AuthorizeEgress: r}
	})
}

func (s *securityGroups) RevokeSecurityGroupIngress(ctx context.Context, r *palisadev1.RevokeSecurityGroupIngressRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.Revoke(r, rules.Ingress), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_RevokeIngress{RevokeIngress: r}
	})
}

func (s *securityGroups) RevokeSecurityGroupEgress(ctx context.Context, r *palisadev1.RevokeSecurityGroupEgressRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.Revoke(r, rules.Egress), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_RevokeEgress{RevokeEgress: r}
	})
}

func (s *securityGroups) DeleteSecurityGroup(ctx context.Context, r *palisadev1.DeleteSecurityGroupRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.Group(r), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_DeleteSecurityGroup{DeleteSecurityGroup: r}
	})
}
