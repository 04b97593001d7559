// Package deploy holds what Palisade ships to run it: the Cedar schema
// and the default policy (policy/), which the binaries embed so that the
// files an operator reads and edits are the ones the tests load.
package deploy

import "embed"

// Policy holds policy/palisade.cedarschema, the schema every policy is
// validated against, and policy/default.cedar, the guardrails Palisade
// applies when TLS is on and no --policy is given.
//
//go:embed policy/palisade.cedarschema policy/default.cedar
var Policy embed.FS
