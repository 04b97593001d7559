// Package ec2limits holds EC2's published request-rate buckets, so the
// workers' rate budget and the rollout planner's time estimates use the
// same numbers.
//
// EC2 throttles per account and region with one token bucket per API
// action; the action's category only decides the bucket's size and refill
// rate ("Request throttling for the Amazon EC2 API", EC2 reference §6).
package ec2limits

import (
	"math"
	"time"
)

// Bucket is one action's token bucket.
type Bucket struct {
	// Category names the size class, e.g. "resource-intensive".
	Category string
	// Capacity is the burst: tokens in a full bucket.
	Capacity float64
	// Refill is the sustained rate, tokens per second.
	Refill float64
}

// Categories as EC2 publishes them.
var (
	Mutating          = Bucket{"mutating", 50, 5}
	ResourceIntensive = Bucket{"resource-intensive", 50, 5}
	NonMutating       = Bucket{"non-mutating", 100, 20}
	Tags              = Bucket{"tags", 100, 10}
)

var actions = map[string]Bucket{
	"CreateSecurityGroup":                        Mutating,
	"DeleteSecurityGroup":                        Mutating,
	"AuthorizeSecurityGroupEgress":               Mutating,
	"RevokeSecurityGroupEgress":                  Mutating,
	"ModifySecurityGroupRules":                   Mutating,
	"UpdateSecurityGroupRuleDescriptionsIngress": Mutating,
	"UpdateSecurityGroupRuleDescriptionsEgress":  Mutating,
	"AuthorizeSecurityGroupIngress":              ResourceIntensive,
	"RevokeSecurityGroupIngress":                 ResourceIntensive,
	"DescribeSecurityGroups":                     NonMutating, // always filtered or paginated here
	"DescribeSecurityGroupRules":                 NonMutating,
	"DescribeVpcs":                               NonMutating,
	"CreateTags":                                 Tags,
	"DeleteTags":                                 Tags,
}

// For returns the bucket of an action; an action not listed is taken as
// non-mutating.
func For(action string) Bucket {
	if b, ok := actions[action]; ok {
		return b
	}
	return NonMutating
}

// Duration is how long calls of one action take at factor × EC2's refill
// rate starting from a full bucket: the burst is free, the rest comes at
// the refill rate.
func Duration(action string, calls int, factor float64) time.Duration {
	b := For(action)
	if factor <= 0 {
		factor = 1
	}
	rest := float64(calls) - b.Capacity
	if rest <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(rest / (b.Refill * factor) * float64(time.Second)))
}

// Slowest is how long a mix of calls in one account and region takes:
// every action has its own bucket, so they proceed in parallel and the
// slowest decides.
func Slowest(calls map[string]int, factor float64) time.Duration {
	var d time.Duration
	for a, n := range calls {
		d = max(d, Duration(a, n, factor))
	}
	return d
}
