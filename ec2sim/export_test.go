package ec2sim

import "net/http"

// Test-only hooks. They live in a _test.go file of the package itself, so
// the external tests can reach them and the public API stays EC2's.

// SetLimitsForTest shrinks EC2's quotas so tests can reach them cheaply.
// noDefaultVPC must be set before the first call of an account and region.
func SetLimitsForTest(s *Sim, rulesPerDirection, groupsPerVPC, tagsPerResource, vpcsPerRegion int, noDefaultVPC bool) {
	s.limits = limits{
		rulesPerDirection: rulesPerDirection,
		groupsPerVPC:      groupsPerVPC,
		tagsPerResource:   tagsPerResource,
		vpcsPerRegion:     vpcsPerRegion,
		noDefaultVPC:      noDefaultVPC,
	}
}

// PanicAction is an action that panics, to prove the recover middleware.
const PanicAction = "PanicForTest"

func init() {
	actions[PanicAction] = action{
		handle: func(*call) (response, *apiError) { panic("handler bug") },
		bucket: fixedBucket(PanicAction, bucketMutating),
	}
}

// MaxBodyBytes exposes the request size bound.
const MaxBodyBytes = maxBodyBytes

var _ http.Handler = (*Sim)(nil)
