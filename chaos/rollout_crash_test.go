package chaos

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/internal/rollout"
)

// TestRolloutCrash: a rollout adds one rule to groups in several regions
// while worker processes, the one driving the rollout among them, are
// SIGKILLed at random and started again (kills in the driver's planning,
// in its starting of children, in children's EC2 calls and after them),
// and the NATS server is stopped and started again on its store now and
// then. The rollout must end SUCCEEDED, every child SUCCEEDED, and each
// group changed exactly once. (A driver stopped between a child's record
// and its command is a window of one round trip, which neither fault
// hits often; e2e's
// TestRolloutTakeoverQueuesAChildRecordedWithoutItsCommand makes it.)
func TestRolloutCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	regions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	perRegion := size(40, 150)
	s := newStack(t, stackOptions{
		workers: 3,
		// A killed driver's rollout comes back after the ack wait.
		ackWait:     2 * time.Second,
		sim:         ec2sim.Options{Latency: 100 * time.Millisecond},
		workerFlags: []string{"--ec2-rate-factor", "0"},
	})
	groups := map[string][]string{} // region → group ids
	for _, r := range regions {
		client := s.ec2c.Client(account, r)
		for i := range perRegion {
			out, err := client.CreateSecurityGroup(s.ctx, &ec2.CreateSecurityGroupInput{
				GroupName: aws.String(fmt.Sprintf("fleet-%d", i)), Description: aws.String("rollout target")})
			if err != nil {
				t.Fatal(err)
			}
			groups[r] = append(groups[r], aws.ToString(out.GroupId))
		}
	}
	var targets []*palisadev1.RolloutTarget
	for _, r := range regions {
		targets = append(targets, &palisadev1.RolloutTarget{Location: &palisadev1.Location{AccountId: account, Region: r}, GroupIds: groups[r]})
	}
	port := int32(9100)
	op, err := s.rollouts.StartRollout(s.ctx, &palisadev1.StartRolloutRequest{
		Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &port, ToPort: &port,
			IpRanges: []*palisadev1.IpRange{{CidrIp: "10.50.0.0/16"}}}}},
		Targets:  targets,
		Strategy: &palisadev1.RolloutStrategy{MaxInFlight: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := operations.IDFromName(op.GetName())

	start := time.Now()
	rng := rand.New(rand.NewPCG(seed(t), 0))
	k := s.startKiller(rand.New(rand.NewPCG(rng.Uint64(), 1)), 300*time.Millisecond, 900*time.Millisecond)
	nr := s.startNATSRestarts(rand.New(rand.NewPCG(rng.Uint64(), 2)))
	ro := s.awaitRollout(id, 5*time.Minute)
	restarts := nr.finish()
	kills, _ := k.finish()
	wall := time.Since(start)
	rollouts, err := rollout.OpenStore(s.ctx, s.js)
	if err != nil {
		t.Fatal(err)
	}
	driven, _, err := rollouts.Get(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}

	var problems []string
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED {
		problems = append(problems, fmt.Sprintf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress()))
	}
	authorized := map[string]int{}
	for _, c := range s.ec2.calls() {
		if c.Action == "AuthorizeSecurityGroupIngress" && c.effective() {
			authorized[c.GroupID]++
		}
	}
	notSucceeded, changedTwice, unchanged := 0, 0, 0
	for _, r := range regions {
		holding := s.holdingRule(r, port)
		for _, g := range groups[r] {
			rec, _, err := s.store.Get(s.ctx, command.ChildID(id, account, r, g))
			if err != nil || rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
				notSucceeded++
				if notSucceeded <= 3 {
					problems = append(problems, fmt.Sprintf("child of %s %s: %v, %v", r, g, rec.GetMetadata().GetState(), err))
				}
			}
			if authorized[g] > 1 {
				changedTwice++
			}
			if !holding[g] {
				unchanged++
			}
		}
	}
	if changedTwice > 0 || unchanged > 0 || notSucceeded > 0 {
		problems = append(problems, fmt.Sprintf("%d children not SUCCEEDED, %d groups changed twice, %d without the rule", notSucceeded, changedTwice, unchanged))
	}
	report(t, "rollout-crash", figure{"groups", len(regions) * perRegion}, figure{"kills", kills}, figure{"nats_restarts", restarts},
		figure{"rollout_deliveries", driven.GetDriverDelivery()}, figure{"not_succeeded", notSucceeded},
		figure{"changed_twice", changedTwice}, figure{"unchanged", unchanged}, figure{"wall", wall})
	if len(problems) > 0 {
		t.Errorf("invariants broken:\n  %s", strings.Join(problems, "\n  "))
	}
}

// awaitRollout polls rollout id until it ends, or fails the test after
// bound.
func (s *stack) awaitRollout(id string, bound time.Duration) *palisadev1.Rollout {
	s.t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ro, err := s.rollouts.GetRollout(s.ctx, &palisadev1.GetRolloutRequest{Name: "rollouts/" + id})
		switch {
		case err == nil && rolloutEnded(ro.GetState()):
			return ro
		case time.Now().After(deadline):
			s.t.Fatalf("rollout %s did not end within %v: %v, %v", id, bound, ro.GetProgress(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rolloutEnded(st palisadev1.RolloutState) bool {
	switch st {
	case palisadev1.RolloutState_ROLLOUT_STATE_SUCCEEDED, palisadev1.RolloutState_ROLLOUT_STATE_FAILED, palisadev1.RolloutState_ROLLOUT_STATE_CANCELLED:
		return true
	}
	return false
}

// holdingRule returns the groups of region that EC2 says let port in, in
// one read of every rule there.
func (s *stack) holdingRule(region string, port int32) map[string]bool {
	s.t.Helper()
	holding := map[string]bool{}
	p := ec2.NewDescribeSecurityGroupRulesPaginator(s.ec2c.Client(account, region), &ec2.DescribeSecurityGroupRulesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(s.ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range out.SecurityGroupRules {
			if !aws.ToBool(r.IsEgress) && aws.ToInt32(r.FromPort) == port {
				holding[aws.ToString(r.GroupId)] = true
			}
		}
	}
	return holding
}

// natsRestarts stops the NATS server now and then and starts it again on
// its store, until finished.
type natsRestarts struct {
	stop chan struct{}
	done chan int
}

func (s *stack) startNATSRestarts(rng *rand.Rand) *natsRestarts {
	r := &natsRestarts{stop: make(chan struct{}), done: make(chan int, 1)}
	go func() {
		n := 0
		defer func() { r.done <- n }()
		node := s.nats.nodes[0]
		for {
			select {
			case <-r.stop:
				return
			case <-time.After(time.Duration(1000+rng.IntN(2000)) * time.Millisecond):
			}
			node.stop()
			time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
			if err := node.start(); err != nil {
				s.t.Errorf("restart NATS: %v", err)
				return
			}
			n++
		}
	}()
	return r
}

func (r *natsRestarts) finish() int {
	close(r.stop)
	return <-r.done
}
