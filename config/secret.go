package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// redacted is what a set Secret prints instead of its value.
const redacted = "[redacted]"

// Secret is a value that must never be printed: a token, a password, a
// private key, a connection string holding a password.
//
// In YAML a Secret is either a plain string, or a mapping naming where the
// value comes from when the configuration is loaded:
//
//	app_secret: "s3cr3t"                 # inline (avoid in shared files)
//	app_secret: {env: WA_APP_SECRET}     # the environment variable's value
//	app_secret: {file: /run/secrets/wa}  # the file's content, trailing newlines trimmed
//
// Every way of printing or encoding a Secret (fmt verbs, String, GoString,
// JSON, YAML, slog) shows "[redacted]", or "" when it is empty. Only Value
// returns the secret itself.
type Secret struct {
	// d holds everything behind a pointer: reflection-based printing (fmt's
	// fallback for a wrong verb, debug dumps) then shows an address, never
	// the value. A nil d is the empty secret. d is never changed once set.
	d *secretData
}

type secretData struct {
	value string
	// env and file record where the value comes from, when it is a
	// reference; they are names, not secrets, and appear in error messages.
	env  string
	file string
	// unresolved is set when the reference could not be read at load; the
	// load error already names the problem.
	unresolved bool
}

// data returns the secret's fields, zero for the empty secret.
func (s Secret) data() secretData {
	if s.d == nil {
		return secretData{}
	}
	return *s.d
}

// NewSecret returns a Secret holding v.
func NewSecret(v string) Secret { return Secret{d: &secretData{value: v}} }

// Value returns the secret value. Call it only where the value is used,
// never to log it.
func (s Secret) Value() string { return s.data().value }

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.data().value != "" }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if !s.IsSet() {
		return ""
	}
	return redacted
}

// GoString returns the redacted form for the %#v verb.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format prints the redacted form for every fmt verb, so that no verb (%d,
// %x, ...) reaches the value through reflection.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, s.GoString())
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", s.String())
	default:
		_, _ = io.WriteString(f, s.String())
	}
}

// LogValue makes log/slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form, so that logging a configuration
// with zerolog's Interface or Any (which use encoding/json) reveals nothing.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML encodes the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// errSecretShape is wrapped by every error about a malformed secret node.
var errSecretShape = errors.New("a secret is a string, {env: NAME} or {file: PATH}")

// UnmarshalYAML reads a plain string, {env: NAME} or {file: PATH}. A
// reference is only recorded here; Parse resolves it, so that its errors
// name the key path.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			*s = Secret{}
			return nil
		}
		*s = NewSecret(n.Value)
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return fmt.Errorf("line %d: %w: give exactly one of env or file", n.Line, errSecretShape)
		}
		key, val := n.Content[0], n.Content[1]
		if key.Value != "env" && key.Value != "file" {
			return fmt.Errorf("line %d: %w: unknown key %q", key.Line, errSecretShape, key.Value)
		}
		if val.Kind != yaml.ScalarNode || val.Tag == "!!null" || strings.TrimSpace(val.Value) == "" {
			return fmt.Errorf("line %d: %w: %s needs a non-empty name", val.Line, errSecretShape, key.Value)
		}
		if key.Value == "env" {
			*s = Secret{d: &secretData{env: val.Value}}
		} else {
			*s = Secret{d: &secretData{file: val.Value}}
		}
		return nil
	default:
		return fmt.Errorf("line %d: %w", n.Line, errSecretShape)
	}
}

// source describes where a reference points, for error messages: it names
// the variable or file, never the value.
func (s Secret) source() string {
	d := s.data()
	switch {
	case d.env != "":
		return "environment variable " + d.env
	case d.file != "":
		return "file " + d.file
	}
	return ""
}

// isReference reports whether the secret came from {env: ...} or
// {file: ...}.
func (s Secret) isReference() bool {
	d := s.data()
	return d.env != "" || d.file != ""
}

// unresolved reports whether the secret's reference could not be read.
func (s Secret) unresolved() bool { return s.data().unresolved }

// resolve reads a reference's value; lookup reads the environment. A plain
// secret is left as it is. When the value can not be read, resolve returns
// what is wrong and the underlying cause, if any, for a FieldError. It
// replaces s.d rather than changing it, as copies may share it.
func (s *Secret) resolve(lookup func(string) (string, bool)) (problem string, cause error) {
	d := s.data()
	switch {
	case d.env != "":
		v, ok := lookup(d.env)
		if !ok {
			d.unresolved = true
			s.d = &d
			return "environment variable " + d.env + " is not set", nil
		}
		d.value = v
	case d.file != "":
		b, err := os.ReadFile(d.file)
		if err != nil {
			d.unresolved = true
			s.d = &d
			// The *fs.PathError names the file and the cause, not its content.
			return "reading secret file", err
		}
		d.value = strings.TrimRight(string(b), "\r\n")
	default:
		return "", nil
	}
	s.d = &d
	return "", nil
}
