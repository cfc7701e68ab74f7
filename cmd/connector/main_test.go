package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRunUsageAndUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Usage:") {
		t.Fatalf("no args: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown: %d %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "connector ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
}

func TestCheckConfigNamesTheBadKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	bad := `tenants:
  - id: acme
    salesforce:
      org_id: "00X123"
      login_url: http://127.0.0.1:1
      auth: {flow: client_credentials, client_id: app, client_secret: s}
    channels:
      - id: web
        platform: webchat
        webchat: {secret: s}
`
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"check-config", "-config", path}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "tenants[0].salesforce.org_id") {
		t.Fatalf("check-config: %d %q", code, errOut.String())
	}
	good := strings.Replace(bad, "00X123", "00D000000000001AAA", 1)
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"check-config", "-config", path}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "1 tenant(s), 1 channel(s)") {
		t.Fatalf("valid config: %d %q %q", code, out.String(), errOut.String())
	}
}

func TestDeadListAndReplayOnAnEmptyStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	cfg := `store: {driver: sqlite, dsn: "` + filepath.Join(dir, "c.db") + `"}
tenants:
  - id: acme
    salesforce:
      org_id: "00D000000000001AAA"
      login_url: http://127.0.0.1:1
      auth: {flow: client_credentials, client_id: app, client_secret: s}
    channels:
      - id: web
        platform: webchat
        webchat: {secret: s}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"migrate", "-config", path}, &out, &errOut); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"dead", "list", "-config", path}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "no dead messages") {
		t.Fatalf("dead list: %d %q %q", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"dead", "replay", "-config", path, "-tenant", "acme"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "give either -id or -all") {
		t.Fatalf("replay without ids: %d %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"dead", "replay", "-config", path, "-tenant", "acme", "-all"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "replayed 0 message(s)") {
		t.Fatalf("replay all: %d %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"dead", "list", "-media", "-config", path}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "no failed media") {
		t.Fatalf("dead list -media: %d %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"dead", "replay", "-media", "-config", path, "-tenant", "acme", "-all"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "replayed 0 media item(s)") {
		t.Fatalf("dead replay -media: %d %q %q", code, out.String(), errOut.String())
	}
	// Ids that name nothing of the tenant fail, naming them.
	out.Reset()
	errOut.Reset()
	if code := run([]string{"dead", "replay", "-config", path, "-tenant", "acme", "-id", "7,9"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "tenant acme has no message 7, 9: nothing replayed") {
		t.Fatalf("dead replay of unknown ids: %d %q %q", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"dead", "replay", "-media", "-config", path, "-tenant", "acme", "-id", "3"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "tenant acme has no media item 3: nothing replayed") {
		t.Fatalf("dead replay -media of an unknown id: %d %q %q", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"dead", "replay", "-config", path, "-tenant", "nope", "-all"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `tenant "nope" is not in the configuration`) {
		t.Fatalf("dead replay of an unknown tenant: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"dead", "list", "-config", path, "-limit", "0"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "-limit must be positive, not 0") {
		t.Fatalf("dead list -limit 0: %d %q", code, errOut.String())
	}
}

func TestSetGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "") // restored when the test ends
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	setGC()
	if got := debug.SetGCPercent(100); got != DefaultGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, DefaultGCPercent)
	}
	t.Setenv("GOGC", "100")
	debug.SetGCPercent(50)
	setGC()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC set: GC percent %d, want it left alone (50)", got)
	}
}
