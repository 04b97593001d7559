package workers

import (
	"context"
	"errors"
	"fmt"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/palisadehq/palisade/internal/ec2errors"
)

// ec2Error is a failed EC2 call with its classification.
type ec2Error struct {
	class ec2errors.Class
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
		//nolint:errorlint // walks the chain itself: the innermost operation counts, errors.As finds the outermost
		if op, ok := e.(*smithy.OperationError); ok && op.ServiceID != "" {
			service = op.ServiceID
		}
	}
	return service
}

func (e *ec2Error) Unwrap() error { return e.err }

// classify says what a failed call means, by the one table of EC2's
// codes (ec2errors); an unlisted code answered with a 5xx is a fault of
// EC2's too, and so is everything that never reached EC2.
func classify(err error) *ec2Error {
	var done *ec2Error
	if errors.As(err, &done) {
		return done
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := ec2errors.Strip(apiErr.ErrorCode())
		e := &ec2Error{class: ec2errors.Of(code).Class, service: serviceOf(err), code: code, message: apiErr.ErrorMessage(), err: err}
		var re *awshttp.ResponseError
		if e.class == ec2errors.Terminal && errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
			e.class = ec2errors.Transient
		}
		return e
	}
	// A transport failure, a timed-out call or an unreadable answer: the
	// call may or may not have landed; the executors converge either way.
	if errors.Is(err, context.Canceled) {
		return &ec2Error{class: ec2errors.Terminal, message: "cancelled", err: err}
	}
	return &ec2Error{class: ec2errors.Transient, message: err.Error(), err: err}
}
