package e2e

import (
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestRolloutNoMatch: targets that match no group end the rollout FAILED,
// and it stays so (the driver used to carry on after recording the end,
// found nothing left to do and overwrote it with SUCCEEDED).
func TestRolloutNoMatch(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	e.makeGroups(account, region, "other", 2, map[string]string{"team": "search"})
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets: []*palisadev1.RolloutTarget{{Location: loc, Tags: map[string]string{"team": "payments"}}},
	})
	ro := e.watchRollout(name, nil)
	op := e.rolloutOp(ro)
	got, err := e.rollouts().GetRollout(e.ctx, &palisadev1.GetRolloutRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_FAILED || got.GetStateReason() != "the targets matched no security group" || op.GetError() == nil {
		t.Fatalf("rollout = %v (%s), operation error %v", got.GetState(), got.GetStateReason(), op.GetError())
	}
}
