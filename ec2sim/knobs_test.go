package ec2sim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/palisadehq/palisade/ec2sim"
)

// clock is a manual time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestThrottling(t *testing.T) {
	clk := newClock()
	e := newEnv(t, ec2sim.Options{Throttle: true, Now: clk.Now})
	create := func(c *ec2.Client, name string) error {
		_, err := c.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String("d")})
		return err
	}
	// Mutating bucket: 50 burst, 5 per second.
	for i := range 50 {
		mustOK(t, create(e.ec2, fmt.Sprintf("g%d", i)))
	}
	wantErr(t, create(e.ec2, "over"), "RequestLimitExceeded", s503)
	clk.Advance(100 * time.Millisecond) // half a token
	wantErr(t, create(e.ec2, "over"), "RequestLimitExceeded", s503)
	clk.Advance(100 * time.Millisecond) // fractional tokens add up
	mustOK(t, create(e.ec2, "refilled"))
	wantErr(t, create(e.ec2, "over"), "RequestLimitExceeded", s503)

	// Other actions, accounts and regions have their own buckets.
	first, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"g0"}})
	mustOK(t, err)
	gid := aws.ToString(first.SecurityGroups[0].GroupId)
	_, err = e.authorize(gid, tcp(1, 1, "10.0.0.0/8"))
	mustOK(t, err)
	mustOK(t, create(e.client("111122223333", "us-east-1"), "other-account"))
	mustOK(t, create(e.client("AKID", "eu-west-1"), "other-region"))

	// DescribeSecurityGroups without filter or pagination: 50 burst; with either, a 100 bucket.
	for i := 0; i < 49; i++ { // one token went on the describe above
		_, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{})
		mustOK(t, err)
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{})
	wantErr(t, err, "RequestLimitExceeded", s503)
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5)})
	mustOK(t, err)
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"g1"}}}})
	mustOK(t, err)

	// SpeedFactor multiplies the refill, not the size.
	e.sim.SetThrottle(true, 10)
	clk.Advance(time.Hour) // refills to the bucket size, no further
	for i := range 50 {
		mustOK(t, create(e.ec2, fmt.Sprintf("fast%d", i)))
	}
	wantErr(t, create(e.ec2, "over"), "RequestLimitExceeded", s503)
	clk.Advance(20 * time.Millisecond) // 5/s × 10 × 0.02 s = 1 token
	mustOK(t, create(e.ec2, "fast-refill"))

	e.sim.SetThrottle(false, 0)
	for i := range 60 {
		mustOK(t, create(e.ec2, fmt.Sprintf("free%d", i)))
	}
	if n := e.sim.Counters()["CreateSecurityGroup"]["RequestLimitExceeded"]; n != 4 {
		t.Errorf("counted %d throttles, want 4", n)
	}
	if n := e.sim.Counters()["DescribeSecurityGroups"]["RequestLimitExceeded"]; n != 1 {
		t.Errorf("counted %d describe throttles, want 1", n)
	}
}

func TestFaults(t *testing.T) {
	run := func(seed int64) []string {
		e := newEnv(t, ec2sim.Options{FaultRate: 0.5, Seed: seed})
		var outcomes []string
		for i := range 40 {
			_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("g%d", i)), Description: aws.String("d")})
			code, status := apiErr(t, err)
			switch {
			case code == "":
			case code == "InternalError" && status == s500, code == "Unavailable" && status == s503:
			default:
				t.Fatalf("unexpected fault %q (HTTP %d)", code, status)
			}
			outcomes = append(outcomes, code)
		}
		// A faulted call has no effect.
		e.sim.SetFaults(0, 0, 0)
		out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{})
		mustOK(t, err)
		ok := 0
		for _, o := range outcomes {
			if o == "" {
				ok++
			}
		}
		if len(out.SecurityGroups) != ok+1 {
			t.Errorf("%d groups after %d successful creates", len(out.SecurityGroups), ok)
		}
		return outcomes
	}
	a, b := run(7), run(7)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	seen := map[string]bool{}
	for _, o := range a {
		seen[o] = true
	}
	if !seen[""] || !seen["InternalError"] || !seen["Unavailable"] {
		t.Errorf("rate 0.5 over 40 calls should give all three outcomes: %v", a)
	}

	e := newEnv(t, ec2sim.Options{})
	e.sim.SetFaults(1, 0, 0)
	_, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	if code, _ := apiErr(t, err); code != "InternalError" && code != "Unavailable" {
		t.Errorf("rate 1 answered %q", code)
	}
}

