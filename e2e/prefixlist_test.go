package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"google.golang.org/grpc/codes"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestPrefixListRules: a rule naming a prefix list that does not exist
// fails its operation with EC2's InvalidPrefixListID.NotFound, and a
// customer-managed list counts against the group's rule quota as its
// MaxEntries (EC2 reference §4), so a list of 60 fills the inbound IPv4
// quota and the next rule fails with RulesPerSecurityGroupLimitExceeded.
func TestPrefixListRules(t *testing.T) {
	e := newEnv(t, envOptions{workers: 1})
	pl, err := e.ec2.Client(account, region).CreateManagedPrefixList(e.ctx, &ec2.CreateManagedPrefixListInput{
		PrefixListName: aws.String("partners"), MaxEntries: aws.Int32(60), AddressFamily: aws.String("IPv4")})
	if err != nil {
		t.Fatal(err)
	}
	plRule := func(id string) *palisadev1.IpPermission {
		return &palisadev1.IpPermission{IpProtocol: "tcp", FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			PrefixListIds: []*palisadev1.PrefixListId{{PrefixListId: id}}}
	}

	op, err := e.sg.CreateSecurityGroup(e.ctx, &palisadev1.CreateSecurityGroupRequest{Location: loc, GroupName: "edge", Description: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	group := e.succeeded(op).GetGroupId()

	op, err = e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group,
		IpPermissions: []*palisadev1.IpPermission{plRule("pl-0123456789abcdef0")}})
	if err != nil {
		t.Fatal(err)
	}
	e.failedWith(op, "InvalidPrefixListID.NotFound", codes.NotFound)

	op, err = e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group,
		IpPermissions: []*palisadev1.IpPermission{plRule(aws.ToString(pl.PrefixList.PrefixListId))}})
	if err != nil {
		t.Fatal(err)
	}
	e.succeeded(op)

	op, err = e.sg.AuthorizeSecurityGroupIngress(e.ctx, &palisadev1.AuthorizeSecurityGroupIngressRequest{Location: loc, GroupId: group,
		IpPermissions: []*palisadev1.IpPermission{tcp(22, 22, "10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	e.failedWith(op, "RulesPerSecurityGroupLimitExceeded", codes.ResourceExhausted)
}
