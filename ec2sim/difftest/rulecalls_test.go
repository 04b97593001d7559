package difftest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Steps for the calls Palisade makes on rules and tags, and for
// DescribeSecurityGroups' filters: DescribeSecurityGroupRules by ids and
// filters, CreateTags/DeleteTags on groups and rules,
// ModifySecurityGroupRules, UpdateSecurityGroupRuleDescriptionsIngress/
// Egress, and the group filters by rule content, with several values and
// wildcards. They run in vpc3, emptied, after the other steps.
// EC2's answers: the API reference of each call and its filter list, and
// /work/shared/reference/ec2-security-groups.md (§3 and §4).
func ruleCallSteps() []step {
	const dflt = "123456789012"
	return []step{
		// --- fixture ---
		// vpc3, emptied: the region's five VPCs are all in use.
		{name: "rc-empty-vpc3", do: deleteSG("in3", false), want: "OK"},
		{name: "rc-group-app", do: createSG("fa", "f-app", "app tier", createOpts{vpc: "vpc3"}), want: "OK"},
		{name: "rc-group-db", do: createSG("fb", "f-db", "db tier", createOpts{vpc: "vpc3"}), want: "OK"},
		{name: "rc-authorize-app", do: authorize("fa", ingress,
			P("tcp", 22, 22, "10.0.0.0/8"), P("tcp", 443, 443, "0.0.0.0/0"), P("udp", 53, 53, "10.3.0.0/16")), want: "OK",
			moto:      "moto: a multi-permission Authorize lists only the last permission's rules",
			wantShape: "return=true rules=[fa:in:tcp:22..22:10.0.0.0/8 sgr-ok tags={}; fa:in:tcp:443..443:0.0.0.0/0 sgr-ok tags={}; fa:in:udp:53..53:10.3.0.0/16 sgr-ok tags={}]"},
		// Protocol 6 is stored and reported as tcp (reference §4, Protocol).
		{name: "rc-authorize-by-number", do: authorize("fa", ingress, P("6", 8443, 8443, "10.3.1.0/24")), want: "OK"},
		{name: "rc-authorize-db", do: authorize("fb", ingress, P("tcp", 5432, 5432, "@fa")), want: "OK"},
		{name: "rc-authorize-db-egress", do: authorize("fb", egress, P("tcp", 443, 443, "::/0")), want: "OK"},
		{name: "rc-record-app-rules", do: describeRules("fa", map[string]string{
			"fa:in:tcp:22..22:10.0.0.0/8":      "sgr-fa-ssh",
			"fa:in:tcp:443..443:0.0.0.0/0":     "sgr-fa-https",
			"fa:in:udp:53..53:10.3.0.0/16":     "sgr-fa-dns",
			"fa:in:tcp:8443..8443:10.3.1.0/24": "sgr-fa-alt",
		}), want: "OK", moto: "moto: DescribeSecurityGroupRules leaves out a new group's default egress rule",
			wantShape: "[fa:in:tcp:22..22:10.0.0.0/8 sgr-ok tags={}; fa:in:tcp:443..443:0.0.0.0/0 sgr-ok tags={}; fa:in:tcp:8443..8443:10.3.1.0/24 sgr-ok tags={}; fa:in:udp:53..53:10.3.0.0/16 sgr-ok tags={}; fa:out:-1:*:0.0.0.0/0 sgr-ok tags={}]"},
		{name: "rc-record-db-rules", do: describeRules("fb", map[string]string{"fb:in:tcp:5432..5432:sg=fa": "sgr-fb-pg"}), want: "OK",
			moto: "moto: DescribeSecurityGroupRules leaves out a new group's default egress rule", wantShape: "[fb:in:tcp:5432..5432:sg=fa sgr-ok tags={}; fb:out:-1:*:0.0.0.0/0 sgr-ok tags={}; fb:out:tcp:443..443:::/0 sgr-ok tags={}]"},

		// --- DescribeSecurityGroups filters (API reference filter list; values
		// case-sensitive, several values OR, several filters AND, * and ?) ---
		{name: "rc-filter-name-wildcard", do: findGroups(F("group-name", "f-*")), want: "OK"},
		{name: "rc-filter-name-question-mark", do: findGroups(F("group-name", "f-ap?")), want: "OK"},
		{name: "rc-filter-name-multi", do: findGroups(F("group-name", "f-app", "f-db")), want: "OK"},
		{name: "rc-filter-name-case", do: findGroups(F("group-name", "F-APP")), want: "OK"},
		{name: "rc-filter-description-wildcard", do: findGroups(F("description", "*tier")), want: "OK"},
		{name: "rc-filter-owner", do: findGroups(F("owner-id", dflt), F("group-name", "f-db")), want: "OK"},
		{name: "rc-filter-cidr", do: findGroups(F("ip-permission.cidr", "10.0.0.0/8")), want: "OK"},
		{name: "rc-filter-cidr-wildcard", do: findGroups(F("ip-permission.cidr", "10.*")), want: "OK"},
		{name: "rc-filter-from-port", do: findGroups(F("ip-permission.from-port", "5432")), want: "OK"},
		{name: "rc-filter-to-port-multi", do: findGroups(F("ip-permission.to-port", "53", "5432")), want: "OK"},
		{name: "rc-filter-protocol-name", do: findGroups(F("ip-permission.protocol", "udp")), want: "OK"},
		// DescribeSecurityGroups: "tcp | udp | icmp, a protocol number, or
		// -1"; a rule made with 6 is a tcp rule.
		{name: "rc-filter-protocol-number", do: findGroups(F("ip-permission.protocol", "6")), want: "OK",
			moto: "moto: a protocol filter compares the text, so 6 does not find tcp rules", wantShape: "groups=[fa fb]"},
		{name: "rc-filter-rules-different", do: findGroups(F("ip-permission.protocol", "udp"), F("ip-permission.from-port", "22")), want: "OK"},
		{name: "rc-filter-group-id", do: findGroups(F("ip-permission.group-id", "@fa")), want: "OK"},
		// The pair EC2 stores for a VPC group names no group, so the
		// referenced group's name finds nothing (ec2sim's differences_test).
		{name: "rc-filter-referenced-group-name", do: findGroups(F("ip-permission.group-name", "f-app")), want: "OK"},
		// The owner named in a rule's user-id-group pair: fa has no such rule.
		{name: "rc-filter-user-id", do: findGroups(F("ip-permission.user-id", dflt), F("group-name", "f-*")), want: "OK",
			moto: "moto: ip-permission.user-id also matches groups with no rule naming that account", wantShape: "groups=[fb]"},
		{name: "rc-filter-egress-ipv6", do: findGroups(F("egress.ip-permission.ipv6-cidr", "::/0")), want: "OK",
			moto: "moto: unknown filters (here egress.ip-permission.ipv6-cidr) crash with an HTML 500", wantShape: "groups=[fb]"},
		{name: "rc-filter-egress-to-port", do: findGroups(F("egress.ip-permission.to-port", "443")), want: "OK"},
		{name: "rc-filter-unknown", do: findGroups(F("ip-permission.port", "22")), want: "InvalidParameterValue",
			moto: "moto: unknown filters crash with an HTML 500"},

		// --- DescribeSecurityGroupRules by ids and filters (API reference:
		// filters group-id, security-group-rule-id, tag:<key>) ---
		{name: "rc-rules-by-two-groups", do: findRules(nil, F("group-id", "@fa", "@fb")), want: "OK",
			moto:      "moto: DescribeSecurityGroupRules leaves out a new group's default egress rule",
			wantShape: "[fa:in:tcp:22..22:10.0.0.0/8 sgr-ok tags={}; fa:in:tcp:443..443:0.0.0.0/0 sgr-ok tags={}; fa:in:tcp:8443..8443:10.3.1.0/24 sgr-ok tags={}; fa:in:udp:53..53:10.3.0.0/16 sgr-ok tags={}; fa:out:-1:*:0.0.0.0/0 sgr-ok tags={}; fb:in:tcp:5432..5432:sg=fa sgr-ok tags={}; fb:out:-1:*:0.0.0.0/0 sgr-ok tags={}; fb:out:tcp:443..443:::/0 sgr-ok tags={}]"},
		{name: "rc-rules-by-rule-id-filter", do: findRules(nil, F("security-group-rule-id", "@sgr-fa-ssh")), want: "OK"},
		{name: "rc-rules-by-ids", do: findRules([]string{"sgr-fa-ssh", "sgr-fb-pg"}), want: "OK"},
		{name: "rc-rules-unknown-id", do: findRules([]string{"sgr-none"}), want: "InvalidSecurityGroupRuleId.NotFound"},
		{name: "rc-rules-group-filter-not-for-rules", do: findRules(nil, F("ip-permission.cidr", "10.0.0.0/8")), want: "InvalidParameterValue",
			moto: "moto: a filter DescribeSecurityGroupRules does not have crashes with an HTML 500"},

		// --- CreateTags / DeleteTags on rules and groups (API reference:
		// DeleteTags with a value removes the tag only when the value
		// matches; without one, whatever its value) ---
		{name: "rc-tag-rule", do: createTags("sgr-fa-ssh", "purpose", "ssh", "owner", "ops"), want: "OK"},
		{name: "rc-rules-by-tag", do: findRules(nil, F("group-id", "@fa"), F("tag:purpose", "ssh")), want: "OK"},
		{name: "rc-rules-by-tag-wildcard", do: findRules(nil, F("group-id", "@fa"), F("tag:purpose", "s*")), want: "OK"},
		{name: "rc-untag-rule-other-value", do: deleteTags("sgr-fa-ssh", "purpose", "web"), want: "OK"},
		{name: "rc-rule-tag-kept", do: findRules([]string{"sgr-fa-ssh"}), want: "OK"},
		{name: "rc-untag-rule-key-only", do: deleteTags("sgr-fa-ssh", "purpose", ""), want: "OK"},
		{name: "rc-rule-tag-gone", do: findRules([]string{"sgr-fa-ssh"}), want: "OK"},
		{name: "rc-tag-group", do: createTags("fa", "env", "prod"), want: "OK"},
		{name: "rc-filter-tag-key", do: findGroups(F("tag-key", "env")), want: "OK"},
		{name: "rc-filter-tag-value-wildcard", do: findGroups(F("tag:env", "pr*")), want: "OK"},
		{name: "rc-untag-group", do: deleteTags("fa", "env", ""), want: "OK"},
		{name: "rc-filter-tag-key-after-untag", do: findGroups(F("tag-key", "env")), want: "OK"},
		{name: "rc-tag-unknown-rule", do: createTags("sgr-none", "k", "v"), want: "InvalidSecurityGroupRuleId.NotFound",
			moto: "moto: tags on an unknown rule id are accepted"},

		// --- ModifySecurityGroupRules (API reference: a rule changed in place
		// by id, keeping its id) ---
		{name: "rc-modify", do: modifyRule("fa", "sgr-fa-ssh", "tcp", 2222, 2222, "10.0.0.0/8", "moved"), want: "OK"},
		{name: "rc-modify-described", do: findRules([]string{"sgr-fa-ssh"}), want: "OK"},
		{name: "rc-modify-duplicate", do: modifyRule("fa", "sgr-fa-ssh", "tcp", 443, 443, "0.0.0.0/0", ""), want: "InvalidPermission.Duplicate",
			moto: "moto: a modify may make a rule equal to another of the group"},
		{name: "rc-modify-unknown-rule", do: modifyRule("fa", "sgr-none", "tcp", 1, 1, "10.0.0.0/8", ""), want: "InvalidSecurityGroupRuleId.NotFound"},
		{name: "rc-modify-rule-of-other-group", do: modifyRule("fa", "sgr-fb-pg", "tcp", 1, 1, "10.0.0.0/8", ""), want: "InvalidSecurityGroupRuleId.NotFound"},
		// "Invalid value 'null' for protocol. VPC security group rules must
		// specify protocols explicitly." (issue-tracked EC2 answer, ec2sim's
		// differences_test).
		{name: "rc-modify-no-protocol", do: modifyRule("fa", "sgr-fa-https", "", 443, 443, "0.0.0.0/0", ""), want: "InvalidParameterValue"},

		// --- UpdateSecurityGroupRuleDescriptionsIngress / Egress (API
		// reference: by IpPermissions matching a rule's content, or by
		// SecurityGroupRuleDescriptions naming rule ids) ---
		{name: "rc-describe-ingress-by-content", do: updateDescriptions("fa", false, P("udp", 53, 53, "10.3.0.0/16|dns")), want: "OK",
			moto: "moto: an update by IpPermissions answers Return=false, though it applies it", wantShape: "return=true"},
		{name: "rc-describe-ingress-by-id", do: updateDescriptionByID("fa", false, "sgr-fa-https", "web"), want: "OK"},
		{name: "rc-describe-egress-by-content", do: updateDescriptions("fb", true, P("tcp", 443, 443, "::/0|out")), want: "OK",
			moto: "moto: an update by IpPermissions answers Return=false, though it applies it", wantShape: "return=true"},
		{name: "rc-describe-no-match", do: updateDescriptions("fa", false, P("udp", 54, 54, "10.3.0.0/16|x")), want: "InvalidPermission.NotFound",
			moto: "moto: a description update matching no rule succeeds"},
		{name: "rc-describe-unknown-rule-id", do: updateDescriptionByID("fa", false, "sgr-none", "x"), want: "InvalidSecurityGroupRuleId.NotFound",
			moto: "moto: an unknown rule id in SecurityGroupRuleDescriptions is accepted"},
		{name: "rc-descriptions-described", do: findRules(nil, F("group-id", "@fa", "@fb")), want: "OK",
			moto: "moto: a description by rule id (SecurityGroupRuleDescriptions) is answered Return=true but not applied; " +
				"the refused duplicate modify above was applied; default egress rules left out",
			wantShape: "[fa:in:tcp:2222..2222:10.0.0.0/8(moved) sgr-ok tags={owner=ops}; fa:in:tcp:443..443:0.0.0.0/0(web) sgr-ok tags={}; fa:in:tcp:8443..8443:10.3.1.0/24 sgr-ok tags={}; fa:in:udp:53..53:10.3.0.0/16(dns) sgr-ok tags={}; fa:out:-1:*:0.0.0.0/0 sgr-ok tags={}; fb:in:tcp:5432..5432:sg=fa sgr-ok tags={}; fb:out:-1:*:0.0.0.0/0 sgr-ok tags={}; fb:out:tcp:443..443:::/0(out) sgr-ok tags={}]"},
	}
}

