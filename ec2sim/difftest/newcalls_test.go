package difftest

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
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

		// --- STS GetCallerIdentity (STS API reference: the account the credentials act as) ---
		{name: "sts-caller-account", do: callerIdentity(false), want: "OK"},
		{name: "sts-caller-arn", do: callerIdentity(true), want: "OK",
			moto:      "moto: the caller is always the IAM user arn:aws:sts::123456789012:user/moto, whatever the credentials",
			wantShape: "account=123456789012 arn=arn:aws:iam::123456789012:root"},
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
