// Package buildinfo says which build of Palisade is running. `make build`
// and `make image` set Version and Revision with -ldflags -X; a plain
// `go build` falls back on what the Go toolchain recorded (the module
// version and the VCS revision), so every binary can name its source.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Revision are set at link time:
//
//	-ldflags "-X github.com/palisadehq/palisade/internal/buildinfo.Version=1.2.3
//	          -X github.com/palisadehq/palisade/internal/buildinfo.Revision=<commit>"
var (
	Version  = ""
	Revision = ""
)

// Info is what a binary knows of its build.
type Info struct {
	Version  string // a release such as 1.2.3, or "dev"
	Revision string // the commit, or "unknown"
	Modified bool   // built from a tree with uncommitted changes
	Go       string // the Go release that built it
}

// Read returns the build's Info: the link-time values first, then the
// toolchain's record.
func Read() Info {
	return read(Version, Revision, debug.ReadBuildInfo)
}

func read(version, revision string, bi func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: version, Revision: revision, Go: runtime.Version()}
	if b, ok := bi(); ok {
		if info.Version == "" && b.Main.Version != "" && b.Main.Version != "(devel)" {
			info.Version = b.Main.Version
		}
		for _, s := range b.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Revision == "" {
					info.Revision = s.Value
				}
			case "vcs.modified":
				// Only the toolchain's own revision can be called modified:
				// a link-time revision says what it says.
				info.Modified = revision == "" && s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Revision == "" {
		info.Revision = "unknown"
	}
	return info
}

// String is the one line `--version` prints, e.g.
// "palisade 1.2.3 (revision 0123abc, go1.26.8)".
func (i Info) String() string {
	rev := i.Revision
	if i.Modified {
		rev += "+modified"
	}
	return fmt.Sprintf("%s (revision %s, %s)", i.Version, rev, i.Go)
}
