package rollout

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
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
	// PrefixLists holds the sizes of the prefix lists the groups' rules
	// and the change's additions name; ListCalls counts the
	// DescribeManagedPrefixLists pages read for them.
	PrefixLists PrefixListSizes
	ListCalls   int
}

// idsPerCall bounds the values of one filter (EC2 accepts up to 200).
const idsPerCall = 200

// Resolve reads the groups a target names, with their rules, in one
// paginated, filtered DescribeSecurityGroups per 200 ids or per tag filter
// (the filtered form uses the larger non-mutating bucket, and unlike
// GroupIds a missing id does not fail the whole call). The rules come with
// the groups, so no group is read again before its first change.
//
// The prefix lists the groups' rules name, and lists (those the change
// adds rules for), are then looked up for their sizes, which count
// against the quota as EC2 counts them.
func Resolve(ctx context.Context, client *ec2.Client, pace Pace, t *palisadev1.RolloutTarget, lists []string) (Resolution, error) {
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
					Ingress: ruleconv.FromEC2(g.IpPermissions), Egress: ruleconv.FromEC2(g.IpPermissionsEgress),
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
	ids := slices.Clone(lists)
	for _, g := range res.Groups {
		ids = append(ids, permissionLists(g.Ingress)...)
		ids = append(ids, permissionLists(g.Egress)...)
	}
	var err error
	res.PrefixLists, res.ListCalls, err = LookupPrefixLists(ctx, client, pace, t.GetLocation().GetAccountId(), t.GetLocation().GetRegion(), ids)
	return res, err
}

func dedupe(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// ResolveAll resolves every target at once (accounts and regions in
// parallel), each with resolve, and returns the results in target order
// with, for each target that failed, its error at the same index.
func ResolveAll(ctx context.Context, targets []*palisadev1.RolloutTarget,
	resolve func(context.Context, *palisadev1.RolloutTarget) (Located, error)) ([]Located, []error) {
	located := make([]Located, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			located[i], errs[i] = resolve(ctx, t)
		}()
	}
	wg.Wait()
	return located, errs
}
