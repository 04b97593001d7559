package e2e

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

const roleTemplate = "arn:aws:iam::{account}:role/palisade"

// TestRolloutAcrossAccountsAssumesARolePerAccount: one rollout over groups
// in two accounts and regions; every EC2 call runs in the account of the
// group it changes, on the role assumed there, once per account.
func TestRolloutAcrossAccountsAssumesARolePerAccount(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1, assumeRole: roleTemplate, externalID: "palisade-e2e"})
	e.startRollouts(envWorker())
	other := &palisadev1.Location{AccountId: "444455556666", Region: "eu-west-1"}
	home := e.makeGroups(account, region, "home", 2, nil)
	away := e.makeGroups(other.GetAccountId(), other.GetRegion(), "away", 2, nil)
	accountOf := map[string]string{}
	for _, id := range home {
		accountOf[id] = account
	}
	for _, id := range away {
		accountOf[id] = other.GetAccountId()
	}
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		RequestId: "8f14e45f-ceea-467f-a0e6-7d4c2b1a9e10",
		Change:    &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(8443, 8443, "10.60.0.0/16")}},
		Targets:   []*palisadev1.RolloutTarget{{Location: loc, GroupIds: home}, {Location: other, GroupIds: away}},
	})
	if ro := e.watchRollout(name, nil); ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	for _, id := range home {
		if n := len(e.ingress(account, region, id)); n != 1 {
			t.Errorf("group %s has %d ingress rules, want 1", id, n)
		}
	}
	for _, id := range away {
		if n := len(e.ingress(other.GetAccountId(), other.GetRegion(), id)); n != 1 {
			t.Errorf("group %s has %d ingress rules, want 1", id, n)
		}
	}
	assumed, authorized := 0, 0
	for _, c := range e.sim.CallLog() {
		switch c.Action {
		case "AssumeRole":
			assumed++
		case "AuthorizeSecurityGroupIngress":
			authorized++
			if want := accountOf[c.GroupID]; c.Account != want {
				t.Errorf("%s changed from account %s, want %s", c.GroupID, c.Account, want)
			}
		}
	}
	if assumed != 2 || authorized != 4 {
		t.Fatalf("call log: %d AssumeRole (want one per account, 2), %d authorizes (want 4)", assumed, authorized)
	}
}

// TestRoleNotAssumedFailsTheOperation: when STS refuses the role, the
// operation fails at once with STS's code and domain, and EC2 is never
// called.
func TestRoleNotAssumedFailsTheOperation(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1, assumeRole: roleTemplate, externalID: "x"}) // too short for STS
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "norole", Description: "no role"})
	if err != nil {
		t.Fatal(err)
	}
	done := e.wait(op)
	st := status.FromProto(done.GetError())
	if st.Code() != codes.FailedPrecondition {
		t.Fatalf("operation ended %v %q, want FAILED_PRECONDITION", st.Code(), st.Message())
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			info = i
		}
	}
	if info.GetReason() != "ValidationError" || info.GetDomain() != "sts.amazonaws.com" || info.GetMetadata()["attempts"] != "1" {
		t.Fatalf("ErrorInfo %v (%s), want STS's ValidationError after one attempt", info, st.Message())
	}
	for _, c := range e.sim.CallLog() {
		if c.Action != "AssumeRole" {
			t.Errorf("%s reached EC2 although no role was assumed", c.Action)
		}
	}
}
