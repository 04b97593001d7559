package e2e

import (
	"testing"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestSeedLab runs the lab Palisade replaces: ftp-sg with FTP from anywhere
// and from a private range, ssh-http-sg with SSH and HTTP.
func TestSeedLab(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})

	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "ftp-sg", Description: "Rules for FTP traffic",
	})
	if err != nil {
		t.Fatal(err)
	}
	if op.GetDone() {
		t.Fatalf("a create is answered before it runs; got done=true")
	}
	ftp := e.succeeded(op).GetGroupId()

	op, err = e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
		Location: loc, GroupId: ftp,
		IpPermissions: []*palisadev1.IpPermission{tcp(21, 80, "0.0.0.0/0", "10.0.0.0/16")},
	})
	if err != nil {
		t.Fatal(err)
	}
	res := e.succeeded(op)
	if n := len(res.GetSecurityGroupRules()); n != 2 {
		t.Fatalf("authorize reported %d rules, want 2: %v", n, res)
	}
	for _, r := range res.GetSecurityGroupRules() {
		if r.GetSecurityGroupRuleId() == "" {
			t.Errorf("rule without id: %v", r)
		}
	}

	op, err = e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{
		Location: loc, GroupName: "ssh-http-sg", Description: "SG for SSH and HTTP traffic",
		IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "0.0.0.0/0"), tcp(80, 80, "0.0.0.0/0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	res = e.succeeded(op)
	if n := len(res.GetSecurityGroupRules()); n != 2 {
		t.Fatalf("create with rules reported %d rules, want 2", n)
	}

	g, err := e.sg.GetSecurityGroup(e.ctx, &palisadev1.GetSecurityGroupRequest{Location: loc, GroupId: ftp})
	if err != nil {
		t.Fatal(err)
	}
	if g.GetGroupName() != "ftp-sg" || len(g.GetIpPermissions()) != 1 || len(g.GetIpPermissions()[0].GetIpRanges()) != 2 {
		t.Fatalf("ftp-sg as EC2 holds it: %v", g)
	}
}
