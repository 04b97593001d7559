package main

import (
	"context"
	"flag"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func describeRulesCommand() command {
	return command{
		name:    "describe-security-group-rules",
		summary: "show rules one by one with their sgr- ids and tags, as EC2 holds them",
		setup: func(fs *flag.FlagSet) action {
			ids := listVar(fs, "security-group-rule-ids", "only these rules (sgr-…)", true)
			groupID := fs.String("group-id", "", "only the rules of this group (sg-…)")
			filters := listVar(fs, "filters", "group-id=…, security-group-rule-id=…, tag:<key>=…, or the AWS CLI's Name=…,Values=…", false)
			pageSize := fs.Int("page-size", 0, "rules per call to the server (5-1000; 0: the server's default); every page is read")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				fl, err := protoFilters(filters.values)
				if err != nil {
					return err
				}
				req := &palisadev1.ListSecurityGroupRulesRequest{
					Location: e.g.location(), GroupId: *groupID, SecurityGroupRuleIds: ids.values,
					Filters: fl, PageSize: int32(*pageSize),
				}
				if err := e.connect(); err != nil {
					return err
				}
				rules, err := allPages(func(token string) ([]*palisadev1.SecurityGroupRule, string, error) {
					req.PageToken = token
					resp, err := e.api.ListSecurityGroupRules(ctx, req)
					return resp.GetSecurityGroupRules(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				if e.g.json() {
					return writeJSON(e.stdout, &palisadev1.ListSecurityGroupRulesResponse{SecurityGroupRules: rules})
				}
				return writeRules(e.stdout, rules)
			}
		},
	}
}

// protoFilters reads --filters values as EC2 filters, passed on as they
// are: the server checks each name against the filters EC2 has.
func protoFilters(values []string) ([]*palisadev1.Filter, error) {
	var out []*palisadev1.Filter
	for i, v := range values {
		fs, err := readFilters(v)
		if err != nil {
			return nil, usagef("--filters value %d: %v", i+1, err)
		}
		for _, f := range fs {
			out = append(out, &palisadev1.Filter{Name: f.name, Values: f.values})
		}
	}
	return out, nil
}
