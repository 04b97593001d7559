package ec2client

import (
	"context"
	"errors"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/palisadehq/palisade/internal/ec2errors"
	"github.com/palisadehq/palisade/internal/metrics"
	"github.com/palisadehq/palisade/internal/tracing"
)

// Outcomes of an EC2 call as metrics count them: ok, or what EC2's error
// code means (ec2errors' class), with faulted for EC2's own faults and
// for a call that never got an answer.
const (
	OutcomeOK        = "ok"
	OutcomeThrottled = "throttled"
	OutcomeFaulted   = "faulted"
	OutcomeCancelled = "cancelled"
)

// Outcome names how a call ended, for the metrics: a bounded set.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCancelled
	}
	code := ec2errors.Code(err)
	if code == "" {
		return OutcomeFaulted // no answer: the way to EC2 failed
	}
	switch c := ec2errors.Of(code).Class; c {
	case ec2errors.Throttled:
		return OutcomeThrottled
	case ec2errors.Transient:
		return OutcomeFaulted
	case ec2errors.NotVisible:
		return "not_visible"
	default:
		return c.String()
	}
}

// observeCall wraps every call, the SDK's own retries included, in a
// client span named after the action (a child of the operation's span
// when the context carries one) and counts it by action and outcome.
func observeCall(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("PalisadeObserveCall",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			service, action := awsmiddleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
			ctx, span := tracing.Start(ctx, service+"."+action,
				trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(
					attribute.String("rpc.system", "aws-api"),
					attribute.String("rpc.service", service),
					attribute.String("rpc.method", action),
					attribute.String("cloud.region", awsmiddleware.GetRegion(ctx)),
				))
			defer span.End()
			start := time.Now()
			out, md, err := next.HandleInitialize(ctx, in)
			outcome := Outcome(err)
			metrics.EC2Called(action, outcome, time.Since(start))
			span.SetAttributes(attribute.String("palisade.ec2.outcome", outcome))
			if code := ec2errors.Code(err); code != "" {
				span.SetAttributes(attribute.String("aws.error.code", code))
			}
			tracing.Fail(span, err)
			return out, md, err
		}), middleware.Before)
}
