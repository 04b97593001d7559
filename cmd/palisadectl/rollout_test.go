package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestRolloutCommands drives a rollout end to end through palisadectl:
// the plan, the start with --wait (plain progress lines, since the output
// is not a terminal), get, list, and the exit codes of a control request
// on an ended rollout and of bad input.
func TestRolloutCommands(t *testing.T) {
	s := newStack(t)
	for _, name := range []string{"pay-a", "pay-b", "pay-c"} {
		s.ctl(nil, "create-security-group", "--group-name", name, "--description", "payments",
			"--tag-specifications", "ResourceType=security-group,Tags=[{Key=team,Value=payments}]", "--wait").must(t, exitOK)
	}
	perm := "IpProtocol=tcp,FromPort=9100,ToPort=9100,IpRanges=[{CidrIp=10.50.0.0/16}]"

	plan := s.ctl(nil, "rollout", "start", "--tags", "team=payments", "--authorize-ingress", perm, "--validate-only").must(t, exitOK)
	if !strings.Contains(plan.stdout, "Groups:     3 (0 would fail)") || !strings.Contains(plan.stdout, "AuthorizeSecurityGroupIngress=3") {
		t.Fatalf("plan output:\n%s", plan.stdout)
	}

	run := s.ctl(nil, "rollout", "start", "--tags", "Key=team,Value=payments", "--authorize-ingress", perm,
		"--canary-size", "1", "--max-failures", "0", "--wait").must(t, exitOK)
	if !regexp.MustCompile(`(?m)SUCCEEDED 3/3 succeeded=3 failed=0`).MatchString(run.stdout) {
		t.Fatalf("progress lines:\n%s", run.stdout)
	}

	list := s.ctl(nil, "rollout", "list").must(t, exitOK)
	name := regexp.MustCompile(`rollouts/[0-9a-f]+`).FindString(list.stdout)
	if name == "" || !strings.Contains(list.stdout, "SUCCEEDED") {
		t.Fatalf("list output:\n%s", list.stdout)
	}
	get := s.ctl(nil, "rollout", "get", strings.TrimPrefix(name, "rollouts/")).must(t, exitOK)
	if !strings.Contains(get.stdout, "State:      SUCCEEDED") || !strings.Contains(get.stdout, "Canary:     1 of 1 succeeded") {
		t.Fatalf("get output:\n%s", get.stdout)
	}
	s.ctl(nil, "rollout", "watch", name).must(t, exitOK)
	s.ctl(nil, "rollout", "pause", name).must(t, exitError) // FAILED_PRECONDITION: it has ended
	s.ctl(nil, "rollout", "start", "--authorize-ingress", perm).must(t, exitUsage)
	s.ctl(nil, "rollout", "start", "--tags", "team=payments", "--targets", "nonsense", "--authorize-ingress", perm).must(t, exitUsage)
	bad := s.ctl(nil, "rollout", "start", "--group-ids", "sg-12345678", "--authorize-ingress", "IpProtocol=tcp,FromPort=9100,ToPort=9100,IpRanges=[{CidrIp=10.0.0.999/8}]")
	bad.must(t, exitUsage)
	if !strings.Contains(bad.stderr, "change.authorize_ingress[0].ip_ranges[0].cidr_ip") {
		t.Fatalf("field path missing:\n%s", bad.stderr)
	}
}
