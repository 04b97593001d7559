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
		// --- Answers a simpler model gets wrong (sources in ec2sim's differences_test.go) ---
		{name: "diff-null-protocol", do: authorize("web2", ingress, P("", 22, 22, "10.0.0.0/8")), want: "InvalidParameterValue",
			moto: "moto: a rule without protocol is added, with no protocol"},
		{name: "diff-empty-description", do: createSG("nodesc", "nodesc", "", inVpc2), want: "MissingParameter"},
		{name: "diff-rule-filter-malformed-group-id", do: describeRulesByGroupFilter("foobar"), want: "InvalidGroupId.Malformed"},

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

		// --- Stale groups and references (API reference; no peering here, so none) ---
		{name: "stale-groups-vpc2", do: staleGroups("vpc2"), want: "OK", moto: notImplemented("DescribeStaleSecurityGroups")},
		{name: "stale-groups-unknown-vpc", do: staleGroups("vpcnone"), want: "InvalidVpcID.NotFound", moto: notImplemented("DescribeStaleSecurityGroups")},
		{name: "group-references", do: groupReferences("plg"), want: "OK", moto: notImplemented("DescribeSecurityGroupReferences")},
		{name: "group-references-unknown", do: groupReferences(unknownSG), want: "InvalidGroup.NotFound", moto: notImplemented("DescribeSecurityGroupReferences")},

		// --- VPC peering and rules across it (VPC peering guide; API reference) ---
		{name: "pcx-vpc6", do: createVpc("vpc6", "10.6.0.0/16"), want: "OK"},
		{name: "pcx-group-a", do: createSG("pa", "pa", "peer side a", inVpc2), want: "OK"},
		{name: "pcx-group-b", do: createSG("pb", "pb", "peer side b", createOpts{vpc: "vpc6"}), want: "OK"},
		{name: "pcx-create", do: createPeering("pcx-26", "vpc2", "vpc6"), want: "OK"},
		{name: "pcx-accept", do: acceptPeering("pcx-26"), want: "OK"},
		{name: "pcx-describe", do: describePeering("pcx-26"), want: "OK"},
		{name: "pcx-authorize-across", do: authorize("pb", ingress, P("tcp", 5432, 5432, "@pa")), want: "OK"},
		{name: "pcx-references", do: groupReferences("pa"), want: "OK", moto: notImplemented("DescribeSecurityGroupReferences"),
			wantShape: "references=1"},
		{name: "pcx-delete-peer-group", do: deleteSG("pa", false), want: "OK"},
		{name: "pcx-stale", do: staleGroups("vpc6"), want: "OK", moto: notImplemented("DescribeStaleSecurityGroups"),
			wantShape: "stale=1"},
		{name: "pcx-delete", do: deletePeering("pcx-26"), want: "OK"},

		// --- Security group VPC associations (API reference, AssociateSecurityGroupVpc) ---
		{name: "assoc-vpc5", do: createVpc("vpc5", "10.5.0.0/16"), want: "OK"},
		{name: "assoc-group", do: createSG("ag", "ag", "associated", inVpc2), want: "OK"},
		{name: "assoc-associate", do: associate("ag", "vpc5", true), want: "OK", moto: notImplemented("AssociateSecurityGroupVpc")},
		{name: "assoc-describe", do: describeAssociations("vpc5"), want: "OK", moto: notImplemented("DescribeSecurityGroupVpcAssociations"),
			wantShape: "ag@vpc5:associated"},
		{name: "assoc-delete-vpc", do: deleteVpc("vpc5"), want: "DependencyViolation",
			moto: "moto: DeleteVpc ignores security groups associated with the VPC"},
		{name: "assoc-disassociate", do: associate("ag", "vpc5", false), want: "OK", moto: notImplemented("DisassociateSecurityGroupVpc")},
		{name: "assoc-default-group", do: associate("sgdef2", "vpc5", true), want: "InvalidParameterValue", moto: notImplemented("AssociateSecurityGroupVpc")},

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