// filt is one filter with its values; values starting with '@' are
// symbols.
type filt struct {
	name   string
	values []string
}

func F(name string, values ...string) filt { return filt{name: name, values: values} }

func (f filt) build(b *backend) types.Filter {
	out := types.Filter{Name: aws.String(f.name)}
	for _, v := range f.values {
		if strings.HasPrefix(v, "@") {
			v = b.id(v[1:])
		}
		out.Values = append(out.Values, v)
	}
	return out
}

// findGroups describes the groups of vpc3 that match fs and answers their
// symbols, sorted; vpc3's default group is left out, so the answer does not
// depend on how each endpoint makes default groups.
func findGroups(fs ...filt) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		in := &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{F("vpc-id", "@vpc3").build(b)}}
		for _, f := range fs {
			in.Filters = append(in.Filters, f.build(b))
		}
		out, err := b.client.DescribeSecurityGroups(ctx, in)
		if err != nil {
			return "", err
		}
		syms := []string{}
		for _, g := range out.SecurityGroups {
			if aws.ToString(g.GroupName) != "default" {
				syms = append(syms, b.sym(aws.ToString(g.GroupId)))
			}
		}
		sort.Strings(syms)
		return fmt.Sprintf("groups=[%s]", strings.Join(syms, " ")), nil
	}
}

