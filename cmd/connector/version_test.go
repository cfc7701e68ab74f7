package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestStampsComeFromLdflagsThenBuildInfo(t *testing.T) {
	info := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/chatsync/sfconnector", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	cases := []struct {
		name      string
		ldflags   stamps
		info      *debug.BuildInfo
		wantStamp stamps
	}{
		{"ldflags win", stamps{"1.5.0", "feed", "2026-12-05T00:00:00Z"}, info, stamps{"1.5.0", "feed", "2026-12-05T00:00:00Z"}},
		{"build info fills the gaps", stamps{}, info, stamps{"v1.4.0", "0123abcd-dirty", "2026-12-01T10:00:00Z (commit time)"}},
		{"a devel build without VCS", stamps{}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, stamps{"dev", "unknown", "unknown"}},
		{"no build info", stamps{Version: "1.5.0"}, nil, stamps{"1.5.0", "unknown", "unknown"}},
	}
	for _, c := range cases {
		if got := stampsFrom(c.ldflags, c.info); got != c.wantStamp {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.wantStamp)
		}
	}
}

func TestVersionPrintsVersionCommitAndDate(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, &out); code != 0 {
		t.Fatalf("version: exit %d: %s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "connector ") || !strings.HasPrefix(lines[1], "commit: ") ||
		!strings.HasPrefix(lines[2], "built:  ") || !strings.HasPrefix(lines[3], "go:     go") {
		t.Fatalf("version printed %q", out.String())
	}
}
