package ec2sim_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

// Security group VPC associations (API reference,
// AssociateSecurityGroupVpc): a group may be associated with another VPC of
// the account in the region, but not a default group and not with or from
// the default VPC; an associated group cannot be deleted (reference §2),
// nor can a VPC that groups are associated with. The refusals' codes are
// undocumented (InvalidParameterValue here, unverified).
func TestSecurityGroupVpcAssociations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	a, b := e.createVpc("10.1.0.0/16", false), e.createVpc("10.2.0.0/16", false)
	g := e.createGroup("shared", a)
	assoc := func(gid, vid string) (*ec2.AssociateSecurityGroupVpcOutput, error) {
		return e.ec2.AssociateSecurityGroupVpc(ctx(t), &ec2.AssociateSecurityGroupVpcInput{GroupId: aws.String(gid), VpcId: aws.String(vid)})
	}
	out, err := assoc(g, b)
	mustOK(t, err)
	if out.State != types.SecurityGroupVpcAssociationStateAssociated {
		t.Errorf("state %s", out.State)
	}

	def, err := e.ec2.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	mustOK(t, err)
	defVPC := aws.ToString(def.Vpcs[0].VpcId)
	defGroup := e.createGroup("in-default", "")
	dg, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{a}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
	mustOK(t, err)
	for _, tc := range []struct {
		name, group, vpc, code string
	}{
		{"again", g, b, "InvalidParameterValue"},
		{"own VPC", g, a, "InvalidParameterValue"},
		{"default group", aws.ToString(dg.SecurityGroups[0].GroupId), b, "InvalidParameterValue"},
		{"with the default VPC", g, defVPC, "InvalidParameterValue"},
		{"from the default VPC", defGroup, b, "InvalidParameterValue"},
		{"unknown group", "sg-0123456789abcdef0", b, "InvalidGroup.NotFound"},
		{"unknown VPC", g, "vpc-0123456789abcdef0", "InvalidVpcID.NotFound"},
		{"malformed group", "sg-x", b, "InvalidGroupId.Malformed"},
		{"malformed VPC", g, "vpc-x", "InvalidVpcId.Malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := assoc(tc.group, tc.vpc)
			wantErr(t, err, tc.code, s400)
		})
	}
	_, err = e.ec2.AssociateSecurityGroupVpc(ctx(t), &ec2.AssociateSecurityGroupVpcInput{GroupId: aws.String(g), VpcId: aws.String(b), DryRun: aws.Bool(true)})
	wantErr(t, err, "InvalidParameterValue", s400) // already associated, checked before the dry run answers

	list := func(filters ...types.Filter) []types.SecurityGroupVpcAssociation {
		out, err := e.ec2.DescribeSecurityGroupVpcAssociations(ctx(t), &ec2.DescribeSecurityGroupVpcAssociationsInput{Filters: filters})
		mustOK(t, err)
		return out.SecurityGroupVpcAssociations
	}
	if l := list(types.Filter{Name: aws.String("vpc-id"), Values: []string{b}}); len(l) != 1 || aws.ToString(l[0].GroupId) != g ||
		l[0].State != types.SecurityGroupVpcAssociationStateAssociated || aws.ToString(l[0].VpcOwnerId) != "123456789012" {
		t.Errorf("associations of %s: %+v", b, l)
	}
	if l := list(types.Filter{Name: aws.String("group-id"), Values: []string{defGroup}}); len(l) != 0 {
		t.Errorf("associations of an unassociated group: %+v", l)
	}
	_, err = e.ec2.DescribeSecurityGroupVpcAssociations(ctx(t), &ec2.DescribeSecurityGroupVpcAssociationsInput{
		Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"x"}}}})
	wantErr(t, err, "InvalidParameterValue", s400)

	// The association holds both the group and the VPC, across a restart.
	again := newEnv(t, ec2sim.Options{StateFile: path})
	_, err = again.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g)})
	wantErr(t, err, "DependencyViolation", s400)
	_, err = again.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(b)})
	wantErr(t, err, "DependencyViolation", s400)

	dis, err := again.ec2.DisassociateSecurityGroupVpc(ctx(t), &ec2.DisassociateSecurityGroupVpcInput{GroupId: aws.String(g), VpcId: aws.String(b)})
	mustOK(t, err)
	if dis.State != types.SecurityGroupVpcAssociationStateDisassociated {
		t.Errorf("disassociate state %s", dis.State)
	}
	_, err = again.ec2.DisassociateSecurityGroupVpc(ctx(t), &ec2.DisassociateSecurityGroupVpcInput{GroupId: aws.String(g), VpcId: aws.String(b)})
	wantErr(t, err, "InvalidParameterValue", s400)
	_, err = again.ec2.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: aws.String(b)})
	mustOK(t, err)
	_, err = again.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g)})
	mustOK(t, err)
	for _, body := range []string{"Action=AssociateSecurityGroupVpc&VpcId=" + b, "Action=DisassociateSecurityGroupVpc&GroupId=" + g} {
		if r := again.raw(t, "POST", body+"&Version=2016-11-15", nil); r.code != "MissingParameter" {
			t.Errorf("%s: %s", body, r.code)
		}
	}
}

