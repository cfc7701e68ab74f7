package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/statemachine"
)

// exampleEnv is the environment config.example.yaml says it needs.
var exampleEnv = map[string]string{
	"SF_ACME_CLIENT_SECRET":  "sf-secret",
	"WA_ACME_APP_SECRET":     "wa-app-secret",
	"WA_ACME_VERIFY_TOKEN":   "wa-verify",
	"WA_ACME_ACCESS_TOKEN":   "wa-access",
	"WEBCHAT_ACME_SECRET":    "webchat-secret",
	"META_ACME_APP_SECRET":   "meta-app-secret",
	"META_ACME_VERIFY_TOKEN": "meta-verify",
	"TELEGRAM_ACME_SECRET":   "telegram-secret",
	"LINE_ACME_SECRET":       "line-secret",
	"TWILIO_ACME_AUTH_TOKEN": "twilio-token",
	"VIBER_ACME_AUTH_TOKEN":  "viber-token",
}

func readExample(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestExampleFileLoads(t *testing.T) {
	c, err := Parse(readExample(t), envMap(exampleEnv))
	if err != nil {
		t.Fatalf("config.example.yaml does not load: %v", err)
	}

	// Every top-level section shows exactly the defaults.
	var def Config
	def.ApplyDefaults()
	if c.Server != def.Server || c.Dispatcher != def.Dispatcher || c.Timers != def.Timers || c.Log != def.Log {
		t.Errorf("example sections differ from the defaults:\n got %+v %+v %+v %+v\nwant %+v %+v %+v %+v",
			c.Server, c.Dispatcher, c.Timers, c.Log, def.Server, def.Dispatcher, def.Timers, def.Log)
	}
	if c.Store.Driver != def.Store.Driver || c.Store.DSN.Value() != def.Store.DSN.Value() {
		t.Errorf("store = %s %q, want the defaults", c.Store.Driver, c.Store.DSN.Value())
	}
	if c.API.OperatorToken.IsSet() {
		t.Error("operator token set, want the default (empty)")
	}

	if len(c.Tenants) != 1 {
		t.Fatalf("%d tenants, want 1", len(c.Tenants))
	}
	tn := c.Tenants[0]
	if tn.Salesforce.Auth.Flow != FlowClientCredentials || tn.Salesforce.Auth.ClientSecret.Value() != "sf-secret" {
		t.Errorf("auth = %s with secret from env %v", tn.Salesforce.Auth.Flow, tn.Salesforce.Auth.ClientSecret.Value() == "sf-secret")
	}
	if tn.Salesforce.Mapping != DefaultMapping() {
		t.Errorf("mapping = %+v, want the defaults spelled out", tn.Salesforce.Mapping)
	}
	if tn.Excluded() != statemachine.DefaultExcluded() {
		t.Errorf("excluded = %v, want the default", tn.Excluded())
	}
	if !tn.Blocking() || len(tn.OptOut.Keywords) != 2 || tn.OptOut.Keywords[1] != "Do Not Disturb" || tn.OptOut.LastReply == "" {
		t.Errorf("blocking %v, opt_out %+v: want the documented example", tn.Blocking(), tn.OptOut)
	}
	wa, ok := tn.Channel("whatsapp-main")
	if !ok || wa.Platform != PlatformWhatsApp || wa.WhatsApp == nil ||
		wa.WhatsApp.AppSecret.Value() != "wa-app-secret" || wa.WhatsApp.VerifyToken.Value() != "wa-verify" ||
		wa.WhatsApp.AccessToken.Value() != "wa-access" || wa.WhatsApp.GraphURL != DefaultGraphURL {
		t.Errorf("whatsapp channel = %+v %+v", wa, wa.WhatsApp)
	}
	web, ok := tn.Channel("site-chat")
	if !ok || web.Platform != PlatformWebChat || web.WebChat == nil || web.WebChat.Secret.Value() != "webchat-secret" {
		t.Errorf("web chat channel = %+v", web)
	}
}

func TestExampleFileNamesItsEnvironment(t *testing.T) {
	data := string(readExample(t))
	// Without its variables, the example fails with one problem per
	// variable, each naming it.
	_, err := Parse([]byte(data), nil)
	for name := range exampleEnv {
		if !strings.Contains(err.Error(), "environment variable "+name+" is not set") {
			t.Errorf("missing %s not reported:\n%v", name, err)
		}
	}
	// Every {env: NAME} of the file is listed in its header, and every
	// override variable in both the header and the package doc.
	header, _, _ := strings.Cut(data, "\nserver:")
	var uncommented strings.Builder
	for _, line := range strings.Split(data, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			uncommented.WriteString(line + "\n")
		}
	}
	for _, m := range regexp.MustCompile(`\{env: ([A-Z0-9_]+)\}`).FindAllStringSubmatch(uncommented.String(), -1) {
		if !strings.Contains(header, "#     "+m[1]) {
			t.Errorf("%s is used but not listed in the header", m[1])
		}
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range envOverrides {
		if !regexp.MustCompile(o.name + `\s+` + regexp.QuoteMeta(o.path)).MatchString(header) {
			t.Errorf("%s (%s) is not in the example header", o.name, o.path)
		}
		if !regexp.MustCompile(o.name + `\s+` + regexp.QuoteMeta(o.path)).Match(doc) {
			t.Errorf("%s (%s) is not in the package doc", o.name, o.path)
		}
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"top level", "servr:\n  listen: ':1'\n", "servr: line 1: unknown key"},
		{"nested", "server:\n  lisen: ':1'\n", "server.lisen: line 2: unknown key"},
		{"in a tenant", "tenants:\n  - id: a\n    salesforce:\n      orgid: 00D000000000001\n", "tenants[0].salesforce.orgid: line 4: unknown key"},
		{"in a flow mapping", "tenants:\n  - id: a\n  - {id: b, salesforce: {org_id: x, orgid: y}}\n", "tenants[1].salesforce.orgid: line 3: unknown key"},
		{"a value of the wrong type", "server:\n  max_body_bytes: lots\n", "server.max_body_bytes: line 2: cannot unmarshal !!str `lots` into int64"},
		{"an item of the wrong type", "tenants:\n  - id: a\n  - [b]\n", "tenants[1]: line 3: cannot unmarshal !!seq into config.Tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error does not give the line: %v", err)
			}
		})
	}
}

func TestParseDocumentErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"empty", "", "tenants: at least one tenant is required"},
		{"comments only", "# nothing\n", "tenants: at least one tenant is required"},
		{"syntax", "server: [\n", "yaml:"},
		{"type", "dispatcher:\n  workers: many\n", "cannot unmarshal"},
		{"two documents", fmt.Sprintf(minimalYAML, "/x") + "---\nserver: {}\n", "single YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want %q wrapping ErrInvalid", err, tt.want)
			}
		})
	}
}

// plainYAML is minimalYAML with inline secrets and the given extra keys.
func plainYAML(extra string) string {
	return extra + `
tenants:
  - id: t1
    salesforce:
      org_id: 00D000000000001
      login_url: https://t1.my.salesforce.com
      auth: {flow: client_credentials, client_id: cid, client_secret: s1}
    channels:
      - id: wa
        platform: whatsapp
        whatsapp: {phone_number_id: "42", app_secret: s2, verify_token: s3}
`
}

func TestEnvOverrides(t *testing.T) {
	file := plainYAML(`
server: {listen: ":1", public_base_url: "https://file.example", shutdown_timeout: 5s}
store: {driver: sqlite, dsn: file.db}
log: {level: debug, format: console}
api: {operator_token: from-file}
`)
	tests := []struct {
		env   string
		value string
		check func(c *Config) bool
	}{
		{"CONNECTOR_LISTEN", "127.0.0.1:9090", func(c *Config) bool { return c.Server.Listen == "127.0.0.1:9090" }},
		{"CONNECTOR_STORE_DRIVER", "postgres", func(c *Config) bool { return c.Store.Driver == DriverPostgres }},
		{"CONNECTOR_STORE_DSN", "env.db", func(c *Config) bool { return c.Store.DSN.Value() == "env.db" }},
		{"CONNECTOR_LOG_LEVEL", "warn", func(c *Config) bool { return c.Log.Level == "warn" }},
		{"CONNECTOR_LOG_FORMAT", "json", func(c *Config) bool { return c.Log.Format == "json" }},
		{"CONNECTOR_PUBLIC_BASE_URL", "https://env.example/x", func(c *Config) bool { return c.Server.PublicBaseURL == "https://env.example/x" }},
		{"CONNECTOR_OPERATOR_TOKEN", "from-env", func(c *Config) bool { return c.API.OperatorToken.Value() == "from-env" }},
		{"CONNECTOR_SHUTDOWN_TIMEOUT", "90s", func(c *Config) bool { return c.Server.ShutdownTimeout == 90*time.Second }},
	}
	if len(tests) != len(envOverrides) {
		t.Fatalf("%d overrides tested, %d exist", len(tests), len(envOverrides))
	}
	base, err := Parse([]byte(file), nil)
	if err != nil {
		t.Fatalf("Parse without overrides: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if tt.check(base) {
				t.Fatal("the file already has the overridden value; the test proves nothing")
			}
			c, err := Parse([]byte(file), envMap(map[string]string{tt.env: tt.value}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("%s=%s not applied: %+v", tt.env, tt.value, c)
			}
			// An empty variable changes nothing.
			c, err = Parse([]byte(file), envMap(map[string]string{tt.env: ""}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.check(c) {
				t.Errorf("%s set empty was applied", tt.env)
			}
		})
	}
}

func TestEnvOverrideProblemsNameTheVariable(t *testing.T) {
	env := envMap(map[string]string{
		"CONNECTOR_LOG_LEVEL":        "loud",
		"CONNECTOR_SHUTDOWN_TIMEOUT": "soon",
		"CONNECTOR_STORE_DRIVER":     "postgres", // and no DSN
	})
	_, err := Parse([]byte(plainYAML("")), env)
	if err == nil {
		t.Fatal("Parse succeeded, want problems")
	}
	for _, want := range []string{
		`log.level: "loud" is not supported (supported: debug, info, warn, error) (set by CONNECTOR_LOG_LEVEL)`,
		`server.shutdown_timeout: "soon" is not a duration such as 30s (set by CONNECTOR_SHUTDOWN_TIMEOUT)`,
		"store.dsn: is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(plainYAML("")), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.listen", c.Server.Listen, ":8080"},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, int64(1 << 20)},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout, 30 * time.Second},
		{"server.read_timeout", c.Server.ReadTimeout, 15 * time.Second},
		{"server.public_base_url", c.Server.PublicBaseURL, ""},
		{"store.driver", c.Store.Driver, "sqlite"},
		{"store.dsn", c.Store.DSN.Value(), "data/connector.db"},
		{"dispatcher.workers", c.Dispatcher.Workers, 4},
		{"dispatcher.concurrency", c.Dispatcher.Concurrency, 4},
		{"dispatcher.claim_records", c.Dispatcher.ClaimRecords, 2000},
		{"dispatcher.batch_window", c.Dispatcher.BatchWindow, 350 * time.Millisecond},
		{"dispatcher.batch_size", c.Dispatcher.BatchSize, 200},
		{"dispatcher.max_conversations", c.Dispatcher.MaxConversations, 1000},
		{"dispatcher.lease_ttl", c.Dispatcher.LeaseTTL, 10 * time.Second},
		{"dispatcher.max_attempts", c.Dispatcher.MaxAttempts, 10},
		{"dispatcher.backoff_min", c.Dispatcher.BackoffMin, time.Second},
		{"dispatcher.backoff_max", c.Dispatcher.BackoffMax, 5 * time.Minute},
		{"dispatcher.poll_interval", c.Dispatcher.PollInterval, time.Second},
		{"dispatcher.request_timeout", c.Dispatcher.RequestTimeout, 30 * time.Second},
		{"dispatcher.limit_threshold", c.Dispatcher.LimitThreshold, 0.9},
		{"dispatcher.limit_backoff", c.Dispatcher.LimitBackoff, time.Minute},
		{"media.request_timeout", c.Media.RequestTimeout, 2 * time.Minute},
		{"media.lease_ttl", c.Media.LeaseTTL, 30 * time.Second},
		{"timers.expiry", c.Timers.Expiry, "@every 1m"},
		{"timers.retry", c.Timers.Retry, "@every 5s"},
		{"timers.rescue", c.Timers.Rescue, "@every 30s"},
		{"timers.native_blocks", c.Timers.NativeBlocks, "@every 30s"},
		{"tenant.blocking_enabled", c.Tenants[0].Blocking(), true},
		{"tenant.blocking_enabled set", c.Tenants[0].BlockingEnabled != nil, true},
		{"tenant.opt_out", c.Tenants[0].OptOut, OptOut{}},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "json"},
		{"api.operator_token", c.API.OperatorToken.IsSet(), false},
		{"salesforce.api_version", c.Tenants[0].Salesforce.APIVersion, "62.0"},
		{"salesforce.excluded_states", c.Tenants[0].Salesforce.ExcludedStates, []statemachine.State{statemachine.AutoBot}},
		{"salesforce.mapping", c.Tenants[0].Salesforce.Mapping, DefaultMapping()},
		{"channel.inactivity_timeout", c.Tenants[0].Channels[0].InactivityTimeout, 24 * time.Hour},
		{"channel.idle_close", c.Tenants[0].Channels[0].IdleClose, time.Duration(0)},
		{"whatsapp.graph_url", c.Tenants[0].Channels[0].WhatsApp.GraphURL, "https://graph.facebook.com/v21.0"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}

	var empty Config
	empty.Tenants = []Tenant{{}}
	empty.ApplyDefaults()
	if got := empty.Tenants[0].Salesforce.LoginURL; got != "https://login.salesforce.com" {
		t.Errorf("login_url = %q", got)
	}
}

