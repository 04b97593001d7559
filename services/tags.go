package services

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/validate"
)

func (s *securityGroups) CreateTags(ctx context.Context, r *palisadev1.CreateTagsRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.CreateTags(r), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_CreateTags{CreateTags: r}
	})
}

func (s *securityGroups) DeleteTags(ctx context.Context, r *palisadev1.DeleteTagsRequest) (*longrunningpb.Operation, error) {
	return s.accept(ctx, r, r.GetRequestId(), validate.DeleteTags(r), r.GetValidateOnly(), func(c *palisadev1.Command) {
		c.Request = &palisadev1.Command_DeleteTags{DeleteTags: r}
	})
}
