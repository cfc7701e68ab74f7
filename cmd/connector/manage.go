package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/api"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// maxTokenName is the most characters of a token's name.
const maxTokenName = 64

// tokenCmd runs `connector token create|list|revoke`.
func tokenCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		return errors.New("usage: connector token create|list|revoke -config FILE ...")
	}
	fs, path := configFlags("token "+args[0], stderr)
	tenant := fs.String("tenant", "", "tenant id (create: the token's tenant; list: only this tenant's tokens)")
	role := fs.String("role", "", "agent or admin (create, with -tenant)")
	operator := fs.Bool("operator", false, "create an operator token (the support team's), for no tenant")
	name := fs.String("name", "", "the token's name: the actor in histories and logs (create)")
	id := fs.Int64("id", 0, "the token's id (revoke)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	ctx := context.Background()
	cfg, st, _, err := openStore(ctx, *path, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "create":
		return createToken(ctx, cfg, st, *tenant, *role, *operator, *name, stdout, stderr)
	case "list":
		return listTokens(ctx, cfg, st, *tenant, stdout)
	}
	if *id < 1 {
		return errors.New("token revoke: -id is required (see connector token list)")
	}
	if err := st.RevokeToken(ctx, *id, time.Now().UTC()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("token revoke: no valid token has id %d", *id)
		}
		return err
	}
	fmt.Fprintf(stdout, "token %d revoked\n", *id)
	return nil
}

// reservedActors are the names the connector gives its own actions (a
// state change by the timers, an opt-out's last reply): no token may take
// one, or its actions would pass for the connector's.
var reservedActors = []string{"system", ingest.OptOutBy}

// checkActor refuses a name that histories and logs could not show as
// given: invalid UTF-8 or a control character (a line break, a tab).
func checkActor(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("is not valid UTF-8")
	}
	if i := strings.IndexFunc(name, unicode.IsControl); i >= 0 {
		return fmt.Errorf("holds a control character (%U)", []rune(name[i:])[0])
	}
	return nil
}

func createToken(ctx context.Context, cfg *config.Config, st store.Store, tenant, role string, operator bool, name string,
	stdout, stderr io.Writer) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errors.New("token create: -name is required (it names the holder in histories and logs)")
	}
	if err := checkActor(name); err != nil {
		return fmt.Errorf("token create: -name %w", err)
	}
	if n := utf8.RuneCountInString(name); n > maxTokenName {
		return fmt.Errorf("token create: -name has %d characters; the most is %d", n, maxTokenName)
	}
	if slices.Contains(reservedActors, strings.ToLower(name)) {
		return fmt.Errorf("token create: -name %q is the connector's own (in histories and on messages): choose another", name)
	}
	t := store.APIToken{Name: name, CreatedAt: time.Now().UTC()}
	switch {
	case operator:
		if tenant != "" || role != "" {
			return errors.New("token create: -operator takes neither -tenant nor -role")
		}
		t.Role = store.RoleOperator
	case tenant == "":
		return errors.New("token create: give -tenant T -role agent|admin, or -operator")
	default:
		if _, ok := cfg.Tenant(tenant); !ok {
			return fmt.Errorf("token create: no tenant %q is configured", tenant)
		}
		switch store.Role(role) {
		case store.RoleAgent, store.RoleAdmin:
		default:
			return fmt.Errorf("token create: -role %q: give agent or admin", role)
		}
		t.Tenant, t.Role = tenant, store.Role(role)
	}
	secret, err := api.NewToken()
	if err != nil {
		return err
	}
	t.Hash = api.HashToken(secret)
	created, err := st.CreateToken(ctx, t)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("token create: a valid token named %q exists for %s already; revoke it first or choose another name", name, tokenOwner(t.Tenant))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "token %d created for %s, role %s, name %s; it is shown once, store it now:\n",
		created.ID, tokenOwner(t.Tenant), t.Role, name)
	fmt.Fprintln(stdout, secret)
	return nil
}

