package palisadetest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/policy"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
	"github.com/palisadehq/palisade/workers"
)

// The callers of the list tests: alice and bob see their own operations,
// platform everyone's.
const (
	alice    = "spiffe://example.org/alice"
	bob      = "spiffe://example.org/bob"
	platform = "spiffe://example.org/platform"
)

// listStack is a stack on NATS with a user per role, whose API takes the
// caller from the request's x-caller header, under a policy that allows
// every change and lets only platform read every caller's operations. Its
// worker fails a command on a group that does not exist at once.
func listStack(t *testing.T) *palisadetest.Stack {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.cedar")
	if err := os.WriteFile(file, []byte(`
@id("changes") permit (principal, action, resource) unless { action == Palisade::Action::"ReadAllOperations" };
@id("platform-reads-all") permit (principal == Palisade::Caller::"`+platform+`", action == Palisade::Action::"ReadAllOperations", resource);
`), 0o600); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(file)
	if err != nil {
		t.Fatal(err)
	}
	return palisadetest.Start(t, palisadetest.Options{
		Infra:   infratest.Options{Auth: true},
		Policy:  engine,
		Workers: 1,
		Worker:  workers.Options{VisibilityWindow: time.Millisecond},
		Identify: func(ctx context.Context) (string, error) {
			if v := metadata.ValueFromIncomingContext(ctx, "x-caller"); len(v) == 1 {
				return v[0], nil
			}
			return "", errors.New("no x-caller")
		},
	})
}

func as(ctx context.Context, caller string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "x-caller", caller)
}

