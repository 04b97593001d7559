package difftest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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
