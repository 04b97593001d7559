package validate

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/rules"
)

var loc = &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}

// The worst shapes of request are refused with few, small violations:
// oversized lists as one violation each, everything else capped.
func TestOversizedRequestsAnswerSmall(t *testing.T) {
	empty := make([]*palisadev1.IpRange, 50000)
	for i := range empty {
		empty[i] = &palisadev1.IpRange{}
	}
	manyPerms := make([]*palisadev1.IpPermission, 5000)
	for i := range manyPerms {
		manyPerms[i] = &palisadev1.IpPermission{IpProtocol: "tcp", IpRanges: []*palisadev1.IpRange{{CidrIp: "bad"}}}
	}
	tags := map[string]string{}
	for i := range 5000 {
		tags[strings.Repeat("k", i%100)+string(rune('a'+i%26))+strings.Repeat("x", i/2600)] = "\x00"
	}
	targets := make([]*palisadev1.RolloutTarget, 5000)
	for i := range targets {
		targets[i] = &palisadev1.RolloutTarget{GroupIds: []string{"x"}}
	}
	ids := make([]string, 20000)
	cases := map[string]struct {
		msg  proto.Message
		v    rules.Violations
		want string
	}{}
	add := func(name string, m proto.Message, v rules.Violations, want string) {
		cases[name] = struct {
			msg  proto.Message
			v    rules.Violations
			want string
		}{m, v, want}
	}
	a := &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678", IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", IpRanges: empty}}}
	add("empty ip_ranges", a, Authorize(a, rules.Ingress), "50000 peers")
	b := &palisadev1.AuthorizeSecurityGroupEgressRequest{Location: loc, GroupId: "sg-12345678", IpPermissions: manyPerms}
	add("many permissions", b, Authorize(b, rules.Egress), "5000 permissions")
	c := &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "g", Description: "d", Tags: tags}
	add("many tags", c, Create(c), "tags given")
	r := &palisadev1.StartRolloutRequest{Change: &palisadev1.RuleChange{}, Targets: targets}
	add("many targets", r, StartRollout(r), "5000 targets")
	l := &palisadev1.ListSecurityGroupsRequest{Location: loc, GroupIds: ids}
	add("many list ids", l, ListSecurityGroups(l), "20000 group ids")
	rv := &palisadev1.RevokeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678", SecurityGroupRuleIds: ids}
	add("many rule ids", rv, Revoke(rv, rules.Ingress), "20000 rule ids")

	for name, tc := range cases {
		size := 0
		for _, x := range tc.v {
			size += len(x.Field) + len(x.Description)
		}
		if len(tc.v) > rules.MaxViolations+1 || size > rules.MaxViolationBytes+1024 {
			t.Errorf("%s: %d violations, %d bytes", name, len(tc.v), size)
		}
		if !strings.Contains(tc.v.Error(), tc.want) {
			t.Errorf("%s: %v does not say %q", name, truncate(tc.v.Error()), tc.want)
		}
	}
}

func TestManyBadItemsAreCapped(t *testing.T) {
	perms := make([]*palisadev1.IpPermission, 0, 110)
	for range 110 {
		perms = append(perms, &palisadev1.IpPermission{IpProtocol: "tcp", IpRanges: []*palisadev1.IpRange{{CidrIp: "bad"}}})
	}
	v := Authorize(&palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678", IpPermissions: perms}, rules.Ingress)
	if len(v) != rules.MaxViolations+1 || !strings.HasPrefix(v[rules.MaxViolations].Description, "…and ") {
		t.Fatalf("%d violations, last %+v", len(v), v[len(v)-1])
	}
}

func TestTagFiltersOnReads(t *testing.T) {
	l := &palisadev1.ListSecurityGroupsRequest{Location: loc, Tags: map[string]string{"aws:cloudformation:stack-name": "s", "k": "a\u202eb"}}
	v := ListSecurityGroups(l)
	if len(v) != 1 || v[0].Field != `tags["k"]` {
		t.Fatalf("violations %v", v)
	}
	tg := Target("targets[0]", &palisadev1.RolloutTarget{Location: loc, Tags: map[string]string{"k\n": "v"}})
	if len(tg) != 1 || !strings.Contains(tg[0].Description, "U+000A") {
		t.Fatalf("violations %v", tg)
	}
}
