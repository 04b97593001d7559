package palisadetest_test

import (
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"google.golang.org/protobuf/types/known/durationpb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/palisadetest"
	"github.com/palisadehq/palisade/palisadetest/infratest"
	"github.com/palisadehq/palisade/workers"
)

var loc = &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}

// TestStackAppliesACreate: a request through the API is applied to the
// endpoint by the stack's worker, and the group is there in EC2.
func TestStackAppliesACreate(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{Workers: 1, Rollouts: 1})
	ctx := s.Context()
	op, err := s.SecurityGroups.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "web", Description: "web servers"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if !done.GetDone() || done.GetError() != nil {
		t.Fatalf("operation %s: done=%v error=%v", op.GetName(), done.GetDone(), done.GetError())
	}
	res := &palisadev1.OperationResult{}
	if err := done.GetResponse().UnmarshalTo(res); err != nil {
		t.Fatal(err)
	}
	out, err := s.EC2.Client(loc.GetAccountId(), loc.GetRegion()).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{res.GetGroupId()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 1 || aws.ToString(out.SecurityGroups[0].GroupName) != "web" {
		t.Fatalf("EC2 holds %+v for %s, want the group web", out.SecurityGroups, res.GetGroupId())
	}
}

// TestStackWithoutWorkersOnlyAccepts: with no worker an operation is
// stored and stays ACCEPTED; a worker started later runs it, and its stop
// function returns once it has stopped.
func TestStackWithoutWorkersOnlyAccepts(t *testing.T) {
	s := palisadetest.Start(t, palisadetest.Options{Infra: infratest.Options{AckWait: 2 * time.Second}})
	if s.Topology.AckWait != 2*time.Second {
		t.Fatalf("declared ack wait %v, want 2s", s.Topology.AckWait)
	}
	ctx := s.Context()
	op, err := s.SecurityGroups.CreateSecurityGroup(ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "later", Description: "run later"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	md := &palisadev1.OperationMetadata{}
	if err := got.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatal(err)
	}
	if got.GetDone() || md.GetState() != palisadev1.OperationState_OPERATION_STATE_ACCEPTED {
		t.Fatalf("without a worker: done=%v state %v, want ACCEPTED", got.GetDone(), md.GetState())
	}

	stop := s.StartWorker(workers.Options{})
	done, err := s.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if !done.GetDone() || done.GetError() != nil {
		t.Fatalf("operation %s: done=%v error=%v", op.GetName(), done.GetDone(), done.GetError())
	}
	stop()
}
