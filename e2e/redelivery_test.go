package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/operations"
	"github.com/palisadehq/palisade/workers"
)

// abandonFirst makes a worker drop the first delivery of every operation
// right after its EC2 calls landed, before recording or acking anything:
// the command comes back after AckWait and must converge, not repeat.
type abandonFirst struct {
	mu   sync.Mutex
	seen map[string]int
}

func (a *abandonFirst) hook(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]int{}
	}
	a.seen[id]++
	return a.seen[id] > 1
}

// TestEveryKindDeliveredTwice delivers each kind of command twice, the
// first delivery dying between its EC2 calls and its ack, and checks EC2
// ends as after one delivery: one group, no duplicate rule.
func TestEveryKindDeliveredTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out an ack wait for each kind of command: long; make test runs it")
	}
	var a abandonFirst
	e := newEnv(t, envOptions{workers: 1, worker: workers.Options{AfterApply: a.hook}})
	c := e.ec2.Client(account, region)

	createOp, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "twice", Description: "delivered twice",
		IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, "10.0.0.0/8")},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := e.succeeded(createOp)
	group := res.GetGroupId()
	if n := len(groupsNamed(t, c, "twice")); n != 1 {
		t.Fatalf("%d groups named twice, want 1", n)
	}
	if len(res.GetSecurityGroupRules()) != 1 || res.GetSecurityGroupRules()[0].GetSecurityGroupRuleId() == "" {
		t.Fatalf("create result lacks its rule id: %v", res)
	}

	run := func(name string, call func() (*longrunningpb.Operation, error)) *palisadev1.OperationResult {
		t.Helper()
		op, err := call()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return e.succeeded(op)
	}
	in := run("authorize ingress", func() (*longrunningpb.Operation, error) {
		return e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group,
			IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.1.0.0/16", "10.2.0.0/16")}})
	})
	if len(in.GetSecurityGroupRules()) != 2 {
		t.Fatalf("authorize ingress reported %v, want both rules with ids", in.GetSecurityGroupRules())
	}
	run("authorize egress", func() (*longrunningpb.Operation, error) {
		return e.sg.AuthorizeSecurityGroupEgress(e.ctx, &palisadev1.AuthorizeSecurityGroupEgressRequest{Location: loc, GroupId: group,
			IpPermissions: []*palisadev1.IpPermission{tcp(5432, 5432, "10.3.0.0/16")}})
	})
	assertRules(t, c, group, 3, 2) // 443 + two 22s in; default egress + 5432 out

	run("revoke ingress", func() (*longrunningpb.Operation, error) {
		return e.sg.RevokeSecurityGroupIngress(e.ctx, &palisadev1.RevokeSecurityGroupIngressRequest{Location: loc, GroupId: group,
			IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.1.0.0/16")}})
	})
	run("revoke egress", func() (*longrunningpb.Operation, error) {
		return e.sg.RevokeSecurityGroupEgress(e.ctx, &palisadev1.RevokeSecurityGroupEgressRequest{Location: loc, GroupId: group,
			IpPermissions: []*palisadev1.IpPermission{tcp(5432, 5432, "10.3.0.0/16")}})
	})
	assertRules(t, c, group, 2, 1)

	run("delete", func() (*longrunningpb.Operation, error) {
		return e.sg.DeleteSecurityGroup(e.ctx, &palisadev1.DeleteSecurityGroupRequest{Location: loc, GroupId: group})
	})
	if n := len(groupsNamed(t, c, "twice")); n != 0 {
		t.Fatalf("group still there after delete")
	}
	for id, n := range a.seen {
		if n != 2 {
			t.Errorf("operation %s ran %d times, want 2 (first delivery abandoned)", id, n)
		}
	}
	if len(a.seen) != 6 {
		t.Errorf("%d operations abandoned once, want 6", len(a.seen))
	}
}

// TestWorkerKilledBetweenEC2AndAck stops a worker right after EC2 created
// the group and before anything was recorded; another worker finishes the
// operation, adopting the group instead of making a second.
func TestWorkerKilledBetweenEC2AndAck(t *testing.T) {
	e := newEnv(t, envOptions{})
	died := make(chan struct{})
	var once sync.Once
	stopFirst := e.startWorker(workers.Options{AfterApply: func(string) bool {
		once.Do(func() { close(died) })
		return false
	}})
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "killed", Description: "worker killed mid-way",
		IpPermissions: []*palisadev1.IpPermission{tcp(80, 80, "0.0.0.0/0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	<-died
	stopFirst()
	e.startWorker(workers.Options{})
	res := e.succeeded(op)
	c := e.ec2.Client(account, region)
	if gs := groupsNamed(t, c, "killed"); len(gs) != 1 || aws.ToString(gs[0].GroupId) != res.GetGroupId() {
		t.Fatalf("groups named killed: %v, want exactly the operation's %s", gs, res.GetGroupId())
	}
	assertRules(t, c, res.GetGroupId(), 1, 1)
	if got := e.sim.Counters()["CreateSecurityGroup"]; got["OK"] != 1 || got["InvalidGroup.Duplicate"] != 1 {
		t.Fatalf("creates seen by EC2: %v; want one success and one duplicate adopted", got)
	}
}

// TestFinishedCommandReplayed replays a command whose operation already
// ended (as when the stream's de-duplication window has passed): the worker
// only acknowledges it.
func TestFinishedCommandReplayed(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "replayed", Description: "replayed"})
	if err != nil {
		t.Fatal(err)
	}
	e.succeeded(op)
	id, _ := operations.IDFromName(op.GetName())
	store, err := operations.Open(e.ctx, e.js, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(rec.GetCommand())
	before := queued(t, e)
	if _, err := e.js.Publish(e.ctx, bus.CommandSubject(account, region, "new-replay"), b); err != nil {
		t.Fatal(err)
	}
	waitDrained(t, e, before+1)
	if got := e.sim.Counters()["CreateSecurityGroup"]; got["OK"] != 1 || len(got) != 1 {
		t.Fatalf("creates seen by EC2 after a replay: %v, want the one", got)
	}
}

// waitDrained waits until the command stream holds nothing and has stored
// at least seq commands.
func waitDrained(t *testing.T, e *env, seq uint64) {
	t.Helper()
	s, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		info, err := s.Info(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 && info.State.LastSeq >= seq {
			return
		}
		if i > 600 {
			t.Fatalf("command stream not drained: %+v", info.State)
		}
		sleep(e.ctx, 50)
	}
}

func groupsNamed(t *testing.T, c *ec2.Client, name string) []types.SecurityGroup {
	t.Helper()
	out, err := c.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{name}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.SecurityGroups
}

// assertRules checks the group's rule counts and that no rule is there twice.
func assertRules(t *testing.T, c *ec2.Client, group string, ingress, egress int) {
	t.Helper()
	out, err := c.DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{group}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	in, eg := 0, 0
	seen := map[string]bool{}
	for _, r := range out.SecurityGroupRules {
		key := fmt.Sprintf("egress=%t %s %d-%d %s%s%s", aws.ToBool(r.IsEgress), aws.ToString(r.IpProtocol),
			aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), aws.ToString(r.CidrIpv4), aws.ToString(r.CidrIpv6), aws.ToString(r.PrefixListId))
		if aws.ToBool(r.IsEgress) {
			eg++
		} else {
			in++
		}
		if seen[key] {
			t.Errorf("rule %s is there twice", key)
		}
		seen[key] = true
	}
	if in != ingress || eg != egress {
		t.Fatalf("group %s has %d inbound and %d outbound rules, want %d and %d", group, in, eg, ingress, egress)
	}
}
