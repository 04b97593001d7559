package workers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/palisadehq/palisade/internal/ec2errors"
)

// apiError builds an error shaped as aws-sdk-go-v2 returns EC2 errors: a
// generic API error inside a response error inside an operation error.
func apiError(code string, httpStatus int) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: "Op", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: httpStatus}},
			Err: &smithy.GenericAPIError{Code: code, Message: "m"}},
	}}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ec2errors.Class
	}{
		{"throttled", apiError("RequestLimitExceeded", 503), ec2errors.Throttled},
		{"internal error", apiError("InternalError", 500), ec2errors.Transient},
		{"unavailable", apiError("Unavailable", 503), ec2errors.Transient},
		{"unknown 5xx", apiError("SomethingNew", 502), ec2errors.Transient},
		{"not yet visible", apiError("InvalidGroup.NotFound", 400), ec2errors.NotVisible},
		{"in use", apiError("DependencyViolation", 400), ec2errors.Dependency},
		{"console prefix stripped", apiError("Client.DependencyViolation", 400), ec2errors.Dependency},
		{"duplicate name", apiError("InvalidGroup.Duplicate", 400), ec2errors.Terminal},
		{"quota", apiError("RulesPerSecurityGroupLimitExceeded", 400), ec2errors.Terminal},
		{"default group", apiError("CannotDelete", 400), ec2errors.Terminal},
		{"denied", apiError("UnauthorizedOperation", 403), ec2errors.Terminal},
		{"bad parameter", apiError("InvalidParameterValue", 400), ec2errors.Terminal},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, ec2errors.Transient},
		{"call timed out", fmt.Errorf("call: %w", context.DeadlineExceeded), ec2errors.Transient},
		{"cancelled", context.Canceled, ec2errors.Terminal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err)
			if got.class != tc.want {
				t.Fatalf("class %v, want %v", got.class, tc.want)
			}
			if errors.Unwrap(got) != tc.err { //nolint:errorlint // it must wrap exactly the original, not something that wraps it
				t.Fatalf("classified error does not wrap the original")
			}
		})
	}
	if c := classify(apiError("Client.CannotDelete", 400)); c.code != "CannotDelete" {
		t.Fatalf("code %q, want the prefix stripped", c.code)
	}
	done := &ec2Error{class: ec2errors.Transient, message: "x"}
	if classify(fmt.Errorf("wrapped: %w", done)) != done {
		t.Fatal("an already classified error must keep its class")
	}
}