func TestDefaultsKeepSetValues(t *testing.T) {
	c, err := Parse([]byte(plainYAML(`
server: {listen: ":9000", max_body_bytes: 2048}
dispatcher: {workers: 5, batch_size: 10, limit_threshold: 0.5, backoff_max: 10m}
timers: {expiry: "*/2 * * * *"}
`)), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Server.Listen != ":9000" || c.Server.MaxBodyBytes != 2048 || c.Dispatcher.Workers != 5 ||
		c.Dispatcher.BatchSize != 10 || c.Dispatcher.LimitThreshold != 0.5 || c.Dispatcher.BackoffMax != 10*time.Minute ||
		c.Timers.Expiry != "*/2 * * * *" {
		t.Errorf("set values changed: %+v %+v %+v", c.Server, c.Dispatcher, c.Timers)
	}
	// Only the partial mapping's unset names are filled.
	m := Mapping{Message: MessageMapping{Object: "Legacy_Message__c"}}
	m.applyDefaults()
	want := DefaultMapping()
	want.Message.Object = "Legacy_Message__c"
	if m != want {
		t.Errorf("mapping = %+v", m)
	}
	// ApplyDefaults is idempotent.
	before := *c
	c.ApplyDefaults()
	if !reflect.DeepEqual(before, *c) {
		t.Error("a second ApplyDefaults changed the configuration")
	}
}

func TestStoreDSNDefaultOnlyForSQLite(t *testing.T) {
	c := Config{Store: Store{Driver: DriverPostgres}}
	c.ApplyDefaults()
	if c.Store.DSN.IsSet() {
		t.Error("postgres got a default DSN")
	}
}

func TestExcludedStatesFromYAML(t *testing.T) {
	tests := []struct {
		name string
		line string
		want statemachine.Set
	}{
		{"absent", "", statemachine.NewSet(statemachine.AutoBot)},
		{"null", "excluded_states:", statemachine.NewSet(statemachine.AutoBot)},
		{"empty", "excluded_states: []", 0},
		{"names and numbers", `excluded_states: [BLOCKED, 3, auto-bot]`, statemachine.NewSet(statemachine.Blocked, statemachine.Closed, statemachine.AutoBot)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(plainYAML(""), "      auth:", "      "+tt.line+"\n      auth:", 1)
			c, err := Parse([]byte(data), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Tenants[0].Excluded(); got != tt.want {
				t.Errorf("Excluded() = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("invalid names", func(t *testing.T) {
		data := strings.Replace(plainYAML(""), "      auth:", "      excluded_states: [OPEN, SLEEPING, 7]\n      auth:", 1)
		_, err := Parse([]byte(data), nil)
		if err == nil || !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		for _, want := range []string{
			`tenants[0].salesforce.excluded_states[1]: line 7: invalid state "SLEEPING"`,
			`tenants[0].salesforce.excluded_states[2]: line 7: invalid state "7"`,
			"valid states are 0 OPEN, 1 EXPIRED, 2 AUTO_BOT, 3 CLOSED, 4 BLOCKED",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
		if !errors.Is(err, statemachine.ErrInvalidState) {
			t.Error("error does not wrap statemachine.ErrInvalidState")
		}
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "connector.yaml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(minimalYAML, filepath.Join(dir, "tok"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("verify\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SF_SECRET", "a")
	t.Setenv("WA_SECRET", "b")
	t.Setenv("CONNECTOR_LISTEN", ":7070")
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Server.Listen != ":7070" || c.Tenants[0].Channels[0].WhatsApp.AppSecret.Value() != "b" {
		t.Errorf("Load ignored the environment: listen %q", c.Server.Listen)
	}

	t.Setenv("CONNECTOR_LOG_LEVEL", "chatty")
	_, err = Load(path)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want ErrInvalid naming the file", err)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("err = %v, want a not-exist error that is not ErrInvalid", err)
	}
}
