package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Runtime settings (store.Setting) that ingestion reads. The API writes
// them; every replica reads them from the shared store.
const (
	// SettingExcludedStates is an org's excluded states (scope OrgScope),
	// the value a statemachine.Set's String ("AUTO_BOT,BLOCKED"; "" for
	// none).
	SettingExcludedStates = "excluded_states"
	// SettingBlockingEnabled is a tenant's blocking switch (scope
	// TenantScope), the value "true" or "false".
	SettingBlockingEnabled = "blocking_enabled"
	// SettingOptOutKeywords is a tenant's opt-out keywords (scope
	// TenantScope), the value a JSON array of strings ("[]" for none).
	SettingOptOutKeywords = "opt_out_keywords"
)

// Where an effective setting comes from, as EffectiveExcluded and
// BlockingEnabled report it.
const (
	// SourceAPI: the setting stored through the API.
	SourceAPI = "api"
	// SourceConfig: the configuration file.
	SourceConfig = "config"
	// SourceDefault: the built-in default.
	SourceDefault = "default"
)

// OrgScope is the settings scope of a Salesforce org: "org:" and the org
// id's first 15 characters (config.OrgKey), so that the 15- and
// 18-character forms of an id name the same org.
func OrgScope(orgID string) string { return "org:" + config.OrgKey(orgID) }

// TenantScope is the settings scope of a tenant: "tenant:<id>".
func TenantScope(tenant string) string { return "tenant:" + tenant }

// ParseExcludedValue reads the value of a stored SettingExcludedStates:
// state names or numbers separated by commas; an empty value is the empty
// set (nothing excluded).
func ParseExcludedValue(v string) (statemachine.Set, error) {
	var set statemachine.Set
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		s, err := statemachine.Parse(part)
		if err != nil {
			return 0, err
		}
		set = set.With(s)
	}
	return set, nil
}

// EffectiveExcluded returns the org's excluded states: the stored setting
// when there is one (source "api"), else configured (source "config" when
// the config file set excluded_states, which the caller says via
// fromConfig), else statemachine.DefaultExcluded() (source "default"). The
// setting is returned as stored (zero when there is none). A stored value
// that names no state is an error, not a silent fallback: pushing what an
// operator meant to hold back can not be undone.
func EffectiveExcluded(ctx context.Context, tx store.Tx, orgID string, configured statemachine.Set, fromConfig bool) (statemachine.Set, string, store.Setting, error) {
	s, err := tx.GetSetting(ctx, OrgScope(orgID), SettingExcludedStates)
	switch {
	case err == nil:
		set, perr := ParseExcludedValue(s.Value)
		if perr != nil {
			return 0, "", s, fmt.Errorf("org %s: stored %s %q: %w", config.OrgKey(orgID), SettingExcludedStates, s.Value, perr)
		}
		return set, SourceAPI, s, nil
	case !errors.Is(err, store.ErrNotFound):
		return 0, "", store.Setting{}, fmt.Errorf("org %s: read %s: %w", config.OrgKey(orgID), SettingExcludedStates, err)
	}
	if fromConfig {
		return configured, SourceConfig, store.Setting{}, nil
	}
	return statemachine.DefaultExcluded(), SourceDefault, store.Setting{}, nil
}

// BlockingEnabled returns whether blocking is enabled for the tenant: the
// stored setting when there is one, else configured (the configuration's
// tenants[].blocking_enabled, default true). The setting is returned as
// stored (zero when there is none). A stored value that is not a boolean
// is an error.
func BlockingEnabled(ctx context.Context, tx store.Tx, tenant string, configured bool) (bool, store.Setting, error) {
	s, err := tx.GetSetting(ctx, TenantScope(tenant), SettingBlockingEnabled)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return configured, store.Setting{}, nil
	case err != nil:
		return false, store.Setting{}, fmt.Errorf("tenant %s: read %s: %w", tenant, SettingBlockingEnabled, err)
	}
	on, perr := strconv.ParseBool(s.Value)
	if perr != nil {
		return false, s, fmt.Errorf("tenant %s: stored %s %q is not true or false: %w", tenant, SettingBlockingEnabled, s.Value, perr)
	}
	return on, s, nil
}

// OptOutKeywords returns the tenant's opt-out keywords: the stored
// setting when there is one, else configured (the configuration's
// tenants[].opt_out.keywords). The setting is returned as stored (zero
// when there is none). A stored value that is not a JSON array of strings
// is an error.
func OptOutKeywords(ctx context.Context, tx store.Tx, tenant string, configured []string) ([]string, store.Setting, error) {
	s, err := tx.GetSetting(ctx, TenantScope(tenant), SettingOptOutKeywords)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return configured, store.Setting{}, nil
	case err != nil:
		return nil, store.Setting{}, fmt.Errorf("tenant %s: read %s: %w", tenant, SettingOptOutKeywords, err)
	}
	kw := []string{}
	if err := json.Unmarshal([]byte(s.Value), &kw); err != nil {
		return nil, s, fmt.Errorf("tenant %s: stored %s %q is not a list of keywords: %w", tenant, SettingOptOutKeywords, s.Value, err)
	}
	return kw, s, nil
}
