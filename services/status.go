package services

import (
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/rules"
)

// invalidArgument turns violations into INVALID_ARGUMENT with a
// google.rpc.BadRequest naming every bad field by its path.
func invalidArgument(v rules.Violations) error {
	br := &errdetails.BadRequest{}
	for _, x := range v {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field: x.Field, Description: x.Description,
		})
	}
	msg := "invalid request: " + v.Error()
	st := status.New(codes.InvalidArgument, msg)
	if withDetails, err := st.WithDetails(br, &errdetails.ErrorInfo{Reason: "INVALID_REQUEST", Domain: command.ErrorDomain}); err == nil {
		st = withDetails
	}
	return st.Err()
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
