package ec2sim_test

import (
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/palisadehq/palisade/ec2sim"
)

// A rule may reference a group of another account across an accepted VPC
// peering of the two accounts' VPCs, naming it by UserId + GroupId (VPC
// peering guide, "Update your security groups to reference peer security
// groups"; reference §7). The pair is described with that owner, the
// ip-permission.user-id filter matches it ("The ID of an Amazon Web
// Services account that has been referenced in an inbound security group
// rule", DescribeSecurityGroups filters), and deleting the peering makes
// the rule stale.
func TestCrossAccountGroupReference(t *testing.T) {
	const mine, theirs = "123456789012", "111122223333"
	e := newEnv(t, ec2sim.Options{})
	peer := e.client(theirs, "us-east-1")
	vpcOut, err := peer.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	mustOK(t, err)
	theirVPC := aws.ToString(vpcOut.Vpc.VpcId)
	sgOut, err := peer.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("shared-db"), Description: aws.String("db"), VpcId: aws.String(theirVPC)})
	mustOK(t, err)
	theirGroup := aws.ToString(sgOut.GroupId)
	web := e.createGroup("web", "")
	myVPC := e.group(web).VpcId

	ref := func(user, group string) types.IpPermission {
		return types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
			UserIdGroupPairs: []types.UserIdGroupPair{{UserId: aws.String(user), GroupId: aws.String(group)}}}
	}
	// Before the VPCs are peered the group is out of reach.
	_, err = e.authorize(web, ref(theirs, theirGroup))
	wantErr(t, err, "InvalidGroup.NotFound", s400)

	pcxOut, err := e.ec2.CreateVpcPeeringConnection(ctx(t), &ec2.CreateVpcPeeringConnectionInput{VpcId: myVPC, PeerVpcId: aws.String(theirVPC), PeerOwnerId: aws.String(theirs)})
	mustOK(t, err)
	pcx := pcxOut.VpcPeeringConnection
	if got := aws.ToString(pcx.AccepterVpcInfo.OwnerId); got != theirs {
		t.Fatalf("accepter owner %s, want %s", got, theirs)
	}
	// Only the accepter's account accepts.
	_, err = e.ec2.AcceptVpcPeeringConnection(ctx(t), &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx.VpcPeeringConnectionId})
	wantErr(t, err, "OperationNotPermitted", s400)
	seen, err := peer.DescribeVpcPeeringConnections(ctx(t), &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{aws.ToString(pcx.VpcPeeringConnectionId)}})
	mustOK(t, err)
	theirView := seen.VpcPeeringConnections[0]
	if aws.ToString(theirView.RequesterVpcInfo.OwnerId) != mine || aws.ToString(theirView.RequesterVpcInfo.CidrBlock) != "172.31.0.0/16" ||
		theirView.Status.Code != types.VpcPeeringConnectionStateReasonCodePendingAcceptance {
		t.Fatalf("the accepter sees %+v %+v", theirView.RequesterVpcInfo, theirView.Status)
	}
	_, err = peer.AcceptVpcPeeringConnection(ctx(t), &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx.VpcPeeringConnectionId})
	mustOK(t, err)

	out, err := e.authorize(web, ref(theirs, theirGroup))
	mustOK(t, err)
	if info := out.SecurityGroupRules[0].ReferencedGroupInfo; aws.ToString(info.UserId) != theirs || aws.ToString(info.GroupId) != theirGroup ||
		aws.ToString(info.VpcPeeringConnectionId) != aws.ToString(pcx.VpcPeeringConnectionId) {
		t.Errorf("referenced group %+v", info)
	}
	pair := e.group(web).IpPermissions[0].UserIdGroupPairs[0]
	if aws.ToString(pair.UserId) != theirs || aws.ToString(pair.VpcId) != theirVPC || aws.ToString(pair.PeeringStatus) != "active" {
		t.Errorf("described pair %+v", pair)
	}
	byUser := func(user string) int {
		out, err := e.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
			{Name: aws.String("ip-permission.user-id"), Values: []string{user}}, {Name: aws.String("group-name"), Values: []string{"web"}}}})
		mustOK(t, err)
		return len(out.SecurityGroups)
	}
	if byUser(theirs) != 1 || byUser(mine) != 0 || byUser("1111*") != 1 {
		t.Errorf("user-id filter: theirs %d, mine %d, wildcard %d; want 1, 0, 1", byUser(theirs), byUser(mine), byUser("1111*"))
	}

	// Bad references: nothing applied.
	for _, tc := range []struct {
		name string
		perm types.IpPermission
		code string
	}{
		{"owner not an account id", ref("not-an-account", theirGroup), "InvalidUserID.Malformed"},
		{"unknown group of the other account", ref(theirs, "sg-0123456789abcdef0"), "InvalidGroup.NotFound"},
		{"own group named as the other account's", ref(theirs, web), "InvalidGroup.NotFound"},
		{"other account's group by name", types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1),
			UserIdGroupPairs: []types.UserIdGroupPair{{UserId: aws.String(theirs), GroupName: aws.String("shared-db")}}}, "InvalidGroup.NotFound"},
		{"peering named is not the one between the VPCs", types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(2), ToPort: aws.Int32(2),
			UserIdGroupPairs: []types.UserIdGroupPair{{UserId: aws.String(theirs), GroupId: aws.String(theirGroup), VpcPeeringConnectionId: aws.String("pcx-0123456789abcdef0")}}}, "InvalidGroup.NotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.authorize(web, tc.perm)
			wantErr(t, err, tc.code, s400)
		})
	}
	if n := len(e.group(web).IpPermissions); n != 1 {
		t.Errorf("%d permissions after refused authorizations, want 1", n)
	}

	// Revoke by content, then again to have a rule to go stale.
	rv, err := e.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(web), IpPermissions: []types.IpPermission{ref(theirs, theirGroup)}})
	mustOK(t, err)
	if !aws.ToBool(rv.Return) || len(e.group(web).IpPermissions) != 0 {
		t.Fatalf("revoke: %+v, left %v", rv, e.group(web).IpPermissions)
	}
	_, err = e.authorize(web, ref(theirs, theirGroup))
	mustOK(t, err)
	staleGroups := func() []string {
		t.Helper()
		out, err := e.ec2.DescribeStaleSecurityGroups(ctx(t), &ec2.DescribeStaleSecurityGroupsInput{VpcId: myVPC})
		mustOK(t, err)
		var ids []string
		for _, g := range out.StaleSecurityGroupSet {
			ids = append(ids, aws.ToString(g.GroupId))
		}
		return ids
	}
	if got := staleGroups(); len(got) != 0 {
		t.Errorf("stale while the group and the peering exist: %v", got)
	}
	// The other account sees which VPC across the peering references its
	// group (DescribeSecurityGroupReferences).
	refs, err := peer.DescribeSecurityGroupReferences(ctx(t), &ec2.DescribeSecurityGroupReferencesInput{GroupId: []string{theirGroup}})
	mustOK(t, err)
	if len(refs.SecurityGroupReferenceSet) != 1 || aws.ToString(refs.SecurityGroupReferenceSet[0].ReferencingVpcId) != aws.ToString(myVPC) ||
		aws.ToString(refs.SecurityGroupReferenceSet[0].VpcPeeringConnectionId) != aws.ToString(pcx.VpcPeeringConnectionId) {
		t.Errorf("references to their group: %+v", refs.SecurityGroupReferenceSet)
	}
	// The other account deletes its group (a reference from a peered VPC
	// does not keep it), then the peering: the rule is stale, the peering
	// gone for both.
	_, err = peer.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(theirGroup)})
	mustOK(t, err)
	if got := staleGroups(); len(got) != 1 || got[0] != web {
		t.Errorf("stale groups after the peer group went: %v", got)
	}
	_, err = peer.DeleteVpcPeeringConnection(ctx(t), &ec2.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx.VpcPeeringConnectionId})
	mustOK(t, err)
	if got := aws.ToString(e.group(web).IpPermissions[0].UserIdGroupPairs[0].PeeringStatus); got != "deleted" {
		t.Errorf("peering status after delete: %s", got)
	}
	if got := staleGroups(); len(got) != 1 || got[0] != web {
		t.Errorf("stale groups after the peering went: %v", got)
	}
	_, err = e.authorize(web, ref(theirs, theirGroup))
	wantErr(t, err, "InvalidGroup.NotFound", s400)
}

