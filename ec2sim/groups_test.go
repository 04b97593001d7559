package ec2sim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

func TestCreateDescribeDeleteGroup(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	out, err := e.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String("web  "),
		Description: aws.String("web tier"),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSecurityGroup,
			Tags:         []types.Tag{{Key: aws.String("owner"), Value: aws.String("palisade")}},
		}},
	})
	mustOK(t, err)
	id := aws.ToString(out.GroupId)
	if !validID(id, "sg-") {
		t.Fatalf("group id %q is not sg- + 17 hex", id)
	}
	if want := "arn:aws:ec2:us-east-1:123456789012:security-group/" + id; aws.ToString(out.SecurityGroupArn) != want {
		t.Errorf("arn = %q, want %q", aws.ToString(out.SecurityGroupArn), want)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "owner" {
		t.Errorf("create returned tags %+v", out.Tags)
	}

	g := e.group(id)
	if aws.ToString(g.GroupName) != "web" {
		t.Errorf("name %q: trailing spaces must be trimmed", aws.ToString(g.GroupName))
	}
	if aws.ToString(g.Description) != "web tier" || aws.ToString(g.OwnerId) != "123456789012" {
		t.Errorf("group = %+v", g)
	}
	if len(g.IpPermissions) != 0 {
		t.Errorf("new group has inbound rules: %+v", g.IpPermissions)
	}
	// Default VPC has no IPv6 block: exactly one egress rule, all traffic to 0.0.0.0/0.
	if len(g.IpPermissionsEgress) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpProtocol) != "-1" ||
		len(g.IpPermissionsEgress[0].IpRanges) != 1 || aws.ToString(g.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" ||
		g.IpPermissionsEgress[0].FromPort != nil {
		t.Errorf("default egress = %+v", g.IpPermissionsEgress)
	}

	del, err := e.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	mustOK(t, err)
	if aws.ToString(del.GroupId) != id || !aws.ToBool(del.Return) {
		t.Errorf("delete = %+v", del)
	}
	_, err = e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	wantErr(t, err, "InvalidGroup.NotFound", s400)
}

func validID(id, prefix string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 17 {
		return false
	}
	return strings.Trim(rest, "0123456789abcdef") == ""
}
