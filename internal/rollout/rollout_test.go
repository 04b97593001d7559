package rollout

import (
	"errors"
	"fmt"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/command"
	"github.com/palisadehq/palisade/internal/rules"
)

func tcp(port int32, cidrs ...string) *palisadev1.IpPermission {
	p := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &port, ToPort: &port}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, &palisadev1.IpRange{CidrIp: c})
	}
	return p
}

func v6(port int32, cidr string) *palisadev1.IpPermission {
	return &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &port, ToPort: &port, Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: cidr}}}
}

func many(n int) *palisadev1.IpPermission {
	var cidrs []string
	for i := 0; i < n; i++ {
		cidrs = append(cidrs, fmt.Sprintf("10.1.%d.0/24", i))
	}
	return tcp(22, cidrs...)
}

func TestExpandChange(t *testing.T) {
	_, v := ExpandChange("change", &palisadev1.RuleChange{})
	if len(v) != 1 || v[0].Field != "change" {
		t.Fatalf("empty change: %v", v)
	}
	_, v = ExpandChange("change", &palisadev1.RuleChange{
		AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, "10.0.0.0/8")},
		RevokeIngress:    []*palisadev1.IpPermission{tcp(443, "10.0.0.1/8")}, // the same rule once canonical
		AuthorizeEgress:  []*palisadev1.IpPermission{tcp(443, "not-a-cidr")},
	})
	fields := map[string]bool{}
	for _, x := range v {
		fields[x.Field] = true
	}
	if !fields["change.revoke_ingress"] || !fields["change.authorize_egress[0].ip_ranges[0].cidr_ip"] || len(v) != 2 {
		t.Fatalf("violations = %v", v)
	}
	c, v := ExpandChange("change", &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(443, "10.0.0.0/8")}, RevokeEgress: []*palisadev1.IpPermission{tcp(80, "0.0.0.0/0")}})
	if len(v) != 0 || len(c.Authorize[0]) != 1 || len(c.Revoke[1]) != 1 {
		t.Fatalf("change = %+v, %v", c, v)
	}
}

func TestGroupChangeQuota(t *testing.T) {
	c, _ := ExpandChange("change", &palisadev1.RuleChange{
		AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, "10.50.0.0/16")},
		RevokeIngress:    []*palisadev1.IpPermission{tcp(22, "10.1.0.0/24")},
	})
	// 60 IPv4 rules: the addition comes before the removal, so even a
	// replacement does not fit.
	full := Observed(rules.Ingress, []*palisadev1.IpPermission{many(60)})
	g := c.For([2][]rules.Rule{full, nil}, nil)
	if g.Quota == nil || g.Quota.Direction != rules.Ingress || !errors.Is(g.Quota, rules.ErrQuotaExceeded) || len(g.Calls()) != 0 {
		t.Fatalf("full group: %+v", g)
	}
	// 59: fits; one authorize and one revoke call.
	g = c.For([2][]rules.Rule{Observed(rules.Ingress, []*palisadev1.IpPermission{many(59)}), nil}, nil)
	if g.Quota != nil || g.Calls()["AuthorizeSecurityGroupIngress"] != 1 || g.Calls()["RevokeSecurityGroupIngress"] != 1 {
		t.Fatalf("59 rules: %+v %v", g, g.Calls())
	}
	// IPv6 counts apart: 60 IPv4 rules leave room for an IPv6 one.
	c6, _ := ExpandChange("change", &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{v6(9100, "2001:db8::/32")}})
	if g := c6.For([2][]rules.Rule{full, nil}, nil); g.Quota != nil {
		t.Fatalf("IPv6 on a full IPv4 group: %v", g.Quota)
	}
	// Already in place: nothing to do, no call.
	done := Observed(rules.Ingress, []*palisadev1.IpPermission{tcp(9100, "10.50.0.0/16")})
	if g := c.For([2][]rules.Rule{done, nil}, nil); !g.Empty() || len(g.Calls()) != 0 {
		t.Fatalf("converged group: %+v", g)
	}
}

func TestObservedKeepsUnreadableRules(t *testing.T) {
	rs := Observed(rules.Ingress, []*palisadev1.IpPermission{tcp(22, "10.0.0.0/8", "bogus"), {IpProtocol: "-1", UserIdGroupPairs: []*palisadev1.UserIdGroupPair{{GroupId: "sg-12345678", Description: "ä\x00"}}}})
	if len(rs) != 3 || rs[1].Source == "" || rs[2].Kind != rules.SourceGroup {
		t.Fatalf("observed = %+v", rs)
	}
}

func child(acct, region, id string, st palisadev1.OperationState, canary bool) *palisadev1.RolloutChild {
	return &palisadev1.RolloutChild{Location: &palisadev1.Location{AccountId: acct, Region: region}, GroupId: id, OperationId: id, State: st, Canary: canary}
}