func tokenOwner(tenant string) string {
	if tenant == "" {
		return "the operator"
	}
	return "tenant " + tenant
}

// listTokens prints the tokens (never a token or its hash).
func listTokens(ctx context.Context, cfg *config.Config, st store.Store, tenant string, stdout io.Writer) error {
	scopes := []string{tenant}
	if tenant == "" {
		scopes = []string{""}
		for _, t := range cfg.Tenants {
			scopes = append(scopes, t.ID)
		}
	}
	var all []store.APIToken
	for _, s := range scopes {
		ts, err := st.ListTokens(ctx, s)
		if err != nil {
			return err
		}
		all = append(all, ts...)
	}
	if len(all) == 0 {
		fmt.Fprintln(stdout, "no tokens")
		return nil
	}
	fmt.Fprintf(stdout, "%-6s %-12s %-9s %-24s %-20s %s\n", "ID", "TENANT", "ROLE", "NAME", "CREATED", "REVOKED")
	for _, t := range all {
		owner, revoked := t.Tenant, "-"
		if owner == "" {
			owner = "-"
		}
		if !t.RevokedAt.IsZero() {
			revoked = t.RevokedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%-6d %-12s %-9s %-24s %-20s %s\n", t.ID, owner, t.Role, t.Name, t.CreatedAt.UTC().Format(time.RFC3339), revoked)
	}
	return nil
}

// excludedStatesCmd runs `connector excluded-states get|set`, through the
// same operations as the API: the change is stored and logged alike.
func excludedStatesCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "get" && args[0] != "set") {
		return errors.New("usage: connector excluded-states get|set -config FILE -org 00D... [-states S,S] [-by NAME]")
	}
	fs, path := configFlags("excluded-states "+args[0], stderr)
	org := fs.String("org", "", "Salesforce org id, 15 or 18 characters starting 00D")
	states := fs.String("states", "", `comma-separated states by name or number (set; "" excludes nothing)`)
	by := fs.String("by", defaultActor(), "who makes the change, for the log and the setting's history (set)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	statesGiven := false
	fs.Visit(func(f *flag.Flag) { statesGiven = statesGiven || f.Name == "states" })
	if *org == "" {
		return fmt.Errorf("excluded-states %s: -org is required", args[0])
	}
	if args[0] == "set" && !statesGiven {
		return errors.New(`excluded-states set: -states is required (for example AUTO_BOT,BLOCKED; -states "" excludes nothing)`)
	}
	if *by = strings.TrimSpace(*by); args[0] == "set" && *by == "" {
		return errors.New("excluded-states set: -by must name who makes the change")
	}
	if err := checkActor(*by); args[0] == "set" && err != nil {
		return fmt.Errorf("excluded-states set: -by %w", err)
	}
	var set statemachine.Set
	if args[0] == "set" {
		for _, part := range strings.Split(*states, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			s, err := statemachine.Parse(part)
			if err != nil {
				return fmt.Errorf("excluded-states set: -states: %w", err)
			}
			set = set.With(s)
		}
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := connector.OpenStore(ctx, cfg.Store, log)
	if err != nil {
		return err
	}
	defer st.Close()
	reg, err := registry.Build(cfg, registry.Options{Logger: log})
	if err != nil {
		return err
	}
	m := connector.NewManager(cfg, st, reg, log, nil, nil)
	ex, err := m.ExcludedStates(ctx, *org)
	if args[0] == "set" && err == nil {
		ex, err = m.SetExcludedStates(ctx, *by, *org, set)
	}
	if err != nil {
		return fmt.Errorf("excluded-states %s: %w", args[0], err)
	}
	names := ex.States.String()
	if names == "" {
		names = "(none)"
	}
	fmt.Fprintf(stdout, "org %s excludes %s (source %s", ex.OrgID, names, ex.Source)
	if !ex.UpdatedAt.IsZero() {
		fmt.Fprintf(stdout, ", set by %s at %s", ex.UpdatedBy, ex.UpdatedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(stdout, ")")
	return nil
}

// defaultActor names the person running the command.
func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}
