package difftest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Steps for the calls around security groups (VPCs, managed prefix lists,
// stale groups and references, group-VPC associations, STS). They run after
// the security-group scenario, on resources of their own.
func newCallSteps() []step {
	return []step{
		// --- DeleteVpc (API reference, DeleteVpc: groups other than the default one must go first) ---
		{name: "vpc3-create", do: createVpc("vpc3", "10.3.0.0/16"), want: "OK"},
		{name: "vpc3-group", do: createSG("in3", "in3", "group in vpc3", createOpts{vpc: "vpc3"}), want: "OK"},
		{name: "vpc3-delete-with-group", do: deleteVpc("vpc3"), want: "DependencyViolation",
			moto: "moto: DeleteVpc deletes a VPC that still holds security groups"},
		{name: "vpc4-create", do: createVpc("vpc4", "10.4.0.0/16"), want: "OK"},
		{name: "vpc4-group", do: createSG("in4", "in4", "group in vpc4", createOpts{vpc: "vpc4"}), want: "OK"},
		{name: "vpc4-delete-group", do: deleteSG("in4", false), want: "OK"},
		{name: "vpc4-delete", do: deleteVpc("vpc4"), want: "OK"},
		{name: "vpc4-describe-deleted", do: describeVpc("vpc4"), want: "InvalidVpcID.NotFound"},
		{name: "vpc4-delete-again", do: deleteVpc("vpc4"), want: "InvalidVpcID.NotFound"},

		// --- Managed prefix lists (API reference of the five calls) ---
		{name: "pl-create", do: createPL("pl-web", "web-clients", 4, "10.9.0.0/16", "192.0.2.0/24"), want: "OK"},
		{name: "pl-describe", do: describePL("pl-web"), want: "OK"},
		{name: "pl-entries", do: plEntries("pl-web"), want: "OK"},
		{name: "pl-modify", do: modifyPL("pl-web", 1, "198.51.100.0/24"), want: "OK",
			moto:      "moto: a modify that names no PrefixListName clears the list's name",
			wantShape: "pl-web name=web-clients family=IPv4 max=4 version=2 owner=123456789012"},
		{name: "pl-entries-after-modify", do: plEntries("pl-web"), want: "OK"},
		{name: "pl-other-create", do: createPL("pl-other", "other", 2), want: "OK"},
		{name: "pl-modify-stale-version", do: modifyPL("pl-other", 7, "203.0.113.0/24"), want: "PrefixListVersionMismatch",
			moto: "moto: CurrentVersion is not checked"},
		{name: "pl-aws-managed-s3", do: describePLByName("com.amazonaws.us-east-1.s3"), want: "OK"},
		{name: "pl-rule-group", do: createSG("plg", "plg", "prefix list rules", inVpc2), want: "OK"},
		{name: "pl-authorize", do: authorize("plg", ingress, P("tcp", 443, 443, "pl-web")), want: "OK"},
		{name: "pl-authorize-unknown-list", do: authorize("plg", ingress, P("tcp", 444, 444, "pl-0123456789abcdef0")), want: "InvalidPrefixListID.NotFound",
			moto: "moto: a rule may name a prefix list that does not exist"},
		{name: "pl-revoke", do: revoke("plg", ingress, false, P("tcp", 443, 443, "pl-web")), want: "OK"},
		{name: "pl-delete", do: deletePL("pl-web"), want: "OK"},
		{name: "pl-describe-deleted", do: describePL("pl-web"), want: "InvalidPrefixListID.NotFound",
			moto: "moto: a deleted list is still described"},

		// --- STS GetCallerIdentity (STS API reference: the account the credentials act as) ---
		{name: "sts-caller-account", do: callerIdentity(false), want: "OK"},
		{name: "sts-caller-arn", do: callerIdentity(true), want: "OK",
			moto:      "moto: the caller is always the IAM user arn:aws:sts::123456789012:user/moto, whatever the credentials",
			wantShape: "account=123456789012 arn=arn:aws:iam::123456789012:root"},
	}
}

func createPL(sym, name string, max int32, cidrs ...string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		in := &ec2.CreateManagedPrefixListInput{PrefixListName: aws.String(name), MaxEntries: aws.Int32(max), AddressFamily: aws.String("IPv4")}
		for _, c := range cidrs {
			in.Entries = append(in.Entries, types.AddPrefixListEntry{Cidr: aws.String(c)})
		}
		out, err := b.client.CreateManagedPrefixList(ctx, in)
		if err != nil {
			return "", err
		}
		b.set(sym, aws.ToString(out.PrefixList.PrefixListId))
		return plShape(b, *out.PrefixList), nil
	}
}

func plShape(b *backend, pl types.ManagedPrefixList) string {
	return fmt.Sprintf("%s name=%s family=%s max=%d version=%d owner=%s",
		b.sym(aws.ToString(pl.PrefixListId)), aws.ToString(pl.PrefixListName), aws.ToString(pl.AddressFamily),
		aws.ToInt32(pl.MaxEntries), aws.ToInt64(pl.Version), aws.ToString(pl.OwnerId))
}

func describePL(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{b.id(sym)}})
		if err != nil {
			return "", err
		}
		var parts []string
		for _, pl := range out.PrefixLists {
			parts = append(parts, plShape(b, pl))
		}
		return strings.Join(parts, "; "), nil
	}
}

func describePLByName(name string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{
			Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{name}}}})
		if err != nil {
			return "", err
		}
		if len(out.PrefixLists) != 1 {
			return fmt.Sprintf("lists=%d", len(out.PrefixLists)), nil
		}
		pl := out.PrefixLists[0]
		return fmt.Sprintf("lists=1 owner=%s max=%d", aws.ToString(pl.OwnerId), aws.ToInt32(pl.MaxEntries)), nil
	}
}

func plEntries(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.GetManagedPrefixListEntries(ctx, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: b.ptr(sym)})
		if err != nil {
			return "", err
		}
		var cs []string
		for _, e := range out.Entries {
			cs = append(cs, aws.ToString(e.Cidr))
		}
		sort.Strings(cs)
		return strings.Join(cs, " "), nil
	}
}

func modifyPL(sym string, version int64, add string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.ModifyManagedPrefixList(ctx, &ec2.ModifyManagedPrefixListInput{PrefixListId: b.ptr(sym), CurrentVersion: aws.Int64(version),
			AddEntries: []types.AddPrefixListEntry{{Cidr: aws.String(add)}}})
		if err != nil {
			return "", err
		}
		return plShape(b, *out.PrefixList), nil
	}
}

func deletePL(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DeleteManagedPrefixList(ctx, &ec2.DeleteManagedPrefixListInput{PrefixListId: b.ptr(sym)})
		if err != nil {
			return "", err
		}
		return b.sym(aws.ToString(out.PrefixList.PrefixListId)), nil
	}
}

// callerIdentity reports the account, and with arn the principal's ARN.
func callerIdentity(arn bool) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		c := sts.New(sts.Options{Region: region, BaseEndpoint: aws.String(b.url), Retryer: aws.NopRetryer{}, HTTPClient: bufferedBodyClient{},
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "difftest"}, nil
			})})
		out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", err
		}
		shape := "account=" + aws.ToString(out.Account)
		if arn {
			shape += " arn=" + aws.ToString(out.Arn)
		}
		return shape, nil
	}
}

func deleteVpc(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		_, err := b.client.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: b.ptr(sym)})
		return "", err
	}
}

func describeVpc(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{b.id(sym)}})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("vpcs=%d cidr=%s", len(out.Vpcs), aws.ToString(out.Vpcs[0].CidrBlock)), nil
	}
}