// A request to peer with another account's VPC that does not exist is
// answered, then fails (VpcPeeringConnectionStateReason: failed); peering
// across Regions is not modelled and is refused.
func TestCrossAccountPeeringRequests(t *testing.T) {
	e := newEnv(t, ec2sim.Options{})
	a := e.createVpc("10.30.0.0/16", false)
	out, err := e.ec2.CreateVpcPeeringConnection(ctx(t), &ec2.CreateVpcPeeringConnectionInput{VpcId: aws.String(a), PeerVpcId: aws.String("vpc-0123456789abcdef0"), PeerOwnerId: aws.String("999999999999")})
	mustOK(t, err)
	if out.VpcPeeringConnection.Status.Code != types.VpcPeeringConnectionStateReasonCodeFailed {
		t.Errorf("status %+v", out.VpcPeeringConnection.Status)
	}
	peer := e.client("999999999999", "us-east-1")
	seen, err := peer.DescribeVpcPeeringConnections(ctx(t), &ec2.DescribeVpcPeeringConnectionsInput{})
	mustOK(t, err)
	if len(seen.VpcPeeringConnections) != 0 {
		t.Errorf("the other account sees a failed request: %+v", seen.VpcPeeringConnections)
	}
	_, err = e.ec2.CreateVpcPeeringConnection(ctx(t), &ec2.CreateVpcPeeringConnectionInput{VpcId: aws.String(a), PeerVpcId: aws.String(a), PeerOwnerId: aws.String("9")})
	wantErr(t, err, "InvalidParameterValue", s400)
	_, err = e.ec2.CreateVpcPeeringConnection(ctx(t), &ec2.CreateVpcPeeringConnectionInput{VpcId: aws.String(a), PeerVpcId: aws.String(a), PeerRegion: aws.String("eu-west-1")})
	wantErr(t, err, "InvalidParameterValue", s400)
}

