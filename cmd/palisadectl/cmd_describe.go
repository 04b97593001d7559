package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

func describeCommand() command {
	return command{
		name:    "describe-security-groups",
		summary: "show security groups and their rules, as EC2 holds them",
		setup: func(fs *flag.FlagSet) action {
			ids := listVar(fs, "group-ids", "only these groups (sg-…); a missing one is an error", true)
			vpc := fs.String("vpc-id", "", "only groups in this VPC")
			filters := listVar(fs, "filters", "EC2's filters (tag:<key>, vpc-id, group-name, ip-permission.cidr, egress.ip-permission.from-port, …) as name=v1,v2 or the AWS CLI's Name=…,Values=…", false)
			pageSize := fs.Int("page-size", 0, "groups per call to the server (5-1000; 0: the server's default); every page is read")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				req := &palisadev1.ListSecurityGroupsRequest{Location: e.g.location(), VpcId: *vpc, PageSize: int32(*pageSize)}
				if err := parseFilters(filters.values, req); err != nil {
					return err
				}
				if err := e.connect(); err != nil {
					return err
				}
				var groups []*palisadev1.SecurityGroup
				var err error
				if len(ids.values) > 0 && len(filters.values) == 0 && *vpc == "" {
					groups, err = e.getGroups(ctx, ids.values)
				} else {
					req.GroupIds = append(req.GroupIds, ids.values...)
					groups, err = e.listGroups(ctx, req)
				}
				if err != nil {
					return err
				}
				if e.g.json() {
					return writeJSON(e.stdout, &palisadev1.ListSecurityGroupsResponse{SecurityGroups: groups})
				}
				return writeGroups(e.stdout, groups)
			}
		},
	}
}

// getGroups reads each named group, so that a missing one is an error, as
// in `aws ec2 describe-security-groups --group-ids`.
func (e *env) getGroups(ctx context.Context, ids []string) ([]*palisadev1.SecurityGroup, error) {
	out := make([]*palisadev1.SecurityGroup, 0, len(ids))
	for _, id := range ids {
		g, err := e.api.GetSecurityGroup(ctx, &palisadev1.GetSecurityGroupRequest{Location: e.g.location(), GroupId: id})
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// listGroups reads every page.
func (e *env) listGroups(ctx context.Context, req *palisadev1.ListSecurityGroupsRequest) ([]*palisadev1.SecurityGroup, error) {
	return allPages(func(token string) ([]*palisadev1.SecurityGroup, string, error) {
		req.PageToken = token
		resp, err := e.api.ListSecurityGroups(ctx, req)
		return resp.GetSecurityGroups(), resp.GetNextPageToken(), err
	})
}

// allPages calls list with each page token in turn, from "" until the
// server hands out none, and gathers every page's items (AIP-158).
func allPages[T any](list func(token string) (items []T, next string, err error)) ([]T, error) {
	var all []T
	for token := ""; ; {
		items, next, err := list(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// writeGroups prints the groups, then one line per rule.
func writeGroups(w io.Writer, groups []*palisadev1.SecurityGroup) error {
	t := newTable(w, "GROUP ID", "NAME", "VPC", "OWNER", "INBOUND", "OUTBOUND", "DESCRIPTION")
	for _, g := range groups {
		t.row(g.GetGroupId(), g.GetGroupName(), g.GetVpcId(), g.GetOwnerId(),
			strconv.Itoa(countRules(g.GetIpPermissions())), strconv.Itoa(countRules(g.GetIpPermissionsEgress())), g.GetDescription())
	}
	if err := t.flush(); err != nil {
		return err
	}
	t = newTable(w, "GROUP ID", "DIRECTION", "PROTOCOL", "PORTS", "PEER", "DESCRIPTION")
	n := 0
	for _, g := range groups {
		for _, side := range []struct {
			egress bool
			perms  []*palisadev1.IpPermission
		}{{false, g.GetIpPermissions()}, {true, g.GetIpPermissionsEgress()}} {
			for _, p := range side.perms {
				for _, peer := range peers(p) {
					t.row(g.GetGroupId(), direction(side.egress), protocolText(p.GetIpProtocol()), permissionPorts(p), peer.name, peer.description)
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil
	}
	fmt.Fprintln(w)
	return t.flush()
}

type peer struct{ name, description string }

// peers lists the sources or destinations of a permission; EC2 makes
// each one a rule of its own.
func peers(p *palisadev1.IpPermission) []peer {
	var out []peer
	for _, r := range p.GetIpRanges() {
		out = append(out, peer{r.GetCidrIp(), r.GetDescription()})
	}
	for _, r := range p.GetIpv6Ranges() {
		out = append(out, peer{r.GetCidrIpv6(), r.GetDescription()})
	}
	for _, r := range p.GetPrefixListIds() {
		out = append(out, peer{r.GetPrefixListId(), r.GetDescription()})
	}
	for _, r := range p.GetUserIdGroupPairs() {
		name := r.GetGroupId()
		if r.GetUserId() != "" {
			name = r.GetUserId() + "/" + name
		}
		out = append(out, peer{name, r.GetDescription()})
	}
	return out
}

func countRules(perms []*palisadev1.IpPermission) int {
	n := 0
	for _, p := range perms {
		n += len(peers(p))
	}
	return n
}

// permissionPorts shows a permission's range; absent ports mean all.
func permissionPorts(p *palisadev1.IpPermission) string {
	if p.FromPort == nil && p.ToPort == nil {
		return "all"
	}
	return portsText(p.GetFromPort(), p.GetToPort())
}
