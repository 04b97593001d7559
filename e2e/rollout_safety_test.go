package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/operations"
)

// fill gives a group n IPv4 inbound rules, straight on EC2.
func (e *env) fill(account, region, groupID string, n int) {
	e.t.Helper()
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22)}
	for i := 0; i < n; i++ {
		p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(fmt.Sprintf("10.1.%d.0/24", i))})
	}
	if _, err := e.ec2.Client(account, region).AuthorizeSecurityGroupIngress(e.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(groupID), IpPermissions: []types.IpPermission{p},
	}); err != nil {
		e.t.Fatal(err)
	}
}

func mutating(action string) bool {
	return strings.HasPrefix(action, "Authorize") || strings.HasPrefix(action, "Revoke") ||
		strings.HasPrefix(action, "Create") || strings.HasPrefix(action, "Delete")
}

// TestRolloutQuotaHeadroom: a group already holding 60 IPv4 inbound rules
// fails alone, clearly, and without one mutating EC2 call to it; the
// others change. IPv6 rules are counted apart, so an IPv6 rule still fits.
func TestRolloutQuotaHeadroom(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "quota", 6, nil)
	full := ids[2]
	e.fill(account, region, full, 60)
	e.sim.ResetCounters()

	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}},
		Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
	})
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_FAILED || ro.GetStateReason() != "1 of 6 groups failed" {
		t.Fatalf("rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
	if p := ro.GetProgress(); p.GetSucceeded() != 5 || p.GetFailed() != 1 {
		t.Fatalf("progress = %v", p)
	}
	f := ro.GetFailures()
	if len(f) != 1 || f[0].GetGroupId() != full || f[0].GetCode() != "RulesPerSecurityGroupLimitExceeded" ||
		!strings.Contains(f[0].GetMessage(), "nothing was changed") || !strings.Contains(f[0].GetMessage(), "60 IPv4") {
		t.Fatalf("failures = %v", f)
	}
	for _, c := range e.sim.CallLog() {
		if c.GroupID == full && mutating(c.Action) {
			t.Fatalf("mutating call to the full group: %+v", c)
		}
	}
	if n := len(e.ingress(account, region, full)); n != 60 {
		t.Fatalf("full group has %d rules, want its 60", n)
	}
	// Its child operation exists, FAILED with RESOURCE_EXHAUSTED.
	op := e.wait(&longrunningpb.Operation{Name: f[0].GetOperation()})
	if op.GetError().GetCode() != int32(codes.ResourceExhausted) {
		t.Fatalf("child operation error = %v", op.GetError())
	}

	v6 := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: int32p(9100), ToPort: int32p(9100),
		Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: "2001:db8::/32"}}}
	ro = e.watchRollout(e.startRollout(&palisadev1.StartRolloutRequest{
		Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{v6}},
		Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: []string{full}}},
	}), nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		t.Fatalf("IPv6 rollout ended %v: %s", ro.GetState(), ro.GetStateReason())
	}
}

