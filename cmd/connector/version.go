package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Build stamps, set with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=..." (the Makefile's build and image targets do). When a
// stamp is missing, buildStamps falls back on what the Go toolchain
// records in the binary: the module's version (go install module@version)
// and the VCS revision and commit time (go build in a git work tree).
var (
	version = ""
	commit  = ""
	date    = ""
)

// stamps are a binary's version, commit and build date.
type stamps struct {
	Version, Commit, Date string
}

// buildStamps returns the ldflags stamps, each missing one taken from the
// build information, else "unknown" ("dev" for the version).
func buildStamps() stamps {
	info, _ := debug.ReadBuildInfo()
	return stampsFrom(stamps{version, commit, date}, info)
}

// stampsFrom fills the stamps missing in s from info (which may be nil).
func stampsFrom(s stamps, info *debug.BuildInfo) stamps {
	if info != nil {
		if s.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			s.Version = info.Main.Version
		}
		var modified bool
		var revision, vcsTime string
		for _, kv := range info.Settings {
			switch kv.Key {
			case "vcs.revision":
				revision = kv.Value
			case "vcs.time":
				vcsTime = kv.Value
			case "vcs.modified":
				modified = kv.Value == "true"
			}
		}
		if s.Commit == "" && revision != "" {
			s.Commit = revision
			if modified {
				s.Commit += "-dirty"
			}
		}
		if s.Date == "" && vcsTime != "" {
			s.Date = vcsTime + " (commit time)"
		}
	}
	if s.Version == "" {
		s.Version = "dev"
	}
	if s.Commit == "" {
		s.Commit = "unknown"
	}
	if s.Date == "" {
		s.Date = "unknown"
	}
	return s
}

// printVersion writes the version, commit, build date and Go version.
func printVersion(w io.Writer) {
	s := buildStamps()
	fmt.Fprintf(w, "connector %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s/%s\n",
		s.Version, s.Commit, s.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
