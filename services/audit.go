package services

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/audit"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/internal/rules"
)

// auditServer implements AuditService: reading the audit trail, which
// the policy must allow (ReadAudit), and which is audited in turn.
type auditServer struct {
	palisadev1.UnimplementedAuditServiceServer
	guard  *guard
	reader *audit.Reader
}

func (s *auditServer) mayRead(ctx context.Context) error {
	return s.guard.decide(ctx, []policy.Check{{Caller: CallerFrom(ctx), Action: policy.ReadAudit}}, about{})
}

func (s *auditServer) ListAuditRecords(ctx context.Context, r *palisadev1.ListAuditRecordsRequest) (*palisadev1.ListAuditRecordsResponse, error) {
	size := int(r.GetPageSize())
	switch {
	case size == 0:
		size = 100
	case size < 0 || size > 1000:
		return nil, invalidArgument(rules.Violations{{Field: "page_size", Description: "page_size must be between 1 and 1000, or 0 for 100"}})
	}
	if err := s.mayRead(ctx); err != nil {
		return nil, err
	}
	recs, next, err := s.reader.List(ctx, r.GetFilter(), size, r.GetPageToken())
	switch {
	case errors.Is(err, bus.ErrBadToken):
		return nil, invalidArgument(rules.Violations{{Field: "page_token", Description: err.Error()}})
	case err != nil:
		s.guard.reader.log.WarnContext(ctx, "audit trail not read", "error", err)
		return nil, status.Error(codes.Unavailable, "the audit trail is unavailable; retry")
	}
	return &palisadev1.ListAuditRecordsResponse{Records: recs, NextPageToken: next}, nil
}

func (s *auditServer) WatchAuditRecords(r *palisadev1.WatchAuditRecordsRequest, stream grpc.ServerStreamingServer[palisadev1.WatchAuditRecordsResponse]) error {
	ctx := stream.Context()
	if err := s.mayRead(ctx); err != nil {
		return err
	}
	var start time.Time // zero: from now
	if r.GetStartTime() != nil {
		start = r.GetStartTime().AsTime()
	}
	err := s.reader.Watch(ctx, r.GetFilter(), start, func(rec *palisadev1.AuditRecord) error {
		return stream.Send(&palisadev1.WatchAuditRecordsResponse{Record: rec})
	})
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		return status.Error(codes.Unavailable, "the audit trail went away; watch again")
	}
	return nil
}
