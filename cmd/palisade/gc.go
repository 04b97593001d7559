package main

import "runtime/debug"

// gcPercent is the garbage collector's target for Palisade's processes
// when GOGC is not set: a new cycle once the heap has grown by twice what
// the last one left live, where Go's default is once. A worker allocates
// much per command (the SDK's middleware, JetStream's answers) beside a
// small live heap, so its collector ran often: on the fleet rollout
// benchmark this cuts a worker process's CPU per rollout child by about a
// tenth, for about 30 MiB more at its peak (README, Benchmarks).
// GOMEMLIMIT, which the Kubernetes manifests set from the container's
// limit, still makes it collect sooner as the heap nears that limit.
const gcPercent = 200

// tuneGC sets gcPercent unless GOGC is set, which the runtime has already
// applied and which wins.
func tuneGC(lookup func(string) (string, bool)) {
	if _, set := lookup("GOGC"); set {
		return
	}
	debug.SetGCPercent(gcPercent)
}
