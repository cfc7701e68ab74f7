package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Exclusions are an org's excluded states as they are in force.
type Exclusions struct {
	// OrgID is the org id's first 15 characters.
	OrgID  string
	States statemachine.Set
	// Source is ingest.SourceAPI, SourceConfig or SourceDefault.
	Source string
	// UpdatedBy and UpdatedAt say who set them through the API, and when
	// (empty and zero for the configuration or the default).
	UpdatedBy string
	UpdatedAt time.Time
}

// configuredExcluded returns the configuration's exclusions of the org:
// those of its tenants (validation makes them agree), or the default.
func (m *Manager) configuredExcluded(orgKey string) (statemachine.Set, bool) {
	for _, t := range m.tenants {
		if config.OrgKey(t.OrgID) == orgKey && t.ExcludedConfigured {
			return t.Excluded, true
		}
	}
	return statemachine.DefaultExcluded(), false
}

func (m *Manager) exclusionsIn(ctx context.Context, tx store.Tx, orgKey string) (Exclusions, error) {
	configured, fromConfig := m.configuredExcluded(orgKey)
	set, source, s, err := ingest.EffectiveExcluded(ctx, tx, orgKey, configured, fromConfig)
	if err != nil {
		return Exclusions{}, err
	}
	return Exclusions{OrgID: orgKey, States: set, Source: source, UpdatedBy: s.UpdatedBy, UpdatedAt: s.UpdatedAt}, nil
}

// ExcludedStates returns the org's excluded states: those set through
// the API, else the configuration's, else the default (AUTO_BOT). The org
// id may have 15 or 18 characters; an org no tenant uses yet is answered
// too (the support team may set it ahead).
func (m *Manager) ExcludedStates(ctx context.Context, orgID string) (Exclusions, error) {
	key, err := CheckOrgID(orgID)
	if err != nil {
		return Exclusions{}, err
	}
	var out Exclusions
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = m.exclusionsIn(ctx, tx, key)
		return err
	})
	if err != nil {
		return Exclusions{}, fmt.Errorf("read the excluded states of org %s: %w", key, err)
	}
	return out, nil
}

// SetExcludedStates stores the org's excluded states for every replica
// (the empty set excludes nothing) and logs who changed them. Messages
// already stored keep the push decision they got.
func (m *Manager) SetExcludedStates(ctx context.Context, actor, orgID string, states statemachine.Set) (Exclusions, error) {
	key, err := CheckOrgID(orgID)
	if err != nil {
		return Exclusions{}, err
	}
	var before, out Exclusions
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		if before, err = m.exclusionsIn(ctx, tx, key); err != nil {
			return err
		}
		err = tx.PutSetting(ctx, store.Setting{Scope: ingest.OrgScope(key), Key: ingest.SettingExcludedStates,
			Value: states.String(), UpdatedBy: actor, UpdatedAt: m.now()})
		if err != nil {
			return err
		}
		out, err = m.exclusionsIn(ctx, tx, key)
		return err
	})
	if err != nil {
		return Exclusions{}, fmt.Errorf("set the excluded states of org %s: %w", key, err)
	}
	m.logger(ctx).Info().Str("org", key).Str("by", actor).Str("states", states.String()).
		Str("before", before.States.String()).Str("before_source", before.Source).Msg("excluded states changed")
	return out, nil
}

// ExclusionChange is one value an org's excluded states were given
// through the API or the connector command.
type ExclusionChange struct {
	States    statemachine.Set
	UpdatedBy string
	UpdatedAt time.Time
}

// ExcludedStatesHistory lists the values the org's excluded states were
// given, oldest first (none while only the configuration or the default
// applies).
func (m *Manager) ExcludedStatesHistory(ctx context.Context, orgID string) (string, []ExclusionChange, error) {
	key, err := CheckOrgID(orgID)
	if err != nil {
		return "", nil, err
	}
	h, err := m.cfg.Store.SettingHistory(ctx, ingest.OrgScope(key), ingest.SettingExcludedStates)
	if err != nil {
		return "", nil, fmt.Errorf("read the history of the excluded states of org %s: %w", key, err)
	}
	out := make([]ExclusionChange, 0, len(h))
	for _, s := range h {
		set, err := ingest.ParseExcludedValue(s.Value)
		if err != nil {
			return "", nil, fmt.Errorf("the history of the excluded states of org %s: %w", key, err)
		}
		out = append(out, ExclusionChange{States: set, UpdatedBy: s.UpdatedBy, UpdatedAt: s.UpdatedAt})
	}
	return key, out, nil
}

// Blocking is a tenant's blocking switch as it is in force.
type Blocking struct {
	Enabled bool
	// Source is ingest.SourceAPI when an admin set it, else
	// ingest.SourceConfig (the configuration, true by default).
	Source    string
	UpdatedBy string
	UpdatedAt time.Time
}

func (m *Manager) blockingIn(ctx context.Context, tx store.Tx, t *Tenant) (bool, Blocking, error) {
	on, s, err := ingest.BlockingEnabled(ctx, tx, t.ID, t.Blocking)
	if err != nil {
		return false, Blocking{}, err
	}
	b := Blocking{Enabled: on, Source: ingest.SourceConfig}
	if s.Scope != "" {
		b.Source, b.UpdatedBy, b.UpdatedAt = ingest.SourceAPI, s.UpdatedBy, s.UpdatedAt
	}
	return on, b, nil
}

