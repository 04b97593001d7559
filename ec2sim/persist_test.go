package ec2sim_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

// worldShape summarises what a reload must reproduce: every group with its
// rule ids, tags and descriptions.
func worldShape(t *testing.T, e *env) string {
	t.Helper()
	out, err := e.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{})
	mustOK(t, err)
	var b strings.Builder
	for _, r := range out.SecurityGroupRules {
		b.WriteString(aws.ToString(r.SecurityGroupRuleId) + "/" + aws.ToString(r.GroupId) + "/" + aws.ToString(r.CidrIpv4) + "/" +
			aws.ToString(r.Description) + "/" + strings.Repeat("T", len(r.Tags)) + ";")
	}
	return b.String()
}

var groupSeq atomic.Int64

// changes makes a mix of changes: groups created and deleted, rules added,
// modified, described and revoked, tags set.
func changes(t *testing.T, e *env, n int) {
	t.Helper()
	for i := range n {
		g := e.createGroup(fmt.Sprintf("g%d", groupSeq.Add(1)), "")
		out, err := e.authorize(g, tcp(22, 22, "10.0.0.0/8"), tcp(80, 80, "10.1.0.0/16"))
		mustOK(t, err)
		_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{g, aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)}, Tags: []types.Tag{tag("n", "v")}})
		mustOK(t, err)
		_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx(t), &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: aws.String(g),
			SecurityGroupRuleDescriptions: []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: out.SecurityGroupRules[1].SecurityGroupRuleId, Description: aws.String("web")}}})
		mustOK(t, err)
		if i%2 == 1 {
			_, err = e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g), SecurityGroupRuleIds: []string{aws.ToString(out.SecurityGroupRules[0].SecurityGroupRuleId)}})
			mustOK(t, err)
		}
		if i%3 == 2 {
			_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g)})
			mustOK(t, err)
		}
	}
}

// The journal replays to the same world, with and without compaction in
// between, and a journal left from before a compaction is ignored.
func TestJournalReplayAndCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	changes(t, e, 4)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a snapshot was written before any compaction: %v", err)
	}
	want := worldShape(t, e)
	if got := worldShape(t, newEnv(t, ec2sim.Options{StateFile: path})); got != want {
		t.Fatalf("replayed journal:\n got %s\nwant %s", got, want)
	}
	oldJournal, err := os.ReadFile(path + ".journal")
	mustOK(t, err)

	// Compact on every change: the snapshot alone must carry the state.
	ec2sim.SetCompactMinForTest(e.sim, 0)
	changes(t, e, 3)
	if ec2sim.StateGenerationForTest(e.sim) == 0 {
		t.Fatal("no compaction happened")
	}
	want = worldShape(t, e)
	if got := worldShape(t, newEnv(t, ec2sim.Options{StateFile: path})); got != want {
		t.Fatalf("after compaction:\n got %s\nwant %s", got, want)
	}
	// A crash between the new snapshot and the journal's restart leaves
	// the old generation's journal: the snapshot already holds it.
	mustOK(t, ec2sim.CompactForTest(e.sim))
	mustOK(t, os.WriteFile(path+".journal", oldJournal, 0o600))
	again := newEnv(t, ec2sim.Options{StateFile: path})
	if got := worldShape(t, again); got != want {
		t.Fatalf("old journal replayed over a newer snapshot:\n got %s\nwant %s", got, want)
	}
	// And the restarted journal takes new changes.
	changes(t, again, 1)
	want = worldShape(t, again)
	if got := worldShape(t, newEnv(t, ec2sim.Options{StateFile: path})); got != want {
		t.Fatalf("after restart:\n got %s\nwant %s", got, want)
	}
}

