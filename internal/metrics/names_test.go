package metrics

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite deploy/observability/metrics.txt from the registry")

// listFile is what the alert rules' and the dashboard's lint checks their
// metric names against (deploy/observability/lint, a module of its own).
var listFile = filepath.Join("..", "..", "deploy", "observability", "metrics.txt")

// TestMetricListIsCurrent: deploy/observability/metrics.txt lists exactly
// the metrics the code defines (go test ./internal/metrics -update
// rewrites it).
func TestMetricListIsCurrent(t *testing.T) {
	want := "# Palisade's own metrics, one name a line: go test ./internal/metrics -update rewrites this file.\n" +
		strings.Join(Names(), "\n") + "\n"
	if *update {
		if err := os.WriteFile(listFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(listFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run go test ./internal/metrics -update\ngot:\n%s\nwant:\n%s", listFile, got, want)
	}
	for _, n := range Names() {
		if !strings.HasPrefix(n, Namespace+"_") {
			t.Errorf("%s: not under %s_", n, Namespace)
		}
	}
}
