package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
)

func TestSecretValue(t *testing.T) {
	s := NewSecret("hunter2")
	if s.Value() != "hunter2" || !s.IsSet() {
		t.Errorf("Value() = %q, IsSet() = %v", s.Value(), s.IsSet())
	}
	var empty Secret
	if empty.IsSet() || empty.Value() != "" || empty.String() != "" {
		t.Errorf("empty secret: IsSet %v, Value %q, String %q", empty.IsSet(), empty.Value(), empty.String())
	}
}

func TestSecretFormatting(t *testing.T) {
	s := NewSecret("hunter2")
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("fmt %s reveals the secret: %s", verb, out)
		}
		if !strings.Contains(out, "[redacted]") && !strings.Contains(out, fmt.Sprintf("%x", "[redacted]")) && verb != "%X" {
			t.Errorf("fmt %s = %q, want the redacted form", verb, out)
		}
	}
	if got := fmt.Sprintf("%T %v", s, s); got != "config.Secret [redacted]" {
		t.Errorf("%%T %%v = %q", got)
	}
	if got := s.GoString(); got != `config.Secret("[redacted]")` {
		t.Errorf("GoString() = %q", got)
	}
	if got := fmt.Sprintf("%v|%q", Secret{}, Secret{}); got != `|""` {
		t.Errorf("empty secret prints %q, want |\"\"", got)
	}
	b, err := json.Marshal(struct{ S, E Secret }{s, Secret{}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"S":"[redacted]","E":""}` {
		t.Errorf("json = %s", b)
	}
	y, err := yaml.Marshal(map[string]Secret{"s": s})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), "hunter2") || !strings.Contains(string(y), "[redacted]") {
		t.Errorf("yaml = %s", y)
	}
}

// secretValues lists the values of every secret in c.
func secretValues(c *Config) []string {
	var out []string
	for _, f := range c.secretFields() {
		if f.secret.IsSet() {
			out = append(out, f.secret.Value())
		}
	}
	return out
}

func TestConfigNeverRevealsSecrets(t *testing.T) {
	c := validConfig(t)
	c.API.OperatorToken = NewSecret("operator-token-value")
	c.Store.DSN = NewSecret("postgres://connector:db-password-value@db/connector")
	values := secretValues(c)
	if len(values) < 8 {
		t.Fatalf("only %d secrets set; the test needs every kind", len(values))
	}

	var outputs = map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		outputs["fmt "+verb] = fmt.Sprintf(verb, *c)
		outputs["fmt "+verb+" pointer"] = fmt.Sprintf(verb, c)
		outputs["fmt "+verb+" whatsapp"] = fmt.Sprintf(verb, *c.Tenants[0].Channels[0].WhatsApp)
		outputs["fmt "+verb+" webchat"] = fmt.Sprintf(verb, c.Tenants[0].Channels[1].WebChat)
		outputs["fmt "+verb+" auth"] = fmt.Sprintf(verb, c.Tenants[1].Salesforce.Auth)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(b)
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs["yaml"] = string(y)

	var zl bytes.Buffer
	logger := zerolog.New(&zl)
	logger.Info().
		Interface("config", c).
		Any("whatsapp", c.Tenants[0].Channels[0].WhatsApp).
		Any("auth", c.Tenants[1].Salesforce.Auth).
		Stringer("dsn", c.Store.DSN).
		Str("token", fmt.Sprint(c.API.OperatorToken)).
		Msg("loaded")
	outputs["zerolog"] = zl.String()

	var sl bytes.Buffer
	slog.New(slog.NewJSONHandler(&sl, nil)).Info("loaded", "config", c, "dsn", c.Store.DSN)
	slog.New(slog.NewTextHandler(&sl, nil)).Info("loaded", "config", c, "token", c.API.OperatorToken)
	outputs["slog"] = sl.String()

	for name, out := range outputs {
		for _, v := range values {
			if strings.Contains(out, v) {
				t.Errorf("%s reveals secret %.12q...:\n%s", name, v, out)
			}
			// Also any line of a PEM key's body, or a hex dump of a value.
			for _, line := range strings.Split(v, "\n") {
				if len(line) > 20 && !strings.HasPrefix(line, "-----") && strings.Contains(out, line) {
					t.Errorf("%s reveals a line of a secret", name)
				}
			}
			if strings.Contains(out, fmt.Sprintf("%x", v)) {
				t.Errorf("%s reveals a secret in hex", name)
			}
		}
		if !strings.Contains(out, "[redacted]") && !strings.Contains(out, fmt.Sprintf("%x", "[redacted]")) {
			t.Errorf("%s shows no redacted secret at all:\n%s", name, out)
		}
	}
}

func TestSecretYAMLForms(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		want     Secret
		wantErr  string
		wantNone bool
	}{
		{name: "plain", yaml: `s: abc`, want: NewSecret("abc")},
		{name: "number", yaml: `s: 12345`, want: NewSecret("12345")},
		{name: "quoted", yaml: `s: "a: b"`, want: NewSecret("a: b")},
		{name: "null", yaml: `s: ~`, want: Secret{}},
		{name: "absent", yaml: `other: 1`, want: Secret{}},
		{name: "env", yaml: `s: {env: MY_VAR}`, want: Secret{d: &secretData{env: "MY_VAR"}}},
		{name: "file", yaml: "s:\n  file: /run/secrets/x", want: Secret{d: &secretData{file: "/run/secrets/x"}}},
		{name: "unknown key", yaml: `s: {vault: x}`, wantErr: `unknown key "vault"`},
		{name: "unknown key empty value", yaml: `s: {vault: ""}`, wantErr: `unknown key "vault"`},
		{name: "two keys", yaml: `s: {env: A, file: b}`, wantErr: "exactly one of env or file"},
		{name: "empty env", yaml: `s: {env: ""}`, wantErr: "env needs a non-empty name"},
		{name: "nested", yaml: `s: {env: {x: 1}}`, wantErr: "env needs a non-empty name"},
		{name: "sequence", yaml: `s: [a, b]`, wantErr: "a secret is a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				S     Secret `yaml:"s"`
				Other int    `yaml:"other"`
			}
			err := yaml.Unmarshal([]byte(tt.yaml), &v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "line 1") {
					t.Errorf("err = %v, want the line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v.S, tt.want) {
				t.Errorf("got %+v, want %+v", v.S.data(), tt.want.data())
			}
			if v.S.Value() != tt.want.Value() {
				t.Error("value differs")
			}
		})
	}
}

// minimalYAML is a valid configuration whose secrets come from the
// environment and from a file.
const minimalYAML = `
tenants:
  - id: t1
    salesforce:
      org_id: 00D000000000001
      login_url: https://t1.my.salesforce.com
      auth:
        flow: client_credentials
        client_id: cid
        client_secret: {env: SF_SECRET}
    channels:
      - id: wa
        platform: whatsapp
        whatsapp:
          phone_number_id: "42"
          app_secret: {env: WA_SECRET}
          verify_token: {file: %s}
`

func TestSecretsFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "verify")
	if err := os.WriteFile(path, []byte("from-file\r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := fmt.Sprintf(minimalYAML, path)
	c, err := Parse([]byte(data), envMap(map[string]string{"SF_SECRET": "sf-from-env", "WA_SECRET": "wa-from-env"}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	wa := c.Tenants[0].Channels[0].WhatsApp
	if got := c.Tenants[0].Salesforce.Auth.ClientSecret.Value(); got != "sf-from-env" {
		t.Errorf("client_secret = %q", got)
	}
	if got := wa.AppSecret.Value(); got != "wa-from-env" {
		t.Errorf("app_secret = %q", got)
	}
	if got := wa.VerifyToken.Value(); got != "from-file" {
		t.Errorf("verify_token = %q, want the file's content without trailing newlines", got)
	}
	if wa.AccessToken.IsSet() {
		t.Error("access_token set, want empty")
	}
}

func TestSecretLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	tests := []struct {
		name string
		env  map[string]string
		file string
		path string
		want string
	}{
		{
			name: "env var not set",
			env:  map[string]string{"SF_SECRET": "x"},
			file: filepath.Join(dir, "present"),
			path: "tenants[0].channels[0].whatsapp.app_secret",
			want: "environment variable WA_SECRET is not set",
		},
		{
			name: "file missing",
			env:  map[string]string{"SF_SECRET": "x", "WA_SECRET": "y"},
			file: missing,
			path: "tenants[0].channels[0].whatsapp.verify_token",
			want: "reading secret file: open " + missing,
		},
		{
			name: "env var empty",
			env:  map[string]string{"SF_SECRET": "", "WA_SECRET": "y"},
			file: filepath.Join(dir, "present"),
			path: "tenants[0].salesforce.auth.client_secret",
			want: "is required (environment variable SF_SECRET is empty)",
		},
	}
	if err := os.WriteFile(filepath.Join(dir, "present"), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(fmt.Sprintf(minimalYAML, tt.file)), envMap(tt.env))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			fes := fieldErrors(err)
			if len(fes) != 1 {
				t.Fatalf("want exactly one problem (no duplicate 'is required'), got:\n%v", err)
			}
			if fes[0].Path != tt.path || !strings.Contains(fes[0].Error(), tt.want) {
				t.Errorf("problem = %q, want path %s and %q", fes[0].Error(), tt.path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.path+": "+strings.SplitN(tt.want, ":", 2)[0]) {
				t.Errorf("error = %q", err)
			}
		})
	}
	t.Run("file error unwraps", func(t *testing.T) {
		_, err := Parse([]byte(fmt.Sprintf(minimalYAML, missing)), envMap(map[string]string{"SF_SECRET": "x", "WA_SECRET": "y"}))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error does not wrap os.ErrNotExist: %v", err)
		}
	})
}

// TestSecretFieldsListsEverySecret guards secretFields against a Secret
// added to the structs but not to the list (it would never be resolved).
func TestSecretFieldsListsEverySecret(t *testing.T) {
	c := validConfig(t)
	// Give every channel both platform sections so all pointers are walked.
	for i := range c.Tenants {
		for j := range c.Tenants[i].Channels {
			ch := &c.Tenants[i].Channels[j]
			ch.WhatsApp, ch.WebChat = &WhatsApp{}, &WebChat{}
		}
	}
	want := map[*Secret]bool{}
	var walk func(v reflect.Value)
	secretType := reflect.TypeOf(Secret{})
	walk = func(v reflect.Value) {
		switch {
		case v.Type() == secretType:
			want[v.Addr().Interface().(*Secret)] = true
		case v.Kind() == reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case v.Kind() == reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case v.Kind() == reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(c).Elem())

	got := map[*Secret]bool{}
	for _, f := range c.secretFields() {
		got[f.secret] = true
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("secretFields lists %d secrets, the structs hold %d", len(got), len(want))
	}
}
