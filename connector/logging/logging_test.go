package logging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsoleWritesNoColourToAFile: the console format is for people, but
// a log redirected to a file or a pipe must not carry terminal escapes.
func TestConsoleWritesNoColourToAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	for _, w := range []interface{ Write([]byte) (int, error) }{f, &buf} {
		if Colourful(w) {
			t.Errorf("%T is colourful", w)
		}
		l, err := New(w, "info", "console")
		if err != nil {
			t.Fatal(err)
		}
		l.Warn().Str("tenant", "acme").Msg("hello")
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(b), buf.String()} {
		if !strings.Contains(out, "hello") || !strings.Contains(out, "tenant=acme") || strings.Contains(out, "\x1b[") {
			t.Errorf("console log %q", out)
		}
	}
}
