package e2e

import (
	"strings"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/audit"
	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/policy"
)

// auditTrail returns every record in the audit stream, oldest first.
func (e *env) auditTrail() []*palisadev1.AuditRecord {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, bus.AuditStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*palisadev1.AuditRecord
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(e.ctx, seq)
		if err != nil {
			e.t.Fatal(err)
		}
		recs, err := audit.Records(m.Header, m.Data)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

// commandsStored counts what the command stream ever stored.
func (e *env) commandsStored() uint64 {
	e.t.Helper()
	s, err := e.js.Stream(e.ctx, bus.CommandStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.LastSeq
}

// deniedFields checks err is POLICY_DENIED and returns the fields its
// BadRequest names and the policies its ErrorInfo names.
func deniedFields(t *testing.T, err error) ([]string, string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied {
		t.Fatalf("answer %v, want PERMISSION_DENIED", err)
	}
	var fields []string
	policies := ""
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		case *errdetails.ErrorInfo:
			if d.GetReason() != "POLICY_DENIED" {
				t.Errorf("ErrorInfo reason %q", d.GetReason())
			}
			policies = d.GetMetadata()["policies"]
		}
	}
	return fields, policies
}

// TestGuardrailsDenyAndEveryDecisionIsAudited: with the default policy,
// SSH and RDP from the internet and all traffic from anywhere are denied
// with the offending rule named, nothing is stored and no worker sees it;
// HTTPS from anywhere is accepted; each decision is in the audit stream
// before the answer.
func TestGuardrailsDenyAndEveryDecisionIsAudited(t *testing.T) {
	engine, err := policy.NewEngine("")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{workers: 1, policy: engine})
	group := e.makeGroups(account, region, "guarded", 1, nil)[0]
	before := e.commandsStored()
	auditBefore := len(e.auditTrail())

	denied := []struct {
		name   string
		perms  []*palisadev1.IpPermission
		field  string
		policy string
	}{
		{"ssh from anywhere", []*palisadev1.IpPermission{tcp(443, 443, "0.0.0.0/0"), tcp(22, 22, "10.0.0.0/8", "0.0.0.0/0")},
			"ip_permissions[1].ip_ranges[1].cidr_ip", "no-admin-ports-from-outside-10-8"},
		{"rdp from v6 anywhere", []*palisadev1.IpPermission{{IpProtocol: "tcp", FromPort: port(3389), ToPort: port(3389),
			Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: "::/0"}}}}, "ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "no-admin-ports-from-outside-10-8"},
		{"all traffic from anywhere", []*palisadev1.IpPermission{{IpProtocol: "-1", Ipv6Ranges: []*palisadev1.Ipv6Range{{CidrIpv6: "::/0"}}}},
			"ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "no-all-traffic-from-anywhere"},
	}
	for _, tc := range denied {
		for _, validateOnly := range []bool{true, false} {
			_, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
				Location: loc, GroupId: group, IpPermissions: tc.perms, ValidateOnly: validateOnly,
			})
			fields, policies := deniedFields(t, err)
			if len(fields) != 1 || fields[0] != tc.field || !strings.Contains(policies, tc.policy) {
				t.Errorf("%s (validate_only %v): fields %v, policies %q; want only %s, by %s", tc.name, validateOnly, fields, policies, tc.field, tc.policy)
			}
		}
	}
	if got := e.commandsStored(); got != before {
		t.Fatalf("denied requests stored %d commands", got-before)
	}

	op, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: group, IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, "0.0.0.0/0")},
	})
	if err != nil {
		t.Fatalf("https from anywhere: %v", err)
	}
	if done := e.wait(op); done.GetError() != nil {
		t.Fatalf("https from anywhere failed: %v", done.GetError())
	}

	trail := e.auditTrail()[auditBefore:]
	if len(trail) != 2*len(denied)+1 {
		t.Fatalf("%d audit records, want %d", len(trail), 2*len(denied)+1)
	}
	for i, rec := range trail[:2*len(denied)] {
		tc := denied[i/2]
		if rec.GetDecision() != palisadev1.AuditDecision_AUDIT_DECISION_DENY || rec.GetCaller() != "local" ||
			rec.GetAction() != policy.AuthorizeSecurityGroupIngress || len(rec.GetDenials()) != 1 ||
			rec.GetDenials()[0].GetField() != tc.field || rec.GetValidateOnly() != (i%2 == 0) || rec.GetOperation() != "" {
			t.Errorf("audit record %d: %v", i, rec)
		}
		if len(rec.GetGroups()) != 1 || rec.GetGroups()[0].GetGroupId() != group || len(rec.GetRules()) == 0 {
			t.Errorf("audit record %d does not say what was asked: %v", i, rec)
		}
	}
	last := trail[len(trail)-1]
	if last.GetDecision() != palisadev1.AuditDecision_AUDIT_DECISION_ALLOW || last.GetOperation() != op.GetName() ||
		len(last.GetPolicies()) != 1 || last.GetPolicies()[0] != "any-caller-may-change-groups" || last.GetPolicyVersion() == "" {
		t.Errorf("allowed decision audited as %v", last)
	}
}

