package ec2sim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func TestVpcs(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	f := func(name string, vals ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: vals}
	}
	out, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: []types.Filter{f("is-default", "true")}})
	mustOK(t, err)
	if len(out.Vpcs) != 1 {
		t.Fatalf("default VPCs: %+v", out.Vpcs)
	}
	def := out.Vpcs[0]
	if aws.ToString(def.CidrBlock) != "172.31.0.0/16" || len(def.Ipv6CidrBlockAssociationSet) != 0 || def.State != types.VpcStateAvailable ||
		aws.ToString(def.OwnerId) != "123456789012" || !validID(aws.ToString(def.VpcId), "vpc-") || len(def.CidrBlockAssociationSet) != 1 {
		t.Errorf("default VPC = %+v", def)
	}

	c, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.2.3/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVpc, Tags: []types.Tag{tag("Name", "six")}}}})
	mustOK(t, err)
	v6 := aws.ToString(c.Vpc.VpcId)
	if aws.ToString(c.Vpc.CidrBlock) != "10.1.0.0/16" || len(c.Vpc.Ipv6CidrBlockAssociationSet) != 1 || aws.ToBool(c.Vpc.IsDefault) || len(c.Vpc.Tags) != 1 {
		t.Errorf("created VPC = %+v", c.Vpc)
	}
	// A group in an IPv6 VPC gets ::/0 egress too, and so does the VPC's default group.
	g := e.group(e.createGroup("six", v6))
	if len(g.IpPermissionsEgress) != 1 || len(g.IpPermissionsEgress[0].IpRanges) != 1 || len(g.IpPermissionsEgress[0].Ipv6Ranges) != 1 ||
		aws.ToString(g.IpPermissionsEgress[0].Ipv6Ranges[0].CidrIpv6) != "::/0" {
		t.Errorf("egress in IPv6 VPC: %+v", g.IpPermissionsEgress)
	}
	dg, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("vpc-id", v6), f("group-name", "default")}})
	mustOK(t, err)
	if len(dg.SecurityGroups) != 1 || len(dg.SecurityGroups[0].IpPermissions) != 1 || len(dg.SecurityGroups[0].IpPermissionsEgress[0].Ipv6Ranges) != 1 {
		t.Errorf("new VPC's default group: %+v", dg.SecurityGroups)
	}

	cases := []struct {
		name string
		f    []types.Filter
		ids  []string
		want int
	}{
		{"all", nil, nil, 2},
		{"by id", nil, []string{v6}, 1},
		{"ipv6 block", []types.Filter{f("ipv6-cidr-block-association.ipv6-cidr-block", "2600:*")}, nil, 1},
		{"cidr", []types.Filter{f("cidr", "10.1.0.0/16")}, nil, 1},
		{"cidr association", []types.Filter{f("cidr-block-association.cidr-block", "172.31.0.0/16")}, nil, 1},
		{"state and owner", []types.Filter{f("state", "available"), f("owner-id", "123456789012")}, nil, 2},
		{"tag", []types.Filter{f("tag:Name", "six")}, nil, 1},
		{"tag-key", []types.Filter{f("tag-key", "Nope")}, nil, 0},
		{"vpc-id", []types.Filter{f("vpc-id", v6)}, nil, 1},
		{"tenancy", []types.Filter{f("instance-tenancy", "default")}, nil, 2},
		{"not default", []types.Filter{f("is-default", "false")}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: tc.f, VpcIds: tc.ids})
			mustOK(t, err)
			if len(out.Vpcs) != tc.want {
				t.Errorf("%d VPCs, want %d", len(out.Vpcs), tc.want)
			}
		})
	}

	errCases := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"describe malformed id", func() error {
			_, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-x"}})
			return err
		}, "InvalidVpcId.Malformed", s400},
		{"describe unknown id", func() error {
			_, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}})
			return err
		}, "InvalidVpcID.NotFound", s400},
		{"describe unknown filter", func() error {
			_, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: []types.Filter{f("colour", "x")}})
			return err
		}, "InvalidParameterValue", s400},
		{"describe dry run", func() error {
			_, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation", s412},
		{"create /8", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/8")})
			return err
		}, "InvalidVpc.Range", s400},
		{"create /29", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/29")})
			return err
		}, "InvalidVpc.Range", s400},
		{"create bad cidr", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0")})
			return err
		}, "InvalidParameterValue", s400},
		{"create without cidr", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{})
			return err
		}, "MissingParameter", s400},
		{"create with IPAM", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{Ipv4IpamPoolId: aws.String("ipam-pool-1"), Ipv4NetmaskLength: aws.Int32(16)})
			return err
		}, "InvalidParameterValue", s400},
		{"create host tenancy", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16"), InstanceTenancy: types.TenancyHost})
			return err
		}, "InvalidParameterValue", s400},
		{"create dry run", func() error {
			_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.2.0.0/16"), DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation", s412},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.call(), tc.code, tc.status) })
	}
	t.Run("VPC quota", func(t *testing.T) {
		ec2sim.SetLimitsForTest(e.sim, 60, 2500, 50, 3, false)
		_, err := e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.3.0.0/16"), InstanceTenancy: types.TenancyDedicated})
		mustOK(t, err)
		_, err = e.ec2.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.4.0.0/16")})
		wantErr(t, err, "VpcLimitExceeded", s400)
	})
}

// DeleteVpc: DependencyViolation while a group other than the default one
// remains; then the VPC and its default group go (API reference,
// DeleteVpc). Deleting the default VPC leaves the account without one, so
// a create without VpcId is VPCIdNotSpecified (reference §2).
func TestDeleteVpc(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	v := e.createVpc("10.3.0.0/16", false)
	g := e.createGroup("app", v)
	_, err := e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(v)})
	wantErr(t, err, "DependencyViolation", s400)
	_, err = e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(v), DryRun: aws.Bool(true)})
	wantErr(t, err, "DependencyViolation", s400)
	_, err = e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g)})
	mustOK(t, err)
	_, err = e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(v), DryRun: aws.Bool(true)})
	wantErr(t, err, "DryRunOperation", s412)
	_, err = e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(v)})
	mustOK(t, err)
	_, err = e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{VpcIds: []string{v}})
	wantErr(t, err, "InvalidVpcID.NotFound", s400)
	out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{v}}}})
	mustOK(t, err)
	if len(out.SecurityGroups) != 0 {
		t.Errorf("groups left in the deleted VPC: %+v", out.SecurityGroups)
	}
	_, err = e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(v)})
	wantErr(t, err, "InvalidVpcID.NotFound", s400)
	_, err = e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String("vpc-nope")})
	wantErr(t, err, "InvalidVpcId.Malformed", s400)
	if r := e.raw(t, "POST", "Action=DeleteVpc&Version=2016-11-15", nil); r.code != "MissingParameter" {
		t.Errorf("no VpcId: %s", r.code)
	}

	def, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	mustOK(t, err)
	_, err = e.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: def.Vpcs[0].VpcId})
	mustOK(t, err)
	_, err = e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x")})
	wantErr(t, err, "VPCIdNotSpecified", s400)
}
