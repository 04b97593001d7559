package ec2client

import (
	"context"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// User-agent keys that link an EC2 call to its Palisade operation and
// caller. CloudTrail records every call's userAgent, so a trail entry
// names the operation (operations/<id>) and who asked for it. The SDK
// keeps only [A-Za-z0-9] and !#$%&'*+-.^_`|~ of a value, turning anything
// else into '-': a SPIFFE ID spiffe://example.org/ci reads
// spiffe---example.org-ci.
const (
	AgentOperationKey = "palisade-op"
	AgentCallerKey    = "palisade-caller"
)

type callKey struct{}

type call struct{ operation, caller string }

// ForOperation returns ctx under which every EC2 call made with a client
// of this package names operation and caller in its user agent.
func ForOperation(ctx context.Context, operation, caller string) context.Context {
	return context.WithValue(ctx, callKey{}, call{operation, caller})
}

// addCallAgent adds, per call, the operation and caller in the context to
// the request's user agent, before the SDK's own user-agent step writes
// the header.
func addCallAgent(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("PalisadeCallAgent",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if c, ok := ctx.Value(callKey{}).(call); ok {
				if m, found := stack.Build.Get((*awsmiddleware.RequestUserAgent)(nil).ID()); found {
					if ua, ok := m.(*awsmiddleware.RequestUserAgent); ok {
						if c.operation != "" {
							ua.AddUserAgentKeyValue(AgentOperationKey, c.operation)
						}
						if c.caller != "" {
							ua.AddUserAgentKeyValue(AgentCallerKey, c.caller)
						}
					}
				}
			}
			return next.HandleBuild(ctx, in)
		}), middleware.Before)
}
