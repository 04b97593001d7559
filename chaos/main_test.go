package chaos

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// full runs every scenario at the size `make chaos` reports.
var full = flag.Bool("chaos.full", os.Getenv("CHAOS_FULL") != "", "run the scenarios at full size")

// palisadeBin is the palisade binary the scenarios start workers from,
// built once per test run.
var palisadeBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "palisade-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	palisadeBin = filepath.Join(dir, "palisade")
	build := exec.Command("go", "build", "-o", palisadeBin, "github.com/palisadehq/palisade/cmd/palisade")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build palisade: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// size picks the short or the full figure.
func size(short, fullSize int) int {
	if *full {
		return fullSize
	}
	return short
}

// figure is one named number of a scenario's report line.
type figure struct {
	name  string
	value any
}

// report prints the scenario's one line of figures, always (make chaos
// collects the lines starting "chaos "), and logs it with the test.
func report(t *testing.T, scenario string, figs ...figure) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "chaos %-18s", scenario)
	for _, f := range figs {
		v := f.value
		if d, ok := v.(time.Duration); ok {
			v = d.Round(time.Millisecond)
		}
		fmt.Fprintf(&b, " %s=%v", f.name, v)
	}
	if t.Failed() {
		b.WriteString(" INVARIANT BROKEN")
	}
	fmt.Println(b.String())
	t.Log(b.String())
}
