package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/chatsync/sfconnector/statemachine"
)

// Load reads the configuration file at path and returns the configuration
// ready to use: see Parse. The process environment supplies the overrides
// and the {env: NAME} secrets. Errors about the content wrap ErrInvalid; an
// unreadable file is reported with its *fs.PathError.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse builds a configuration from YAML data, in this order:
//
//  1. decode the YAML; a key the configuration does not know is an error,
//     so that a typo is not silently ignored;
//  2. apply the CONNECTOR_* environment overrides (see the package doc);
//  3. read the {env: NAME} and {file: PATH} secrets;
//  4. fill the defaults (ApplyDefaults);
//  5. validate (Validate).
//
// env looks up an environment variable (os.LookupEnv in production); nil
// means an empty environment. A relative {file: PATH} is read relative to
// the working directory. Every problem of steps 2 to 5 is reported at once,
// each naming its key path; the error wraps ErrInvalid.
func Parse(data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	if problems := checkStateNames(data); len(problems) > 0 {
		return nil, invalid(problems)
	}

	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		if problems := typeProblems(data, err); len(problems) > 0 {
			return nil, invalid(problems)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fmt.Errorf("%w: line %d: a configuration is a single YAML document", ErrInvalid, extra.Line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}

	overridden, problems := cfg.applyEnv(env)
	problems = append(problems, cfg.resolveSecrets(env)...)
	cfg.ApplyDefaults()
	problems = append(problems, cfg.problems()...)
	for _, p := range problems {
		if name, ok := overridden[p.Path]; ok && p.Env == "" {
			p.Env = name
		}
	}
	if err := invalid(problems); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// envOverride is one CONNECTOR_* variable and the key it sets.
type envOverride struct {
	name string
	path string
	set  func(c *Config, v string) error
}

// envOverrides are the environment variables that override the file. The
// package doc and config.example.yaml list them; keep the three in step.
var envOverrides = []envOverride{
	{"CONNECTOR_LISTEN", "server.listen", func(c *Config, v string) error { c.Server.Listen = v; return nil }},
	{"CONNECTOR_STORE_DRIVER", "store.driver", func(c *Config, v string) error { c.Store.Driver = v; return nil }},
	{"CONNECTOR_STORE_DSN", "store.dsn", func(c *Config, v string) error { c.Store.DSN = NewSecret(v); return nil }},
	{"CONNECTOR_LOG_LEVEL", "log.level", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"CONNECTOR_LOG_FORMAT", "log.format", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"CONNECTOR_PUBLIC_BASE_URL", "server.public_base_url", func(c *Config, v string) error { c.Server.PublicBaseURL = v; return nil }},
	{"CONNECTOR_OPERATOR_TOKEN", "api.operator_token", func(c *Config, v string) error { c.API.OperatorToken = NewSecret(v); return nil }},
	{"CONNECTOR_SHUTDOWN_TIMEOUT", "server.shutdown_timeout", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s", v)
		}
		c.Server.ShutdownTimeout = d
		return nil
	}},
}

// applyEnv applies the overrides that are set and not empty. It returns
// the key paths it set, with the variable that set each.
func (c *Config) applyEnv(env func(string) (string, bool)) (map[string]string, []*FieldError) {
	overridden := map[string]string{}
	var problems []*FieldError
	for _, o := range envOverrides {
		v, ok := env(o.name)
		if !ok || v == "" {
			continue
		}
		if err := o.set(c, v); err != nil {
			problems = append(problems, &FieldError{Path: o.path, Problem: err.Error(), Env: o.name})
			continue
		}
		overridden[o.path] = o.name
	}
	return overridden, problems
}

// secretField is one Secret in the configuration with its key path.
type secretField struct {
	path   string
	secret *Secret
}

// secretFields lists every Secret of the configuration with its key path,
// found by walking the configuration's structs along their yaml tags, so
// that a section added later has its secrets read too.
func (c *Config) secretFields() []secretField {
	var out []secretField
	walkSecrets(reflect.ValueOf(c).Elem(), "", &out)
	return out
}

