package policy

import (
	"testing"

	"google.golang.org/protobuf/proto"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// FuzzChecks: for any request of any kind, Checks never panics, every rule
// the request's permissions expand to is in every Check (none left out of
// the decision), and Decide answers each Check with one part per rule.
func FuzzChecks(f *testing.F) {
	seed := func(m proto.Message) {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(0), b)
	}
	p22 := int32(22)
	loc := &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}
	perm := &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: &p22, ToPort: &p22,
		IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0"}}, Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: "::/0"}}}
	seed(&palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: "sg-12345678", IpPermissions: []*palisadev1.IpPermission{perm}})
	seed(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "web", IpPermissions: []*palisadev1.IpPermission{perm}})
	seed(&palisadev1.StartRolloutRequest{Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: []string{"sg-12345678", "sg-87654321"}}},
		Change: &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{perm}, RevokeEgress: []*palisadev1.IpPermission{perm}}})
	set, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	kinds := []func() proto.Message{
		func() proto.Message { return &palisadev1.CreateSecurityGroupRequest{} },
		func() proto.Message { return &palisadev1.AuthorizeSecurityGroupIngressRequest{} },
		func() proto.Message { return &palisadev1.AuthorizeSecurityGroupEgressRequest{} },
		func() proto.Message { return &palisadev1.RevokeSecurityGroupIngressRequest{} },
		func() proto.Message { return &palisadev1.RevokeSecurityGroupEgressRequest{} },
		func() proto.Message { return &palisadev1.StartRolloutRequest{} },
	}
	f.Fuzz(func(t *testing.T, kind byte, body []byte) {
		req := kinds[int(kind)%len(kinds)]()
		if proto.Unmarshal(body, req) != nil {
			return
		}
		want, valid := expectedRules(req)
		checks, err := Checks("spiffe://example.org/fuzz", req)
		if !valid {
			if err == nil {
				t.Fatalf("rules that do not expand were decided: %v", req)
			}
			return
		}
		if err != nil {
			t.Fatalf("Checks: %v", err)
		}
		for _, c := range checks {
			if len(c.Rules) != want {
				t.Fatalf("a check holds %d rules, the request %d", len(c.Rules), want)
			}
			d := set.Decide(c)
			parts := len(c.Rules) + len(c.RuleIDs)
			if parts == 0 {
				parts = 1
			}
			if !d.Allowed && len(d.Denied) == 0 || len(d.Denied) > parts {
				t.Fatalf("decision %+v over %d parts", d, parts)
			}
		}
	})
}

// expectedRules counts the rules of req's permission lists, and says
// whether they all expand.
func expectedRules(req proto.Message) (int, bool) {
	var lists []struct {
		dir   rules.Direction
		perms []*palisadev1.IpPermission
	}
	add := func(dir rules.Direction, p []*palisadev1.IpPermission) {
		lists = append(lists, struct {
			dir   rules.Direction
			perms []*palisadev1.IpPermission
		}{dir, p})
	}
	switch r := req.(type) {
	case *palisadev1.CreateSecurityGroupRequest:
		add(rules.Ingress, r.GetIpPermissions())
		add(rules.Egress, r.GetIpPermissionsEgress())
	case *palisadev1.AuthorizeSecurityGroupIngressRequest:
		add(rules.Ingress, r.GetIpPermissions())
	case *palisadev1.AuthorizeSecurityGroupEgressRequest:
		add(rules.Egress, r.GetIpPermissions())
	case *palisadev1.RevokeSecurityGroupIngressRequest:
		add(rules.Ingress, r.GetIpPermissions())
	case *palisadev1.RevokeSecurityGroupEgressRequest:
		add(rules.Egress, r.GetIpPermissions())
	case *palisadev1.StartRolloutRequest:
		add(rules.Ingress, r.GetChange().GetAuthorizeIngress())
		add(rules.Egress, r.GetChange().GetAuthorizeEgress())
		add(rules.Ingress, r.GetChange().GetRevokeIngress())
		add(rules.Egress, r.GetChange().GetRevokeEgress())
	}
	n := 0
	for _, l := range lists {
		if len(l.perms) == 0 {
			continue
		}
		rs, v := rules.Expand("p", l.dir, ruleconv.Permissions(l.perms))
		if len(v) > 0 {
			return 0, false
		}
		n += len(rs)
	}
	return n, true
}
