package sanitize_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/connector/sanitize"
)

func TestText(t *testing.T) {
	cases := map[string]string{
		"plain":              "plain",
		"a\x00b":             "ab",
		"\x00\x00":           "",
		"bad \xff\xfe byte":  "bad \uFFFD byte",
		"nul \x00 and \xc3(": "nul  and \uFFFD(",
		"emoji 😀 stays":      "emoji 😀 stays",
		"replacement \uFFFD": "replacement \uFFFD",
	}
	for in, want := range cases {
		got := sanitize.Text(in)
		if got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Errorf("Text(%q) = %q is not storable", in, got)
		}
		if sanitize.Text(got) != got {
			t.Errorf("Text is not idempotent on %q", in)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := sanitize.Check("fine ✓"); err != nil {
		t.Errorf("Check(valid) = %v", err)
	}
	if err := sanitize.Check("a\x00"); !errors.Is(err, sanitize.ErrNUL) {
		t.Errorf("Check(NUL) = %v, want ErrNUL", err)
	}
	if err := sanitize.Check("a\xff"); !errors.Is(err, sanitize.ErrInvalidUTF8) {
		t.Errorf("Check(invalid) = %v, want ErrInvalidUTF8", err)
	}
}

func TestLength(t *testing.T) {
	if n := sanitize.Length("aé😀"); n != 4 {
		t.Errorf("Length = %d, want 4 (an emoji counts two)", n)
	}
}

func TestTruncate(t *testing.T) {
	if got := sanitize.Truncate("short", 10); got != "short" {
		t.Errorf("Truncate(short) = %q", got)
	}
	long := strings.Repeat("é😀", 100000) // 300,000 UTF-16 units
	got := sanitize.Truncate(long, 131072)
	if n := sanitize.Length(got); n > 131072 || n < 131000 {
		t.Errorf("Length(Truncate) = %d, want at most 131072 and close to it", n)
	}
	if !utf8.ValidString(got) {
		t.Error("Truncate cut a character")
	}
	if !strings.Contains(got, sanitize.TruncatedMarker+"300000 characters") {
		t.Errorf("Truncate's marker is missing or wrong: ...%q", got[len(got)-120:])
	}
	if !strings.HasPrefix(long, strings.SplitN(got, sanitize.TruncatedMarker, 2)[0]) {
		t.Error("Truncate did not keep a prefix")
	}
	if got := sanitize.Truncate("abcdef", 3); got != "abc" {
		t.Errorf("Truncate with no room for the marker = %q, want the prefix", got)
	}
}