// BlockingEnabled returns the tenant's blocking switch.
func (m *Manager) BlockingEnabled(ctx context.Context, tenant string) (Blocking, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return Blocking{}, err
	}
	var out Blocking
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		_, out, err = m.blockingIn(ctx, tx, t)
		return err
	})
	if err != nil {
		return Blocking{}, fmt.Errorf("read the blocking switch of tenant %s: %w", tenant, err)
	}
	return out, nil
}

// SetBlockingEnabled switches blocking on or off for the tenant. Off, block
// requests (and setting BLOCKED) are refused; blocks in force stay, and
// unblocking and opt-outs still work.
func (m *Manager) SetBlockingEnabled(ctx context.Context, actor, tenant string, on bool) (Blocking, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return Blocking{}, err
	}
	var out Blocking
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		err := tx.PutSetting(ctx, store.Setting{Scope: ingest.TenantScope(tenant), Key: ingest.SettingBlockingEnabled,
			Value: strconv.FormatBool(on), UpdatedBy: actor, UpdatedAt: m.now()})
		if err != nil {
			return err
		}
		_, out, err = m.blockingIn(ctx, tx, t)
		return err
	})
	if err != nil {
		return Blocking{}, fmt.Errorf("set the blocking switch of tenant %s: %w", tenant, err)
	}
	m.logger(ctx).Info().Str("tenant", tenant).Str("by", actor).Bool("blocking_enabled", on).Msg("blocking switch changed")
	return out, nil
}

// Limits of the opt-out keywords an admin sets.
const (
	MaxKeywords   = 50
	MaxKeywordLen = 64
)

// OptOut is a tenant's opt-out keywords as they are in force.
type OptOut struct {
	Keywords []string
	// Source is ingest.SourceAPI when an admin set them, else
	// ingest.SourceConfig (the configuration's opt_out.keywords).
	Source    string
	UpdatedBy string
	UpdatedAt time.Time
}

func (m *Manager) optOutIn(ctx context.Context, tx store.Tx, t *Tenant) (OptOut, error) {
	kw, s, err := ingest.OptOutKeywords(ctx, tx, t.ID, t.OptOutKeywords)
	if err != nil {
		return OptOut{}, err
	}
	out := OptOut{Keywords: append([]string{}, kw...), Source: ingest.SourceConfig}
	if s.Scope != "" {
		out.Source, out.UpdatedBy, out.UpdatedAt = ingest.SourceAPI, s.UpdatedBy, s.UpdatedAt
	}
	return out, nil
}

// OptOutKeywords returns the tenant's opt-out keywords.
func (m *Manager) OptOutKeywords(ctx context.Context, tenant string) (OptOut, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return OptOut{}, err
	}
	var out OptOut
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = m.optOutIn(ctx, tx, t)
		return err
	})
	if err != nil {
		return OptOut{}, fmt.Errorf("read the opt-out keywords of tenant %s: %w", tenant, err)
	}
	return out, nil
}

// CheckOptOutKeywords trims the keywords and refuses an empty one, one
// longer than MaxKeywordLen, more than MaxKeywords, or two equal ignoring
// case.
func CheckOptOutKeywords(keywords []string) ([]string, error) {
	if len(keywords) > MaxKeywords {
		return nil, invalid("opt_out_keywords", CodeInvalidField, "opt_out_keywords has %d keywords; the most is %d", len(keywords), MaxKeywords)
	}
	out := make([]string, 0, len(keywords))
	seen := map[string]int{}
	for i, kw := range keywords {
		field := fmt.Sprintf("opt_out_keywords[%d]", i)
		kw = strings.Join(strings.Fields(kw), " ")
		key := strings.ToLower(kw)
		switch j, dup := seen[key]; {
		case kw == "":
			return nil, invalid(field, CodeInvalidField, "%s is empty; a keyword is the text a contact sends to opt out, such as STOP", field)
		case utf8.RuneCountInString(kw) > MaxKeywordLen:
			return nil, invalid(field, CodeInvalidField, "%s has %d characters; the most is %d", field, utf8.RuneCountInString(kw), MaxKeywordLen)
		case dup:
			return nil, invalid(field, CodeInvalidField, "%s %q is already opt_out_keywords[%d] (keywords are matched ignoring case)", field, kw, j)
		}
		seen[key] = i
		out = append(out, kw)
	}
	return out, nil
}

// SetOptOutKeywords replaces the tenant's opt-out keywords for every
// replica (none: no opt-out), from the next delivery on, and logs who
// changed them. The keywords are checked by CheckOptOutKeywords.
func (m *Manager) SetOptOutKeywords(ctx context.Context, actor, tenant string, keywords []string) (OptOut, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return OptOut{}, err
	}
	kw, err := CheckOptOutKeywords(keywords)
	if err != nil {
		return OptOut{}, err
	}
	value, err := json.Marshal(kw)
	if err != nil {
		return OptOut{}, fmt.Errorf("encode the opt-out keywords: %w", err)
	}
	var out OptOut
	err = m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		err := tx.PutSetting(ctx, store.Setting{Scope: ingest.TenantScope(tenant), Key: ingest.SettingOptOutKeywords,
			Value: string(value), UpdatedBy: actor, UpdatedAt: m.now()})
		if err != nil {
			return err
		}
		out, err = m.optOutIn(ctx, tx, t)
		return err
	})
	if err != nil {
		return OptOut{}, fmt.Errorf("set the opt-out keywords of tenant %s: %w", tenant, err)
	}
	m.logger(ctx).Info().Str("tenant", tenant).Str("by", actor).Strs("opt_out_keywords", kw).Msg("opt-out keywords changed")
	return out, nil
}
