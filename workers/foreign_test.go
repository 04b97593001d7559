package workers

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func TestForeign(t *testing.T) {
	loc := &palisadev1.Location{AccountId: "111122223333", Region: "us-east-1"}
	port := int32(443)
	perm := func(cidr string) []*palisadev1.IpPermission {
		return []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: &port, ToPort: &port, IpRanges: []*palisadev1.IpRange{{CidrIp: cidr}}}}
	}
	authorize := &palisadev1.Command{OperationId: "op", Caller: "alice", RequestHash: []byte{1}, AcceptTime: timestamppb.Now(),
		Request: &palisadev1.Command_AuthorizeIngress{AuthorizeIngress: &palisadev1.AuthorizeSecurityGroupIngressRequest{
			Location: loc, GroupId: "sg-1", IpPermissions: perm("10.0.0.0/8")}}}
	child := &palisadev1.Command{OperationId: "child", Caller: "alice", RequestHash: []byte{2},
		Request: &palisadev1.Command_ApplyRuleChange{ApplyRuleChange: &palisadev1.ApplyRuleChange{
			Location: loc, GroupId: "sg-1", Rollout: "rollouts/r", Change: &palisadev1.RuleChange{AuthorizeIngress: perm("10.0.0.0/8")},
			Observed: true, ObservedIngress: perm("10.9.0.0/16")}}}
	edit := func(c *palisadev1.Command, f func(*palisadev1.Command)) *palisadev1.Command {
		c = proto.Clone(c).(*palisadev1.Command)
		f(c)
		return c
	}
	cases := []struct {
		name    string
		rec     *palisadev1.OperationRecord
		cmd     *palisadev1.Command
		foreign bool
	}{
		{"same command", &palisadev1.OperationRecord{Command: authorize}, authorize, false},
		{"published again later", &palisadev1.OperationRecord{Command: authorize},
			edit(authorize, func(c *palisadev1.Command) { c.AcceptTime = timestamppb.New(c.AcceptTime.AsTime().Add(1e9)) }), false},
		{"other rules, same hash", &palisadev1.OperationRecord{Command: authorize},
			edit(authorize, func(c *palisadev1.Command) { c.GetAuthorizeIngress().IpPermissions = perm("0.0.0.0/0") }), true},
		{"other caller", &palisadev1.OperationRecord{Command: authorize}, edit(authorize, func(c *palisadev1.Command) { c.Caller = "" }), true},
		{"child with rules read again", &palisadev1.OperationRecord{Command: child},
			edit(child, func(c *palisadev1.Command) {
				c.RequestHash = []byte{3}
				c.GetApplyRuleChange().ObservedIngress = nil
			}), false},
		{"child of another change", &palisadev1.OperationRecord{Command: child},
			edit(child, func(c *palisadev1.Command) { c.GetApplyRuleChange().Change.AuthorizeIngress = perm("0.0.0.0/0") }), true},
		{"record without its command, same hash", &palisadev1.OperationRecord{RequestHash: []byte{1}}, authorize, false},
		{"record without its command, other hash", &palisadev1.OperationRecord{RequestHash: []byte{9}}, authorize, true},
	}
	for _, c := range cases {
		if got := foreign(c.rec, c.cmd); got != c.foreign {
			t.Errorf("%s: foreign = %v, want %v", c.name, got, c.foreign)
		}
	}
}
