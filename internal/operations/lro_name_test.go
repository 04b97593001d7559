package operations

import "testing"

func TestNamesHavePalisadesShape(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	for name, want := range map[string]bool{
		"operations/" + id:                            true,
		"operations/" + id[:31]:                       false,
		"operations/" + id + "0":                      false,
		"operations/0123456789ABCDEF0123456789abcdef": false,
		"operations/nope":                             false,
		"operations/":                                 false,
		"operations/" + id[:30] + ".>":                false,
		"rollouts/" + id:                              false,
		id:                                            false,
	} {
		if _, ok := IDFromName(name); ok != want {
			t.Errorf("IDFromName(%q) = %v, want %v", name, ok, want)
		}
	}
	if got, ok := RolloutIDFromName("rollouts/" + id); !ok || got != id {
		t.Errorf("RolloutIDFromName: %q %v", got, ok)
	}
	if _, ok := RolloutIDFromName("rollouts/x y"); ok {
		t.Error("RolloutIDFromName accepted a malformed id")
	}
}