// listNames pages through ListOperations with filter, size at a time,
// and returns the names in order.
func listNames(t *testing.T, s *palisadetest.Stack, caller, filter string, size int32) []string {
	t.Helper()
	var names []string
	req := &longrunningpb.ListOperationsRequest{Filter: filter, PageSize: size}
	for {
		resp, err := s.Operations.ListOperations(as(s.Context(), caller), req)
		if err != nil {
			t.Fatalf("%s, %q: %v", caller, filter, err)
		}
		if len(resp.GetOperations()) > int(size) {
			t.Fatalf("%s, %q: page of %d, asked for %d", caller, filter, len(resp.GetOperations()), size)
		}
		for _, op := range resp.GetOperations() {
			names = append(names, op.GetName())
		}
		if resp.GetNextPageToken() == "" {
			return names
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// badRequestField is the one field err's BadRequest names, for an
// INVALID_ARGUMENT.
func badRequestField(t *testing.T, err error) string {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%v, want INVALID_ARGUMENT", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
			return br.GetFieldViolations()[0].GetField()
		}
	}
	t.Fatalf("%v: no BadRequest naming one field", err)
	return ""
}

// TestListOperationsByIndex: through the gRPC API, on NATS with a user
// per role, filters on a final state, a group (a created group's too),
// an account and their combination list exactly their operations, oldest
// first, one to a page with each token resuming where the last page
// ended; a caller sees only its own, a caller who may read everything
// sees everyone's; a malformed filter or a token of another filter is
// INVALID_ARGUMENT naming the field.
func TestListOperationsByIndex(t *testing.T) {
	s := listStack(t)
	ctx := s.Context()
	const gone = "sg-0000000000000dead"
	var all []string
	run := func(caller string, start func(context.Context) (*longrunningpb.Operation, error)) *longrunningpb.Operation {
		t.Helper()
		op, err := start(as(ctx, caller))
		if err != nil {
			t.Fatal(err)
		}
		done, err := s.Operations.WaitOperation(as(ctx, caller), &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
		if err != nil || !done.GetDone() {
			t.Fatalf("%s: %v, done=%v", op.GetName(), err, done.GetDone())
		}
		all = append(all, op.GetName())
		return done
	}
	create := func(caller, name string) (op, group string) {
		done := run(caller, func(ctx context.Context) (*longrunningpb.Operation, error) {
			return s.SecurityGroups.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: name, Description: name})
		})
		res := &palisadev1.OperationResult{}
		if err := done.GetResponse().UnmarshalTo(res); err != nil {
			t.Fatalf("create %s: %v (%v)", name, err, done.GetError())
		}
		return done.GetName(), res.GetGroupId()
	}
	authorize := func(caller, group string) *longrunningpb.Operation {
		return run(caller, func(ctx context.Context) (*longrunningpb.Operation, error) {
			return s.SecurityGroups.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
				Location: loc, GroupId: group, IpPermissions: []*palisadev1.IpPermission{{
					IpProtocol: "tcp", FromPort: new(int32(443)), ToPort: new(int32(443)),
					IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}},
				}}})
		})
	}
	// A group that does not exist: the operation fails (InvalidGroup.NotFound).
	authorizeGone := func(caller string) string {
		done := authorize(caller, gone)
		if done.GetError() == nil {
			t.Fatalf("authorizing on %s did not fail", gone)
		}
		return done.GetName()
	}

	aCreate, aGroup := create(alice, "alice-web")
	aFail1 := authorizeGone(alice)
	bCreate, bGroup := create(bob, "bob-web")
	aAuth := authorize(alice, aGroup).GetName()
	bFail := authorizeGone(bob)
	aFail2 := authorizeGone(alice)

	for _, tc := range []struct {
		caller, filter string
		want           []string
	}{
		{alice, "", []string{aCreate, aFail1, aAuth, aFail2}},
		{alice, "state=FAILED", []string{aFail1, aFail2}},
		{alice, "state=OPERATION_STATE_SUCCEEDED", []string{aCreate, aAuth}},
		{alice, "group_id=" + aGroup, []string{aCreate, aAuth}},
		{alice, "group_id=" + gone, []string{aFail1, aFail2}},
		{alice, "group_id=" + bGroup, nil},
		{alice, "state=SUCCEEDED AND group_id=" + aGroup + " AND account_id=" + loc.GetAccountId(), []string{aCreate, aAuth}},
		{alice, "state=FAILED AND group_id=" + aGroup, nil},
		{alice, "kind=AUTHORIZE_INGRESS AND region=" + loc.GetRegion(), []string{aFail1, aAuth, aFail2}},
		{alice, "kind=CREATE_SECURITY_GROUP", []string{aCreate}},
		{bob, "state=FAILED", []string{bFail}},
		{bob, "account_id=" + loc.GetAccountId(), []string{bCreate, bFail}},
		{platform, "", all},
		{platform, "state=FAILED", []string{aFail1, bFail, aFail2}},
		{platform, "group_id=" + gone + " AND state=FAILED", []string{aFail1, bFail, aFail2}},
		{platform, "state=RUNNING", nil},
	} {
		for _, size := range []int32{1, 50} {
			if got := listNames(t, s, tc.caller, tc.filter, size); !slices.Equal(got, tc.want) {
				t.Errorf("%s, %q, pages of %d: %v, want %v", tc.caller, tc.filter, size, got, tc.want)
			}
		}
	}

	for _, filter := range []string{"colour=red", "state=SOMETIMES", "kind=NOPE", "state", "group_id=", "state=FAILED OR kind=CREATE"} {
		_, err := s.Operations.ListOperations(as(ctx, alice), &longrunningpb.ListOperationsRequest{Filter: filter})
		if f := badRequestField(t, err); f != "filter" {
			t.Errorf("filter %q: field %q, want filter", filter, f)
		}
	}
	first, err := s.Operations.ListOperations(as(ctx, alice), &longrunningpb.ListOperationsRequest{Filter: "group_id=" + aGroup, PageSize: 1})
	if err != nil || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", first, err)
	}
	for _, tc := range []struct{ filter, token string }{
		{"state=FAILED", first.GetNextPageToken()}, // another filter's
		{"", "not-a-token"},
		{"", fmt.Sprint(12)},
	} {
		_, err := s.Operations.ListOperations(as(ctx, alice), &longrunningpb.ListOperationsRequest{Filter: tc.filter, PageToken: tc.token})
		if f := badRequestField(t, err); f != "page_token" {
			t.Errorf("token %q with %q: field %q, want page_token", tc.token, tc.filter, f)
		}
	}
}

