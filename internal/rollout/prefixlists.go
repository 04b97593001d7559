package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
	"github.com/palisadehq/palisade/internal/ruleconv"
	"github.com/palisadehq/palisade/internal/rules"
)

// awsOwner is the owner id EC2 gives the AWS-managed prefix lists.
const awsOwner = "AWS"

// PrefixListSizes is how many rules a rule naming each prefix list counts
// for against a group's quota, by list id.
type PrefixListSizes map[string]int

// Weight is the quota weight of a rule naming list id, as looked up (see
// LookupPrefixLists). A list not looked up counts once; EC2 then answers
// for it (InvalidPrefixListID.NotFound when it does not exist).
func (s PrefixListSizes) Weight(id string) int {
	if n, ok := s[id]; ok && n > 0 {
		return n
	}
	return 1
}

// awsListWeights are the documented weights of the AWS-managed lists, by
// the last part of their name (VPC user guide, "AWS-managed prefix list
// weight": the number of entries a list takes up in a resource such as a
// security group). They are used when EC2 does not report a list's
// MaxEntries.
var awsListWeights = map[string]int{
	"origin-facing":        55, // com.amazonaws.global[.ipv6].cloudfront.origin-facing
	"dynamodb":             1,
	"ec2-instance-connect": 2,
	"groundstation":        5,
	"route53-healthchecks": 25,
	"s3":                   1,
	"s3express":            6,
	"vpc-lattice":          10,
}

// listWeight is the quota weight of one list as DescribeManagedPrefixLists
// reports it: its MaxEntries when given (EC2 counts a customer-managed
// list as its maximum size, and an AWS-managed list as its weight), else,
// for an AWS-managed list, its documented weight; once otherwise.
func listWeight(pl types.ManagedPrefixList) int {
	if n := int(aws.ToInt32(pl.MaxEntries)); n > 0 {
		return n
	}
	if aws.ToString(pl.OwnerId) == awsOwner {
		name := aws.ToString(pl.PrefixListName)
		if w := awsListWeights[name[strings.LastIndex(name, ".")+1:]]; w > 0 {
			return w
		}
	}
	return 1
}

// merge adds the sizes of o.
func (s PrefixListSizes) merge(o PrefixListSizes) PrefixListSizes {
	if len(o) == 0 {
		return s
	}
	if s == nil {
		s = PrefixListSizes{}
	}
	for id, n := range o {
		s[id] = n
	}
	return s
}

// Lists returns the ids of the prefix lists whose sizes the quota check
// of the change on a group with the current rules needs, sorted and
// without repeats: none when the change adds nothing (removals never add
// to the quota), else the lists of its additions and of current.
func (c Change) Lists(current [2][]rules.Rule) []string {
	if len(c.Authorize[0])+len(c.Authorize[1]) == 0 {
		return nil
	}
	var ids []string
	for i := range Directions {
		ids = append(ids, listsOf(c.Authorize[i])...)
		ids = append(ids, listsOf(current[i])...)
	}
	return sortedUnique(ids)
}

func listsOf(rs []rules.Rule) []string {
	var ids []string
	for _, r := range rs {
		if r.Kind == rules.SourcePrefixList {
			ids = append(ids, r.Source)
		}
	}
	return ids
}

func permissionLists(perms []*palisadev1.IpPermission) []string {
	var ids []string
	for _, p := range ruleconv.Permissions(perms) {
		for _, pl := range p.PrefixLists {
			ids = append(ids, pl.ID)
		}
	}
	return ids
}

func sortedUnique(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// LookupPrefixLists reads the sizes of the named prefix lists with
// DescribeManagedPrefixLists, each page paced like every other read. It
// filters by id rather than naming the ids, so a list that does not exist
// is left out (and counts once) instead of failing the whole read: the
// change naming it then fails with EC2's own code. It returns the sizes
// and the number of calls made (none for no ids).
func LookupPrefixLists(ctx context.Context, client *ec2.Client, pace Pace, account, region string, ids []string) (PrefixListSizes, int, error) {
	ids = sortedUnique(slices.Clone(ids))
	if len(ids) == 0 {
		return nil, 0, nil
	}
	sizes := PrefixListSizes{}
	calls := 0
	for chunk := range slices.Chunk(ids, idsPerCall) {
		in := &ec2.DescribeManagedPrefixListsInput{
			Filters:    []types.Filter{{Name: aws.String("prefix-list-id"), Values: chunk}},
			MaxResults: aws.Int32(100),
		}
		for {
			if pace != nil {
				if err := pace(ctx, account, region, "DescribeManagedPrefixLists"); err != nil {
					return nil, calls, err
				}
			}
			out, err := client.DescribeManagedPrefixLists(ctx, in)
			calls++
			if err != nil {
				return nil, calls, fmt.Errorf("DescribeManagedPrefixLists: %w", err)
			}
			for _, pl := range out.PrefixLists {
				sizes[aws.ToString(pl.PrefixListId)] = listWeight(pl)
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return sizes, calls, nil
}
