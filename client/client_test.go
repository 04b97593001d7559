package client_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/palisadehq/palisade/client"
	"github.com/palisadehq/palisade/client/clienttest"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/palisadetest"
)

var here = &palisadev1.Location{AccountId: "123456789012", Region: "us-east-1"}

func tcp(port int32, cidr string) *palisadev1.IpPermission {
	return &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &port, ToPort: &port, IpRanges: []*palisadev1.IpRange{{CidrIp: cidr}}}
}

func dial(t *testing.T, addr string, o client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestWaitReturnsTheResult: a create with its first rules, then an
// authorize, each waited on: the result names the group and EC2's rule
// ids, and the events arrive in order up to SUCCEEDED.
func TestWaitReturnsTheResult(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{Workers: 1})
	c := dial(t, s.Addr, client.Options{})
	ctx := testContext(t)

	req := &palisadev1.CreateSecurityGroupRequest{Location: here, GroupName: "ssh-http-sg", Description: "SG for SSH and HTTP traffic"}
	op, err := c.CreateSecurityGroup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if req.GetRequestId() == "" || op.Metadata.GetRequestId() != req.GetRequestId() {
		t.Fatalf("request id %q in the request, %q in the operation", req.GetRequestId(), op.Metadata.GetRequestId())
	}
	var states []palisadev1.OperationState
	done, err := c.Wait(ctx, op.Name(), func(ev *palisadev1.OperationEvent) { states = append(states, ev.GetState()) })
	if err != nil {
		t.Fatal(err)
	}
	if !done.Done() || done.State() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED || !strings.HasPrefix(done.GroupID(), "sg-") {
		t.Fatalf("Wait: done %v, state %v, group %q", done.Done(), done.State(), done.GroupID())
	}
	if len(states) < 2 || states[0] != palisadev1.OperationState_OPERATION_STATE_ACCEPTED || states[len(states)-1] != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("events: %v", states)
	}

	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: here, GroupId: done.GroupID(), IpPermissions: []*palisadev1.IpPermission{tcp(22, "10.0.0.0/8"), tcp(80, "0.0.0.0/0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Wait(ctx, strings.TrimPrefix(auth.Name(), "operations/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rules := res.Result.GetSecurityGroupRules()
	if res.GroupID() != done.GroupID() || len(rules) != 2 || !strings.HasPrefix(rules[0].GetSecurityGroupRuleId(), "sgr-") {
		t.Fatalf("authorize result: group %q, rules %v", res.GroupID(), rules)
	}
}

// TestFailedOperationCarriesEC2Code: a second group under a taken name
// fails in EC2, and Wait returns the operation with an *Error holding
// EC2's code.
func TestFailedOperationCarriesEC2Code(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{Workers: 1})
	c := dial(t, s.Addr, client.Options{})
	ctx := testContext(t)
	var last error
	for range 2 {
		op, err := c.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: here, GroupName: "twice", Description: "taken"})
		if err != nil {
			t.Fatal(err)
		}
		_, last = c.Wait(ctx, op.Name(), nil)
	}
	e, ok := client.ErrorFrom(last)
	if !ok || e.EC2Code() != "InvalidGroup.Duplicate" || e.State != palisadev1.OperationState_OPERATION_STATE_FAILED || e.Operation == "" {
		t.Fatalf("second create: %v (as *Error: %+v)", last, e)
	}
}

// TestInvalidRequestNamesEveryField: INVALID_ARGUMENT decodes into an
// *Error with each bad field by its path; nothing is retried.
func TestInvalidRequestNamesEveryField(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{})
	var calls atomic.Int32
	c := dial(t, s.Addr, client.Options{DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(counting(&calls))}})
	_, err := c.AuthorizeSecurityGroupIngress(testContext(t), &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: here, GroupId: "sg-0123456789abcdef0", IpPermissions: []*palisadev1.IpPermission{tcp(22, "10.0.0.0/33"), tcp(70000, "10.0.0.0/8")},
	})
	var e *client.Error
	if !errors.As(err, &e) || e.Code != codes.InvalidArgument {
		t.Fatalf("err = %v; want an *Error with INVALID_ARGUMENT", err)
	}
	fields := map[string]bool{}
	for _, v := range e.Violations {
		fields[v.Field] = true
	}
	for _, want := range []string{"ip_permissions[0].ip_ranges[0].cidr_ip", "ip_permissions[1].from_port"} {
		if !fields[want] {
			t.Errorf("violations %v lack %s", e.Violations, want)
		}
	}
	if e.Denied() || e.Retryable() || calls.Load() != 1 {
		t.Errorf("denied %v, retryable %v, sent %d times", e.Denied(), e.Retryable(), calls.Load())
	}
}

