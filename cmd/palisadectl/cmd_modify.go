package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/shorthand"
)

func modifyRulesCommand() command {
	return command{
		name:     "modify-security-group-rules",
		summary:  "change rules in place by id: protocol, ports, peer (of the same kind) and description",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			groupID := fs.String("group-id", "", "the security group (sg-…) (required)")
			updates := listVar(fs, "security-group-rules",
				"each SecurityGroupRuleId=sgr-…,SecurityGroupRule={IpProtocol=tcp,FromPort=22,ToPort=22,CidrIpv4=10.0.0.0/8,Description=…}, or JSON (required)", false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *groupID == "" || len(updates.values) == 0 {
					return usagef("--group-id and --security-group-rules are required")
				}
				ups, err := parseRuleUpdates(updates.values)
				if err != nil {
					return err
				}
				loc := e.g.location()
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					return api.ModifySecurityGroupRules(ctx, &palisadev1.ModifySecurityGroupRulesRequest{
						RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: *groupID, SecurityGroupRules: ups,
					})
				})
			}
		},
	}
}

func updateDescriptionsCommand(d dir) command {
	return command{
		name:     "update-security-group-rule-descriptions-" + string(d),
		summary:  "change the descriptions of " + string(d) + " rules, named by content or by id",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			groupID := fs.String("group-id", "", "the security group (sg-…) (required)")
			perms := listVar(fs, "ip-permissions", "the rules with their new descriptions, as for authorize-security-group-"+string(d), false)
			descs := listVar(fs, "security-group-rule-descriptions", "each SecurityGroupRuleId=sgr-…,Description=…, or JSON", false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *groupID == "" {
					return usagef("--group-id is required")
				}
				if (len(perms.values) == 0) == (len(descs.values) == 0) {
					return usagef("name the rules either by --ip-permissions or by --security-group-rule-descriptions")
				}
				var ps []*palisadev1.IpPermission
				var ds []*palisadev1.SecurityGroupRuleDescription
				var err error
				if len(perms.values) > 0 {
					ps, err = parsePermissions("ip-permissions", perms.values, e.stdin)
				} else {
					ds, err = parseRuleDescriptions(descs.values)
				}
				if err != nil {
					return err
				}
				loc := e.g.location()
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					if d == egress {
						return api.UpdateSecurityGroupRuleDescriptionsEgress(ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsEgressRequest{
							RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: *groupID,
							IpPermissions: ps, SecurityGroupRuleDescriptions: ds,
						})
					}
					return api.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &palisadev1.UpdateSecurityGroupRuleDescriptionsIngressRequest{
						RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: *groupID,
						IpPermissions: ps, SecurityGroupRuleDescriptions: ds,
					})
				})
			}
		},
	}
}

// structures reads a flag's values as the AWS CLI does: each a shorthand
// structure, or a JSON list of structures.
func structures(flagName string, values []string) ([]map[string]any, error) {
	var out []map[string]any
	for i, v := range values {
		if strings.HasPrefix(strings.TrimSpace(v), "[") || strings.HasPrefix(strings.TrimSpace(v), "{") {
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return nil, usagef("--%s value %d: %v", flagName, i+1, err)
			}
			items, ok := x.([]any)
			if !ok {
				items = []any{x}
			}
			for _, it := range items {
				m, ok := it.(map[string]any)
				if !ok {
					return nil, usagef("--%s value %d: expected structures, found %v", flagName, i+1, it)
				}
				out = append(out, m)
			}
			continue
		}
		m, err := shorthand.Parse(v)
		if err != nil {
			return nil, usagef("--%s value %d: %v", flagName, i+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// parseRuleUpdates reads --security-group-rules.
func parseRuleUpdates(values []string) ([]*palisadev1.SecurityGroupRuleUpdate, error) {
	ms, err := structures("security-group-rules", values)
	if err != nil {
		return nil, err
	}
	out := make([]*palisadev1.SecurityGroupRuleUpdate, 0, len(ms))
	for i, m := range ms {
		path := fmt.Sprintf("--security-group-rules[%d]", i)
		u := &palisadev1.SecurityGroupRuleUpdate{}
		for _, k := range sortedKeys(m) {
			switch k {
			case "SecurityGroupRuleId":
				if u.SecurityGroupRuleId, err = asString(m[k], path+"."+k); err != nil {
					return nil, usagef("%v", err)
				}
			case "SecurityGroupRule":
				if u.SecurityGroupRule, err = ruleRequestOf(m[k], path+"."+k); err != nil {
					return nil, usagef("%v", err)
				}
			default:
				return nil, usagef("%s: unknown key %q; valid keys are SecurityGroupRule, SecurityGroupRuleId", path, k)
			}
		}
		out = append(out, u)
	}
	return out, nil
}

func ruleRequestOf(v any, path string) (*palisadev1.SecurityGroupRuleRequest, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a structure, found %T", path, v)
	}
	r := &palisadev1.SecurityGroupRuleRequest{}
	text := map[string]*string{
		"IpProtocol": &r.IpProtocol, "CidrIpv4": &r.CidrIpv4, "CidrIpv6": &r.CidrIpv6,
		"PrefixListId": &r.PrefixListId, "ReferencedGroupId": &r.ReferencedGroupId, "Description": &r.Description,
	}
	for _, k := range sortedKeys(m) {
		var err error
		switch k {
		case "FromPort":
			r.FromPort, err = portOf(m[k], path+"."+k)
		case "ToPort":
			r.ToPort, err = portOf(m[k], path+"."+k)
		default:
			dst, ok := text[k]
			if !ok {
				return nil, fmt.Errorf("%s: unknown key %q; valid keys are CidrIpv4, CidrIpv6, Description, FromPort, IpProtocol, PrefixListId, ReferencedGroupId, ToPort", path, k)
			}
			*dst, err = asString(m[k], path+"."+k)
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// portOf takes a port as shorthand gives it (text) or JSON does (a number).
func portOf(v any, path string) (*int32, error) {
	if s, ok := v.(string); ok {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an integer", path, s)
		}
		p := int32(n)
		return &p, nil
	}
	return asPort(v, path)
}

// parseRuleDescriptions reads --security-group-rule-descriptions.
func parseRuleDescriptions(values []string) ([]*palisadev1.SecurityGroupRuleDescription, error) {
	ms, err := structures("security-group-rule-descriptions", values)
	if err != nil {
		return nil, err
	}
	out := make([]*palisadev1.SecurityGroupRuleDescription, 0, len(ms))
	for i, m := range ms {
		d := &palisadev1.SecurityGroupRuleDescription{}
		f := fields{m: m, path: fmt.Sprintf("--security-group-rule-descriptions[%d]", i)}
		if err := f.take(map[string]*string{"SecurityGroupRuleId": &d.SecurityGroupRuleId, "Description": &d.Description}); err != nil {
			return nil, usagef("%v", err)
		}
		out = append(out, d)
	}
	return out, nil
}
