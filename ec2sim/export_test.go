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

// SetCompactMinForTest sets the journal size below which the endpoint does
// not compact, so tests reach a compaction in a few changes.
func SetCompactMinForTest(s *Sim, n int64) {
	s.saveMu.Lock()
	s.journal.compactMin = n
	s.saveMu.Unlock()
}

// CompactForTest writes a snapshot and restarts the journal now.
func CompactForTest(s *Sim) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	return s.compact()
}

// StateGenerationForTest is the generation of the current snapshot.
func StateGenerationForTest(s *Sim) int64 {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	return s.journal.generation
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
