package e2e

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestRolloutExplicitGroups(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "explicit", 3, nil)

	req := &palisadev1.StartRolloutRequest{
		RequestId: "0d6c3a1e-4b5f-4c2a-9e7d-1a2b3c4d5e6f",
		Change:    &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets:   []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	}
	name := e.startRollout(req)
	// One request, one rollout; another payload under the same id is refused.
	if again := e.startRollout(req); again != name {
		t.Fatalf("retried request started %s, want %s", again, name)
	}
	other := proto.CloneOf(req)
	other.Change.AuthorizeIngress[0].FromPort = int32p(9000)
	if _, err := e.rollouts().StartRollout(e.ctx, other); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("reused request_id: %v, want FAILED_PRECONDITION", err)
	}
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	if p := ro.GetProgress(); p.GetSucceeded() != 3 || p.GetTotalGroups() != 3 {
		t.Fatalf("progress = %v", p)
	}
	for _, id := range ids {
		rules := e.ingress(account, region, id)
		if len(rules) != 1 || *rules[0].CidrIpv4 != "10.50.0.0/16" || *rules[0].FromPort != 9100 {
			t.Fatalf("group %s ingress = %v", id, rules)
		}
	}
	op := e.rolloutOp(ro)
	final := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(final); err != nil || final.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("operation response = %v, %v", final, err)
	}
	got, err := e.rollouts().GetRollout(e.ctx, &palisadev1.GetRolloutRequest{Name: name})
	if err != nil || got.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("GetRollout = %v, %v", got, err)
	}
	list, err := e.rollouts().ListRollouts(e.ctx, &palisadev1.ListRolloutsRequest{})
	if err != nil || len(list.GetRollouts()) != 1 || list.GetRollouts()[0].GetName() != name {
		t.Fatalf("ListRollouts = %v, %v", list, err)
	}
}
