package chaos

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestCreateRetriedWhileItsGroupIsInvisible: a create whose first rule
// meets InvalidGroup.NotFound (EC2 does not show the new group yet) is
// retried. The retry used to create again, meet InvalidGroup.Duplicate,
// look for its marker, not see the invisible group and fail the operation
// with its own group's name.
func TestCreateRetriedWhileItsGroupIsInvisible(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	s := newStack(t, stackOptions{workers: 1, ackWait: 5 * time.Second,
		sim: ec2sim.Options{ConsistencyDelay: 2 * time.Second}})
	pg := &plannedGroup{name: "invisible-" + t.Name()[:6]}
	op := &plannedOp{group: pg, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
	rec := s.submitAndWait(op)
	if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("create ended %v: %v", rec.GetMetadata().GetState(), rec.GetError().GetMessage())
	}
	if n := s.ec2.sim.Counters()["CreateSecurityGroup"]; n["OK"] != 1 || n["InvalidGroup.Duplicate"] != 0 {
		t.Fatalf("CreateSecurityGroup outcomes %v, want one OK and no retry of it", n)
	}
}

// TestRevokeRightAfterAuthorize: a revoke queued right behind the
// authorize of the same rule must remove it, although EC2's reads show a
// new rule only after a delay. The revoke used to read the group, not see
// the rule, succeed without a call, and leave the rule in place.
func TestRevokeRightAfterAuthorize(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenario: long; make test runs it")
	}
	s := newStack(t, stackOptions{workers: 1, ackWait: 5 * time.Second,
		sim: ec2sim.Options{ConsistencyDelay: 2 * time.Second}})
	pg := &plannedGroup{name: "lagging-" + t.Name()[:6]}
	create := &plannedOp{group: pg, kind: opCreate, port: 22, cidrs: []string{"10.0.0.0/8"}}
	if rec := s.submitAndWait(create); rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
		t.Fatalf("create ended %v: %v", rec.GetMetadata().GetState(), rec.GetError().GetMessage())
	} else {
		pg.id = rec.GetResult().GetGroupId()
	}
	auth := &plannedOp{group: pg, kind: opAuthorize, port: 443, cidrs: []string{"10.1.0.0/16"}}
	revoke := &plannedOp{group: pg, kind: opRevoke, port: 443, cidrs: []string{"10.1.0.0/16"}}
	var st loadStats
	for _, op := range []*plannedOp{auth, revoke} {
		op.requestID, op.id = newRequest()
		if err := s.submit(op, &st); err != nil {
			t.Fatal(err)
		}
	}
	for _, op := range []*plannedOp{auth, revoke} {
		rec, err := s.awaitEnd(op.id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if rec.GetMetadata().GetState() != palisadev1.OperationState_OPERATION_STATE_SUCCEEDED {
			t.Fatalf("%v ended %v: %v", op.kind, rec.GetMetadata().GetState(), rec.GetError().GetMessage())
		}
	}
	time.Sleep(2 * time.Second) // let EC2 show everything
	out, err := s.ec2c.Client(account, region).DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{pg.id}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.SecurityGroupRules {
		if aws.ToInt32(r.FromPort) == 443 {
			t.Fatalf("rule %s on port 443 still there after its revoke", aws.ToString(r.SecurityGroupRuleId))
		}
	}
}
