package policy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisadehq/palisade/internal/rules"
)

func mustRules(t testing.TB, dir rules.Direction, perms ...rules.Permission) []Rule {
	t.Helper()
	rs, fields, v := rules.ExpandFields("ip_permissions", dir, perms)
	if len(v) > 0 {
		t.Fatal(v)
	}
	out := make([]Rule, len(rs))
	for i := range rs {
		out[i] = Rule{Field: fields[i], Change: Add, Rule: rs[i]}
	}
	return out
}

func tcp(port int32, cidrs ...string) rules.Permission {
	p := rules.Permission{Protocol: "tcp", FromPort: rules.Port(port), ToPort: rules.Port(port)}
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.IPv6Ranges = append(p.IPv6Ranges, rules.CIDR{Value: c})
		} else {
			p.IPv4Ranges = append(p.IPv4Ranges, rules.CIDR{Value: c})
		}
	}
	return p
}

var group = &Group{AccountID: "111122223333", Region: "us-east-1", GroupID: "sg-0123456789abcdef0"}

// TestDefaultGuardrails: the shipped policy denies SSH and RDP from
// outside 10.0.0.0/8 and all traffic from anywhere, names the rule and the
// policy, and allows 443 from anywhere.
func TestDefaultGuardrails(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	all := rules.Permission{Protocol: "-1", IPv4Ranges: []rules.CIDR{{Value: "0.0.0.0/0"}}}
	allV6 := rules.Permission{Protocol: "-1", IPv6Ranges: []rules.CIDR{{Value: "::/0"}}}
	for _, tc := range []struct {
		name   string
		perms  []rules.Permission
		allow  bool
		field  string
		policy string
	}{
		{"https from anywhere", []rules.Permission{tcp(443, "0.0.0.0/0", "::/0")}, true, "", ""},
		{"ssh from inside", []rules.Permission{tcp(22, "10.1.0.0/16")}, true, "", ""},
		{"ssh from anywhere", []rules.Permission{tcp(443, "0.0.0.0/0"), tcp(22, "10.1.0.0/16", "0.0.0.0/0")}, false, "ip_permissions[1].ip_ranges[1].cidr_ip", "no-admin-ports-from-outside-10-8"},
		{"ssh from v6 anywhere", []rules.Permission{tcp(22, "::/0")}, false, "ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "no-admin-ports-from-outside-10-8"},
		{"rdp from a public range", []rules.Permission{tcp(3389, "203.0.113.0/24")}, false, "ip_permissions[0].ip_ranges[0].cidr_ip", "no-admin-ports-from-outside-10-8"},
		{"range covering 22", []rules.Permission{{Protocol: "tcp", FromPort: rules.Port(20), ToPort: rules.Port(80), IPv4Ranges: []rules.CIDR{{Value: "0.0.0.0/0"}}}}, false, "ip_permissions[0].ip_ranges[0].cidr_ip", "no-admin-ports-from-outside-10-8"},
		{"all traffic from anywhere", []rules.Permission{all}, false, "ip_permissions[0].ip_ranges[0].cidr_ip", "no-admin-ports-from-outside-10-8"},
		{"all traffic from v6 anywhere", []rules.Permission{allV6}, false, "ip_permissions[0].ipv6_ranges[0].cidr_ipv6", "no-all-traffic-from-anywhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := s.Decide(Check{Caller: "spiffe://example.org/ci", Action: AuthorizeSecurityGroupIngress, Group: group,
				Rules: mustRules(t, rules.Ingress, tc.perms...)})
			if d.Allowed != tc.allow {
				t.Fatalf("allowed = %v, want %v: %+v", d.Allowed, tc.allow, d)
			}
			if tc.allow {
				if len(d.Policies) == 0 || d.Policies[0] != "any-caller-may-change-groups" {
					t.Errorf("allowed by %v", d.Policies)
				}
				return
			}
			if len(d.Denied) != 1 || d.Denied[0].Field != tc.field {
				t.Fatalf("denied parts %+v, want only %s", d.Denied, tc.field)
			}
			found := false
			for _, p := range d.Denied[0].Policies {
				found = found || p == tc.policy
			}
			if !found {
				t.Errorf("denied by %v, want %s among them", d.Denied[0].Policies, tc.policy)
			}
		})
	}
	// The same rule outbound, or removed, is no guardrail's business.
	egress := s.Decide(Check{Caller: "local", Action: AuthorizeSecurityGroupEgress, Group: group,
		Rules: mustRules(t, rules.Egress, tcp(22, "0.0.0.0/0"))})
	if !egress.Allowed {
		t.Errorf("egress 22 to anywhere denied: %+v", egress)
	}
	rm := mustRules(t, rules.Ingress, tcp(22, "0.0.0.0/0"))
	rm[0].Change = Remove
	if d := s.Decide(Check{Caller: "local", Action: RevokeSecurityGroupIngress, Group: group, Rules: rm}); !d.Allowed {
		t.Errorf("removing ssh from anywhere denied: %+v", d)
	}
	if d := s.Decide(Check{Caller: "local", Action: ReadAllOperations}); d.Allowed {
		t.Errorf("the default policy lets every caller read every operation")
	}
}