var secretType = reflect.TypeFor[Secret]()

func walkSecrets(v reflect.Value, path string, out *[]secretField) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkSecrets(v.Elem(), path, out)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Struct:
		if v.Type() == secretType {
			*out = append(*out, secretField{path, v.Addr().Interface().(*Secret)})
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			if path != "" {
				name = path + "." + name
			}
			walkSecrets(v.Field(i), name, out)
		}
	}
}

// resolveSecrets reads every {env: ...} and {file: ...} secret.
func (c *Config) resolveSecrets(env func(string) (string, bool)) []*FieldError {
	var problems []*FieldError
	for _, f := range c.secretFields() {
		if problem, cause := f.secret.resolve(env); problem != "" {
			problems = append(problems, &FieldError{Path: f.path, Problem: problem, Err: cause})
		}
	}
	return problems
}

// checkStateNames reads tenants[].salesforce.excluded_states before the
// configuration is decoded, so that a state name that does not exist is
// reported with its key path. Anything else wrong with the document is
// left for the decoder to report.
func checkStateNames(data []byte) []*FieldError {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	tenants := mappingValue(doc.Content[0], "tenants")
	if tenants == nil || tenants.Kind != yaml.SequenceNode {
		return nil
	}
	var problems []*FieldError
	for i, t := range tenants.Content {
		states := mappingValue(mappingValue(t, "salesforce"), "excluded_states")
		if states == nil || states.Kind != yaml.SequenceNode {
			continue
		}
		for j, s := range states.Content {
			if s.Kind != yaml.ScalarNode {
				continue
			}
			if _, err := statemachine.Parse(s.Value); err != nil {
				problems = append(problems, &FieldError{
					Path:    fmt.Sprintf("tenants[%d].salesforce.excluded_states[%d]", i, j),
					Problem: fmt.Sprintf("line %d", s.Line),
					Err:     err,
				})
			}
		}
	}
	return problems
}

// typeLine is how yaml.v3 words one problem of a *yaml.TypeError.
var typeLine = regexp.MustCompile(`^line (\d+): (?:field (\S+) not found in type \S+|(.*))$`)

// typeProblems turns the decoder's type errors (an unknown key, a value of
// the wrong type) into problems that name the key's path, as Validate's
// do, rather than the Go type that has no such field. It returns nil when
// err is not such an error or a line can not be placed.
func typeProblems(data []byte, err error) []*FieldError {
	var te *yaml.TypeError
	var doc yaml.Node
	if !errors.As(err, &te) || yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	var problems []*FieldError
	for _, e := range te.Errors {
		m := typeLine.FindStringSubmatch(e)
		if m == nil {
			return nil
		}
		line, _ := strconv.Atoi(m[1])
		path := keyPathAt(&doc, line, m[2])
		if path == "" {
			return nil
		}
		problem := fmt.Sprintf("line %d: ", line)
		if m[2] != "" {
			problem += "unknown key (no such setting here; check its spelling and its indentation)"
		} else {
			problem += m[3]
		}
		problems = append(problems, &FieldError{Path: path, Problem: problem})
	}
	return problems
}

// keyPathAt returns the path ("tenants[0].channels[1].whatsapp") of the
// mapping key on line (named key, when not empty) in n, or "" when none is.
// For a value on that line that is not a mapping key (a list item that
// is not a mapping), it returns the item's path.
func keyPathAt(n *yaml.Node, line int, key string) string {
	var walk func(n *yaml.Node, path string) string
	walk = func(n *yaml.Node, path string) string {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if p := walk(c, path); p != "" {
					return p
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line && (key == "" || k.Value == key) {
					return p
				}
				if found := walk(v, p); found != "" {
					return found
				}
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Kind != yaml.MappingNode && c.Line == line && key == "" {
					return p
				}
				if found := walk(c, p); found != "" {
					return found
				}
			}
		}
		return ""
	}
	return walk(n, "")
}

// mappingValue returns the value of key in a mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
