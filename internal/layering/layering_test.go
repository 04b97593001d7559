package layering

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/palisadehq/palisade"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// packages lists every package of the module with its direct imports.
func packages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var all []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
	}
	return all
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// TestImportsPointInward: cmd → services/workers → internal → gen;
// services and workers never import each other; the local EC2 endpoint
// shares no code with what it is the oracle for; the rule model is pure;
// only test files import palisadetest (a Go list's Imports are those of
// non-test files), and its lower half, infratest, imports neither
// services nor workers, so package workers' own tests can use it.
func TestImportsPointInward(t *testing.T) {
	forbidden := []struct {
		from, to, why string
	}{
		{"services", "workers", "the front end and the workers only meet on the bus"},
		{"workers", "services", "the front end and the workers only meet on the bus"},
		{"internal", "services", "internal is what both sides share"},
		{"internal", "workers", "internal is what both sides share"},
		{"internal", "cmd", "mains are leaves"},
		{"services", "cmd", "mains are leaves"},
		{"workers", "cmd", "mains are leaves"},
		{"internal", "ec2sim", "the endpoint is a test oracle, not a dependency"},
		{"services", "ec2sim", "the endpoint is a test oracle, not a dependency"},
		{"workers", "ec2sim", "the endpoint is a test oracle, not a dependency"},
		{"ec2sim", "internal", "the endpoint keeps its own model of EC2"},
		{"ec2sim", "services", "the endpoint keeps its own model of EC2"},
		{"ec2sim", "workers", "the endpoint keeps its own model of EC2"},
		{"ec2sim", "gen", "the endpoint keeps its own model of EC2"},
		{"gen", "internal", "generated code depends on nothing of ours"},
		{"palisadetest/infratest", "services", "the lower half starts no Palisade part"},
		{"palisadetest/infratest", "workers", "package workers' own tests use the lower half: an import cycle"},
		{"palisadetest", "cmd", "mains are leaves"},
	}
	pkgs := packages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := rel(imp)
			for _, f := range forbidden {
				if under(from, f.from) && under(to, f.to) {
					t.Errorf("%s imports %s: %s", from, to, f.why)
				}
			}
			if under(to, "palisadetest") && !under(from, "palisadetest") {
				t.Errorf("%s imports %s: only tests start a test stack", from, to)
			}
		}
		if under(from, "internal/rules") {
			for _, imp := range p.Imports {
				if strings.Contains(strings.Split(imp, "/")[0], ".") {
					t.Errorf("internal/rules imports %s: the rule model uses the standard library only", imp)
				}
			}
		}
	}
}
