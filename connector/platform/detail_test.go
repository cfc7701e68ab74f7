package platform

import (
	"strings"
	"testing"
)

func TestIgnoredAndJoinDetail(t *testing.T) {
	ev := Ignored(strings.Repeat("é", MaxDetail))
	if ev.Kind != KindIgnored || len(ev.Detail) > MaxDetail+len("…") || !strings.HasSuffix(ev.Detail, "…") {
		t.Fatalf("Ignored of a long detail = %+v", ev)
	}
	for _, tt := range [][3]string{{"", "b", "b"}, {"a", "", "a"}, {"a", "b", "a; b"}, {"", "", ""}} {
		if got := JoinDetail(tt[0], tt[1]); got != tt[2] {
			t.Errorf("JoinDetail(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}