// TestTeams: the two-team example with its entities: each team changes
// its own tagged groups in its accounts, not the other's; platform reads
// everything.
func TestTeams(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../deploy/policy/examples/two-teams.cedar")
	if err != nil {
		t.Fatal(err)
	}
	guardrails, err := os.ReadFile("../../deploy/policy/default.cedar")
	if err != nil {
		t.Fatal(err)
	}
	// The guardrails without the default's broad permit.
	_, rest, ok := strings.Cut(string(guardrails), "permit (principal, action, resource is Palisade::SecurityGroup);")
	if !ok {
		t.Fatal("default.cedar no longer has its broad permit")
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("guardrails.cedar", rest)
	write("teams.cedar", string(example))
	write(EntitiesFile, `[
	 {"uid": {"type": "Palisade::Caller", "id": "spiffe://example.org/payments/deployer"}, "attrs": {}, "parents": [{"type": "Palisade::Team", "id": "payments"}]},
	 {"uid": {"type": "Palisade::Caller", "id": "spiffe://example.org/platform/ops"}, "attrs": {}, "parents": [{"type": "Palisade::Team", "id": "platform"}]}
	]`)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.UsesTags() {
		t.Error("a policy reading tags is not noticed")
	}
	payments := "spiffe://example.org/payments/deployer"
	tagged := func(account, team string) *Group {
		return &Group{AccountID: account, Region: "eu-west-1", GroupID: "sg-0aaaaaaaaaaaaaaaa", Tags: map[string]string{"team": team}}
	}
	https := mustRules(t, rules.Ingress, tcp(443, "0.0.0.0/0"))
	for _, tc := range []struct {
		caller string
		group  *Group
		rules  []Rule
		allow  bool
	}{
		{payments, tagged("111122223333", "payments"), https, true},
		{payments, tagged("444455556666", "payments"), https, true},
		{payments, tagged("999999999999", "payments"), https, false},                                             // not its account
		{payments, tagged("111122223333", "search"), https, false},                                               // not its group
		{payments, tagged("111122223333", "payments"), mustRules(t, rules.Ingress, tcp(22, "0.0.0.0/0")), false}, // guardrail
		{"spiffe://example.org/payments/intruder", tagged("111122223333", "payments"), https, false},             // not in the team
		{"spiffe://example.org/platform/ops", tagged("777788889999", "anything"), https, true},
	} {
		d := s.Decide(Check{Caller: tc.caller, Action: AuthorizeSecurityGroupIngress, Group: tc.group, Rules: tc.rules})
		if d.Allowed != tc.allow {
			t.Errorf("%s on %s/%v: allowed %v, want %v (%+v)", tc.caller, tc.group.AccountID, tc.group.Tags, d.Allowed, tc.allow, d.Denied)
		}
	}
	if d := s.Decide(Check{Caller: "spiffe://example.org/platform/ops", Action: ReadAllOperations}); !d.Allowed {
		t.Errorf("platform may not read all operations: %+v", d)
	}
	if d := s.Decide(Check{Caller: payments, Action: ReadAllOperations}); d.Allowed {
		t.Error("payments may read all operations")
	}
}

// TestRefusedPolicies: a policy that does not parse, does not validate
// against the schema, repeats an id or misplaces entities is refused.
func TestRefusedPolicies(t *testing.T) {
	for name, tc := range map[string]struct{ policy, entities, say string }{
		"syntax":         {`permit (principal, action, resource`, "", "refused"},
		"no statement":   {"// cut short\n", "", "holds no statement"},
		"unknown attr":   {`forbid (principal, action, resource) when { context.rule.port == 22 };`, "", "does not validate"},
		"unguarded attr": {`forbid (principal, action, resource) when { context.rule.cidr == ip("0.0.0.0/0") };`, "", "does not validate"},
		"unknown action": {`permit (principal, action == Palisade::Action::"Nuke", resource);`, "", "does not validate"},
		"duplicate id":   {"@id(\"a\") permit (principal, action, resource);\n@id(\"a\") permit (principal, action, resource);", "", "used twice"},
		"bad entity":     {`permit (principal, action, resource);`, `[{"uid": {"type": "Palisade::Account", "id": "1"}, "attrs": {}, "parents": []}]`, "only Palisade::Caller and Palisade::Team"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "p.cedar"), []byte(tc.policy), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.entities != "" {
				if err := os.WriteFile(filepath.Join(dir, EntitiesFile), []byte(tc.entities), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tc.say) {
				t.Errorf("Load: %v, want an error saying %q", err, tc.say)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing policy path loads")
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .cedar file") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestEvaluationErrorsDeny: a policy that errors at evaluation time (an
// overflow, which validates) denies instead of being skipped.
func TestEvaluationErrorsDeny(t *testing.T) {
	dir := t.TempDir()
	body := `@id("all") permit (principal, action, resource);
@id("broken") forbid (principal, action, resource) when { context has rule && context.rule.toPort * 9223372036854775807 > 0 };`
	if err := os.WriteFile(filepath.Join(dir, "p.cedar"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Decide(Check{Caller: "local", Action: AuthorizeSecurityGroupIngress, Group: group, Rules: mustRules(t, rules.Ingress, tcp(443, "0.0.0.0/0"))})
	if d.Allowed || len(d.Denied) != 1 || len(d.Denied[0].Errors) == 0 || !strings.Contains(d.Denied[0].Reason(), "could not be evaluated") {
		t.Fatalf("decision %+v, want a deny for the evaluation error", d)
	}
}

// TestEngineReloads: a changed policy takes over; a broken edit is
// refused and the policy in force stays.
func TestEngineReloads(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.cedar")
	write := func(body string) {
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`@id("open") permit (principal, action, resource);`)
	e, err := NewEngine(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Watch(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	check := Check{Caller: "local", Action: DeleteSecurityGroup, Group: group}
	if !e.Decide(check).Allowed {
		t.Fatal("open policy denies")
	}
	write(`@id("closed") forbid (principal, action, resource);` + "\n" + `@id("open") permit (principal, action, resource);`)
	waitFor(t, func() bool { return !e.Decide(check).Allowed })
	if d := e.Decide(check); d.Policies[0] != "closed" {
		t.Fatalf("after reload: %+v", d)
	}
	write(`permit (principal, action`)
	// The watcher sees the broken file and keeps the policy in force; a
	// later good edit still takes over, so the broken one was looked at.
	time.Sleep(50 * time.Millisecond)
	if d := e.Decide(check); d.Allowed || d.Policies[0] != "closed" {
		t.Fatalf("a broken policy replaced the one in force: %+v", d)
	}
	write(`@id("open-again") permit (principal, action, resource);`)
	waitFor(t, func() bool { return e.Decide(check).Allowed })
	if d := e.Decide(check); d.Policies[0] != "open-again" {
		t.Fatalf("the last good policy is not in force: %+v", d)
	}
}

// waitFor polls cond until it holds; the test's own timeout bounds it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(5 * time.Millisecond)
	}
}
