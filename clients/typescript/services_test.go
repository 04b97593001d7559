package typescript_test

import (
	"strings"
	"testing"

	"github.com/palisadehq/palisade/palisadetest"
)

// TestServices runs test/services.test.ts (node --test) against a whole
// Palisade with one worker, one rollout driver and the permissive
// loopback policy: rollouts waited to their end and rolled back, tags and
// rule changes read back, a fleet search streamed, the audit trail read,
// and an invalid request to each call family.
func TestServices(t *testing.T) {
	ctx := build(t)
	s := palisadetest.Start(t, palisadetest.Options{Workers: 1, Rollouts: 1})
	out := run(t, ctx, ".", []string{"PALISADE_SERVER=" + s.Addr}, "node", "--test", "dist/test/services.test.js")
	if !strings.Contains(out, "# fail 0") {
		t.Fatalf("node --test:\n%s", out)
	}
}
