package main

import (
	"strings"
	"testing"
)

// TestRuleIDsAndTags reads rules with their ids, tags a rule named only
// by its id (the group is looked up) and untags it, as the AWS CLI's
// commands do.
func TestRuleIDsAndTags(t *testing.T) {
	s := newStack(t)
	op := decodeOp(t, s.ctl(nil, "create-security-group", "--group-name", "rules-cli", "--description", "d",
		"--ip-permissions", "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=10.0.0.0/8}]", "--wait", "--output", "json").must(t, exitOK).stdout)
	group := op.Response.GroupID
	var rule string
	for _, r := range op.Response.Rules {
		if !r.IsEgress {
			rule = r.ID
		}
	}
	r := s.ctl(nil, "describe-security-group-rules", "--group-id", group).must(t, exitOK)
	if !strings.Contains(r.stdout, rule) || !strings.Contains(r.stdout, "10.0.0.0/8") {
		t.Fatalf("describe-security-group-rules lacks %s:\n%s", rule, r.stdout)
	}

	s.ctl(nil, "create-tags", "--resources", rule, "--tags", "Key=team,Value=payments", "--wait").must(t, exitOK)
	r = s.ctl(nil, "describe-security-group-rules", "--filters", "Name=tag:team,Values=payments", "--output", "json").must(t, exitOK)
	if !strings.Contains(r.stdout, rule) || !strings.Contains(r.stdout, `"team": "payments"`) {
		t.Fatalf("the tagged rule is not found by its tag:\n%s", r.stdout)
	}
	s.ctl(nil, "delete-tags", "--resources", rule, "--tags", "Key=team", "--wait").must(t, exitOK)
	if r := s.ctl(nil, "describe-security-group-rules", "--filters", "tag:team=payments").must(t, exitOK); strings.Contains(r.stdout, rule) {
		t.Fatalf("the tag is still there:\n%s", r.stdout)
	}

	// In place, as the AWS CLI writes it; then a description by id.
	s.ctl(nil, "modify-security-group-rules", "--group-id", group, "--security-group-rules",
		"SecurityGroupRuleId="+rule+",SecurityGroupRule={IpProtocol=tcp,FromPort=2222,ToPort=2222,CidrIpv4=10.8.0.0/16,Description=moved}", "--wait").must(t, exitOK)
	r = s.ctl(nil, "describe-security-group-rules", "--security-group-rule-ids", rule).must(t, exitOK)
	if !strings.Contains(r.stdout, "2222") || !strings.Contains(r.stdout, "10.8.0.0/16") || !strings.Contains(r.stdout, "moved") {
		t.Fatalf("the rule was not changed in place:\n%s", r.stdout)
	}
	s.ctl(nil, "update-security-group-rule-descriptions-ingress", "--group-id", group, "--security-group-rule-descriptions",
		"SecurityGroupRuleId="+rule+",Description=bastion", "--wait").must(t, exitOK)
	if r := s.ctl(nil, "describe-security-group-rules", "--security-group-rule-ids", rule).must(t, exitOK); !strings.Contains(r.stdout, "bastion") {
		t.Fatalf("the description was not changed:\n%s", r.stdout)
	}
	r = s.ctl(nil, "modify-security-group-rules", "--group-id", group, "--security-group-rules", "SecurityGroupRuleId="+rule+",Colour=red").must(t, exitUsage)
	if !strings.Contains(r.stderr, "Colour") {
		t.Errorf("an unknown key is not named:\n%s", r.stderr)
	}

	r = s.ctl(nil, "describe-security-group-rules", "--filters", "Name=ip-permission.cidr,Values=0.0.0.0/0").must(t, exitUsage)
	if !strings.Contains(r.stderr, "filters[0].name") {
		t.Errorf("a filter EC2 lacks for rules is not named:\n%s", r.stderr)
	}
	r = s.ctl(nil, "create-tags", "--resources", "sgr-0123456789abcdef0", "--tags", "Key=a,Value=b").must(t, exitUsage)
	if !strings.Contains(r.stderr, "no rule") {
		t.Errorf("an unknown rule is not reported:\n%s", r.stderr)
	}
}

