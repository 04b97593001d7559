package policy

import (
	"errors"
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestModifyIsDecidedAsAnAddition: a rule changed in place to SSH from
// anywhere is denied by the guardrail on additions, in its own direction;
// a description update is not an addition.
func TestModifyIsDecidedAsAnAddition(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	p := func(v int32) *int32 { return &v }
	const id = "sgr-0123456789abcdef0"
	req := &palisadev1.ModifySecurityGroupRulesRequest{
		Location: &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}, GroupId: "sg-0123456789abcdef0",
		SecurityGroupRules: []*palisadev1.SecurityGroupRuleUpdate{{SecurityGroupRuleId: id, SecurityGroupRule: &palisadev1.SecurityGroupRuleRequest{
			IpProtocol: "tcp", FromPort: p(22), ToPort: p(22), CidrIpv4: "0.0.0.0/0"}}},
	}
	if _, err := Checks("local", req); !errors.Is(err, ErrNeedsDirections) {
		t.Fatalf("Checks without directions: %v", err)
	}
	if _, err := ModifyChecks("local", req, nil); err == nil {
		t.Fatal("a rule of unknown direction was decided")
	}
	in, err := ModifyChecks("local", req, map[string]bool{id: false})
	if err != nil {
		t.Fatal(err)
	}
	d := s.Decide(in[0])
	if d.Allowed || len(d.Denied) != 1 || d.Denied[0].Field != "security_group_rules[0].security_group_rule" {
		t.Fatalf("inbound ssh from anywhere by modify: %+v", d)
	}
	out, err := ModifyChecks("local", req, map[string]bool{id: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Decide(out[0]); !d.Allowed {
		t.Fatalf("outbound 22 by modify denied: %+v", d)
	}
	desc, err := Checks("local", &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
		Location: req.GetLocation(), GroupId: req.GetGroupId(),
		IpPermissions: []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: p(22), ToPort: p(22), IpRanges: []*palisadev1.IpRange{{CidrIp: "0.0.0.0/0", Description: "legacy"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Decide(desc[0]); !d.Allowed || desc[0].Rules[0].Change != Describe {
		t.Fatalf("describing an existing rule denied: %+v", d)
	}
}
