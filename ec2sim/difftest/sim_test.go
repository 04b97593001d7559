package difftest

import "testing"

func newSimBackend(t *testing.T) *backend { return nil }

func cliEndpoint(t *testing.T) string { return startMoto(t) }