// TestSearch finds a world-open port across two regions, as a table and
// as JSON lines, and refuses a predicate key it does not know.
func TestSearch(t *testing.T) {
	s := newStack(t)
	env := map[string]string{"PALISADE_ACCOUNT_ID": "111122223333", "AWS_REGION": "eu-west-1"}
	op := decodeOp(t, s.ctl(env, "create-security-group", "--group-name", "open-8080", "--description", "d",
		"--ip-permissions", "IpProtocol=tcp,FromPort=8080,ToPort=8080,IpRanges=[{CidrIp=0.0.0.0/0}]", "--wait", "--output", "json").must(t, exitOK).stdout)
	group := op.Response.GroupID
	args := []string{"search", "--accounts", "111122223333", "--regions", "us-east-1,eu-west-1", "--rule", "Direction=ingress,Port=8080,CidrContains=0.0.0.0/0"}
	r := s.ctl(nil, args...).must(t, exitOK)
	if !strings.Contains(r.stdout, group) || !strings.Contains(r.stdout, "eu-west-1") || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("search found:\n%s", r.stdout)
	}
	r = s.ctl(nil, append(args, "--output", "json")...).must(t, exitOK)
	if strings.Count(r.stdout, "\n") != 1 || !strings.Contains(r.stdout, `"matchingRules"`) {
		t.Fatalf("search --output json:\n%s", r.stdout)
	}
	// Fix it: the plan names the rule each group loses; then the rollout.
	fix := []string{"rollout", "remediate", "--accounts", "111122223333", "--regions", "us-east-1,eu-west-1", "--rule", "Direction=ingress,Port=8080,CidrContains=0.0.0.0/0"}
	r = s.ctl(nil, append(fix, "--validate-only")...).must(t, exitOK)
	if !strings.Contains(r.stdout, "loses") || !strings.Contains(r.stdout, group) || !strings.Contains(r.stdout, "8080") {
		t.Fatalf("remediation plan:\n%s", r.stdout)
	}
	name := strings.TrimSpace(s.ctl(nil, fix...).must(t, exitOK).stdout)
	s.ctl(nil, "rollout", "watch", name).must(t, exitOK)
	if r := s.ctl(nil, args...).must(t, exitOK); strings.Contains(r.stdout, group) {
		t.Fatalf("the world-open rule is still found:\n%s", r.stdout)
	}
	// And undo it: the plan names what comes back.
	if r := s.ctl(nil, "rollout", "rollback", name, "--validate-only").must(t, exitOK); !strings.Contains(r.stdout, "gains") || !strings.Contains(r.stdout, "8080") {
		t.Fatalf("rollback plan:\n%s", r.stdout)
	}
	s.ctl(nil, "rollout", "rollback", name, "--wait").must(t, exitOK)
	if r := s.ctl(nil, args...).must(t, exitOK); !strings.Contains(r.stdout, group) {
		t.Fatalf("the rolled-back rule is not found again:\n%s", r.stdout)
	}
	// Or narrow it instead: the plan shows the rule gained.
	r = s.ctl(nil, append(fix, "--replace-peer-cidr", "10.0.0.0/8", "--validate-only")...).must(t, exitOK)
	if !strings.Contains(r.stdout, "gains") || !strings.Contains(r.stdout, "10.0.0.0/8") {
		t.Fatalf("replacement plan:\n%s", r.stdout)
	}
	if r := s.ctl(nil, "search", "--rule", "Port=22,Colour=red").must(t, exitUsage); !strings.Contains(r.stderr, "Colour") {
		t.Errorf("an unknown predicate key is not named:\n%s", r.stderr)
	}
}
