package rollout

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// Pace waits until an EC2 call of action may be made in account and region
// (the workers' shared rate budget; nil: no pacing).
type Pace func(ctx context.Context, account, region, action string) error

// Group is one target group as DescribeSecurityGroups reported it.
type Group struct {
	ID, Name, VpcID string
	Ingress, Egress []*palisadev1.IpPermission
}

// Resolution is what one target resolved to.
type Resolution struct {
	Groups []Group
	// Missing lists explicitly named groups EC2 does not have.
	Missing []string
	// Calls counts the DescribeSecurityGroups pages read.
	Calls int
}

// idsPerCall bounds the values of one filter (EC2 accepts up to 200).
const idsPerCall = 200

// Resolve reads the groups a target names, with their rules, in one
// paginated, filtered DescribeSecurityGroups per 200 ids or per tag filter
// (the filtered form uses the larger non-mutating bucket, and unlike
// GroupIds a missing id does not fail the whole call). The rules come with
// the groups, so no group is read again before its first change.
func Resolve(ctx context.Context, client *ec2.Client, pace Pace, t *palisadev1.RolloutTarget) (Resolution, error) {
	var base []types.Filter
	if t.GetVpcId() != "" {
		base = append(base, types.Filter{Name: aws.String("vpc-id"), Values: []string{t.GetVpcId()}})
	}
	keys := make([]string, 0, len(t.GetTags()))
	for k := range t.GetTags() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		base = append(base, types.Filter{Name: aws.String("tag:" + k), Values: []string{t.GetTags()[k]}})
	}
	var res Resolution
	seen := map[string]bool{}
	read := func(filters []types.Filter) error {
		in := &ec2.DescribeSecurityGroupsInput{Filters: filters, MaxResults: aws.Int32(1000)}
		for {
			if pace != nil {
				if err := pace(ctx, t.GetLocation().GetAccountId(), t.GetLocation().GetRegion(), "DescribeSecurityGroups"); err != nil {
					return err
				}
			}
			out, err := client.DescribeSecurityGroups(ctx, in)
			res.Calls++
			if err != nil {
				return fmt.Errorf("DescribeSecurityGroups: %w", err)
			}
			for _, g := range out.SecurityGroups {
				id := aws.ToString(g.GroupId)
				if seen[id] {
					continue
				}
				seen[id] = true
				res.Groups = append(res.Groups, Group{
					ID: id, Name: aws.ToString(g.GroupName), VpcID: aws.ToString(g.VpcId),
					Ingress: permissions(g.IpPermissions), Egress: permissions(g.IpPermissionsEgress),
				})
			}
			if aws.ToString(out.NextToken) == "" {
				return nil
			}
			in.NextToken = out.NextToken
		}
	}
	if ids := t.GetGroupIds(); len(ids) > 0 {
		for chunk := range slices.Chunk(dedupe(ids), idsPerCall) {
			f := append(slices.Clone(base), types.Filter{Name: aws.String("group-id"), Values: chunk})
			if err := read(f); err != nil {
				return res, err
			}
		}
		for _, id := range dedupe(ids) {
			if !seen[id] {
				res.Missing = append(res.Missing, id)
			}
		}
	} else if err := read(base); err != nil {
		return res, err
	}
	sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].ID < res.Groups[j].ID })
	return res, nil
}

func dedupe(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// permissions converts EC2's permissions to the API's shape.
func permissions(in []types.IpPermission) []*palisadev1.IpPermission {
	out := make([]*palisadev1.IpPermission, 0, len(in))
	for _, p := range in {
		q := &palisadev1.IpPermission{IpProtocol: aws.ToString(p.IpProtocol), FromPort: p.FromPort, ToPort: p.ToPort}
		for _, r := range p.IpRanges {
			q.IpRanges = append(q.IpRanges, &palisadev1.IpRange{CidrIp: aws.ToString(r.CidrIp), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.Ipv6Ranges {
			q.Ipv6Ranges = append(q.Ipv6Ranges, &palisadev1.Ipv6Range{CidrIpv6: aws.ToString(r.CidrIpv6), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.PrefixListIds {
			q.PrefixListIds = append(q.PrefixListIds, &palisadev1.PrefixListId{PrefixListId: aws.ToString(r.PrefixListId), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.UserIdGroupPairs {
			q.UserIdGroupPairs = append(q.UserIdGroupPairs, &palisadev1.UserIdGroupPair{
				GroupId: aws.ToString(r.GroupId), UserId: aws.ToString(r.UserId), VpcId: aws.ToString(r.VpcId),
				VpcPeeringConnectionId: aws.ToString(r.VpcPeeringConnectionId), Description: aws.ToString(r.Description),
			})
		}
		out = append(out, q)
	}
	return out
}