// findRules lists rules by rule-id symbols and filters.
func findRules(ids []string, fs ...filt) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		in := &ec2.DescribeSecurityGroupRulesInput{}
		for _, id := range ids {
			in.SecurityGroupRuleIds = append(in.SecurityGroupRuleIds, b.id(id))
		}
		for _, f := range fs {
			in.Filters = append(in.Filters, f.build(b))
		}
		out, err := b.client.DescribeSecurityGroupRules(ctx, in)
		if err != nil {
			return "", err
		}
		return rulesShape(b, out.SecurityGroupRules), nil
	}
}

// deleteTags removes one tag; an empty value removes the key whatever its
// value.
func deleteTags(resource, key, value string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		t := types.Tag{Key: aws.String(key)}
		if value != "" {
			t.Value = aws.String(value)
		}
		_, err := b.client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{b.id(resource)}, Tags: []types.Tag{t}})
		return "", err
	}
}

func modifyRule(group, rule, proto string, from, to int32, cidr, description string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		req := &types.SecurityGroupRuleRequest{FromPort: aws.Int32(from), ToPort: aws.Int32(to), CidrIpv4: aws.String(cidr)}
		if proto != "" {
			req.IpProtocol = aws.String(proto)
		}
		if description != "" {
			req.Description = aws.String(description)
		}
		out, err := b.client.ModifySecurityGroupRules(ctx, &ec2.ModifySecurityGroupRulesInput{GroupId: b.ptr(group),
			SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: b.ptr(rule), SecurityGroupRule: req}}})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("return=%v", aws.ToBool(out.Return)), nil
	}
}