func TestNextSpreadsOverLanesAndHonoursTheLimit(t *testing.T) {
	waiting := palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED
	running := palisadev1.OperationState_OPERATION_STATE_RUNNING
	cs := []*palisadev1.RolloutChild{
		child("1", "a", "a1", running, false), child("1", "a", "a2", running, false),
		child("1", "a", "a3", waiting, false), child("1", "a", "a4", waiting, false),
		child("1", "b", "b1", waiting, true), child("1", "b", "b2", waiting, false), child("1", "b", "b3", waiting, false),
	}
	got := Next(cs, 5, false)
	var ids []string
	for _, c := range got {
		ids = append(ids, c.GetGroupId())
	}
	// Lane a has 2 in flight: b catches up first, then they alternate.
	if fmt.Sprint(ids) != "[b1 b2 a3]" {
		t.Fatalf("next = %v", ids)
	}
	if got := Next(cs, 5, true); len(got) != 1 || got[0].GetGroupId() != "b1" {
		t.Fatalf("canary only = %v", got)
	}
	if got := Next(cs, 2, false); len(got) != 0 {
		t.Fatalf("at the limit = %v", got)
	}
}

// BenchmarkNext: what the driver pays after each batch of events in a
// rollout of 5,760 groups over 96 account-regions, 1,000 in flight, one
// of them just ended.
//
//	go test -run '^$' -bench Next -benchmem ./internal/rollout/
func BenchmarkNext(b *testing.B) {
	var cs []*palisadev1.RolloutChild
	for i := range 5760 {
		st := palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED
		switch {
		case i < 2000:
			st = palisadev1.OperationState_OPERATION_STATE_SUCCEEDED
		case i < 2999:
			st = palisadev1.OperationState_OPERATION_STATE_RUNNING
		}
		id := fmt.Sprint(i)
		cs = append(cs, child(fmt.Sprint(i%8), fmt.Sprint((i/8)%12), id, st, false))
	}
	for b.Loop() {
		if got := Next(cs, 1000, false); len(got) != 1 {
			b.Fatalf("next = %d children", len(got))
		}
	}
}

func TestPlanOrdersCanaryAcrossLanesAndSkipsFailingGroups(t *testing.T) {
	c, _ := ExpandChange("change", &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(9100, "10.50.0.0/16")}})
	lane := func(region string, ids ...string) Located {
		l := Located{Location: &palisadev1.Location{AccountId: "111122223333", Region: region}}
		for _, id := range ids {
			l.Groups = append(l.Groups, Group{ID: id})
		}
		return l
	}
	a := lane("us-east-1", "sg-a1", "sg-a2", "sg-a3")
	a.Groups[0].Ingress = []*palisadev1.IpPermission{many(60)} // no headroom
	b := lane("eu-west-1", "sg-b1")
	b.Missing = []string{"sg-b0"}
	b.Calls = 1
	plan, children, read := Plan("r1", c, []Located{a, b}, 2, true)
	if plan.GetTotalGroups() != 5 || plan.GetFailingGroups() != 2 {
		t.Fatalf("plan = %v", plan)
	}
	var order []string
	canaries := 0
	for _, ch := range children {
		order = append(order, ch.GetGroupId())
		if ch.GetCanary() {
			canaries++
			if ch.GetFailureCode() != "" {
				t.Fatalf("failing group %s chosen as canary", ch.GetGroupId())
			}
		}
	}
	// Lanes sorted by account/region (eu-west-1 first), interleaved.
	if fmt.Sprint(order) != "[sg-b0 sg-a1 sg-b1 sg-a2 sg-a3]" || canaries != 2 {
		t.Fatalf("order = %v, canaries %d", order, canaries)
	}
	if children[0].GetFailureCode() != CodeNotFound || children[1].GetFailureCode() != CodeQuota {
		t.Fatalf("failures = %v / %v", children[0], children[1])
	}
	// The rules read, for the groups that will be queued, in start order.
	var readOrder []string
	for _, g := range read {
		readOrder = append(readOrder, g.GetOperationId())
	}
	if want := []string{children[2].GetOperationId(), children[3].GetOperationId(), children[4].GetOperationId()}; fmt.Sprint(readOrder) != fmt.Sprint(want) {
		t.Fatalf("rules read for %v, want %v", readOrder, want)
	}
	if command.ChildID("r1", "111122223333", "us-east-1", "sg-a1") != children[1].GetOperationId() || command.ChildID("r2", "111122223333", "us-east-1", "sg-a1") == children[1].GetOperationId() {
		t.Fatal("child ids are not derived from the rollout and the group")
	}
}

func TestCount(t *testing.T) {
	cs := []*palisadev1.RolloutChild{
		child("1", "a", "1", palisadev1.OperationState_OPERATION_STATE_SUCCEEDED, true),
		child("1", "a", "2", palisadev1.OperationState_OPERATION_STATE_FAILED, false),
		child("1", "a", "3", palisadev1.OperationState_OPERATION_STATE_ACCEPTED, false),
		child("1", "a", "4", palisadev1.OperationState_OPERATION_STATE_RETRYING, false),
		child("1", "a", "5", palisadev1.OperationState_OPERATION_STATE_UNSPECIFIED, false),
		child("1", "a", "6", palisadev1.OperationState_OPERATION_STATE_CANCELLED, false),
	}
	p := Count(cs, 2, 0)
	if p.GetSucceeded() != 1 || p.GetFailed() != 1 || p.GetQueued() != 1 || p.GetRunning() != 1 || p.GetWaiting() != 1 ||
		p.GetCancelled() != 1 || p.GetCanarySucceeded() != 1 || p.GetEstimatedTimeRemaining().AsDuration().Seconds() != 2 {
		t.Fatalf("progress = %v", p)
	}
}