// TestRolloutWorkerRestart replaces a rule on 30 groups (add the new
// source, then revoke the old one), stops the rollout driver and the
// command worker midway, starts new ones, and checks that the rollout
// resumes and completes with each group changed exactly once: one
// successful authorize per group, every revoke after its authorize, and
// each group ending with only the new rule.
func TestRolloutWorkerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("a slowed rollout, restarted midway: long; make test runs it")
	}
	e := newEnv(t, envOptions{sim: ec2sim.Options{Latency: 20 * time.Millisecond}})
	stopWorker := e.startWorker(envWorker())
	stopRollouts := e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "restart", 30, nil)
	old := tcp(9100, 9100, "10.0.0.0/16")
	for _, id := range ids {
		e.succeeded(mustOp(e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: loc, GroupId: id, IpPermissions: []*palisadev1.IpPermission{old},
		})))
	}
	e.sim.ResetCounters()
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change: &palisadev1.RuleChange{
			AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")},
			RevokeIngress:    []*palisadev1.IpPermission{old},
		},
		Targets:  []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 3, CanarySize: 2},
	})
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool { return ro.GetProgress().GetSucceeded() >= 6 })
	stopRollouts()
	stopWorker()
	mid, err := e.rollouts().GetRollout(e.ctx, &palisadev1.GetRolloutRequest{Name: name})
	if err != nil || rolloutEnded(mid) {
		t.Fatalf("rollout after the stop: %v, %v", mid, err)
	}
	e.startWorker(envWorker())
	e.startRollouts(envWorker())
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != 30 {
		t.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	authorized := map[string]int{}
	for _, c := range e.sim.CallLog() {
		switch {
		case c.Action == "AuthorizeSecurityGroupIngress" && c.Outcome == "OK":
			authorized[c.GroupID]++
		case c.Action == "RevokeSecurityGroupIngress" && authorized[c.GroupID] == 0:
			t.Fatalf("group %s: revoke before its authorize", c.GroupID)
		}
	}
	for _, id := range ids {
		if authorized[id] != 1 {
			t.Fatalf("group %s authorized %d times", id, authorized[id])
		}
		r := e.ingress(account, region, id)
		if len(r) != 1 || aws.ToString(r[0].CidrIpv4) != "10.50.0.0/16" {
			t.Fatalf("group %s ingress = %v", id, r)
		}
	}
}

// TestRolloutTakeoverQueuesAChildRecordedWithoutItsCommand: a driver
// writes a child's record before its command; one stopped in between
// leaves a child whose record says queued and whose command was never
// stored. The driver taking over stores it, and the rollout ends with
// that group changed once.
func TestRolloutTakeoverQueuesAChildRecordedWithoutItsCommand(t *testing.T) {
	e := newEnv(t, envOptions{sim: ec2sim.Options{Latency: 20 * time.Millisecond}})
	e.startWorker(envWorker())
	stopRollouts := e.startRollouts(envWorker())
	ids := e.makeGroups(account, region, "takeover", 12, nil)
	change := &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, 9100, "10.50.0.0/16")}}
	name := e.startRollout(&palisadev1.StartRolloutRequest{
		Change:   change,
		Targets:  []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 1, CanarySize: 1},
	})
	e.watchRollout(name, func(ro *palisadev1.Rollout) bool { return ro.GetProgress().GetSucceeded() >= 2 })
	stopRollouts()

	// The stopped driver's last act, as a crash would leave it: the
	// record of a child not yet started, and no command.
	rolloutID, _ := operations.RolloutIDFromName(name)
	store, err := operations.Open(e.ctx, e.js, nil)
	if err != nil {
		t.Fatal(err)
	}
	var orphan string
	for _, id := range ids {
		child := command.ChildID(rolloutID, account, region, id)
		if _, _, err := store.Get(e.ctx, child); errors.Is(err, operations.ErrNotFound) {
			orphan = id
			cmd := &palisadev1.Command{OperationId: child, Caller: "local", AcceptTime: timestamppb.Now(),
				Request: &palisadev1.Command_ApplyRuleChange{ApplyRuleChange: &palisadev1.ApplyRuleChange{
					Location: loc, GroupId: id, Change: change, Rollout: name}}}
			if err := store.Create(e.ctx, command.NewRecord(cmd)); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if orphan == "" {
		t.Fatal("every child started before the driver stopped")
	}

	e.startRollouts(envWorker())
	ro := e.watchRollout(name, nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED || ro.GetProgress().GetSucceeded() != int32(len(ids)) {
		t.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	n := 0
	for _, c := range e.sim.CallLog() {
		if c.Action == "AuthorizeSecurityGroupIngress" && c.Outcome == "OK" && c.GroupID == orphan {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the child recorded without its command changed its group %d times, want 1", n)
	}
}

func rolloutEnded(ro *palisadev1.Rollout) bool {
	switch ro.GetState() {
	case palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED, palisadev1.RolloutState_ROLLOUT_STATE_FAILED, palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED:
		return true
	}
	return false
}

func mustOp(op *longrunningpb.Operation, err error) *longrunningpb.Operation {
	if err != nil {
		panic(err)
	}
	return op
}
