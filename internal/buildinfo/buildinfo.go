// Package buildinfo tells which parleyd is running: its module version, the
// VCS revision and time it was built from, and the Go toolchain and
// platform, from runtime/debug.ReadBuildInfo. parleyd -version prints it;
// the admin API's /api/v1/server answers it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Devel is the version of a binary built without a module version: go run,
// go test, go build outside a tagged checkout of an older toolchain.
const Devel = "(devel)"

// Info is what a binary knows of its own build. A field it does not know is
// "" (Modified false).
type Info struct {
	Version   string `json:"version"`            // main module version (v1.2.3, a pseudo-version, or Devel)
	Revision  string `json:"revision,omitempty"` // vcs.revision: the full commit hash
	Time      string `json:"time,omitempty"`     // vcs.time: the commit's time, RFC 3339
	Modified  bool   `json:"modified"`           // vcs.modified: built from a tree with uncommitted changes
	GoVersion string `json:"go_version"`         // the toolchain: go1.26.8
	Platform  string `json:"platform"`           // GOOS/GOARCH: linux/amd64
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from bi, which may be nil: the version is then
// Devel and the toolchain and platform the running ones.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: Devel, GoVersion: runtime.Version()}
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if bi != nil {
		if v := strings.TrimSpace(bi.Main.Version); v != "" {
			info.Version = v
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
	}
	info.Platform = goos + "/" + goarch
	return info
}

// ShortRevision is the revision's first 12 hex digits, as in Go's
// pseudo-versions (v0.0.0-20261207150000-abcdef123456); "" if unknown.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String is one line:
//
//	v0.0.0-20261207150000-abcdef123456+dirty (revision abcdef123456, modified, 2026-12-07T15:00:00Z) go1.26.8 linux/amd64
//	(devel) (revision unknown) go1.26.8 linux/amd64
func (i Info) String() string {
	var b strings.Builder
	v := i.Version
	if v == "" {
		v = Devel
	}
	b.WriteString(v)
	b.WriteString(" (revision ")
	if r := i.ShortRevision(); r != "" {
		b.WriteString(r)
	} else {
		b.WriteString("unknown")
	}
	if i.Modified {
		b.WriteString(", modified")
	}
	if i.Time != "" {
		b.WriteString(", ")
		b.WriteString(i.Time)
	}
	b.WriteString(")")
	for _, s := range []string{i.GoVersion, i.Platform} {
		if s != "" {
			b.WriteString(" ")
			b.WriteString(s)
		}
	}
	return b.String()
}
