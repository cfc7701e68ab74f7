package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/demo"
)

// TestDemoVerboseToAFileHasNoColour: `connector demo -v 2>file` writes
// the connector's log without terminal escapes, and the summary's checks
// hold.
func TestDemoVerboseToAFileHasNoColour(t *testing.T) {
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	var out bytes.Buffer
	code := run([]string{"demo", "-v", "-dir", filepath.Join(dir, "data"), "-contacts", "4", "-messages", "2"}, &out, logFile)
	b, err := os.ReadFile(logFile.Name())
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("demo exited %d:\n%s\n%s", code, out.String(), b)
	}
	if !strings.Contains(string(b), "connector started") || strings.Contains(string(b), "\x1b[") {
		t.Errorf("the log in a file has colour codes, or no log: %q", b[:min(len(b), 500)])
	}
	if !strings.Contains(out.String(), "Checks") || strings.Contains(out.String(), "FAILED") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// TestKeepSaysHowToReachTheDemo: -keep's message names the API, working
// tokens and the stand-in, and names a console only if one is served.
func TestKeepSaysHowToReachTheDemo(t *testing.T) {
	ctx := context.Background()
	d, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Contacts: 4, MessagesPerContact: 1, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	var out bytes.Buffer
	printReach(ctx, d, &out)
	for _, want := range []string{d.ConnectorURL + "/api/v1/tenants/" + d.Tenant, d.AdminToken, d.OperatorToken, d.StandinURL} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-keep's message lacks %q:\n%s", want, out.String())
		}
	}
	if has := strings.Contains(out.String(), "/console"); has != consoleExists(ctx, d.ConnectorURL+"/console") {
		t.Errorf("console named: %v, served: %v", has, !has)
	}
}
