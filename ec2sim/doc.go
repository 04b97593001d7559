// Package ec2sim is a local, EC2-compatible endpoint for security groups.
//
// It speaks EC2's Query protocol (API version 2016-11-15), so aws-sdk-go-v2's
// ec2 client, the AWS CLI and the AWS JavaScript SDKs work against it without
// change. Palisade is tested against it, which is why it keeps its own model of
// EC2's rules instead of sharing one with the code under test: a shared model
// would let a mistake in one hide the same mistake in the other.
//
// What it models, per (account, region) "world":
//   - VPCs (DescribeVpcs, CreateVpc, DeleteVpc), each with a default
//     security group. The
//     lazily created default VPC is 172.31.0.0/16 without an IPv6 block, as on
//     a real account, so a new group in it gets only the 0.0.0.0/0 egress rule;
//     a VPC created with AmazonProvidedIpv6CidrBlock=true also gets ::/0.
//   - security groups and their rules with EC2's validation, quotas,
//     duplicate and not-found semantics, sgr- rule ids and tags.
//   - security group VPC associations, which keep the group and the VPC
//     from deletion; VPC peering within a region, between VPCs of the
//     account or with a VPC of another account, across which a rule may
//     reference a group (of another account: UserId + GroupId) and goes
//     stale when the peer group or the peering is deleted
//     (DescribeStaleSecurityGroups, DescribeSecurityGroupReferences).
//   - managed prefix lists (create, describe, entries, modify, delete) and
//     each region's AWS-managed lists; a rule may name only a list that
//     exists, and a customer-managed list counts against the rule quota as
//     its MaxEntries.
//   - EC2's token-bucket throttling, eventual consistency of new resources,
//     injected faults, latency and dropped connections, all optional.
//
// The account is the access key id when that is exactly 12 digits (so tests
// can act as several accounts), otherwise Options.DefaultAccountID; the region
// comes from the SigV4 credential scope. Signatures are not verified.
//
// It also answers STS's AssumeRole and GetCallerIdentity (version
// 2011-06-15), with STS's validation and error shape and without IAM: the
// temporary credentials' access key id is the role's account, so a client
// that assumes a role per account acts as that account, and
// GetCallerIdentity names that account and the assumed role.
//
// Modelling choices worth knowing when testing against it:
//   - Throttling: one token bucket per (account, region, action), sized by
//     the action's category (reference §6: "every request takes one token
//     from the bucket of its own API action"); DescribeSecurityGroups without
//     filter or pagination uses its own, smaller bucket.
//   - Faults (InternalError/Unavailable) happen before the call takes effect;
//     drops happen after it, so a dropped mutation is applied but unanswered.
//   - ConsistencyDelay delays the visibility of creations only; deletions
//     and revocations are visible at once.
//   - Everything runs every check, including duplicates and quotas, before
//     answering a dry run: DryRunOperation means the call would succeed.
//   - Group names given as parameters (GroupName, GroupName.N, group pairs)
//     are resolved case-insensitively, like the uniqueness check; filters
//     compare case-sensitively.
//   - Signatures and IAM are not modelled, so AuthFailure is the only
//     authentication error (for an unparseable Authorization header).
//
// Choices where EC2's behaviour is undocumented are marked "unverified" next
// to the code that makes them.
package ec2sim
