package difftest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDifferential runs the scenario against ec2sim and moto_server in
// lockstep and compares them step by step; see step for the rules.
func TestDifferential(t *testing.T) {
	moto := newBackend("moto", startMoto(t))
	sim := newSimBackend(t)

	steps := append(append(append(scenario(), newCallSteps()...), ruleCallSteps()...), pushDownSteps()...)
	checkScenario(t, steps)
	if len(steps) < 40 {
		t.Fatalf("scenario has %d steps, want at least 40", len(steps))
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			// Bounded so that a hung endpoint fails the step instead of
			// the whole test binary.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			m := toOutcome(st.do(ctx, moto))
			s := toOutcome(st.do(ctx, sim))
			t.Logf("ec2sim: %s", s)
			t.Logf("  moto: %s", m)
			if s.Code != st.want {
				t.Errorf("ec2sim answered %s, want %s (EC2's answer)", s, st.want)
			}
			if st.moto != "" {
				want := st.wantShape
				if want == "" && st.want != "OK" {
					want = errorStatus(st.want)
				}
				if want != "" && s.Code == st.want && s.Shape != want {
					t.Errorf("ec2sim result shape differs from EC2's:\n got: %s\nwant: %s", s.Shape, want)
				}
				if m.Code == st.want && (st.wantShape == "" || m.Shape == st.wantShape) {
					t.Logf("marked as a moto departure (%s) but moto gave EC2's answer %s", st.moto, m)
				}
				return
			}
			if m.Code != st.want {
				t.Errorf("moto answered %s, want %s; if this is a moto departure, mark the step", m, st.want)
			}
			if s != m {
				t.Errorf("ec2sim and moto disagree:\nec2sim: %s\n  moto: %s", s, m)
			}
		})
	}
}

// errorStatus is the HTTP status EC2 sends with a client error code (ref
// §10): 412 for a successful dry run, 400 for the codes in this scenario.
func errorStatus(code string) string {
	if code == "DryRunOperation" {
		return "HTTP412"
	}
	return "HTTP400"
}

// checkScenario rejects duplicate step names (a failure must name one step)
// and departures without a reason.
func checkScenario(t *testing.T, steps []step) {
	t.Helper()
	seen := map[string]bool{}
	for _, st := range steps {
		if seen[st.name] {
			t.Fatalf("duplicate step name %q", st.name)
		}
		seen[st.name] = true
		if st.moto != "" && !strings.HasPrefix(st.moto, "moto: ") {
			t.Fatalf("step %q: departure reason must read \"moto: …\"", st.name)
		}
		if st.wantShape != "" && st.moto == "" {
			t.Fatalf("step %q: wantShape is only for moto departures", st.name)
		}
	}
}