// DescribeStaleSecurityGroups and DescribeSecurityGroupReferences (API
// reference) without any peering: a group of another VPC is another
// network and cannot be referenced (reference §3), so nothing is stale and
// nothing is referenced from elsewhere; the input is checked as EC2 checks
// it. The peered case is TestPeeringAndStaleRules.
func TestStaleGroupsAndReferences(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	v := e.createVpc("10.1.0.0/16", false)
	web, db := e.createGroup("web", v), e.createGroup("db", v)
	_, err := e.authorize(db, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}})
	mustOK(t, err)
	// A group of another VPC is another network (reference §3).
	other := e.createGroup("other", e.createVpc("10.2.0.0/16", false))
	_, err = e.authorize(other, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1),
		UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(web)}}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)

	stale, err := e.ec2.DescribeStaleSecurityGroups(ctx(t), &ec2.DescribeStaleSecurityGroupsInput{VpcId: aws.String(v), MaxResults: aws.Int32(5)})
	mustOK(t, err)
	if len(stale.StaleSecurityGroupSet) != 0 || stale.NextToken != nil {
		t.Errorf("stale groups %+v", stale.StaleSecurityGroupSet)
	}
	refs, err := e.ec2.DescribeSecurityGroupReferences(ctx(t), &ec2.DescribeSecurityGroupReferencesInput{GroupId: []string{web, db}})
	mustOK(t, err)
	if len(refs.SecurityGroupReferenceSet) != 0 {
		t.Errorf("references %+v", refs.SecurityGroupReferenceSet)
	}

	for _, tc := range []struct {
		name string
		in   ec2.DescribeStaleSecurityGroupsInput
		code string
	}{
		{"unknown VPC", ec2.DescribeStaleSecurityGroupsInput{VpcId: aws.String("vpc-0123456789abcdef0")}, "InvalidVpcID.NotFound"},
		{"malformed VPC", ec2.DescribeStaleSecurityGroupsInput{VpcId: aws.String("vpc-x")}, "InvalidVpcId.Malformed"},
		{"MaxResults", ec2.DescribeStaleSecurityGroupsInput{VpcId: aws.String(v), MaxResults: aws.Int32(256)}, "InvalidParameterValue"},
		{"token", ec2.DescribeStaleSecurityGroupsInput{VpcId: aws.String(v), NextToken: aws.String("AAAA")}, "InvalidPaginationToken"},
	} {
		t.Run("stale "+tc.name, func(t *testing.T) {
			_, err := e.ec2.DescribeStaleSecurityGroups(ctx(t), &tc.in)
			wantErr(t, err, tc.code, s400)
		})
	}
	_, err = e.ec2.DescribeStaleSecurityGroups(ctx(t), &ec2.DescribeStaleSecurityGroupsInput{VpcId: aws.String(v), DryRun: aws.Bool(true)})
	wantErr(t, err, "DryRunOperation", s412)
	_, err = e.ec2.DescribeSecurityGroupReferences(ctx(t), &ec2.DescribeSecurityGroupReferencesInput{GroupId: []string{web, "sg-0123456789abcdef0"}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
	_, err = e.ec2.DescribeSecurityGroupReferences(ctx(t), &ec2.DescribeSecurityGroupReferencesInput{GroupId: []string{"sg-x"}})
	wantErr(t, err, "InvalidGroupId.Malformed", s400)
	for _, body := range []string{"Action=DescribeSecurityGroupReferences", "Action=DescribeStaleSecurityGroups"} {
		if r := e.raw(t, "POST", body+"&Version=2016-11-15", nil); r.code != "MissingParameter" {
			t.Errorf("%s: %s", body, r.code)
		}
	}
}
