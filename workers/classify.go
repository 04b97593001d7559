package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// class says what a failed attempt means for the operation.
type class int

const (
	// terminal: retrying cannot help (validation, limits, permissions).
	terminal class = iota
	// transient: EC2 fault, network, timeout: retry with backoff.
	transient
	// throttled: RequestLimitExceeded: retry after a longer backoff.
	throttled
	// notVisible: InvalidGroup.NotFound, which right after a create is
	// EC2's eventual consistency: retry for a bounded time.
	notVisible
	// dependency: DependencyViolation on delete: the group is still in use,
	// often by an interface that detaches late: retry for longer, bounded.
	dependency
)

func (c class) String() string {
	return [...]string{"terminal", "transient", "throttled", "not-visible", "dependency"}[c]
}

// ec2Error is a failed EC2 call with its classification.
type ec2Error struct {
	class class
	// service answered with code: "EC2" (or ""), or "STS" when the call
	// failed assuming the account's role.
	service string
	code    string // the service's code, or "" for a transport failure
	message string
	err     error
}

func (e *ec2Error) Error() string {
	if e.code != "" {
		service := e.service
		if service == "" {
			service = "EC2"
		}
		return fmt.Sprintf("%s %s: %s", service, e.code, e.message)
	}
	return e.message
}

// serviceOf names the service whose answer err carries: the innermost
// operation in the chain, since a failed AssumeRole comes wrapped in the
// EC2 call that needed its credentials.
func serviceOf(err error) string {
	service := "EC2"
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*smithy.OperationError); ok && op.ServiceID != "" {
			service = op.ServiceID
		}
	}
	return service
}

func (e *ec2Error) Unwrap() error { return e.err }

// errorCode returns the EC2 error code of err, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return stripPrefix(apiErr.ErrorCode())
	}
	return ""
}

// stripPrefix drops the Client./Server. prefix older consoles show.
func stripPrefix(code string) string {
	code, _ = strings.CutPrefix(code, "Client.")
	code, _ = strings.CutPrefix(code, "Server.")
	return code
}

// classify follows the EC2 reference's table of codes: 5xx and throttling
// are retried, as is everything that never reached EC2; 4xx are final
// except the two caused by EC2 still changing state.
func classify(err error) *ec2Error {
	var done *ec2Error
	if errors.As(err, &done) {
		return done
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := stripPrefix(apiErr.ErrorCode())
		e := &ec2Error{class: terminal, service: serviceOf(err), code: code, message: apiErr.ErrorMessage(), err: err}
		switch code {
		case "RequestLimitExceeded", "Throttling", "ThrottlingException", "EC2ThrottledException":
			e.class = throttled
		case "InternalError", "InternalFailure", "ServerInternal", "Unavailable", "ServiceUnavailable", "RequestExpired", "RequestTimeout":
			e.class = transient
		case "InvalidGroup.NotFound":
			e.class = notVisible
		case "DependencyViolation":
			e.class = dependency
		default:
			var re *awshttp.ResponseError
			if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
				e.class = transient
			}
		}
		return e
	}
	// A transport failure, a timed-out call or an unreadable answer: the
	// call may or may not have landed; the executors converge either way.
	if errors.Is(err, context.Canceled) {
		return &ec2Error{class: terminal, message: "cancelled", err: err}
	}
	return &ec2Error{class: transient, message: err.Error(), err: err}
}
