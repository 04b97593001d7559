package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// slowRollout starts a rollout of one rule to n groups, two at a time, on
// an EC2 endpoint slow enough to stop it midway.
func slowRollout(t *testing.T, n int) (*env, string, []string) {
	e := newEnv(t, envOptions{workers: 1, sim: ec2sim.Options{Latency: 20 * time.Millisecond}})
	e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "slow", n, nil)
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, 443, "10.9.0.0/16")}},
		Targets:  []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 2},
	})
	return e, name, ids
}

func idle(ro *palisadev1.Rollout) bool {
	return ro.GetProgress().GetQueued() == 0 && ro.GetProgress().GetRunning() == 0
}

func TestRolloutPauseResume(t *testing.T) {
	if testing.Short() {
		t.Skip("a rollout slowed to watch it pause: long; make test runs it")
	}
	e, name, ids := slowRollout(t, 20)
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool { return ro.GetProgress().GetSucceeded() >= 2 })
	if _, err := e.rollouts().PauseRollout(e.ctx, &palisadev1.PauseRolloutRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	paused := e.watchRollout(name, func(ro *palisadev1.Rollout) bool {
		return ro.GetState() == palisadev1.RolloutState_ROLLOUT_STATE_PAUSED && idle(ro)
	})
	if paused.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_PAUSED {
		t.Fatalf("state %v, want PAUSED", paused.GetState())
	}
	done := paused.GetProgress().GetSucceeded()
	if done >= 20 || paused.GetProgress().GetWaiting() != 20-done {
		t.Fatalf("paused progress = %v", paused.GetProgress())
	}
	// Nothing was queued beyond what finished before the pause took hold.
	if n := len(e.childOps(name)); n != int(done) {
		t.Fatalf("%d child operations while paused after %d groups", n, done)
	}
	if _, err := e.rollouts().ResumeRollout(e.ctx, &palisadev1.ResumeRolloutRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != 20 {
		t.Fatalf("rollout ended %v: %v", ro.GetState(), ro.GetProgress())
	}
	for _, id := range ids {
		if r := e.ingress(account, region, id); len(r) != 1 {
			t.Fatalf("group %s ingress = %v", id, r)
		}
	}
	// An ended rollout can be neither paused nor resumed.
	_, err := e.rollouts().PauseRollout(e.ctx, &palisadev1.PauseRolloutRequest{Name: name})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("pause after the end: %v, want FAILED_PRECONDITION", err)
	}
}

func TestRolloutCancel(t *testing.T) {
	e, name, ids := slowRollout(t, 20)
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool { return ro.GetProgress().GetSucceeded() >= 2 })
	if _, err := e.rollouts().CancelRollout(e.ctx, &palisadev1.CancelRolloutRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	// Once cancelled it stays cancelled.
	_, err := e.rollouts().ResumeRollout(e.ctx, &palisadev1.ResumeRolloutRequest{Name: name})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("resume after cancel: %v, want FAILED_PRECONDITION", err)
	}
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	p := ro.GetProgress()
	if p.GetCancelled() == 0 || p.GetSucceeded()+p.GetCancelled() != 20 || p.GetFailed() != 0 {
		t.Fatalf("progress = %v", p)
	}
	changed := 0
	for _, id := range ids {
		changed += len(e.ingress(account, region, id))
	}
	if changed != int(p.GetSucceeded()) {
		t.Fatalf("%d groups changed, %d reported succeeded", changed, p.GetSucceeded())
	}
	op := e.rolloutOp(ro)
	if op.GetError().GetCode() != int32(codes.Canceled) {
		t.Fatalf("rollout operation error = %v, want CANCELLED", op.GetError())
	}
}

// TestRolloutFailureThreshold: every group fails (the rule names a group
// that does not exist); with one group at a time and a threshold of 2,
// the third failure stops the rollout and no other group is started.
func TestRolloutFailureThreshold(t *testing.T) {
	wo := envWorker()
	wo.VisibilityWindow = time.Nanosecond // InvalidGroup.NotFound is final at once
	e := newEnv(t, envOptions{workers: 1, worker: wo})
	e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "doomed", 10, nil)
	from := int32(5432)
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{{
			IpProtocol: "tcp", FromPort: &from, ToPort: &from,
			UserIdGroupPairs: []*palisadev1.UserIdGroupPair{{GroupId: "sg-00000000000000dea"}},
		}}},
		Targets:  []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 1, MaxFailures: int32p(2)},
	})
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_FAILED {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	p := ro.GetProgress()
	if p.GetFailed() != 3 || p.GetCancelled() != 7 || p.GetSucceeded() != 0 {
		t.Fatalf("progress = %v (%s)", p, ro.GetStateReason())
	}
	if len(ro.GetFailures()) != 3 {
		t.Fatalf("failures = %v", ro.GetFailures())
	}
	for _, f := range ro.GetFailures() {
		if f.GetCode() != "InvalidGroup.NotFound" || f.GetOperation() == "" || f.GetGroupId() == "" {
			t.Fatalf("failure = %v", f)
		}
	}
	if n := len(e.childOps(name)); n != 3 {
		t.Fatalf("%d child operations, want 3: the others were never queued", n)
	}
}

// TestRolloutFailedGroupKeepsNoneOfTheChange: a change adds an inbound and
// an outbound rule; the inbound one lands, the outbound one fails for good
// (it names a group that does not exist). The group is reported FAILED
// and holds none of the change: the inbound rule it added is removed
// again, and the rule it had before is kept.
func TestRolloutFailedGroupKeepsNoneOfTheChange(t *testing.T) {
	wo := envWorker()
	wo.VisibilityWindow = time.Nanosecond // InvalidGroup.NotFound is final at once
	e := newEnv(t, envOptions{workers: 1, worker: wo})
	e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "half", 1, nil)
	e.fill(account, region, ids[0], 1) // a rule the group had before: tcp 22 from 10.1.0.0/24
	from := int32(5432)
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change: &palisadev1.RuleChange{
			AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, 443, "10.70.0.0/16")},
			AuthorizeEgress: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &from, ToPort: &from,
				UserIdGroupPairs: []*palisadev1.UserIdGroupPair{{GroupId: "sg-00000000000000dea"}}}},
		},
		Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	})
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_FAILED || len(ro.GetFailures()) != 1 {
		t.Fatalf("rollout ended %v with failures %v", ro.GetState(), ro.GetFailures())
	}
	f := ro.GetFailures()[0]
	if f.GetCode() != "InvalidGroup.NotFound" || !strings.Contains(f.GetMessage(), "the rule it had added was removed again") {
		t.Fatalf("failure = %v", f)
	}
	rules := e.ingress(account, region, ids[0])
	if len(rules) != 1 || aws.ToString(rules[0].CidrIpv4) != "10.1.0.0/24" {
		t.Fatalf("ingress after the failed change = %v, want only the rule the group had before", rules)
	}
	var added, revoked int
	for _, c := range e.sim.CallLog() {
		switch c.Action {
		case "AuthorizeSecurityGroupIngress":
			added++
		case "RevokeSecurityGroupIngress":
			revoked++
		}
	}
	if added != 2 || revoked != 1 { // fill's, the change's; the undo
		t.Fatalf("call log: %d ingress authorizes (want fill's and the change's), %d revokes (want the undo)", added, revoked)
	}
}
