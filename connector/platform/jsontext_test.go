package platform

import (
	"encoding/json"
	"testing"
)

func TestFlexString(t *testing.T) {
	for in, want := range map[string]string{
		`"abc"`: "abc", `5741311803571721087`: "5741311803571721087", `-12`: "-12",
		`null`: "", `true`: "true", `1.5`: "1.5",
	} {
		var f FlexString
		if err := json.Unmarshal([]byte(in), &f); err != nil || string(f) != want {
			t.Errorf("%s: got %q, %v", in, f, err)
		}
	}
	for _, in := range []string{`{}`, `[1]`} {
		var f FlexString
		if err := json.Unmarshal([]byte(in), &f); err == nil {
			t.Errorf("%s: want an error", in)
		}
	}
}

func TestClip(t *testing.T) {
	if got := Clip("héllo", 2); got != "h…" {
		t.Errorf("Clip cut inside a rune: %q", got)
	}
	if got := Clip("short", 10); got != "short" {
		t.Errorf("Clip changed a short string: %q", got)
	}
}
