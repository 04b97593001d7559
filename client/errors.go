package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// Error domains of google.rpc.ErrorInfo in Palisade's answers.
const (
	// DomainPalisade marks Palisade's own reasons (INVALID_REQUEST,
	// POLICY_DENIED, REQUEST_ID_REUSED, QUEUE_UNAVAILABLE, …).
	DomainPalisade = "palisade.dev"
	// DomainEC2 marks an operation that EC2 failed: the reason is EC2's
	// error code (InvalidGroup.Duplicate, RulesPerSecurityGroupLimitExceeded, …).
	DomainEC2 = "ec2.amazonaws.com"
)

// ReasonPolicyDenied is the ErrorInfo reason of a call the policy denied.
const ReasonPolicyDenied = "POLICY_DENIED"

// Error is what the server answered, or how an operation ended, as a Go
// value: the gRPC code and message and every detail Palisade sends.
type Error struct {
	// Code and Message are the gRPC status's.
	Code    codes.Code
	Message string
	// Reason and Domain are google.rpc.ErrorInfo's: for an operation EC2
	// failed, Domain is DomainEC2 and Reason EC2's error code.
	Reason, Domain string
	// Metadata is ErrorInfo's metadata (attempts, the deciding policies, …).
	Metadata map[string]string
	// Violations are google.rpc.BadRequest's: each invalid field by its
	// path (ip_permissions[0].ip_ranges[0].cidr_ip), or each rule a
	// policy denied.
	Violations []FieldViolation
	// Preconditions are google.rpc.PreconditionFailure's
	// (REQUEST_ID_REUSED, …).
	Preconditions []PreconditionViolation
	// Policy is the decision of a call the policy denied; nil otherwise.
	Policy *PolicyDecision
	// RetryAfter is google.rpc.RetryInfo's delay; 0 when not given.
	RetryAfter time.Duration
	// Operation and State are set when an operation ended FAILED or
	// CANCELLED (Wait); empty for a refused call.
	Operation string
	State     palisadev1.OperationState

	status *status.Status
}

// FieldViolation is one bad field, named by its path in the request.
type FieldViolation struct {
	Field, Description string
}

// PreconditionViolation is one failed precondition.
type PreconditionViolation struct {
	Type, Subject, Description string
}

// PolicyDecision says which policies denied a call and where the
// decision is audited.
type PolicyDecision struct {
	Policies []string
	Version  string
	AuditID  string
}

// Error reads as the server's message, led by the operation when it was
// one that failed.
func (e *Error) Error() string {
	msg := e.Code.String() + ": " + e.Message
	if e.Operation != "" {
		msg = fmt.Sprintf("operation %s %s: %s", e.Operation, stateWord(e.State), e.Message)
	}
	return msg
}

// GRPCStatus lets status.FromError and status.Code see the original
// status through an *Error.
func (e *Error) GRPCStatus() *status.Status { return e.status }

// EC2Code is EC2's error code when EC2 failed the operation, else "".
func (e *Error) EC2Code() string {
	if e.Domain == DomainEC2 {
		return e.Reason
	}
	return ""
}

// Denied reports whether the policy denied the call.
func (e *Error) Denied() bool { return e.Policy != nil }

// Retryable reports whether sending the same request again (with the
// same request_id) may succeed.
func (e *Error) Retryable() bool { return e.Code == codes.Unavailable }

// FromStatus decodes a gRPC status and its details into an *Error; the
// client's methods do this for every error the server returns.
func FromStatus(st *status.Status) *Error { return fromStatus(st) }

// fromStatus decodes a status and its details.
func fromStatus(st *status.Status) *Error {
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			// An EC2 ErrorInfo says more than Palisade's own, when both
			// are there.
			if e.Reason == "" || d.GetDomain() == DomainEC2 {
				e.Reason, e.Domain, e.Metadata = d.GetReason(), d.GetDomain(), d.GetMetadata()
			}
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.Violations = append(e.Violations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				e.Preconditions = append(e.Preconditions, PreconditionViolation{Type: v.GetType(), Subject: v.GetSubject(), Description: v.GetDescription()})
			}
		case *errdetails.RetryInfo:
			e.RetryAfter = d.GetRetryDelay().AsDuration()
		}
	}
	if e.Reason == ReasonPolicyDenied && e.Domain == DomainPalisade {
		e.Policy = &PolicyDecision{Version: e.Metadata["policy_version"], AuditID: e.Metadata["audit_id"]}
		if p := e.Metadata["policies"]; p != "" {
			e.Policy.Policies = strings.Split(p, ",")
		}
	}
	return e
}

// operationError is how an operation that did not succeed ended.
func operationError(name string, state palisadev1.OperationState, st *spb.Status) *Error {
	e := fromStatus(status.FromProto(st))
	e.Operation, e.State = name, state
	return e
}

// wrap turns a gRPC error into an *Error; other errors (a cancelled
// context before any call, say) are returned as they are.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	return fromStatus(st)
}

// ErrorFrom is the *Error err carries, if any: a shorthand for errors.As.
func ErrorFrom(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func stateWord(s palisadev1.OperationState) string {
	return strings.TrimPrefix(s.String(), "OPERATION_STATE_")
}
