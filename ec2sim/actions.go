package ec2sim

// action is one supported EC2 operation.
type action struct {
	handle func(*call) (response, *apiError)
	// bucket names the throttle bucket and its size for this request.
	bucket func(*pnode) (string, bucketSpec)
	// mutating actions write their change to the journal when they succeed.
	mutating bool
}

func fixedBucket(name string, spec bucketSpec) func(*pnode) (string, bucketSpec) {
	return func(*pnode) (string, bucketSpec) { return name, spec }
}

// describeGroupsBucket: EC2 throttles DescribeSecurityGroups harder when it
// is called with neither a filter nor pagination.
func describeGroupsBucket(n *pnode) (string, bucketSpec) {
	if n.has("Filter") || n.has("MaxResults") || n.has("NextToken") {
		return "DescribeSecurityGroups", bucketNonMutating
	}
	return "DescribeSecurityGroups/unfiltered", bucketUnfilteredDescribe
}

// actions lists every supported operation; any other Action is InvalidAction.
var actions = map[string]action{
	"CreateSecurityGroup":                        {handleCreateSecurityGroup, fixedBucket("CreateSecurityGroup", bucketMutating), true},
	"DeleteSecurityGroup":                        {handleDeleteSecurityGroup, fixedBucket("DeleteSecurityGroup", bucketMutating), true},
	"DescribeSecurityGroups":                     {handleDescribeSecurityGroups, describeGroupsBucket, false},
	"AuthorizeSecurityGroupIngress":              {handleAuthorizeIngress, fixedBucket("AuthorizeSecurityGroupIngress", bucketResourceIntensive), true},
	"AuthorizeSecurityGroupEgress":               {handleAuthorizeEgress, fixedBucket("AuthorizeSecurityGroupEgress", bucketMutating), true},
	"RevokeSecurityGroupIngress":                 {handleRevokeIngress, fixedBucket("RevokeSecurityGroupIngress", bucketResourceIntensive), true},
	"RevokeSecurityGroupEgress":                  {handleRevokeEgress, fixedBucket("RevokeSecurityGroupEgress", bucketMutating), true},
	"DescribeSecurityGroupRules":                 {handleDescribeSecurityGroupRules, fixedBucket("DescribeSecurityGroupRules", bucketNonMutating), false},
	"ModifySecurityGroupRules":                   {handleModifySecurityGroupRules, fixedBucket("ModifySecurityGroupRules", bucketMutating), true},
	"UpdateSecurityGroupRuleDescriptionsIngress": {handleUpdateDescriptionsIngress, fixedBucket("UpdateSecurityGroupRuleDescriptionsIngress", bucketMutating), true},
	"UpdateSecurityGroupRuleDescriptionsEgress":  {handleUpdateDescriptionsEgress, fixedBucket("UpdateSecurityGroupRuleDescriptionsEgress", bucketMutating), true},
	"CreateTags":                                 {handleCreateTags, fixedBucket("CreateTags", bucketTags), true},
	"DeleteTags":                                 {handleDeleteTags, fixedBucket("DeleteTags", bucketTags), true},
	"DescribeTags":                               {handleDescribeTags, fixedBucket("DescribeTags", bucketNonMutating), false},
	"DescribeVpcs":                               {handleDescribeVpcs, fixedBucket("DescribeVpcs", bucketNonMutating), false},
	"CreateVpc":                                  {handleCreateVpc, fixedBucket("CreateVpc", bucketMutating), true},
	"DeleteVpc":                                  {handleDeleteVpc, fixedBucket("DeleteVpc", bucketMutating), true},
	"CreateManagedPrefixList":                    {handleCreateManagedPrefixList, fixedBucket("CreateManagedPrefixList", bucketMutating), true},
	"DescribeManagedPrefixLists":                 {handleDescribeManagedPrefixLists, fixedBucket("DescribeManagedPrefixLists", bucketNonMutating), false},
	"GetManagedPrefixListEntries":                {handleGetManagedPrefixListEntries, fixedBucket("GetManagedPrefixListEntries", bucketNonMutating), false},
	"ModifyManagedPrefixList":                    {handleModifyManagedPrefixList, fixedBucket("ModifyManagedPrefixList", bucketMutating), true},
	"DeleteManagedPrefixList":                    {handleDeleteManagedPrefixList, fixedBucket("DeleteManagedPrefixList", bucketMutating), true},
	"AssociateSecurityGroupVpc":                  {handleAssociateSecurityGroupVpc, fixedBucket("AssociateSecurityGroupVpc", bucketMutating), true},
	"DisassociateSecurityGroupVpc":               {handleDisassociateSecurityGroupVpc, fixedBucket("DisassociateSecurityGroupVpc", bucketMutating), true},
	"DescribeSecurityGroupVpcAssociations":       {handleDescribeSecurityGroupVpcAssociations, fixedBucket("DescribeSecurityGroupVpcAssociations", bucketNonMutating), false},
	"DescribeStaleSecurityGroups":                {handleDescribeStaleSecurityGroups, fixedBucket("DescribeStaleSecurityGroups", bucketUncategorizedRefs), false},
	"DescribeSecurityGroupReferences":            {handleDescribeSecurityGroupReferences, fixedBucket("DescribeSecurityGroupReferences", bucketUncategorizedRefs), false},
	"CreateVpcPeeringConnection":                 {handleCreateVpcPeeringConnection, fixedBucket("CreateVpcPeeringConnection", bucketMutating), true},
	"AcceptVpcPeeringConnection":                 {handleAcceptVpcPeeringConnection, fixedBucket("AcceptVpcPeeringConnection", bucketMutating), true},
	"DeleteVpcPeeringConnection":                 {handleDeleteVpcPeeringConnection, fixedBucket("DeleteVpcPeeringConnection", bucketMutating), true},
	"DescribeVpcPeeringConnections":              {handleDescribeVpcPeeringConnections, fixedBucket("DescribeVpcPeeringConnections", bucketNonMutating), false},
}
