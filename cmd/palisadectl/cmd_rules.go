package main

import (
	"context"
	"flag"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// dir is the side of a group a rule command works on.
type dir string

const (
	ingress dir = "ingress"
	egress  dir = "egress"
)

// ruleFlags are the ways authorize and revoke name rules.
type ruleFlags struct {
	groupID string
	perms   *listFlag
	scalar  scalarFlags
	ruleIDs *listFlag // revoke only
}

func (r *ruleFlags) register(fs *flag.FlagSet, revoke bool) {
	fs.StringVar(&r.groupID, "group-id", "", "the security group (sg-…) (required)")
	r.perms = listVar(fs, "ip-permissions", "rules: AWS CLI shorthand or JSON, several values allowed, file://path, or - for standard input", false)
	r.scalar.register(fs)
	if revoke {
		r.ruleIDs = listVar(fs, "security-group-rule-ids", "the rules' ids (sgr-…), instead of describing them", true)
	}
}

// permissions returns the rules named by --ip-permissions or by the
// one-rule form, which the AWS CLI does not let be mixed.
func (r *ruleFlags) permissions(e *env, required bool) ([]*palisadev1.IpPermission, error) {
	if r.groupID == "" {
		return nil, usagef("--group-id is required")
	}
	switch {
	case len(r.perms.values) > 0 && r.scalar.given():
		return nil, usagef("--ip-permissions cannot be combined with --protocol, --port, --cidr, --source-group or --group-owner")
	case len(r.perms.values) > 0:
		return parsePermissions("ip-permissions", r.perms.values, e.stdin)
	case r.scalar.given():
		p, err := r.scalar.permission()
		if err != nil {
			return nil, err
		}
		return []*palisadev1.IpPermission{p}, nil
	case required:
		return nil, usagef("name the rules with --ip-permissions, or with --protocol, --port and --cidr or --source-group")
	}
	return nil, nil
}

func authorizeCommand(d dir) command {
	return command{
		name:     "authorize-security-group-" + string(d),
		summary:  "add " + string(d) + " rules to a security group",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			var r ruleFlags
			r.register(fs, false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				perms, err := r.permissions(e, true)
				if err != nil {
					return err
				}
				loc := e.g.location()
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					if d == egress {
						return api.AuthorizeSecurityGroupEgress(ctx, &palisadev1.AuthorizeSecurityGroupEgressRequest{
							RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: r.groupID, IpPermissions: perms,
						})
					}
					return api.AuthorizeSecurityGroupIngress(ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{
						RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: r.groupID, IpPermissions: perms,
					})
				})
			}
		},
	}
}

func revokeCommand(d dir) command {
	return command{
		name:     "revoke-security-group-" + string(d),
		summary:  "remove " + string(d) + " rules from a security group, by description or by id",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			var r ruleFlags
			r.register(fs, true)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				perms, err := r.permissions(e, len(r.ruleIDs.values) == 0)
				if err != nil {
					return err
				}
				if len(perms) > 0 && len(r.ruleIDs.values) > 0 {
					return usagef("name the rules either by --security-group-rule-ids or by their description, not both")
				}
				loc, ids := e.g.location(), r.ruleIDs.values
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					if d == egress {
						return api.RevokeSecurityGroupEgress(ctx, &palisadev1.RevokeSecurityGroupEgressRequest{
							RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: r.groupID,
							IpPermissions: perms, SecurityGroupRuleIds: ids,
						})
					}
					return api.RevokeSecurityGroupIngress(ctx, &palisadev1.RevokeSecurityGroupIngressRequest{
						RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: loc, GroupId: r.groupID,
						IpPermissions: perms, SecurityGroupRuleIds: ids,
					})
				})
			}
		},
	}
}