// TestPolicyDenialCarriesTheDecision: the default policy denies SSH from
// anywhere; the *Error names the rule and the deciding policy.
func TestPolicyDenialCarriesTheDecision(t *testing.T) {
	engine, err := policy.NewEngine("")
	if err != nil {
		t.Fatal(err)
	}
	s := palisadetest.Start(t, palisadetest.Options{Policy: engine})
	c := dial(t, s.Addr, client.Options{})
	_, err = c.AuthorizeSecurityGroupIngress(testContext(t), &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: here, GroupId: "sg-0123456789abcdef0", IpPermissions: []*palisadev1.IpPermission{tcp(443, "0.0.0.0/0"), tcp(22, "0.0.0.0/0")},
	})
	e, ok := client.ErrorFrom(err)
	if !ok || e.Code != codes.PermissionDenied || !e.Denied() {
		t.Fatalf("err = %v; want a policy denial", err)
	}
	if len(e.Violations) != 1 || e.Violations[0].Field != "ip_permissions[1].ip_ranges[0].cidr_ip" {
		t.Errorf("violations %v; want ip_permissions[1].ip_ranges[0].cidr_ip alone", e.Violations)
	}
	if !strings.Contains(strings.Join(e.Policy.Policies, ","), "no-admin-ports-from-outside-10-8") || e.Policy.AuditID == "" {
		t.Errorf("decision %+v", e.Policy)
	}
}

// TestRetryAfterDroppedConnectionMakesOneOperation: the connection drops
// after the API stored the operation and before its answer arrives; the
// client retries with the same request_id and gets that same operation.
func TestRetryAfterDroppedConnectionMakesOneOperation(t *testing.T) {
	var proxy *clienttest.Dropper
	var handled atomic.Int32
	cutOnce := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if strings.HasSuffix(info.FullMethod, "/CreateSecurityGroup") && handled.Add(1) == 1 {
			proxy.Drop() // the operation is stored; its answer never reaches the client
		}
		return resp, err
	}
	s := palisadetest.Start(t, palisadetest.Options{ServerOptions: []grpc.ServerOption{grpc.ChainUnaryInterceptor(cutOnce)}})
	proxy = clienttest.NewDropper(t, s.Addr)
	var sent atomic.Int32
	c := dial(t, proxy.Addr(), client.Options{
		Retry:       client.Retry{Attempts: 10, Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(counting(&sent))},
	})
	ctx := testContext(t)

	req := &palisadev1.CreateSecurityGroupRequest{Location: here, GroupName: "dropped", Description: "answer lost once"}
	op, err := c.CreateSecurityGroup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if handled.Load() < 2 || sent.Load() < 2 {
		t.Fatalf("the API handled the create %d times, the client sent it %d times; want a retry", handled.Load(), sent.Load())
	}
	list, err := c.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: "operations"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetOperations()); n != 1 || list.GetOperations()[0].GetName() != op.Name() {
		t.Fatalf("%d operations after the retried create, want 1 (%s)", n, op.Name())
	}
	if op.Metadata.GetRequestId() != req.GetRequestId() {
		t.Fatalf("operation's request id %q, sent %q", op.Metadata.GetRequestId(), req.GetRequestId())
	}
}

// TestUnreachableServerGivesUpAfterItsAttempts: nothing listens; the
// call is sent Attempts times, then fails UNAVAILABLE as an *Error.
func TestUnreachableServerGivesUpAfterItsAttempts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	var sent atomic.Int32
	c := dial(t, addr, client.Options{
		Retry:       client.Retry{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond},
		DialOptions: []grpc.DialOption{grpc.WithUnaryInterceptor(counting(&sent))},
	})
	_, err = c.GetOperation(testContext(t), "operations/x")
	e, ok := client.ErrorFrom(err)
	if !ok || e.Code != codes.Unavailable || !e.Retryable() || sent.Load() != 3 {
		t.Fatalf("err %v, sent %d times; want UNAVAILABLE after 3", err, sent.Load())
	}
}

// TestDialRejectsBadTLSOptions: a certificate without its key, and a
// file that is not there, are refused by Dial before any call.
func TestDialRejectsBadTLSOptions(t *testing.T) {
	if _, err := client.Dial("127.0.0.1:1", client.Options{TLSCert: "cert.pem"}); err == nil || !strings.Contains(err.Error(), "TLSKey") {
		t.Errorf("cert without key: %v", err)
	}
	if _, err := client.Dial("127.0.0.1:1", client.Options{TLSCA: t.TempDir() + "/absent.pem"}); err == nil || !strings.Contains(err.Error(), "absent.pem") {
		t.Errorf("absent CA: %v", err)
	}
}

func counting(n *atomic.Int32) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		n.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// TestReusedRequestIDAndUnknownOperation: a different request under a
// used request_id is a failed precondition naming it; waiting on an
// operation that does not exist is NOT_FOUND, not a hang.
func TestReusedRequestIDAndUnknownOperation(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{})
	c := dial(t, s.Addr, client.Options{})
	ctx := testContext(t)
	first := &palisadev1.CreateSecurityGroupRequest{Location: here, GroupName: "first", Description: "one"}
	if _, err := c.CreateSecurityGroup(ctx, first); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{
		RequestId: first.GetRequestId(), Location: here, GroupName: "second", Description: "two",
	})
	e, ok := client.ErrorFrom(err)
	if !ok || e.Code != codes.FailedPrecondition || len(e.Preconditions) != 1 || e.Preconditions[0].Type != "REQUEST_ID_REUSED" || e.Reason != "REQUEST_ID_REUSED" {
		t.Fatalf("reused request id: %v (%+v)", err, e)
	}

	op, err := c.Wait(ctx, "operations/0123456789abcdef0123456789abcdef", nil)
	if e, ok := client.ErrorFrom(err); op != nil || !ok || e.Code != codes.NotFound {
		t.Fatalf("Wait on an unknown operation: %v, %v", op, err)
	}
}
