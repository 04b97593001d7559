package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// opJSON is the part of --output json an operator's script reads.
type opJSON struct {
	Name     string `json:"name"`
	Done     bool   `json:"done"`
	Metadata struct {
		Type      string `json:"@type"`
		State     string `json:"state"`
		AccountID string `json:"accountId"`
		Region    string `json:"region"`
		RequestID string `json:"requestId"`
		GroupID   string `json:"groupId"`
	} `json:"metadata"`
	Response struct {
		GroupID string `json:"groupId"`
		Rules   []struct {
			ID       string `json:"securityGroupRuleId"`
			IsEgress bool   `json:"isEgress"`
		} `json:"securityGroupRules"`
	} `json:"response"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func decodeOp(t *testing.T, s string) opJSON {
	t.Helper()
	var op opJSON
	if err := json.Unmarshal([]byte(s), &op); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return op
}

var opNameRe = regexp.MustCompile(`^operations/[0-9a-f]+\n$`)

// TestLifecycle takes a group through every command, in another account
// and region chosen through the environment.
func TestLifecycle(t *testing.T) {
	s := newStack(t)
	env := map[string]string{"PALISADE_ACCOUNT_ID": "111122223333", "AWS_REGION": "eu-west-1"}

	// Accepted without --wait: the operation's name alone, for $(…).
	const reqID = "0b7e3f1c-6a2d-4c8e-9f10-3d5b7a9c1e2f"
	r := s.ctl(env, "create-security-group", "--group-name", "web-sg", "--description", "web tier", "--request-id", reqID,
		"--tags", "Key=env,Value=prod", "Key=team,Value=net", "--verbose").must(t, exitOK)
	if !opNameRe.MatchString(r.stdout) {
		t.Fatalf("want only the operation name, got %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "request id: "+reqID) {
		t.Errorf("--verbose does not show the request id:\n%s", r.stderr)
	}
	name := strings.TrimSpace(r.stdout)

	r = s.ctl(env, "watch", strings.TrimPrefix(name, "operations/")).must(t, exitOK)
	if !regexp.MustCompile(`(?s)ACCEPTED.*RUNNING.*SUCCEEDED`).MatchString(r.stdout) {
		t.Errorf("watch shows no ACCEPTED → RUNNING → SUCCEEDED:\n%s", r.stdout)
	}
	op := decodeOp(t, s.ctl(env, "get-operation", name, "--output", "json").must(t, exitOK).stdout)
	if !op.Done || op.Metadata.State != "OPERATION_STATE_SUCCEEDED" || op.Metadata.AccountID != "111122223333" ||
		op.Metadata.Region != "eu-west-1" || op.Metadata.RequestID != reqID || !strings.HasPrefix(op.Response.GroupID, "sg-") {
		t.Fatalf("get-operation --output json: %+v", op)
	}
	group := op.Response.GroupID

	// The one-rule form, both directions; JSON output carries the rule ids.
	op = decodeOp(t, s.ctl(env, "authorize-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", "443",
		"--cidr", "0.0.0.0/0", "--wait", "--output", "json").must(t, exitOK).stdout)
	if len(op.Response.Rules) != 1 || op.Response.Rules[0].IsEgress {
		t.Fatalf("authorize ingress result: %+v", op.Response)
	}
	httpsRule := op.Response.Rules[0].ID
	s.ctl(env, "authorize-security-group-egress", "--group-id", group, "--protocol", "udp", "--port", "53", "--cidr", "10.0.0.2/32", "--wait").must(t, exitOK)
	s.ctl(env, "authorize-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", "8000-8100",
		"--source-group", group, "--wait").must(t, exitOK)

	r = s.ctl(env, "describe-security-groups", "--filters", "tag:env=prod").must(t, exitOK)
	for _, want := range []string{group, "web-sg", "8000-8100", "111122223333/" + group} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	if !regexp.MustCompile(`ingress +tcp +443 `).MatchString(r.stdout) {
		t.Errorf("describe lacks the https rule:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`egress +udp +53 +10\.0\.0\.2/32`).MatchString(r.stdout) {
		t.Errorf("describe lacks the egress rule:\n%s", r.stdout)
	}
	if r := s.ctl(env, "describe-security-groups", "--filters", "tag:env=dev").must(t, exitOK); strings.Contains(r.stdout, group) {
		t.Errorf("tag:env=dev matched the prod group:\n%s", r.stdout)
	}
	// Another account sees nothing of it.
	if r := s.ctl(map[string]string{"AWS_REGION": "eu-west-1"}, "describe-security-groups").must(t, exitOK); strings.Contains(r.stdout, group) {
		t.Errorf("the default account sees the group:\n%s", r.stdout)
	}

	// Revoke by id, and by description in the one-rule form.
	r = s.ctl(env, "revoke-security-group-ingress", "--group-id", group, "--security-group-rule-ids", httpsRule, "--wait").must(t, exitOK)
	if !strings.Contains(r.stdout, httpsRule) {
		t.Errorf("revoke does not show the removed rule:\n%s", r.stdout)
	}
	s.ctl(env, "revoke-security-group-egress", "--group-id", group, "--protocol", "udp", "--port", "53", "--cidr", "10.0.0.2/32", "--wait").must(t, exitOK)
	r = s.ctl(env, "describe-security-groups", "--group-ids", group).must(t, exitOK)
	// Match whole table cells: random ids may contain "443" too.
	if regexp.MustCompile(`ingress +tcp +443 `).MatchString(r.stdout) || strings.Contains(r.stdout, "10.0.0.2/32") || !strings.Contains(r.stdout, "8000-8100") {
		t.Errorf("after the revokes:\n%s", r.stdout)
	}

	// Validation only changes nothing, under either name.
	for _, flag := range []string{"--validate-only", "--dry-run"} {
		r = s.ctl(env, "create-security-group", "--group-name", "never-sg", "--description", "d", flag).must(t, exitOK)
		if !strings.Contains(r.stdout, "VALID") {
			t.Errorf("%s output:\n%s", flag, r.stdout)
		}
	}
	s.ctl(env, "create-security-group", "--group-name", "never-sg", "--description", "d", "--dry-run", "--ip-permissions",
		"IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.0/40}]").must(t, exitUsage)
	if r := s.ctl(env, "describe-security-groups").must(t, exitOK); strings.Contains(r.stdout, "never-sg") {
		t.Errorf("a validation created a group:\n%s", r.stdout)
	}

	// Empty the group with the one-rule form of a group reference, then
	// delete it.
	s.ctl(env, "revoke-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", "8000-8100", "--source-group", group, "--wait").must(t, exitOK)
	s.ctl(env, "delete-security-group", "--group-id", group, "--wait").must(t, exitOK)
	r = s.ctl(env, "describe-security-groups", "--group-ids", group).must(t, exitError)
	if !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("describe of a deleted group:\n%s", r.stderr)
	}

	// Every operation is listed, in both formats.
	r = s.ctl(env, "list-operations").must(t, exitOK)
	for _, kind := range []string{"create-security-group", "authorize-security-group-ingress", "authorize-security-group-egress",
		"revoke-security-group-ingress", "revoke-security-group-egress", "delete-security-group"} {
		if !strings.Contains(r.stdout, kind) {
			t.Errorf("list-operations lacks %s:\n%s", kind, r.stdout)
		}
	}
	var list struct {
		Operations []opJSON `json:"operations"`
	}
	if err := json.Unmarshal([]byte(s.ctl(env, "list-operations", "--output", "json").must(t, exitOK).stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Operations) != 8 {
		t.Errorf("list-operations --output json has %d operations, want 8", len(list.Operations))
	}
}

// The JSON output is byte-stable, so scripts may compare it.
func TestJSONOutputIsStable(t *testing.T) {
	s := newStack(t)
	name := strings.TrimSpace(s.ctl(nil, "create-security-group", "--group-name", "a-sg", "--description", "a").must(t, exitOK).stdout)
	s.ctl(nil, "watch", name).must(t, exitOK)
	first := s.ctl(nil, "get-operation", name, "--output", "json").must(t, exitOK).stdout
	for range 3 {
		if again := s.ctl(nil, "get-operation", name, "--output", "json").must(t, exitOK).stdout; again != first {
			t.Fatalf("two renderings differ:\n%s\n%s", first, again)
		}
	}
	// watch --output json is one JSON event per line.
	for _, line := range strings.Split(strings.TrimSpace(s.ctl(nil, "watch", name, "--output", "json").must(t, exitOK).stdout), "\n") {
		var ev struct {
			State    string `json:"state"`
			Sequence int    `json:"sequence"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.State == "" || ev.Sequence == 0 {
			t.Errorf("event line %q: %v", line, err)
		}
	}
}

func TestHelp(t *testing.T) {
	r := ctl(t, nil, "", "--help").must(t, exitOK)
	for _, want := range []string{"create-security-group", "watch <name|id>", "123456789012", "us-east-1", "127.0.0.1:50051",
		"PALISADE_", "Exit codes:", "  3  the operation ended FAILED or CANCELLED", "  4  the server could not be reached"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, r.stdout)
		}
	}
	r = ctl(t, nil, "", "authorize-security-group-ingress", "-h").must(t, exitOK)
	for _, want := range []string{"-ip-permissions", "-protocol", "-wait", "-request-id", "-dry-run", "-server"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("command help lacks %q:\n%s", want, r.stdout)
		}
	}
}
