package main

import (
	"context"
	"flag"

	"github.com/palisadehq/palisade/client"
	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func deleteCommand() command {
	return command{
		name:     "delete-security-group",
		summary:  "delete a security group",
		mutating: true,
		setup: func(fs *flag.FlagSet) action {
			groupID := fs.String("group-id", "", "the security group (sg-…) (required)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *groupID == "" {
					return usagef("--group-id is required")
				}
				return e.submit(ctx, func(ctx context.Context, api *client.Client) (*client.Operation, error) {
					return api.DeleteSecurityGroup(ctx, &palisadev1.DeleteSecurityGroupRequest{
						RequestId: e.m.requestID, ValidateOnly: e.m.validateOnly, Location: e.g.location(), GroupId: *groupID,
					})
				})
			}
		},
	}
}
