package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisadehq/palisade/internal/rules"
)

// BenchmarkDecide: one call with two rules against the default policy and
// against a policy of 100 statements.
//
//	go test -run '^$' -bench Decide ./internal/policy/
func BenchmarkDecide(b *testing.B) {
	dir := b.TempDir()
	var s strings.Builder
	s.WriteString(`@id("g") forbid (principal, action, resource) when { context has rule && context.rule has cidr && !context.rule.cidr.isInRange(ip("10.0.0.0/8")) && context.rule.fromPort <= 22 && 22 <= context.rule.toPort };` + "\n")
	for i := range 50 {
		fmt.Fprintf(&s, "@id(\"team-%d\") permit (principal in Palisade::Team::\"team-%d\", action, resource is Palisade::SecurityGroup) when { resource in Palisade::Account::\"%012d\" };\n", i, i, 111122223333+i)
	}
	for i := range 49 {
		fmt.Fprintf(&s, "@id(\"p%d\") forbid (principal, action, resource) when { context has rule && context.rule has cidr && !context.rule.cidr.isInRange(ip(\"10.0.0.0/8\")) && context.rule.fromPort <= %d && %d <= context.rule.toPort };\n", i, 5000+i, 5000+i)
	}
	if err := os.WriteFile(filepath.Join(dir, "p.cedar"), []byte(s.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, EntitiesFile), []byte(`[{"uid": {"type": "Palisade::Caller", "id": "local"}, "attrs": {}, "parents": [{"type": "Palisade::Team", "id": "team-0"}]}]`), 0o600); err != nil {
		b.Fatal(err)
	}
	big, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	def, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	check := Check{Caller: "local", Action: AuthorizeSecurityGroupIngress, Group: group,
		Rules: mustRules(b, rules.Ingress, tcp(443, "10.0.0.0/16", "10.1.0.0/16"))}
	for name, set := range map[string]*Set{"default": def, "statements=100": big} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if d := set.Decide(check); !d.Allowed {
					b.Fatal(d)
				}
			}
		})
	}
}
