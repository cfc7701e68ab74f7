package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform/webchat"
)

// TestSignPrintsTheHeader: the body as an argument or on standard input
// gets the header the web chat's adapter checks; an unknown channel is
// refused, naming the tenant's channels.
func TestSignPrintsTheHeader(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	err := os.WriteFile(cfg, []byte(`tenants:
  - id: acme
    salesforce:
      org_id: 00D000000000001AAA
      login_url: http://127.0.0.1:8443
      auth: {flow: client_credentials, client_id: app, client_secret: s}
    channels:
      - id: web
        platform: webchat
        webchat: {secret: web-secret}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"events":[]}`
	want := webchat.SignatureHeader + ": " + webchat.Sign("web-secret", []byte(body)) + "\n"
	var out, errOut bytes.Buffer
	if err := signCmd([]string{"-config", cfg, "-channel", "web", body}, strings.NewReader(""), &out, &errOut); err != nil || out.String() != want {
		t.Fatalf("argument: %q %v, want %q", out.String(), err, want)
	}
	out.Reset()
	if err := signCmd([]string{"-config", cfg, "-tenant", "acme", "-channel", "web"}, strings.NewReader(body), &out, &errOut); err != nil || out.String() != want {
		t.Fatalf("stdin: %q %v, want %q", out.String(), err, want)
	}
	err = signCmd([]string{"-config", cfg, "-channel", "wa", body}, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `no channel "wa"; its channels: web`) {
		t.Fatalf("unknown channel: %v", err)
	}
}
