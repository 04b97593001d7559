// Package rules is Palisade's model of EC2 security-group rules: the input
// shape (Permission, mirroring EC2's IpPermission), the canonical stored
// shape (Rule, one source per rule, as EC2 keeps it), validation that
// follows EC2's own rules, quota arithmetic and the set operations an
// idempotent worker diffs with.
//
// The package is pure: it takes values and returns values, imports only the
// standard library, and knows nothing of protobuf, NATS or AWS types, so the
// API front end, the worker and the local EC2 endpoint can all share it.
//
// Validation collects every problem it finds (Violations) instead of stopping
// at the first, so a caller can fix a request in one round trip. Field paths
// use EC2's member names in snake_case, rooted at a path the caller chooses,
// for example "ip_permissions[0].ip_ranges[1].cidr_ip".
//
// Where the EC2 documentation leaves a point open, this package takes the
// stricter reading: refusing a request EC2 would have accepted costs a user
// one edit; accepting one EC2 refuses turns into a failed operation later,
// after the request was already acknowledged.
package rules
