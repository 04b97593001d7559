// Package ec2errors is the one table of what EC2's (and STS's) error codes
// mean to Palisade: whether a failed call may be retried, and which gRPC
// code a caller gets for it. The API's reads and the workers both answer
// from it, so a code means the same whoever met it.
package ec2errors

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
	"google.golang.org/grpc/codes"
)

// Domains of google.rpc.ErrorInfo whose reason is the service's own code.
const (
	EC2Domain = "ec2.amazonaws.com"
	STSDomain = "sts.amazonaws.com"
)

// Class says what a failed call means for whoever made it.
type Class int

const (
	// Terminal: retrying cannot help (validation, limits, permissions).
	Terminal Class = iota
	// Transient: a fault of EC2 or of the way to it: retry with backoff.
	Transient
	// Throttled: EC2's rate limit: retry after a longer backoff.
	Throttled
	// NotVisible: InvalidGroup.NotFound, which right after a create is
	// EC2's eventual consistency: retry for a bounded time.
	NotVisible
	// Dependency: DependencyViolation on delete: the group is still in
	// use, often by an interface that detaches late: retry for longer,
	// bounded.
	Dependency
)

func (c Class) String() string {
	return [...]string{"terminal", "transient", "throttled", "not-visible", "dependency"}[c]
}

// Meaning is what one code means.
type Meaning struct {
	Class Class
	// GRPC is the code a caller gets when the call failed for good with
	// this error. A retryable error that ran out of retries is
	// UNAVAILABLE whatever this says.
	GRPC codes.Code
}

// table follows the EC2 reference's list of error codes (§5): throttling
// and 5xx are retried, 4xx are final except the two caused by EC2 still
// changing state. Codes not listed are Terminal and FAILED_PRECONDITION.
var table = map[string]Meaning{}

func init() {
	add := func(m Meaning, codes ...string) {
		for _, c := range codes {
			table[c] = m
		}
	}
	add(Meaning{Throttled, codes.Unavailable},
		"RequestLimitExceeded", "Throttling", "ThrottlingException", "EC2ThrottledException")
	add(Meaning{Transient, codes.Unavailable},
		"InternalError", "InternalFailure", "ServerInternal", "Unavailable", "ServiceUnavailable", "RequestExpired", "RequestTimeout")
	add(Meaning{NotVisible, codes.NotFound}, "InvalidGroup.NotFound")
	add(Meaning{Dependency, codes.FailedPrecondition}, "DependencyViolation")
	add(Meaning{Terminal, codes.NotFound}, "InvalidVpcID.NotFound", "InvalidSecurityGroupRuleId.NotFound",
		// A pl- id no list has (or one this account may not see): the
		// request names something that is not there, as with a VPC.
		"InvalidPrefixListID.NotFound")
	// A managed prefix list changed under the caller (another modify
	// bumped its version, or it is still being modified): the caller must
	// re-read it, so it is not retried blindly.
	add(Meaning{Terminal, codes.Aborted}, "PrefixListVersionMismatch", "IncorrectState")
	add(Meaning{Terminal, codes.ResourceExhausted}, "PrefixListMaxEntriesExceeded")
	add(Meaning{Terminal, codes.AlreadyExists}, "InvalidGroup.Duplicate", "InvalidPermission.Duplicate")
	add(Meaning{Terminal, codes.ResourceExhausted},
		"RulesPerSecurityGroupLimitExceeded", "SecurityGroupLimitExceeded", "TagLimitExceeded")
	add(Meaning{Terminal, codes.PermissionDenied},
		"UnauthorizedOperation", "AuthFailure", "InvalidClientTokenId", "OptInRequired", "Blocked",
		"AccessDenied", "RegionDisabledException")
	add(Meaning{Terminal, codes.InvalidArgument},
		"InvalidParameterValue", "InvalidParameter", "MissingParameter", "InvalidParameterCombination",
		"InvalidPermission.Malformed", "InvalidGroupId.Malformed", "InvalidPrefixListId.Malformed",
		"InvalidPrefixListModification",
		"InvalidFilter", "InvalidNextToken", "InvalidPaginationToken")
}

// Of returns what code (with or without its Client./Server. prefix) means.
func Of(code string) Meaning {
	if m, ok := table[Strip(code)]; ok {
		return m
	}
	return Meaning{Terminal, codes.FailedPrecondition}
}

// Code returns the service's error code carried by err, without the
// prefix, or "" when err carries none (a transport failure).
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return Strip(apiErr.ErrorCode())
	}
	return ""
}

// Strip drops the Client./Server. prefix older tools and consoles show.
func Strip(code string) string {
	code, _ = strings.CutPrefix(code, "Client.")
	code, _ = strings.CutPrefix(code, "Server.")
	return code
}
