package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func known(t *testing.T) map[string]bool {
	t.Helper()
	k, err := Known(filepath.Join("..", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(k) == 0 {
		t.Fatal("no metric listed")
	}
	return k
}

// TestShippedRulesAndDashboard: the rules and the dashboard in
// deploy/observability pass.
func TestShippedRulesAndDashboard(t *testing.T) {
	k := known(t)
	problems, err := Rules(filepath.Join("..", "prometheus-rule.yaml"), k)
	if err != nil {
		t.Fatal(err)
	}
	more, err := Dashboard(filepath.Join("..", "dashboard.json"), k)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(problems, more...) {
		t.Error(p)
	}
}

// TestLintCatchesMistakes: each kind of mistake is reported, so the test
// above can fail.
func TestLintCatchesMistakes(t *testing.T) {
	k := known(t)
	dir := t.TempDir()
	rule := func(body string) []string {
		t.Helper()
		path := filepath.Join(dir, "rule.yaml")
		doc := "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n  groups:\n  - name: g\n    rules:\n" + body
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Rules(path, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "      labels: {severity: warning}\n      annotations: {summary: s, description: d, runbook_url: u}\n"
	for _, tc := range []struct{ name, body, want string }{
		{"unparsable", "    - alert: A\n      expr: sum(rate(palisade_ec2_calls_total[5m])\n" + good, "parse error"},
		{"unknown metric", "    - alert: A\n      expr: palisade_ec2_call_total > 0\n" + good, "reads palisade_ec2_call_total"},
		{"bucket of a counter", "    - alert: A\n      expr: palisade_ec2_calls_total_bucket > 0\n" + good, "reads palisade_ec2_calls_total_bucket"},
		{"no severity", "    - alert: A\n      expr: palisade_nats_connected == 0\n      annotations: {summary: s, description: d, runbook_url: u}\n", "severity"},
		{"no runbook", "    - alert: A\n      expr: palisade_nats_connected == 0\n      labels: {severity: page}\n      annotations: {summary: s, description: d}\n", "no runbook_url"},
		{"misspelt field", "    - alert: A\n      expresion: palisade_nats_connected == 0\n" + good, "expresion"},
		{"bad template", "    - alert: A\n      expr: palisade_nats_connected == 0\n      labels: {severity: warning}\n      annotations: {summary: '{{ $value ', description: d, runbook_url: u}\n", "summary"},
	} {
		problems := rule(tc.body)
		if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want one saying %q", tc.name, problems, tc.want)
		}
	}
	// A recording rule's name may be read by the rules after it.
	if p := rule("    - record: palisade:x:rate5m\n      expr: sum(rate(palisade_ec2_calls_total[5m]))\n    - alert: A\n      expr: palisade:x:rate5m > 1\n" + good); len(p) != 0 {
		t.Errorf("recorded name refused: %q", p)
	}

	path := filepath.Join(dir, "dashboard.json")
	if err := os.WriteFile(path, []byte(`{"uid":"u","title":"t","panels":[
		{"id":1,"title":"a","gridPos":{"x":0,"y":0,"w":12,"h":8},"targets":[{"refId":"A","expr":"rate(palisade_nope_total[$__rate_interval])"}]},
		{"id":1,"title":"b","gridPos":{"x":20,"y":0,"w":12,"h":8},"targets":[{"refId":"A","expr":"sum(rate(palisade_ec2_calls_total[$__rate_interval])"}]},
		{"id":2,"type":"timeseries","title":"c","gridpos":{"x":0,"y":8,"w":12,"h":8},"targets":[{"refId":"A","expr":"palisade_nats_connected"}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := Dashboard(path, k)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{"reads palisade_nope_total", "id 1 used twice", "outside the 24 columns", "parse error", "unexpected field 'gridpos'"} {
		if !strings.Contains(all, want) {
			t.Errorf("dashboard problems %q lack %q", problems, want)
		}
	}
}
