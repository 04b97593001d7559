package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

func TestTags(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	sg := e.createGroup("web", "")
	a, err := e.authorize(sg, tcp(22, 22, "10.0.0.0/8"))
	mustOK(t, err)
	rule := aws.ToString(a.SecurityGroupRules[0].SecurityGroupRuleId)
	vpc := e.createVpc("10.0.0.0/16", false)

	_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{sg, rule, vpc}, Tags: []types.Tag{tag("env", "prod"), tag("team", "net")}})
	mustOK(t, err)
	_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{sg}, Tags: []types.Tag{tag("env", "staging"), {Key: aws.String("empty")}}})
	mustOK(t, err)

	describe := func(filters ...types.Filter) []types.TagDescription {
		t.Helper()
		var all []types.TagDescription
		p := ec2.NewDescribeTagsPaginator(e.ec2, &ec2.DescribeTagsInput{Filters: filters, MaxResults: aws.Int32(5)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx(t))
			mustOK(t, err)
			all = append(all, out.Tags...)
		}
		return all
	}
	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	if got := describe(); len(got) != 7 {
		t.Errorf("all tags: %d, want 7: %+v", len(got), got)
	}
	got := describe(f("resource-id", sg))
	if len(got) != 3 || aws.ToString(got[1].Key) != "env" || aws.ToString(got[1].Value) != "staging" || got[1].ResourceType != types.ResourceTypeSecurityGroup {
		t.Errorf("group tags (overwritten env, sorted by key): %+v", got)
	}
	if got := describe(f("resource-type", "security-group-rule")); len(got) != 2 || aws.ToString(got[0].ResourceId) != rule {
		t.Errorf("rule tags: %+v", got)
	}
	if got := describe(f("key", "env"), f("value", "prod")); len(got) != 2 {
		t.Errorf("env=prod: %+v", got)
	}
	if got := describe(f("tag:team", "n*")); len(got) != 3 {
		t.Errorf("tag:team: %+v", got)
	}
	if g := e.group(sg); len(g.Tags) != 3 {
		t.Errorf("describe groups tags: %+v", g.Tags)
	}

	// DeleteTags: with a value only if it matches; without a value, any value.
	_, err = e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{sg}, Tags: []types.Tag{tag("env", "prod"), {Key: aws.String("team")}}})
	mustOK(t, err)
	if got := describe(f("resource-id", sg)); len(got) != 2 {
		t.Errorf("after delete: %+v", got)
	}
	_, err = e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{sg}, Tags: []types.Tag{tag("empty", "")}})
	mustOK(t, err)
	_, err = e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{rule, vpc}})
	mustOK(t, err)
	if got := describe(); len(got) != 1 || aws.ToString(got[0].Key) != "env" {
		t.Errorf("after deleting everything else: %+v", got)
	}

	cases := []struct {
		name string
		in   ec2.CreateTagsInput
		code string
	}{
		{"instance id", ec2.CreateTagsInput{Resources: []string{"i-0123456789abcdef0"}, Tags: []types.Tag{tag("k", "v")}}, "InvalidID"},
		{"garbage id", ec2.CreateTagsInput{Resources: []string{"sg-XYZ"}, Tags: []types.Tag{tag("k", "v")}}, "InvalidID"},
		{"unknown group", ec2.CreateTagsInput{Resources: []string{"sg-0123456789abcdef0"}, Tags: []types.Tag{tag("k", "v")}}, "InvalidGroup.NotFound"},
		{"unknown rule", ec2.CreateTagsInput{Resources: []string{"sgr-0123456789abcdef0"}, Tags: []types.Tag{tag("k", "v")}}, "InvalidSecurityGroupRuleId.NotFound"},
		{"unknown vpc", ec2.CreateTagsInput{Resources: []string{"vpc-0123456789abcdef0"}, Tags: []types.Tag{tag("k", "v")}}, "InvalidVpcID.NotFound"},
		{"one bad resource fails all", ec2.CreateTagsInput{Resources: []string{sg, "sg-0123456789abcdef0"}, Tags: []types.Tag{tag("new", "v")}}, "InvalidGroup.NotFound"},
		{"aws: prefix", ec2.CreateTagsInput{Resources: []string{sg}, Tags: []types.Tag{tag("AWS:x", "v")}}, "InvalidParameterValue"},
		{"more than 1000 resources", ec2.CreateTagsInput{Resources: make([]string, 1001), Tags: []types.Tag{tag("k", "v")}}, "InvalidParameterValue"},
		{"too many at once", ec2.CreateTagsInput{Resources: []string{sg}, Tags: manyTags(51)}, "TagLimitExceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ec2.CreateTags(ctx(t), &tc.in)
			wantErr(t, err, tc.code, s400)
		})
	}
	if got := describe(f("key", "new")); len(got) != 0 {
		t.Errorf("a failed CreateTags tagged something: %+v", got)
	}
	t.Run("limit counts existing tags", func(t *testing.T) {
		_, err := e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{sg}, Tags: manyTags(49)})
		mustOK(t, err)
		// env + 49 = 50; overwriting is fine, one more is not.
		_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{sg}, Tags: []types.Tag{tag("k0", "again")}})
		mustOK(t, err)
		_, err = e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{sg}, Tags: []types.Tag{tag("one-more", "v")}})
		wantErr(t, err, "TagLimitExceeded", s400)
	})
	t.Run("dry run", func(t *testing.T) {
		_, err := e.ec2.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{vpc}, Tags: []types.Tag{tag("k", "v")}, DryRun: aws.Bool(true)})
		wantErr(t, err, "DryRunOperation", s412)
		_, err = e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{sg}, DryRun: aws.Bool(true)})
		wantErr(t, err, "DryRunOperation", s412)
		_, err = e.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{DryRun: aws.Bool(true)})
		wantErr(t, err, "DryRunOperation", s412)
	})
	t.Run("delete errors", func(t *testing.T) {
		_, err := e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{"sgr-0123456789abcdef0"}})
		wantErr(t, err, "InvalidSecurityGroupRuleId.NotFound", s400)
		_, err = e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{sg}, Tags: []types.Tag{{Value: aws.String("v")}}})
		wantErr(t, err, "MissingParameter", s400)
		_, err = e.ec2.DeleteTags(ctx(t), &ec2.DeleteTagsInput{Resources: []string{sg}, Tags: []types.Tag{{Key: aws.String("aws:cloudformation:stack-name")}}})
		wantErr(t, err, "InvalidParameterValue", s400)
	})
	t.Run("describe errors", func(t *testing.T) {
		_, err := e.ec2.DescribeTags(ctx(t), &ec2.DescribeTagsInput{Filters: []types.Filter{f("colour", "x")}})
		wantErr(t, err, "InvalidParameterValue", s400)
	})
	t.Run("missing parameters", func(t *testing.T) {
		for name, body := range map[string]string{
			"CreateTags without resources": "Action=CreateTags&Tag.1.Key=k",
			"CreateTags without tags":      "Action=CreateTags&ResourceId.1=" + sg,
			"DeleteTags without resources": "Action=DeleteTags",
		} {
			r := e.raw(t, "POST", "Version=2016-11-15&"+body, nil)
			if r.code != "MissingParameter" {
				t.Errorf("%s: got %q", name, r.code)
			}
		}
	})
}
