package e2e

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/bus"
)

func port(p int32) *int32 { return &p }

// TestInvalidRequestsNeverReachTheQueue sends one request of every class of
// invalid input and checks the answer names each bad field, and that
// nothing was stored.
func TestInvalidRequestsNeverReachTheQueue(t *testing.T) {
	e := newEnv(t, envOptions{workers: 0})
	const group = "sg-0123456789abcdef0"
	type call func(context.Context) (*longrunningpb.Operation, error)
	create := func(r *palisadev1.CreateSecurityGroupRequest) call {
		return func(ctx context.Context) (*longrunningpb.Operation, error) { return e.sg.CreateSecurityGroup(ctx, r) }
	}
	ingress := func(perms ...*palisadev1.IpPermission) call {
		return func(ctx context.Context) (*longrunningpb.Operation, error) {
			return e.sg.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group, IpPermissions: perms})
		}
	}
	tests := []struct {
		name   string
		call   call
		fields []string // every one must be named
	}{
		{"no location", create(&palisadev1.CreateSecurityGroupRequest{GroupName: "a", Description: "b"}), []string{"location"}},
		{"bad account and region", create(&palisadev1.CreateSecurityGroupRequest{Location: &palisadev1.Location{AccountId: "12", Region: "moon"}, GroupName: "a", Description: "b"}),
			[]string{"location.account_id", "location.region"}},
		{"request id not a uuid", create(&palisadev1.CreateSecurityGroupRequest{RequestId: "abc", Location: loc, GroupName: "a", Description: "b"}), []string{"request_id"}},
		{"name missing, description missing", create(&palisadev1.CreateSecurityGroupRequest{Location: loc}), []string{"group_name", "description"}},
		{"reserved name", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "default", Description: "d"}), []string{"group_name"}},
		{"sg- name", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "sg-web", Description: "d"}), []string{"group_name"}},
		{"name charset", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "web<1>", Description: "d"}), []string{"group_name"}},
		{"description not ascii", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "web", Description: "für"}), []string{"description"}},
		{"bad vpc id", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, VpcId: "vpc-xyz", GroupName: "web", Description: "d"}), []string{"vpc_id"}},
		{"reserved tag", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "web", Description: "d", Tags: map[string]string{"aws:x": "y", "palisade:operation-id": "z"}}), []string{"tags"}},
		{"bad egress at create", create(&palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "web", Description: "d",
			IpPermissionsEgress: []*palisadev1.IpPermission{{IpProtocol: "all"}}}), []string{"ip_permissions_egress[0].ip_protocol"}},
		{"malformed group id", func(ctx context.Context) (*longrunningpb.Operation, error) {
			return e.sg.DeleteSecurityGroup(ctx, &palisadev1.DeleteSecurityGroupRequest{Location: loc, GroupId: "group-1"})
		}, []string{"group_id"}},
		{"no permissions", ingress(), []string{"ip_permissions"}},
		{"protocol all", ingress(&palisadev1.IpPermission{IpProtocol: "all", IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}), []string{"ip_permissions[0].ip_protocol"}},
		{"protocol 256", ingress(&palisadev1.IpPermission{IpProtocol: "256", IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}), []string{"ip_permissions[0].ip_protocol"}},
		{"tcp without ports", ingress(&palisadev1.IpPermission{IpProtocol: "tcp", IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}), []string{"ip_permissions[0]"}},
		{"port range reversed and out of range", ingress(tcp(443, 80, "10.0.0.0/8"), tcp(0, 70000, "10.0.0.0/8")), []string{"ip_permissions[0]", "ip_permissions[1]"}},
		{"icmp type -1 with a code", ingress(&palisadev1.IpPermission{IpProtocol: "icmp", FromPort: port(-1), ToPort: port(3), IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8"}}}), []string{"ip_permissions[0]"}},
		{"bad cidrs", ingress(tcp(22, 22, "10.0.0.0", "10.0.0.0/8", "300.0.0.0/8")), []string{"ip_permissions[0].ip_ranges[0].cidr_ip", "ip_permissions[0].ip_ranges[2].cidr_ip"}},
		{"ipv6 in the ipv4 list", ingress(tcp(22, 22, "::/0")), []string{"ip_permissions[0].ip_ranges[0].cidr_ip"}},
		{"bad ipv6", ingress(&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: port(22), ToPort: port(22), Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: "10.0.0.0/8"}}}), []string{"ip_permissions[0].ipv6_ranges[0].cidr_ipv6"}},
		{"bad prefix list and group", ingress(&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: port(22), ToPort: port(22),
			PrefixListIds:    []*palisadev1.PrefixListId{{PrefixListId: "pl-zz"}},
			UserIdGroupPairs: []*palisadev1.UserIdGroupPair{{GroupId: "sg-zz"}}}), []string{"ip_permissions[0].prefix_list_ids[0].prefix_list_id", "ip_permissions[0].user_id_group_pairs[0].group_id"}},
		{"rule description charset", ingress(&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: port(22), ToPort: port(22),
			IpRanges: []*palisadev1.IpRange{{CidrIp: "10.0.0.0/8", Description: "a & b"}}}), []string{"ip_permissions[0].ip_ranges[0].description"}},
		{"no source", ingress(&palisadev1.IpPermission{IpProtocol: "tcp", FromPort: port(22), ToPort: port(22)}), []string{"ip_permissions[0]"}},
		{"duplicate after canonicalisation", ingress(tcp(22, 22, "10.1.2.3/16"), &palisadev1.IpPermission{IpProtocol: "6", FromPort: port(22), ToPort: port(22),
			IpRanges: []*palisadev1.IpRange{{CidrIp: "10.1.0.0/16"}}}), []string{"ip_permissions[1]"}},
		{"more than 60 rules", ingress(tcp(22, 22, manyCIDRs(61)...)), []string{"ip_permissions"}},
		{"revoke names nothing", func(ctx context.Context) (*longrunningpb.Operation, error) {
			return e.sg.RevokeSecurityGroupIngress(ctx, &palisadev1.RevokeSecurityGroupIngressRequest{Location: loc, GroupId: group})
		}, []string{"ip_permissions"}},
		{"revoke both ways", func(ctx context.Context) (*longrunningpb.Operation, error) {
			return e.sg.RevokeSecurityGroupEgress(ctx, &palisadev1.RevokeSecurityGroupEgressRequest{Location: loc, GroupId: group,
				IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.0.0.0/8")}, SecurityGroupRuleIds: []string{"sgr-0123456789abcdef0"}})
		}, []string{"security_group_rule_ids"}},
		{"revoke bad and repeated rule ids", func(ctx context.Context) (*longrunningpb.Operation, error) {
			return e.sg.RevokeSecurityGroupIngress(ctx, &palisadev1.RevokeSecurityGroupIngressRequest{Location: loc, GroupId: group,
				SecurityGroupRuleIds: []string{"sgr-1", "sgr-0123456789abcdef0", "sgr-0123456789abcdef0"}})
		}, []string{"security_group_rule_ids[0]", "security_group_rule_ids[2]"}},
	}
	before := queued(t, e)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.call(e.ctx)
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code %v (%v), want InvalidArgument", st.Code(), err)
			}
			var named []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						named = append(named, v.GetField())
						if v.GetDescription() == "" {
							t.Errorf("violation of %s has no description", v.GetField())
						}
					}
				}
			}
			for _, f := range tc.fields {
				if !hasPrefixIn(named, f) {
					t.Errorf("field %s not named; violations: %v", f, named)
				}
			}
		})
	}
	if after := queued(t, e); after != before {
		t.Fatalf("invalid requests stored %d commands", after-before)
	}
	keys, err := mustKV(t, e).ListKeys(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		t.Errorf("invalid request left operation %s", k)
	}
}

func hasPrefixIn(fields []string, want string) bool {
	for _, f := range fields {
		if f == want || strings.HasPrefix(f, want+".") || strings.HasPrefix(f, want+"[") {
			return true
		}
	}
	return false
}

func manyCIDRs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "10." + itoa(i) + ".0.0/16"
	}
	return out
}

// queued is how many commands the command stream ever stored.
func queued(t *testing.T, e *env) uint64 {
	t.Helper()
	s, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}