func TestDropsAndLatency(t *testing.T) {
	e := newEnv(t, ec2sim.Options{DropRate: 1, Seed: 1})
	_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("dropped"), Description: aws.String("d")})
	var ae smithy.APIError
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("a dropped call must end without an answer, got %v", err)
	}
	// The call took effect before its answer was lost.
	e.sim.SetFaults(0, 30*time.Millisecond, 0)
	start := time.Now()
	out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"dropped"}})
	mustOK(t, err)
	if len(out.SecurityGroups) != 1 {
		t.Errorf("dropped create left no group")
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency not added: call took %v", d)
	}
	if n := e.sim.Counters()["CreateSecurityGroup"]["Dropped"]; n != 1 {
		t.Errorf("Dropped counted %d times", n)
	}
	if log := e.sim.CallLog(); len(log) != 2 || log[0].Outcome != "Dropped" || log[1].Outcome != "OK" {
		t.Errorf("call log %+v", log)
	}
}

func TestConsistencyDelay(t *testing.T) {
	clk := newClock()
	e := newEnv(t, ec2sim.Options{ConsistencyDelay: 5 * time.Second, Now: clk.Now})
	// The default VPC and group exist from the start.
	_, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupNames: []string{"default"}})
	mustOK(t, err)

	id := e.createGroup("new", "")
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	_, err = e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{tag("k", "v")}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	// Writes are consistent: the name is taken already.
	_, err = e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("new"), Description: aws.String("d")})
	wantErr(t, err, "InvalidGroup.Duplicate", s400)
	all, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{})
	mustOK(t, err)
	if len(all.SecurityGroups) != 1 {
		t.Errorf("invisible group listed: %d groups", len(all.SecurityGroups))
	}
	if rs := e.rules(id, true); len(rs) != 0 {
		t.Errorf("rules of an invisible group listed: %+v", rs)
	}

	clk.Advance(5 * time.Second)
	e.group(id)
	a, err := e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	mustOK(t, err)
	rid := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId)
	if g := e.group(id); len(g.IpPermissions) != 0 {
		t.Errorf("new rule visible at once: %+v", g.IpPermissions)
	}
	_, err = e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	wantErr(t, err, "InvalidPermission.Duplicate", s400)
	_, err = e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), SecurityGroupRuleIds: []string{rid}})
	wantErr(t, err, "InvalidSecurityGroupRuleId.NotFound", s400)
	clk.Advance(5 * time.Second)
	if rs := e.rules(id, false); len(rs) != 1 {
		t.Errorf("rule still invisible after the delay: %+v", rs)
	}

	vpc, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	mustOK(t, err)
	_, err = e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d"), VpcId: vpc.Vpc.VpcId})
	wantErr(t, err, "InvalidVpcID.NotFound", s400)
}

func TestCountersAndCallLog(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	out, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")})
	mustOK(t, err)
	id := aws.ToString(out.GroupId)
	reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	_, err = e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	mustOK(t, err)
	_, err = e.authorize(id, tcp(22, 22, "10.0.0.0/8"))
	wantErr(t, err, "InvalidPermission.Duplicate", s400)
	_, err = e.client("111122223333", "eu-west-1").DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	mustOK(t, err)
	e.raw(t, "POST", "Action=Nope&Version=2016-11-15", nil)

	want := map[string]map[string]int64{
		"CreateSecurityGroup":           {"OK": 1},
		"AuthorizeSecurityGroupIngress": {"OK": 1, "InvalidPermission.Duplicate": 1},
		"DescribeVpcs":                  {"OK": 1},
		"Unknown":                       {"InvalidAction": 1},
	}
	if got := e.sim.Counters(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counters %v, want %v", got, want)
	}
	log := e.sim.CallLog()
	if len(log) != 5 {
		t.Fatalf("call log has %d entries", len(log))
	}
	c := log[0]
	if c.Action != "CreateSecurityGroup" || c.GroupID != id || c.Outcome != "OK" || c.Account != "123456789012" ||
		c.Region != "us-east-1" || c.RequestID != reqID || c.Time.IsZero() {
		t.Errorf("first call %+v (SDK request id %q)", c, reqID)
	}
	if c := log[2]; c.Outcome != "InvalidPermission.Duplicate" || c.GroupID != id {
		t.Errorf("third call %+v", c)
	}
	if c := log[3]; c.Account != "111122223333" || c.Region != "eu-west-1" {
		t.Errorf("fourth call %+v", c)
	}
	for i := 1; i < len(log); i++ {
		if log[i].Time.Before(log[i-1].Time) {
			t.Errorf("log out of arrival order at %d", i)
		}
	}
	e.sim.ResetCounters()
	if len(e.sim.Counters()) != 0 || len(e.sim.CallLog()) != 0 {
		t.Errorf("reset left %v / %v", e.sim.Counters(), e.sim.CallLog())
	}
}

func TestStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	vpc := e.createVpc("10.0.0.0/16", true)
	id := e.createGroup("kept", vpc)
	_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions:     []types.IpPermission{tcp(22, 22, "10.0.0.0/8")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroupRule, Tags: []types.Tag{tag("k", "v")}}}})
	mustOK(t, err)
	_, err = e.client("111122223333", "us-west-2").DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	mustOK(t, err)
	before := e.rules(id, false)

	again := newEnv(t, ec2sim.Options{StateFile: path})
	g := again.group(id)
	if aws.ToString(g.GroupName) != "kept" || aws.ToString(g.VpcId) != vpc || len(g.IpPermissionsEgress[0].Ipv6Ranges) != 1 {
		t.Errorf("reloaded group %+v", g)
	}
	after := again.rules(id, false)
	if len(after) != 1 || aws.ToString(after[0].SecurityGroupRuleId) != aws.ToString(before[0].SecurityGroupRuleId) || len(after[0].Tags) != 1 {
		t.Errorf("reloaded rules %+v, want %+v", after, before)
	}
	if _, err := again.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	third := newEnv(t, ec2sim.Options{StateFile: path})
	_, err = third.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	if matches, _ := filepath.Glob(path + ".tmp-*"); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}

	t.Run("bad files", func(t *testing.T) {
		dir := t.TempDir()
		for name, content := range map[string]string{
			"not json":    "{",
			"version":     `{"version": 99, "worlds": []}`,
			"empty world": `{"version": 1, "worlds": [{}]}`,
			"null world":  `{"version": 1, "worlds": [null]}`,
		} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := ec2sim.New(ec2sim.Options{StateFile: p}); err == nil {
				t.Errorf("%s: New accepted it", name)
			}
		}
		if _, err := ec2sim.New(ec2sim.Options{StateFile: dir}); err == nil {
			t.Errorf("a directory as state file was accepted")
		}
	})
	t.Run("save failure", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "gone")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, ec2sim.Options{StateFile: filepath.Join(dir, "s.json")})
		// The snapshot and the journal go with the directory.
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		_, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")})
		wantErr(t, err, "InternalError", s500)
		// Reads need no save.
		_, err = e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
		mustOK(t, err)
	})
}

func TestListenAndServe(t *testing.T) {
	sim, err := ec2sim.New(ec2sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.ListenAndServe(c, addr) }()
	client := ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr), Retryer: aws.NopRetryer{}, HTTPClient: sdkHTTPClient()})
	var callErr error
	for range 100 { // wait for the listener
		if _, callErr = client.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); callErr == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustOK(t, callErr)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not stop")
	}
	if err := sim.ListenAndServe(context.Background(), "256.0.0.1:99999"); err == nil {
		t.Error("bad address accepted")
	}
}

func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	shared := e.createGroup("shared", "")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			out, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("w%d", w)), Description: aws.String("d")})
			if err != nil {
				errs <- err
				return
			}
			own := aws.ToString(out.GroupId)
			for i := range 7 { // 8 × 7 = 56 rules on the shared group, under the quota
				for _, g := range []string{own, shared} {
					if _, err := e.authorize(g, tcp(int32(w*100+i), int32(w*100+i), "10.0.0.0/8")); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(e.rules(shared, false)); n != 56 {
		t.Errorf("shared group has %d rules, want 56", n)
	}
}
