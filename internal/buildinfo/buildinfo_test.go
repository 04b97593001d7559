package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	toolchain := func(version, rev, modified string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: version}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified},
			}}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name              string
		version, revision string
		bi                func() (*debug.BuildInfo, bool)
		want              string
	}{
		{"link-time values win", "1.2.3", "abc123", toolchain("v9.9.9", "def456", "true"), "1.2.3 (revision abc123, " + runtime.Version() + ")"},
		{"toolchain record", "", "", toolchain("v1.0.0", "def456", "false"), "v1.0.0 (revision def456, " + runtime.Version() + ")"},
		{"modified tree", "", "", toolchain("(devel)", "def456", "true"), "dev (revision def456+modified, " + runtime.Version() + ")"},
		{"nothing known", "", "", none, "dev (revision unknown, " + runtime.Version() + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := read(tt.version, tt.revision, tt.bi).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
