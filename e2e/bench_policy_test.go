package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisadehq/palisade/internal/policy"
)

// benchPolicy writes a policy of n statements into a directory and loads
// it: the shipped guardrails, a permit per team for its own account, and
// forbids on ports from outside 10.0.0.0/8; caller is in the team of
// account 111122223333 (the benchmarks' account), so a request of it is
// allowed after every statement has been looked at.
func benchPolicy(tb testing.TB, n int, caller string) *policy.Engine {
	tb.Helper()
	dir := tb.TempDir()
	guardrails, err := os.ReadFile("../deploy/policy/default.cedar")
	if err != nil {
		tb.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(guardrails), "permit (principal, action, resource is Palisade::SecurityGroup);")
	if !ok {
		tb.Fatal("default.cedar no longer has its broad permit")
	}
	var b strings.Builder
	b.WriteString(rest)
	teams := n / 2
	for i := range teams {
		fmt.Fprintf(&b, "@id(\"team-%d\")\npermit (principal in Palisade::Team::\"team-%d\", action, resource is Palisade::SecurityGroup)\nwhen { resource in Palisade::Account::\"%012d\" };\n", i, i, 111122223333+i)
	}
	for i := range n - teams - 2 {
		fmt.Fprintf(&b, "@id(\"no-port-%d-from-outside\")\nforbid (principal, action, resource)\nwhen { context has rule && context.rule.change == \"add\" && context.rule has cidr && "+
			"!context.rule.cidr.isInRange(ip(\"10.0.0.0/8\")) && context.rule.fromPort <= %d && %d <= context.rule.toPort };\n", 5000+i, 5000+i, 5000+i)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.cedar"), []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	entities := `[{"uid": {"type": "Palisade::Caller", "id": "` + caller + `"}, "attrs": {}, "parents": [{"type": "Palisade::Team", "id": "team-0"}]}]`
	if err := os.WriteFile(filepath.Join(dir, policy.EntitiesFile), []byte(entities), 0o600); err != nil {
		tb.Fatal(err)
	}
	e, err := policy.NewEngine(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// TestBenchPolicyAllowsTheBenchmarkRequest keeps the benchmark honest: its
// policy allows the request it sends, after weighing every statement.
func TestBenchPolicyAllowsTheBenchmarkRequest(t *testing.T) {
	e := benchPolicy(t, 100, "local")
	checks, err := policy.Checks("local", benchRequest())
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(checks[0]); !d.Allowed || len(d.Policies) != 1 || d.Policies[0] != "team-0" {
		t.Fatalf("decision %+v", d)
	}
	other := benchRequest()
	other.Location.AccountId = "999999999999"
	checks, _ = policy.Checks("local", other)
	if e.Decide(checks[0]).Allowed {
		t.Fatal("the benchmark policy allows another team's account")
	}
}