// A torn last record (a crash in the middle of an append) is ignored on
// load and cut off, so later appends start on a record boundary. A damaged
// record followed by whole ones is corruption and refused.
func TestJournalTornRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	changes(t, e, 2)
	want := worldShape(t, e)
	whole, err := os.ReadFile(path + ".journal")
	mustOK(t, err)

	for name, tail := range map[string]string{
		"no newline": `1234abcd {"a":"123456789012","r":"us-east-1","g":{`,
		"bad crc":    "00000000 {}\n",
		"short":      "12\n",
	} {
		t.Run(name, func(t *testing.T) {
			mustOK(t, os.WriteFile(path+".journal", append(append([]byte{}, whole...), tail...), 0o600))
			e := newEnv(t, ec2sim.Options{StateFile: path})
			if got := worldShape(t, e); got != want {
				t.Fatalf("got %s\nwant %s", got, want)
			}
			changes(t, e, 1)
			after := worldShape(t, e)
			if got := worldShape(t, newEnv(t, ec2sim.Options{StateFile: path})); got != after {
				t.Fatalf("appends after the repaired tail:\n got %s\nwant %s", got, after)
			}
		})
	}

	t.Run("damage before the end", func(t *testing.T) {
		lines := strings.SplitAfter(string(whole), "\n")
		lines[2] = "00000000 {}\n"
		mustOK(t, os.WriteFile(path+".journal", []byte(strings.Join(lines, "")), 0o600))
		if _, err := ec2sim.New(ec2sim.Options{StateFile: path}); err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Fatalf("New accepted a journal damaged before its end: %v", err)
		}
	})
	t.Run("record that is not a record", func(t *testing.T) {
		lines := strings.SplitAfter(string(whole), "\n")
		mustOK(t, os.WriteFile(path+".journal", []byte(lines[0]+"4c2f32b8 [1]\n"), 0o600))
		if _, err := ec2sim.New(ec2sim.Options{StateFile: path}); err == nil {
			t.Fatal("New accepted a record of the wrong shape")
		}
	})
}

// SyncJournal changes only when the journal reaches the disk.
func TestJournalSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path, SyncJournal: true})
	changes(t, e, 1)
	want := worldShape(t, e)
	if got := worldShape(t, newEnv(t, ec2sim.Options{StateFile: path})); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// The per-VPC group count (derived state, rebuilt after a load) agrees
// with the groups: the quota holds across a restart, and a deletion right
// after one frees exactly one place.
func TestGroupCountAfterReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	ec2sim.SetLimitsForTest(e.sim, 60, 3, 50, 5, false)
	a := e.createGroup("a", "")
	e.createGroup("b", "") // with the default group: 3 of 3
	create := func(e *env, name string) error {
		_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("d")})
		return err
	}
	for _, first := range []string{"create", "delete"} {
		again := newEnv(t, ec2sim.Options{StateFile: path})
		ec2sim.SetLimitsForTest(again.sim, 60, 3, 50, 5, false)
		if first == "create" {
			wantErr(t, create(again, "c"), "SecurityGroupLimitExceeded", s400)
			continue
		}
		_, err := again.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(a)})
		mustOK(t, err)
		mustOK(t, create(again, "c"))
		wantErr(t, create(again, "d"), "SecurityGroupLimitExceeded", s400)
	}
}

// A state file written before the journal existed (no generation, no
// journal beside it) loads, and the journal starts from it.
func TestStateFileWithoutJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	old := `{"version": 1, "worlds": [{"account": "123456789012", "region": "us-east-1", "vpcs": {}, "groups": {}, "rules": {}}]}`
	mustOK(t, os.WriteFile(path, []byte(old), 0o600))
	e := newEnv(t, ec2sim.Options{StateFile: path})
	v := e.createVpc("10.0.0.0/16", false)
	g := e.createGroup("kept", v)
	again := newEnv(t, ec2sim.Options{StateFile: path})
	if got := again.group(g); aws.ToString(got.VpcId) != v {
		t.Errorf("reloaded %+v", got)
	}
	if _, err := os.Stat(path + ".journal"); err != nil {
		t.Errorf("no journal: %v", err)
	}
}