// TestListRolloutsByIndex: rollouts are listed oldest first, a page at a
// time with each token resuming where the last ended, each caller's own
// or, for a caller who may read everything, everyone's; a token List did
// not hand out is INVALID_ARGUMENT naming page_token.
func TestListRolloutsByIndex(t *testing.T) {
	s := listStack(t)
	ctx := s.Context()
	_, group := func() (string, string) {
		op, err := s.SecurityGroups.CreateSecurityGroup(as(ctx, alice), &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "fleet", Description: "fleet"})
		if err != nil {
			t.Fatal(err)
		}
		done, err := s.Operations.WaitOperation(as(ctx, alice), &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		res := &palisadev1.OperationResult{}
		if err := done.GetResponse().UnmarshalTo(res); err != nil {
			t.Fatal(err)
		}
		return op.GetName(), res.GetGroupId()
	}()
	mine := map[string][]string{}
	var all []string
	for i, caller := range []string{alice, bob, alice, alice, bob} {
		op, err := s.Rollouts.StartRollout(as(ctx, caller), &palisadev1.StartRolloutRequest{
			RequestId: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{{
				IpProtocol: "tcp", FromPort: new(int32(9100 + i)), ToPort: new(int32(9100 + i)),
				IpRanges: []*palisadev1.IpRange{{CidrIp: "10.50.0.0/16"}},
			}}},
			Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: []string{group}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		name := "rollouts/" + op.GetName()[len("operations/"):]
		mine[caller] = append(mine[caller], name)
		all = append(all, name)
	}
	list := func(caller string, size int32) []string {
		var names []string
		req := &palisadev1.ListRolloutsRequest{PageSize: size}
		for {
			resp, err := s.Rollouts.ListRollouts(as(ctx, caller), req)
			if err != nil || len(resp.GetRollouts()) > int(size) {
				t.Fatalf("%s: %d rollouts, %v", caller, len(resp.GetRollouts()), err)
			}
			for _, r := range resp.GetRollouts() {
				names = append(names, r.GetName())
			}
			if resp.GetNextPageToken() == "" {
				return names
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	for caller, want := range map[string][]string{alice: mine[alice], bob: mine[bob], platform: all} {
		for _, size := range []int32{1, 2, 50} {
			if got := list(caller, size); !slices.Equal(got, want) {
				t.Errorf("%s, pages of %d: %v, want %v", caller, size, got, want)
			}
		}
	}
	_, err := s.Rollouts.ListRollouts(as(ctx, alice), &palisadev1.ListRolloutsRequest{PageToken: "g.1"})
	if f := badRequestField(t, err); f != "page_token" {
		t.Errorf("bad token: field %q, want page_token", f)
	}
	// With the index's counters gone, a list is UNAVAILABLE, not empty.
	if err := s.JetStream.DeleteStream(ctx, bus.IndexCountStream); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rollouts.ListRollouts(as(ctx, alice), &palisadev1.ListRolloutsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("ListRollouts without the index: %v, want UNAVAILABLE", err)
	}
	if _, err := s.Operations.ListOperations(as(ctx, alice), &longrunningpb.ListOperationsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("ListOperations without the index's counters: %v, want UNAVAILABLE", err)
	}
	// Every caller's list is the callers' lists read whole: without them,
	// it too is UNAVAILABLE.
	if err := s.JetStream.DeleteStream(ctx, bus.OperationIndexStream); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Operations.ListOperations(as(ctx, platform), &longrunningpb.ListOperationsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("ListOperations without the index: %v, want UNAVAILABLE", err)
	}
}
