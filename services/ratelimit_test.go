package services

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestCallerRate: each caller has its own bucket; beyond it a mutating
// call is RESOURCE_EXHAUSTED with the wait in RetryInfo, a read is never
// limited, and the bucket refills.
func TestCallerRate(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := newCallerLimiter(CallerRate{PerSecond: 2, Burst: 3})
	l.now = func() time.Time { return clock }
	intercept := rateUnary(l)
	call := func(caller, method string) error {
		ctx := withCaller(context.Background(), caller)
		_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return "ok", nil })
		return err
	}
	const create = "/palisade.v1.SecurityGroupService/CreateSecurityGroup"
	for i := range 3 {
		if err := call("alice", create); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	err := call("alice", create)
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("beyond the burst: %v, want RESOURCE_EXHAUSTED", err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() != 500*time.Millisecond {
		t.Errorf("RetryInfo %v, want 500ms (one token at 2/s)", retry)
	}
	if err := call("bob", create); err != nil {
		t.Errorf("another caller is limited by alice's calls: %v", err)
	}
	if err := call("alice", "/palisade.v1.SecurityGroupService/GetSecurityGroup"); err != nil {
		t.Errorf("a read is limited: %v", err)
	}
	clock = clock.Add(500 * time.Millisecond)
	if err := call("alice", create); err != nil {
		t.Errorf("after the wait given: %v", err)
	}
	if err := call("alice", create); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a refused call spent a token: %v", err)
	}
}
