package ec2sim

import (
	"fmt"
	"net/http"
)

// apiError is an EC2 error as it goes on the wire: a code, a message and the
// HTTP status EC2 sends with it. The status matters beyond cosmetics: SDK
// retryers decide on it (5xx retried, 4xx not).
type apiError struct {
	Code    string
	Message string
	Status  int
}

func clientErr(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// Error codes the simulator produces, named once so handlers and tests agree.
const (
	codeAuthFailure             = "AuthFailure"
	codeCannotDelete            = "CannotDelete"
	codeDependencyViolation     = "DependencyViolation"
	codeDryRunOperation         = "DryRunOperation"
	codeFilterLimitExceeded     = "FilterLimitExceeded"
	codeInternalError           = "InternalError"
	codeInvalidAction           = "InvalidAction"
	codeInvalidFilter           = "InvalidFilter"
	codeInvalidGroupDuplicate   = "InvalidGroup.Duplicate"
	codeInvalidGroupNotFound    = "InvalidGroup.NotFound"
	codeInvalidUserIDMalformed  = "InvalidUserID.Malformed"
	codeOperationNotPermitted   = "OperationNotPermitted"
	codeInvalidGroupReserved    = "InvalidGroup.Reserved"
	codeInvalidGroupIDMalformed = "InvalidGroupId.Malformed"
	codeInvalidID               = "InvalidID"
	codeInvalidPaginationToken  = "InvalidPaginationToken"
	codeInvalidParameter        = "InvalidParameter"
	codeInvalidParamCombination = "InvalidParameterCombination"
	codeInvalidParameterValue   = "InvalidParameterValue"
	codeInvalidPermDuplicate    = "InvalidPermission.Duplicate"
	codeInvalidPermMalformed    = "InvalidPermission.Malformed"
	codeInvalidPermNotFound     = "InvalidPermission.NotFound"
	codeInvalidPrefixListIDMalf = "InvalidPrefixListId.Malformed"
	codeInvalidRuleIDMalformed  = "InvalidSecurityGroupRuleId.Malformed"
	codeInvalidRuleIDNotFound   = "InvalidSecurityGroupRuleId.NotFound"
	codeInvalidVpcIDMalformed   = "InvalidVpcId.Malformed"
	codeInvalidVpcIDNotFound    = "InvalidVpcID.NotFound"
	codeInvalidVpcRange         = "InvalidVpc.Range"
	codeInvalidPeeringNotFound  = "InvalidVpcPeeringConnectionID.NotFound"
	codeMalformedQueryString    = "MalformedQueryString"
	codeMissingAction           = "MissingAction"
	codeMissingParameter        = "MissingParameter"
	codeNoSuchVersion           = "NoSuchVersion"
	codeRequestLimitExceeded    = "RequestLimitExceeded"
	codeRulesPerGroupLimit      = "RulesPerSecurityGroupLimitExceeded"
	codeSecurityGroupLimit      = "SecurityGroupLimitExceeded"
	codeTagLimitExceeded        = "TagLimitExceeded"
	codeUnavailable             = "Unavailable"
	codeUnknownParameter        = "UnknownParameter"
	codeVPCIDNotSpecified       = "VPCIdNotSpecified"
	codeVpcLimitExceeded        = "VpcLimitExceeded"
	msgSamePermissionTwice      = "The same permission must not appear multiple times"
	msgRulesPerGroupLimit       = "The maximum number of rules per security group has been reached."
	msgRequestLimitExceeded     = "Request limit exceeded."
	msgDryRun                   = "Request would have succeeded, but DryRun flag is set."
	msgInternalError            = "An internal error has occurred"
	msgUnavailable              = "The service is unavailable. Please try again shortly."
)

var (
	errDryRun = &apiError{Code: codeDryRunOperation, Message: msgDryRun, Status: http.StatusPreconditionFailed}
)

func errThrottled() *apiError {
	return &apiError{Code: codeRequestLimitExceeded, Message: msgRequestLimitExceeded, Status: http.StatusServiceUnavailable}
}

func errInternal() *apiError {
	return &apiError{Code: codeInternalError, Message: msgInternalError, Status: http.StatusInternalServerError}
}

func errUnavailable() *apiError {
	return &apiError{Code: codeUnavailable, Message: msgUnavailable, Status: http.StatusServiceUnavailable}
}

func errMissing(param string) *apiError {
	return clientErr(codeMissingParameter, "The request must contain the parameter %s", param)
}

// errNullProtocol is EC2's answer to a rule without IpProtocol, in every
// call that takes rules: InvalidParameterValue, not MissingParameter, as
// reported from EC2 for AuthorizeSecurityGroupIngress (nanovms/ops#735,
// boto/boto#3376, ryankanno/locust-swarm#2).
func errNullProtocol() *apiError {
	return clientErr(codeInvalidParameterValue, "Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.")
}

func errGroupNotFound(id string) *apiError {
	return clientErr(codeInvalidGroupNotFound, "The security group '%s' does not exist", id)
}

func errRuleNotFound(id string) *apiError {
	return clientErr(codeInvalidRuleIDNotFound, "The security group rule ID '%s' does not exist", id)
}

func errVpcNotFound(id string) *apiError {
	return clientErr(codeInvalidVpcIDNotFound, "The vpc ID '%s' does not exist", id)
}
