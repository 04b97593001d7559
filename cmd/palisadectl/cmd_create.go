package main

import (
	"context"
	"flag"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func createCommand() command {
	return command{
		name:     "create-security-group",
		summary:  "create a security group, optionally with tags and its first rules",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			name := fs.String("group-name", "", "the group's name, unique in its VPC (required)")
			desc := fs.String("description", "", "what the group is for (required)")
			vpc := fs.String("vpc-id", "", "the VPC (default: the region's default VPC)")
			tags := listVar(fs, "tags", "tags, each Key=k,Value=v (or a JSON list of {\"Key\":…,\"Value\":…})", false)
			specs := listVar(fs, "tag-specifications", "the AWS CLI's form: ResourceType=security-group,Tags=[{Key=k,Value=v}]", false)
			in := listVar(fs, "ip-permissions", "inbound rules, as for authorize-security-group-ingress", false)
			out := listVar(fs, "ip-permissions-egress", "outbound rules; given, they replace EC2's default allow-all outbound rule", false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *name == "" || *desc == "" {
					return usagef("--group-name and --description are required")
				}
				req := &palisadev1.CreateSecurityGroupRequest{
					RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: e.g.location(),
					VpcId: *vpc, GroupName: *name, Description: *desc,
				}
				var err error
				if req.Tags, err = parseTags(tags.values); err != nil {
					return err
				}
				if err := parseTagSpecifications(specs.values, req.Tags); err != nil {
					return err
				}
				if len(in.values) > 0 {
					if req.IpPermissions, err = parsePermissions("ip-permissions", in.values, e.stdin); err != nil {
						return err
					}
				}
				if len(out.values) > 0 {
					if req.IpPermissionsEgress, err = parsePermissions("ip-permissions-egress", out.values, e.stdin); err != nil {
						return err
					}
				}
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					return api.CreateSecurityGroup(ctx, req)
				})
			}
		},
	}
}
