package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var groupIDRe = regexp.MustCompile(`sg-[0-9a-f]+`)

// TestSeedLab runs the seed lab's AWS CLI commands, with only the program
// name changed, against a whole Palisade.
func TestSeedLab(t *testing.T) {
	s := newStack(t)

	r := s.ctl(nil, "create-security-group", "--group-name", "ftp-sg", "--description", "Rules for FTP traffic", "--wait").must(t, exitOK)
	ftp := groupIDRe.FindString(r.stdout)
	if ftp == "" || !strings.Contains(r.stdout, "SUCCEEDED") {
		t.Fatalf("create printed no group id or state:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "SUCCEEDED") || !strings.Contains(r.stderr, "ACCEPTED") {
		t.Errorf("--wait printed no events on stderr:\n%s", r.stderr)
	}
	for _, want := range []string{"123456789012", "us-east-1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("default account/region %s not in output:\n%s", want, r.stdout)
		}
	}

	r = s.ctl(nil, "authorize-security-group-ingress", "--group-id", ftp, "--wait",
		"--ip-permissions", "IpProtocol=tcp,FromPort=21,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0},{CidrIp=10.0.0.0/16}]").must(t, exitOK)
	if n := strings.Count(r.stdout, "sgr-"); n != 2 {
		t.Errorf("authorize shows %d rule ids, want 2:\n%s", n, r.stdout)
	}

	// The SDK half of the lab: ssh-http-sg with SSH and HTTP, as two
	// permissions in one flag.
	r = s.ctl(nil, "create-security-group", "--group-name", "ssh-http-sg", "--description", "SG for SSH and HTTP traffic",
		"--ip-permissions", "IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=0.0.0.0/0}]",
		"IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{CidrIp=0.0.0.0/0}]", "--wait").must(t, exitOK)
	ssh := groupIDRe.FindString(r.stdout)

	r = s.ctl(nil, "describe-security-groups").must(t, exitOK)
	for _, want := range []string{ftp, ssh, "ftp-sg", "ssh-http-sg", "Rules for FTP traffic", "21-80", "10.0.0.0/16", "0.0.0.0/0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}

	r = s.ctl(nil, "describe-security-groups", "--group-ids", ftp, "--output", "json").must(t, exitOK)
	var got struct {
		SecurityGroups []struct {
			GroupID       string `json:"groupId"`
			GroupName     string `json:"groupName"`
			IPPermissions []struct {
				IPProtocol string `json:"ipProtocol"`
				FromPort   int    `json:"fromPort"`
				ToPort     int    `json:"toPort"`
				IPRanges   []struct {
					CidrIP string `json:"cidrIp"`
				} `json:"ipRanges"`
			} `json:"ipPermissions"`
		} `json:"securityGroups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("describe --output json is not JSON: %v", err)
	}
	if len(got.SecurityGroups) != 1 || got.SecurityGroups[0].GroupName != "ftp-sg" ||
		len(got.SecurityGroups[0].IPPermissions) != 1 || len(got.SecurityGroups[0].IPPermissions[0].IPRanges) != 2 ||
		got.SecurityGroups[0].IPPermissions[0].FromPort != 21 || got.SecurityGroups[0].IPPermissions[0].ToPort != 80 {
		t.Fatalf("ftp-sg as described: %+v", got)
	}
}