// TestRolloutIsAuthorizedWhole: a rollout whose change a guardrail
// forbids on any target is refused before it starts.
func TestRolloutIsAuthorizedWhole(t *testing.T) {
	engine, err := policy.NewEngine("")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{policy: engine})
	before := len(e.auditTrail())
	_, err = e.stack.Rollouts.StartRollout(e.ctx, &palisadev1.StartRolloutRequest{
		Targets: []*palisadev1.RolloutTarget{{Location: loc, GroupIds: []string{"sg-0123456789abcdef0", "sg-0123456789abcdef1"}}},
		Change:  &palisadev1.RuleChange{AuthorizeIngress: []*palisadev1.IpPermission{tcp(22, 22, "0.0.0.0/0")}},
	})
	fields, _ := deniedFields(t, err)
	if len(fields) != 2 || fields[0] != "change.authorize_ingress[0].ip_ranges[0].cidr_ip" {
		t.Fatalf("denied fields %v, want the rule for each of the two groups", fields)
	}
	rs, err := e.js.Stream(e.ctx, bus.RolloutStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := rs.Info(e.ctx); err != nil || info.State.LastSeq != 0 {
		t.Fatalf("a refused rollout was stored (%v, %v)", info.State, err)
	}
	trail := e.auditTrail()[before:]
	if len(trail) != 1 || trail[0].GetDecision() != palisadev1.AuditDecision_AUDIT_DECISION_DENY || len(trail[0].GetGroups()) != 2 {
		t.Fatalf("audit %v", trail)
	}
}

// TestUnauditableChangeIsRefused: with the audit stream gone, an allowed
// change is refused UNAVAILABLE and nothing is stored.
func TestUnauditableChangeIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	group := "sg-0123456789abcdef0"
	before := e.commandsStored()
	if err := e.js.DeleteStream(e.ctx, bus.AuditStream); err != nil {
		t.Fatal(err)
	}
	_, err := e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: group, IpPermissions: []*palisadev1.IpPermission{tcp(443, 443, "0.0.0.0/0")},
	})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("unauditable change answered %v, want UNAVAILABLE", err)
	}
	if got := e.commandsStored(); got != before {
		t.Fatal("an unaudited change was stored")
	}
	if _, err := e.ops.ListOperations(e.ctx, &longrunningpb.ListOperationsRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("a list whose scope decision cannot be audited answered %v", err)
	}
}

// TestAuditStreamIsAppendOnly: the audit stream refuses to delete or
// purge a record, and its deny flags cannot be turned off.
func TestAuditStreamIsAppendOnly(t *testing.T) {
	e := newEnv(t, envOptions{})
	if _, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: "sg-0123456789abcdef0"}); status.Code(err) != codes.NotFound {
		t.Fatalf("get: %v", err)
	}
	if len(e.auditTrail()) == 0 {
		t.Fatal("the read's decision was not audited")
	}
	s, err := e.js.Stream(e.ctx, bus.AuditStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMsg(e.ctx, 1); err == nil {
		t.Error("an audit record was deleted")
	}
	if err := s.Purge(e.ctx); err == nil {
		t.Error("the audit stream was purged")
	}
	cfg := s.CachedInfo().Config
	cfg.DenyDelete, cfg.DenyPurge = false, false
	if _, err := e.js.UpdateStream(e.ctx, cfg); err == nil {
		t.Error("the audit stream's deny flags were turned off")
	}
	if len(e.auditTrail()) == 0 {
		t.Fatal("the audit trail lost its record")
	}
}