func updateDescriptions(group string, egress bool, ps ...perm) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		var ret *bool
		var err error
		if egress {
			var out *ec2.UpdateSecurityGroupRuleDescriptionsEgressOutput
			out, err = b.client.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &ec2.UpdateSecurityGroupRuleDescriptionsEgressInput{
				GroupId: b.ptr(group), IpPermissions: buildAll(b, ps)})
			if out != nil {
				ret = out.Return
			}
		} else {
			var out *ec2.UpdateSecurityGroupRuleDescriptionsIngressOutput
			out, err = b.client.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{
				GroupId: b.ptr(group), IpPermissions: buildAll(b, ps)})
			if out != nil {
				ret = out.Return
			}
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("return=%v", aws.ToBool(ret)), nil
	}
}

func updateDescriptionByID(group string, egress bool, rule, description string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		d := []types.SecurityGroupRuleDescription{{SecurityGroupRuleId: b.ptr(rule), Description: aws.String(description)}}
		var err error
		if egress {
			_, err = b.client.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &ec2.UpdateSecurityGroupRuleDescriptionsEgressInput{
				GroupId: b.ptr(group), SecurityGroupRuleDescriptions: d})
		} else {
			_, err = b.client.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &ec2.UpdateSecurityGroupRuleDescriptionsIngressInput{
				GroupId: b.ptr(group), SecurityGroupRuleDescriptions: d})
		}
		if err != nil {
			return "", err
		}
		return "return=true", nil
	}
}
