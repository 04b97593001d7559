package natsauth_test

import (
	"os"
	"strings"
	"testing"

	"github.com/palisadehq/palisade/internal/bus"
	"github.com/palisadehq/palisade/internal/natsauth"
)

func TestEnsureCredentialsKeepsSeedsPrivateAndStable(t *testing.T) {
	dir := t.TempDir() + "/nats"
	c, err := natsauth.EnsureCredentials(dir, bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.Users(bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range bus.Roles() {
		st, err := os.Stat(c.SeedFile(r))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", c.SeedFile(r), st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("%s: mode %v, want 0700", dir, st.Mode().Perm())
	}
	// A second start keeps the keys.
	c, err = natsauth.EnsureCredentials(dir, bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Users(bus.Roles()...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if !strings.HasPrefix(first[i].NKey, "U") || first[i].NKey != again[i].NKey {
			t.Errorf("%s: key %s, then %s", first[i].Name, first[i].NKey, again[i].NKey)
		}
	}
	// A seed others can read is refused.
	if err := os.Chmod(c.SeedFile(bus.RoleAPI), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := natsauth.EnsureCredentials(dir, bus.Roles()...); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("seed readable by others: %v, want a refusal", err)
	}
}
