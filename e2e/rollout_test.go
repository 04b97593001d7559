package e2e

import (
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestRolloutExplicitGroups(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "explicit", 3, nil)

	name := e.startRollout(&palisadev1.StartRolloutRequest{
		RequestId: "0d6c3a1e-4b5f-4c2a-9e7d-1a2b3c4d5e6f",
		Change:    &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets:   []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	})
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
}