func staleGroups(vpc string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeStaleSecurityGroups(ctx, &ec2.DescribeStaleSecurityGroupsInput{VpcId: b.ptr(vpc)})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("stale=%d", len(out.StaleSecurityGroupSet)), nil
	}
}

func groupReferences(group string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		id, _ := groupRef(b, group)
		out, err := b.client.DescribeSecurityGroupReferences(ctx, &ec2.DescribeSecurityGroupReferencesInput{GroupId: []string{aws.ToString(id)}})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("references=%d", len(out.SecurityGroupReferenceSet)), nil
	}
}

func associate(group, vpc string, on bool) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		id, _ := groupRef(b, group)
		if on {
			out, err := b.client.AssociateSecurityGroupVpc(ctx, &ec2.AssociateSecurityGroupVpcInput{GroupId: id, VpcId: b.ptr(vpc)})
			if err != nil {
				return "", err
			}
			return "state=" + string(out.State), nil
		}
		out, err := b.client.DisassociateSecurityGroupVpc(ctx, &ec2.DisassociateSecurityGroupVpcInput{GroupId: id, VpcId: b.ptr(vpc)})
		if err != nil {
			return "", err
		}
		return "state=" + string(out.State), nil
	}
}

func describeAssociations(vpc string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeSecurityGroupVpcAssociations(ctx, &ec2.DescribeSecurityGroupVpcAssociationsInput{
			Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{b.id(vpc)}}}})
		if err != nil {
			return "", err
		}
		var parts []string
		for _, a := range out.SecurityGroupVpcAssociations {
			parts = append(parts, b.sym(aws.ToString(a.GroupId))+"@"+b.sym(aws.ToString(a.VpcId))+":"+string(a.State))
		}
		return strings.Join(parts, " "), nil
	}
}

func describeRulesByGroupFilter(value string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{value}}}})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("rules=%d", len(out.SecurityGroupRules)), nil
	}
}

func createPeering(sym, vpc, peer string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.CreateVpcPeeringConnection(ctx, &ec2.CreateVpcPeeringConnectionInput{VpcId: b.ptr(vpc), PeerVpcId: b.ptr(peer)})
		if err != nil {
			return "", err
		}
		b.set(sym, aws.ToString(out.VpcPeeringConnection.VpcPeeringConnectionId))
		return peeringShape(b, out.VpcPeeringConnection), nil
	}
}

func peeringShape(b *backend, p *types.VpcPeeringConnection) string {
	var state string
	if p.Status != nil {
		state = string(p.Status.Code)
	}
	return fmt.Sprintf("%s %s->%s %s", b.sym(aws.ToString(p.VpcPeeringConnectionId)),
		b.sym(aws.ToString(p.RequesterVpcInfo.VpcId)), b.sym(aws.ToString(p.AccepterVpcInfo.VpcId)), state)
}

func acceptPeering(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.AcceptVpcPeeringConnection(ctx, &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: b.ptr(sym)})
		if err != nil {
			return "", err
		}
		return peeringShape(b, out.VpcPeeringConnection), nil
	}
}

func describePeering(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{b.id(sym)}})
		if err != nil {
			return "", err
		}
		var parts []string
		for i := range out.VpcPeeringConnections {
			parts = append(parts, peeringShape(b, &out.VpcPeeringConnections[i]))
		}
		return strings.Join(parts, "; "), nil
	}
}

func deletePeering(sym string) func(context.Context, *backend) (string, error) {
	return func(ctx context.Context, b *backend) (string, error) {
		out, err := b.client.DeleteVpcPeeringConnection(ctx, &ec2.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: b.ptr(sym)})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("return=%v", aws.ToBool(out.Return)), nil
	}
}

// notImplemented is the departure of a call moto 5.2.1 lacks: it answers
// HTTP 500. EC2 answers as the step wants (its API reference).
func notImplemented(action string) string {
	return "moto: " + action + " is not implemented (HTTP 500)"
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