// Both accounts' copies of a peering across accounts survive a reload
// from the state file, accepted, and still let a rule cross it.
func TestCrossAccountPeeringSurvivesReload(t *testing.T) {
	const theirs = "111122223333"
	path := filepath.Join(t.TempDir(), "ec2.json")
	e := newEnv(t, ec2sim.Options{StateFile: path})
	peer := e.client(theirs, "us-east-1")
	vpcOut, err := peer.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.20.0.0/16")})
	mustOK(t, err)
	sgOut, err := peer.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("db"), VpcId: vpcOut.Vpc.VpcId})
	mustOK(t, err)
	web := e.createGroup("web", "")
	pcx, err := e.ec2.CreateVpcPeeringConnection(ctx(t), &ec2.CreateVpcPeeringConnectionInput{VpcId: e.group(web).VpcId, PeerVpcId: vpcOut.Vpc.VpcId, PeerOwnerId: aws.String(theirs)})
	mustOK(t, err)
	_, err = peer.AcceptVpcPeeringConnection(ctx(t), &ec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: pcx.VpcPeeringConnection.VpcPeeringConnectionId})
	mustOK(t, err)

	again := newEnv(t, ec2sim.Options{StateFile: path})
	for _, c := range []*ec2.Client{again.ec2, again.client(theirs, "us-east-1")} {
		out, err := c.DescribeVpcPeeringConnections(ctx(t), &ec2.DescribeVpcPeeringConnectionsInput{})
		mustOK(t, err)
		if len(out.VpcPeeringConnections) != 1 || out.VpcPeeringConnections[0].Status.Code != types.VpcPeeringConnectionStateReasonCodeActive ||
			aws.ToString(out.VpcPeeringConnections[0].AccepterVpcInfo.OwnerId) != theirs {
			t.Fatalf("after reload: %+v", out.VpcPeeringConnections)
		}
	}
	_, err = again.authorize(web, types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		UserIdGroupPairs: []types.UserIdGroupPair{{UserId: aws.String(theirs), GroupId: sgOut.GroupId}}})
	mustOK(t, err)
}
