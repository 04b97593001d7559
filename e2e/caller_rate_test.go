package e2e

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/services"
)

// TestCallerRateThroughThePort: beyond its burst a caller's change is
// refused RESOURCE_EXHAUSTED with RetryInfo before anything is decided,
// audited or stored; reads go on.
func TestCallerRateThroughThePort(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{CallerRate: services.CallerRate{PerSecond: 0.01, Burst: 2}})
	e := &env{t: t, ctx: s.Context(), stack: s, js: s.JetStream}
	create := func(name string) error {
		_, err := s.SecurityGroups.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: name, Description: "rate"})
		return err
	}
	for _, name := range []string{"first", "second"} {
		if err := create(name); err != nil {
			t.Fatalf("%s, within the burst: %v", name, err)
		}
	}
	stored, audited := e.commandsStored(), len(e.auditTrail())
	err := create("third")
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
	if retry.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("no wait in RetryInfo: %v", st.Details())
	}
	if e.commandsStored() != stored || len(e.auditTrail()) != audited {
		t.Error("a refused change was stored or audited")
	}
	if _, err := s.SecurityGroups.ListSecurityGroups(e.ctx, &palisadev1.ListSecurityGroupsRequest{Location: loc}); err != nil {
		t.Errorf("a read was limited: %v", err)
	}
}
