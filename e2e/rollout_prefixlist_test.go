package e2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestRolloutPrefixListQuota: a rollout adding a rule that names a
// customer-managed prefix list counts the list as its MaxEntries, as EC2
// does (reference §4). A list of one entry but a maximum of 45 fits a
// group holding 10 rules and not one holding 20: the plan refuses that
// group with EC2's quota code, and the rollout fails it alone with
// nothing applied to it, though counted as one rule it would fit.
func TestRolloutPrefixListQuota(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	e.startRollouts(envWorker())
	pl, err := e.ec2.Client(account, region).CreateManagedPrefixList(e.ctx, &ec2.CreateManagedPrefixListInput{
		PrefixListName: aws.String("partners"), MaxEntries: aws.Int32(45), AddressFamily: aws.String("IPv4"),
		Entries: []types.AddPrefixListEntry{{Cidr: aws.String("192.0.2.0/24")}}})
	if err != nil {
		t.Fatal(err)
	}
	listID := aws.ToString(pl.PrefixList.PrefixListId)
	ids := e.makeGroups(account, region, "pl", 2, nil)
	crowded, roomy := ids[0], ids[1]
	e.fill(account, region, crowded, 20)
	e.fill(account, region, roomy, 10)
	port := int32(443)
	req := func(validate bool) *palisadev1.StartRolloutRequest {
		return &palisadev1.StartRolloutRequest{
			ValidateOnly: validate,
			Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &port, ToPort: &port,
				PrefixListIds: []*palisadev1.PrefixListId{{PrefixListId: listID}}}}},
			Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: ids}},
		}
	}
	quotaRefusal := func(where, code, msg string) {
		t.Helper()
		if code != "RulesPerSecurityGroupLimitExceeded" || !strings.Contains(msg, "nothing was changed") || !strings.Contains(msg, "20 IPv4") || !strings.Contains(msg, "45 more") {
			t.Fatalf("%s: %s %q", where, code, msg)
		}
	}

	// The plan: the list is looked up once and weighs 45.
	op, err := e.rollouts().StartRollout(e.ctx, req(true))
	if err != nil {
		t.Fatal(err)
	}
	ro := &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(ro); err != nil {
		t.Fatal(err)
	}
	if p := ro.GetPlan(); p.GetTotalGroups() != 2 || p.GetFailingGroups() != 1 {
		t.Fatalf("plan = %v", p)
	}
	calls := map[string]int32{}
	for _, c := range ro.GetPlan().GetEc2Calls() {
		calls[c.GetAction()] = c.GetCalls()
	}
	if calls["DescribeManagedPrefixLists"] != 1 || calls["AuthorizeSecurityGroupIngress"] != 1 {
		t.Fatalf("plan calls = %v", calls)
	}
	if f := ro.GetFailures(); len(f) != 1 || f[0].GetGroupId() != crowded {
		t.Fatalf("plan failures = %v", f)
	} else {
		quotaRefusal("plan", f[0].GetCode(), f[0].GetMessage())
	}

	// The rollout: the crowded group fails alone and is left untouched.
	e.sim.ResetCounters()
	ro = e.watchRollout(e.startRollout(req(false)), nil)
	if ro.GetState() != palisadev1.RolloutState_ROLLOUT_STATE_FAILED || ro.GetProgress().GetSucceeded() != 1 || ro.GetProgress().GetFailed() != 1 {
		t.Fatalf("rollout ended %v (%s): %v", ro.GetState(), ro.GetStateReason(), ro.GetProgress())
	}
	f := ro.GetFailures()
	if len(f) != 1 || f[0].GetGroupId() != crowded {
		t.Fatalf("failures = %v", f)
	}
	quotaRefusal("rollout", f[0].GetCode(), f[0].GetMessage())
	for _, c := range e.sim.CallLog() {
		if c.GroupID == crowded && mutating(c.Action) {
			t.Fatalf("mutating call to the crowded group: %+v", c)
		}
	}
	if n := len(e.ingress(account, region, crowded)); n != 20 {
		t.Fatalf("crowded group has %d rules, want its 20", n)
	}
	got := e.ingress(account, region, roomy)
	if len(got) != 11 {
		t.Fatalf("roomy group has %d rules, want 11", len(got))
	}

	// An AWS-managed list counts as its documented weight: CloudFront's
	// origin-facing list as 55 rules, too many for the group now holding
	// 10 rules and the list of 45 (55 in all), not for an empty one.
	cf, err := e.ec2.Client(account, region).DescribeManagedPrefixLists(e.ctx, &ec2.DescribeManagedPrefixListsInput{
		Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.global.cloudfront.origin-facing"}}}})
	if err != nil || len(cf.PrefixLists) != 1 {
		t.Fatalf("CloudFront's list: %v %v", cf, err)
	}
	listID = aws.ToString(cf.PrefixLists[0].PrefixListId)
	empty := e.makeGroups(account, region, "pl-empty", 1, nil)[0]
	ids = []string{roomy, empty}
	if op, err = e.rollouts().StartRollout(e.ctx, req(true)); err != nil {
		t.Fatal(err)
	}
	ro = &palisadev1.Rollout{}
	if err := op.GetResponse().UnmarshalTo(ro); err != nil {
		t.Fatal(err)
	}
	if f := ro.GetFailures(); len(f) != 1 || f[0].GetGroupId() != roomy || !strings.Contains(f[0].GetMessage(), "55 IPv4") || !strings.Contains(f[0].GetMessage(), "55 more") {
		t.Fatalf("plan failures with CloudFront's list = %v", f)
	}
}
