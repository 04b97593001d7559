package rollout

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

func plPerm(port int32, ids ...string) *palisadev1.IpPermission {
	p := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &port, ToPort: &port}
	for _, id := range ids {
		p.PrefixListIds = append(p.PrefixListIds, &palisadev1.PrefixListId{PrefixListId: id})
	}
	return p
}

// A rule naming a prefix list counts as the list's size: 20 rules and a
// list of 45 do not fit in 60, though counted once they would.
func TestGroupChangeQuotaWeighsPrefixLists(t *testing.T) {
	const big, missing = "pl-0000000000000002d", "pl-00000000000000099"
	c, v := ExpandChange("change", &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{plPerm(443, big)}})
	if len(v) > 0 {
		t.Fatal(v)
	}
	current := [2][]rules.Rule{Observed(rules.Ingress, []*palisadev1.IpPermission{many(20)}), nil}
	sizes := PrefixListSizes{big: 45}
	if g := c.For(current, nil); g.Quota != nil {
		t.Fatalf("counted once it fits: %v", g.Quota)
	}
	g := c.For(current, sizes.Weight)
	if g.Quota == nil || g.Quota.Err.Existing != 20 || g.Quota.Err.Adding != 45 || len(g.Calls()) != 0 {
		t.Fatalf("weighted: %+v", g)
	}
	// A list already on the group weighs as much: 15 rules and the list
	// leave no room for one more rule.
	withList := [2][]rules.Rule{Observed(rules.Ingress, []*palisadev1.IpPermission{many(15), plPerm(443, big)}), nil}
	one, _ := ExpandChange("change", &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(80, "10.9.0.0/16")}})
	if g := one.For(withList, sizes.Weight); g.Quota == nil || g.Quota.Err.Existing != 60 {
		t.Fatalf("list on the group: %+v", g)
	}
	if got := one.Lists(withList); !slices.Equal(got, []string{big}) {
		t.Fatalf("lists = %v", got)
	}
	// A list not looked up (or gone) counts once; EC2 answers for it.
	if w := sizes.Weight(missing); w != 1 {
		t.Fatalf("unknown list weighs %d", w)
	}
	// Only removals: no list is needed.
	rm, _ := ExpandChange("change", &palisadev1.RuleChange{RevokeIngress: []*palisadev1.IpPermission{plPerm(443, big)}})
	if got := rm.Lists(withList); got != nil {
		t.Fatalf("removal lists = %v", got)
	}
}

func TestAddedLists(t *testing.T) {
	req := &palisadev1.StartRolloutRequest{
		Change:       &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{plPerm(443, "pl-b", "pl-a")}, RevokeEgress: []*palisadev1.IpPermission{plPerm(1, "pl-r")}},
		GroupChanges: []*palisadev1.GroupChange{{Change: &palisadev1.RuleChange{AuthorizeEgress: []*palisadev1.IpPermission{plPerm(53, "pl-a", "pl-c")}}}},
	}
	if got := AddedLists(req); !slices.Equal(got, []string{"pl-a", "pl-b", "pl-c"}) {
		t.Fatalf("AddedLists = %v", got)
	}
}

func TestListWeight(t *testing.T) {
	list := func(owner, name string, max int32) types.ManagedPrefixList {
		pl := types.ManagedPrefixList{OwnerId: aws.String(owner), PrefixListName: aws.String(name)}
		if max > 0 {
			pl.MaxEntries = aws.Int32(max)
		}
		return pl
	}
	for _, c := range []struct {
		pl   types.ManagedPrefixList
		want int
	}{
		{list("111122223333", "partners", 45), 45},
		{list("AWS", "com.amazonaws.global.cloudfront.origin-facing", 0), 55},
		{list("AWS", "com.amazonaws.global.ipv6.cloudfront.origin-facing", 0), 55},
		{list("AWS", "com.amazonaws.us-east-1.route53-healthchecks", 0), 25},
		{list("AWS", "com.amazonaws.us-east-1.s3", 0), 1},
		{list("AWS", "com.amazonaws.us-east-1.s3express", 0), 6},
		{list("AWS", "com.amazonaws.us-east-1.vpc-lattice", 30), 30}, // MaxEntries reported: EC2's own figure
		{list("AWS", "com.amazonaws.us-east-1.unheard-of", 0), 1},
	} {
		if got := listWeight(c.pl); got != c.want {
			t.Errorf("%s: weight %d, want %d", aws.ToString(c.pl.PrefixListName), got, c.want)
		}
	}
}
