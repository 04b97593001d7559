package services

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/rules"
)

// invalidArgument turns violations into INVALID_ARGUMENT with a
// google.rpc.BadRequest naming every bad field by its path. The
// violations are capped (rules.Violations.Capped) and listed once, in the
// BadRequest; the message names the first and says how many there are,
// so the answer stays small whatever the request held.
func invalidArgument(v rules.Violations) error {
	n := len(v)
	v = v.Capped()
	br := &errdetails.BadRequest{FieldViolations: make([]*errdetails.BadRequest_FieldViolation, 0, len(v))}
	for _, x := range v {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: x.Field, Description: x.Description,
		})
	}
	msg := "invalid request"
	if n > 0 {
		msg += ": " + v[0].Field + ": " + v[0].Description
	}
	if n > 1 {
		msg += fmt.Sprintf(" (and %d more; see the BadRequest details)", n-1)
	}
	st := status.New(codes.InvalidArgument, msg)
	if withDetails, err := st.WithDetails(br, &errdetails.ErrorInfo{Reason: "INVALID_REQUEST", Domain: command.ErrorDomain}); err == nil {
		st = withDetails
	}
	return st.Err()
}

// quoteName renders a resource name a caller sent for a message:
// Go-quoted and cut to 80 bytes, so a huge name makes no huge error.
func quoteName(name string) string {
	const maxQuoted = 80
	if len(name) <= maxQuoted {
		return strconv.Quote(name)
	}
	return strconv.Quote(strings.ToValidUTF8(name[:maxQuoted], "")) + "…"
}

// requestIDReused rejects a different request under a used request_id.
func requestIDReused(requestID, operation string) error {
	st := status.New(codes.FailedPrecondition,
		"request_id "+requestID+" was already used for a different request ("+operation+"); use a new request_id for a new request")
	if withDetails, err := st.WithDetails(
		&errdetails.PreconditionFailure{Violations: []*errdetails.PreconditionFailure_Violation{{
			Type: "REQUEST_ID_REUSED", Subject: "request_id", Description: "the request differs from the one first sent under this request_id",
		}}},
		&errdetails.ErrorInfo{Reason: "REQUEST_ID_REUSED", Domain: command.ErrorDomain, Metadata: map[string]string{"operation": operation}},
	); err == nil {
		st = withDetails
	}
	return st.Err()
}

// queueFullRetry is how long a caller refused for a full queue is told to
// wait: workers drain a queue at EC2's pace, seconds per command per group.
const queueFullRetry = 30 * time.Second

// exhausted answers RESOURCE_EXHAUSTED with the reason and how long to
// wait before retrying (google.rpc.RetryInfo).
func exhausted(msg, reason string, retry time.Duration) error {
	st := status.New(codes.ResourceExhausted, msg)
	if withDetails, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: command.ErrorDomain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)},
	); err == nil {
		st = withDetails
	}
	return st.Err()
}

// unavailable answers when the command could not be stored: the caller may
// retry with the same request_id.
func unavailable(what string, err error) error {
	st := status.New(codes.Unavailable, what+": the request was not accepted; retry with the same request_id")
	if withDetails, e := st.WithDetails(&errdetails.ErrorInfo{Reason: "QUEUE_UNAVAILABLE", Domain: command.ErrorDomain}); e == nil {
		st = withDetails
	}
	_ = err // logged by the caller; internals are not sent to clients
	return st.Err()
}
