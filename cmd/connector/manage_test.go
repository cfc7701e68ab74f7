package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/api"
	"github.com/chatsync/sfconnector/connector/ingest"
)

func writeConfig(t *testing.T) (path, db string) {
	t.Helper()
	dir := t.TempDir()
	path, db = filepath.Join(dir, "c.yaml"), filepath.Join(dir, "c.db")
	cfg := `store: {driver: sqlite, dsn: "` + db + `"}
log: {level: info, format: json}
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
	return path, db
}

func runOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("%v: exit %d: %s %s", args, code, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func runFail(t *testing.T, want string, args ...string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), want) {
		t.Fatalf("%v: exit %d, stderr %q, want %q", args, code, errOut.String(), want)
	}
}

func TestTokenCreateListRevoke(t *testing.T) {
	path, _ := writeConfig(t)
	token, info := runOK(t, "token", "create", "-config", path, "-tenant", "acme", "-role", "agent", "-name", "alice")
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, api.TokenPrefix) || len(token) != len(api.TokenPrefix)+43 || !strings.Contains(info, "shown once") {
		t.Fatalf("token %q, info %q", token, info)
	}
	op, _ := runOK(t, "token", "create", "-config", path, "-operator", "-name", "support")
	if strings.TrimSpace(op) == token {
		t.Fatal("two tokens are the same")
	}
	runFail(t, `a valid token named "alice" exists for tenant acme`, "token", "create", "-config", path, "-tenant", "acme", "-role", "admin", "-name", "alice")
	runFail(t, `no tenant "nope" is configured`, "token", "create", "-config", path, "-tenant", "nope", "-role", "agent", "-name", "x")
	runFail(t, `-role "boss": give agent or admin`, "token", "create", "-config", path, "-tenant", "acme", "-role", "boss", "-name", "x")
	runFail(t, "-name is required", "token", "create", "-config", path, "-tenant", "acme", "-role", "agent")
	runFail(t, "-operator takes neither", "token", "create", "-config", path, "-operator", "-role", "admin", "-name", "x")
	for _, name := range []string{"opt-out", "System"} {
		runFail(t, "is the connector's own", "token", "create", "-config", path, "-tenant", "acme", "-role", "agent", "-name", name)
	}
	runFail(t, "-name is not valid UTF-8", "token", "create", "-config", path, "-tenant", "acme", "-role", "agent", "-name", "a\xffb")
	runFail(t, "-name holds a control character (U+000A)", "token", "create", "-config", path, "-tenant", "acme", "-role", "agent", "-name", "x\ny")

	list, _ := runOK(t, "token", "list", "-config", path)
	if !strings.Contains(list, "alice") || !strings.Contains(list, "support") || strings.Contains(list, token) ||
		strings.Contains(list, api.HashToken(token)) || strings.Contains(list, api.TokenPrefix) {
		t.Fatalf("list %q", list)
	}
	only, _ := runOK(t, "token", "list", "-config", path, "-tenant", "acme")
	if !strings.Contains(only, "alice") || strings.Contains(only, "support") {
		t.Fatalf("tenant list %q", only)
	}

	// The token authenticates; revoked, it does not.
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := connector.OpenStore(ctx, cfg.Store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tk, err := st.TokenByHash(ctx, api.HashToken(token))
	st.Close()
	if err != nil || tk.Tenant != "acme" || tk.Name != "alice" || tk.Role != "agent" {
		t.Fatalf("stored token %+v %v", tk, err)
	}
	out, _ := runOK(t, "token", "revoke", "-config", path, "-id", strconv.FormatInt(tk.ID, 10))
	if !strings.Contains(out, "revoked") {
		t.Fatalf("revoke %q", out)
	}
	runFail(t, "no valid token has id", "token", "revoke", "-config", path, "-id", strconv.FormatInt(tk.ID, 10))
	list, _ = runOK(t, "token", "list", "-config", path, "-tenant", "acme")
	if strings.Contains(list, " -\n") {
		t.Fatalf("the revoked token shows no revocation time: %q", list)
	}
	// The name is free again.
	runOK(t, "token", "create", "-config", path, "-tenant", "acme", "-role", "admin", "-name", "alice")
}

func TestExcludedStatesGetSet(t *testing.T) {
	path, _ := writeConfig(t)
	out, _ := runOK(t, "excluded-states", "get", "-config", path, "-org", "00D000000000001AAA")
	if !strings.Contains(out, "org 00D000000000001 excludes AUTO_BOT (source default)") {
		t.Fatalf("get %q", out)
	}
	out, logs := runOK(t, "excluded-states", "set", "-config", path, "-org", "00D000000000001", "-states", "4,auto_bot", "-by", "jane")
	if !strings.Contains(out, "excludes AUTO_BOT,BLOCKED (source api, set by jane at") {
		t.Fatalf("set %q", out)
	}
	if !strings.Contains(logs, `"message":"excluded states changed"`) || !strings.Contains(logs, `"by":"jane"`) || !strings.Contains(logs, `"org":"00D000000000001"`) {
		t.Fatalf("the change is not logged: %q", logs)
	}
	out, _ = runOK(t, "excluded-states", "get", "-config", path, "-org", "00D000000000001AAA")
	if !strings.Contains(out, "excludes AUTO_BOT,BLOCKED (source api, set by jane") {
		t.Fatalf("get after set %q", out)
	}
	out, _ = runOK(t, "excluded-states", "set", "-config", path, "-org", "00D000000000001AAA", "-states", "")
	if !strings.Contains(out, "excludes (none) (source api") {
		t.Fatalf("set none %q", out)
	}
	runFail(t, "-states is required", "excluded-states", "set", "-config", path, "-org", "00D000000000001")
	runFail(t, "-by must name who makes the change", "excluded-states", "set", "-config", path, "-org", "00D000000000001", "-states", "4", "-by", " ")
	runFail(t, "-by is not valid UTF-8", "excluded-states", "set", "-config", path, "-org", "00D000000000001", "-states", "4", "-by", "\xff")
	runFail(t, "valid states are", "excluded-states", "set", "-config", path, "-org", "00D000000000001", "-states", "SLEEPING")
	runFail(t, "is not a Salesforce org id", "excluded-states", "get", "-config", path, "-org", "00X1")
	runFail(t, "-org is required", "excluded-states", "get", "-config", path)

	// The setting's history holds both changes, as the API's would.
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := connector.OpenStore(context.Background(), cfg.Store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.SettingHistory(context.Background(), ingest.OrgScope("00D000000000001"), ingest.SettingExcludedStates)
	if err != nil || len(h) != 2 || h[0].UpdatedBy != "jane" || h[0].Value != "AUTO_BOT,BLOCKED" || h[1].Value != "" {
		t.Fatalf("history %+v %v", h, err)
	}
}

// The store commands log as the configuration's log section says: with
// level info, no debug line reaches stderr. A replay with nothing to
// replay says so.
func TestQuarantineReplayLogsAtTheConfiguredLevel(t *testing.T) {
	path, _ := writeConfig(t)
	out, errOut := runOK(t, "quarantine", "replay", "-config", path, "-all")
	if !strings.Contains(out, "no quarantined events to replay") {
		t.Errorf("replay of an empty quarantine printed %q", out)
	}
	if strings.Contains(errOut, `"level":"debug"`) {
		t.Errorf("stderr holds debug lines at level info:\n%s", errOut)
	}
	if out, _ := runOK(t, "quarantine", "list", "-config", path); !strings.Contains(out, "no quarantined events") {
		t.Errorf("list of an empty quarantine printed %q", out)
	}
}
