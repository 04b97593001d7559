package e2e

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestRolloutValidateOnly: the plan names every resolved group, the ones
// that would fail and why, the EC2 calls and the time they take; nothing
// is stored and EC2 is not changed.
func TestRolloutValidateOnly(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	prod := map[string]string{"env": "prod"}
	tagged := e.makeGroups(account, region, "plan", 8, prod)
	e.fill(account, region, tagged[0], 60)
	explicit := e.makeGroups(account, region2, "plan", 2, nil)
	missing := "sg-0123456789abcdef0"
	e.sim.ResetCounters()

	op, err := e.rollouts().StartRollout(e.ctx, &palisadev1.StartRolloutRequest{
		ValidateOnly: true,
		Change:       &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets: []*palisadev1.RolloutTarget{
			{Location: loc, Tags: prod},
			{Location: &palisadev1.Location{AccountId: account, Region: region2}, GroupIds: append(explicit, missing)},
		},
		Strategy: &palisadev1.RolloutStrategy{CanarySize: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if op.GetName() != "" || !op.GetDone() {
		t.Fatalf("validate_only answered %v", op)
	}
	ro := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(ro); err != nil {
		t.Fatal(err)
	}
	plan := ro.GetPlan()
	if plan.GetTotalGroups() != 11 || plan.GetFailingGroups() != 2 || len(plan.GetLocations()) != 2 {
		t.Fatalf("plan = %v", plan)
	}
	calls := map[string]int32{}
	for _, c := range plan.GetEc2Calls() {
		calls[c.GetAction()] = c.GetCalls()
	}
	if calls["AuthorizeSecurityGroupIngress"] != 9 || calls["DescribeSecurityGroups"] != 2 {
		t.Fatalf("calls = %v", calls)
	}
	if plan.GetEstimatedDuration() == nil {
		t.Fatal("no estimated duration")
	}
	codesByGroup := map[string]string{}
	for _, f := range ro.GetFailures() {
		codesByGroup[f.GetGroupId()] = f.GetCode()
	}
	if codesByGroup[tagged[0]] != "RulesPerSecurityGroupLimitExceeded" || codesByGroup[missing] != "InvalidGroup.NotFound" || len(codesByGroup) != 2 {
		t.Fatalf("failures = %v", ro.GetFailures())
	}
	for _, lp := range plan.GetLocations() {
		for _, g := range lp.GetGroupPlans() {
			wantFail := g.GetGroupId() == tagged[0] || g.GetGroupId() == missing
			if (g.GetFailure() != nil) != wantFail || (!wantFail && (g.GetIngressAdded() != 1 || g.GetEc2Calls() != 1)) {
				t.Fatalf("group plan = %v", g)
			}
		}
	}
	if p := ro.GetProgress(); p.GetCanarySize() != 2 || p.GetWaiting() != 9 {
		t.Fatalf("progress = %v", p)
	}
	for _, c := range e.sim.CallLog() {
		if mutating(c.Action) {
			t.Fatalf("validate_only made a mutating call: %+v", c)
		}
	}
	list, err := e.rollouts().ListRollouts(e.ctx, &palisadev1.ListRolloutsRequest{})
	if err != nil || len(list.GetRollouts()) != 0 {
		t.Fatalf("rollouts after validate_only: %v, %v", list, err)
	}
}

func TestRolloutInvalid(t *testing.T) {
	e := newEnv(t, envOptions{})
	good := func() *palisadev1.StartRolloutRequest {
		return &palisadev1.StartRolloutRequest{
			Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/8")}},
			Targets: []*palisadev1.RolloutTarget{{Location: loc, Tags: map[string]string{"team": "payments"}}},
		}
	}
	cases := []struct {
		name   string
		edit   func(*palisadev1.StartRolloutRequest)
		fields []string
	}{
		{"no change", func(r *palisadev1.StartRolloutRequest) { r.Change = nil }, []string{"change"}},
		{"empty change", func(r *palisadev1.StartRolloutRequest) { r.Change = &palisadev1.RuleChange{} }, []string{"change"}},
		{"bad cidr", func(r *palisadev1.StartRolloutRequest) {
			r.Change.AuthorizeIngress[0].IpRanges[0].CidrIp = "10.0.0.300/8"
		}, []string{"change.authorize_ingress[0].ip_ranges[0].cidr_ip"}},
		{"added and revoked", func(r *palisadev1.StartRolloutRequest) {
			r.Change.RevokeIngress = []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/8")}
		}, []string{"change.revoke_ingress"}},
		{"no targets", func(r *palisadev1.StartRolloutRequest) { r.Targets = nil }, []string{"targets"}},
		{"ids and tags", func(r *palisadev1.StartRolloutRequest) { r.Targets[0].GroupIds = []string{"sg-12345678"} }, []string{"targets[0].tags"}},
		{"neither ids nor tags", func(r *palisadev1.StartRolloutRequest) { r.Targets[0].Tags = nil }, []string{"targets[0].group_ids"}},
		{"bad group id and region", func(r *palisadev1.StartRolloutRequest) {
			r.Targets[0].Tags = nil
			r.Targets[0].GroupIds = []string{"sg-nothex!"}
			r.Targets[0].Location = &palisadev1.Location{AccountId: account, Region: "mars-1"}
		}, []string{"targets[0].location.region", "targets[0].group_ids[0]"}},
		{"bad strategy", func(r *palisadev1.StartRolloutRequest) {
			r.Strategy = &palisadev1.RolloutStrategy{MaxInFlight: -1, CanarySize: -2, MaxFailures: int32p(-1)}
		}, []string{"strategy.max_in_flight", "strategy.canary_size", "strategy.max_failures"}},
		{"request id", func(r *palisadev1.StartRolloutRequest) { r.RequestId = "nope" }, []string{"request_id"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good()
			c.edit(r)
			_, err := e.rollouts().StartRollout(e.ctx, r)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
			got := map[string]bool{}
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						got[v.GetField()] = true
					}
				}
			}
			for _, f := range c.fields {
				if !got[f] {
					t.Fatalf("violations %v lack %s", got, f)
				}
			}
		})
	}
	// Bad names on the other calls.
	if _, err := e.rollouts().GetRollout(e.ctx, &palisadev1.GetRolloutRequest{Name: "operations/x"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("GetRollout(bad name) = %v", err)
	}
	if _, err := e.rollouts().CancelRollout(e.ctx, &palisadev1.CancelRolloutRequest{Name: "rollouts/0123456789abcdef0123456789abcdef"}); status.Code(err) != codes.NotFound {
		t.Fatalf("CancelRollout(unknown) = %v", err)
	}
	if _, err := e.rollouts().ListRollouts(e.ctx, &palisadev1.ListRolloutsRequest{PageSize: -1}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("ListRollouts(page_size -1) = %v", err)
	}
}
