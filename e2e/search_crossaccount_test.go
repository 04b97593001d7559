package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	palisadev1 "github.com/palisadehq/palisade/gen/palisade/v1"
)

// TestSearchCrossAccountReferences plants, across an accepted peering of
// two accounts' VPCs, one rule referencing the other account's group (as
// EC2 allows: UserId + GroupId in the pair), next to rules referencing
// groups of the group's own account, and asks the fleet search for "any
// rule referencing a group in another account": it finds exactly that
// rule, by id, and nothing in the other account.
func TestSearchCrossAccountReferences(t *testing.T) {
	e := newEnv(t, envOptions{})
	const mine, theirs, region = "111122223333", "444455556666", "us-east-1"
	ours := e.ec2.Client(mine, region)
	peer := e.ec2.Client(theirs, region)

	vpc, err := peer.CreateVpc(e.ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	theirVPC := aws.ToString(vpc.Vpc.VpcId)
	sg, err := peer.CreateSecurityGroup(e.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("shared-db"), Description: aws.String("db"), VpcId: aws.String(theirVPC)})
	if err != nil {
		t.Fatal(err)
	}
	theirGroup := aws.ToString(sg.GroupId)
	theirOwn := e.makeGroups(theirs, region, "theirs", 1, nil)

	groups := e.makeGroups(mine, region, "xacct", 2, nil)
	described, err := ours.DescribeSecurityGroups(e.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: groups[:1]})
	if err != nil {
		t.Fatal(err)
	}
	myVPC := described.SecurityGroups[0].VpcId
	pcx, err := ours.CreateVpcPeeringConnection(e.ctx, &ec2.CreateVpcPeeringConnectionInput{VpcId: myVPC, PeerVpcId: aws.String(theirVPC), PeerOwnerId: aws.String(theirs)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.AcceptVpcPeeringConnection(e.ctx, &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx.VpcPeeringConnection.VpcPeeringConnectionId}); err != nil {
		t.Fatal(err)
	}

	pair := func(user, group string, port int32) types.IpPermission {
		p := types.UserIdGroupPair{GroupId: aws.String(group)}
		if user != "" {
			p.UserId = aws.String(user)
		}
		return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port), UserIdGroupPairs: []types.UserIdGroupPair{p}}
	}
	want := e.plant(mine, region, groups[0], pair(theirs, theirGroup, 5432))
	e.plant(mine, region, groups[1], pair("", groups[0], 5432))           // own account, no owner given
	e.plant(mine, region, groups[1], pair(mine, groups[0], 5433))         // own account named
	e.plant(theirs, region, theirOwn[0], pair(theirs, theirOwn[0], 5432)) // itself
	targets := []*palisadev1.Location{{AccountId: mine, Region: region}, {AccountId: theirs, Region: region}}

	res, err := e.search(&palisadev1.SearchSecurityGroupsRequest{Targets: targets,
		RulePredicates: []*palisadev1.RulePredicate{{ReferencesOtherAccount: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 {
		t.Fatalf("%d answers, want 1: %v", len(res), res)
	}
	r := res[0]
	if r.GetError() != nil {
		t.Fatalf("target %v failed: %v", r.GetLocation(), r.GetError())
	}
	if r.GetLocation().GetAccountId() != mine || r.GetSecurityGroup().GetGroupId() != groups[0] {
		t.Errorf("found %s in %v, want %s in %s", r.GetSecurityGroup().GetGroupId(), r.GetLocation(), groups[0], mine)
	}
	if m := r.GetMatchingRules(); len(m) != 1 || m[0].GetSecurityGroupRuleId() != want || m[0].GetReferencedUserId() != theirs {
		t.Errorf("matching rules %v, want %s referencing %s", m, want, theirs)
	}
}
