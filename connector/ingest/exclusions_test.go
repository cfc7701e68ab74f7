package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

func putSetting(t *testing.T, st store.Store, s store.Setting) {
	t.Helper()
	ctx := context.Background()
	if err := st.WithTx(ctx, func(tx store.Tx) error { return tx.PutSetting(ctx, s) }); err != nil {
		t.Fatal(err)
	}
}

func TestScopes(t *testing.T) {
	if got := ingest.OrgScope("00D000000000001AAA"); got != "org:00D000000000001" {
		t.Errorf("OrgScope(18 chars) = %q", got)
	}
	if got := ingest.OrgScope("00D000000000001"); got != "org:00D000000000001" {
		t.Errorf("OrgScope(15 chars) = %q", got)
	}
	if got := ingest.TenantScope("acme"); got != "tenant:acme" {
		t.Errorf("TenantScope = %q", got)
	}
}

func TestParseExcludedValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want statemachine.Set
	}{
		{"", statemachine.Set(0)},
		{"AUTO_BOT", statemachine.NewSet(statemachine.AutoBot)},
		{"AUTO_BOT,BLOCKED", statemachine.NewSet(statemachine.AutoBot, statemachine.Blocked)},
		{" 4 , OPEN ", statemachine.NewSet(statemachine.Open, statemachine.Blocked)},
	} {
		got, err := ingest.ParseExcludedValue(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseExcludedValue(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := ingest.ParseExcludedValue("AUTO_BOT,NOPE"); err == nil {
		t.Error("an unknown state must be an error")
	}
}

func effective(t *testing.T, st store.Store, org string, configured statemachine.Set, fromConfig bool) (statemachine.Set, string, store.Setting, error) {
	t.Helper()
	ctx := context.Background()
	var (
		set    statemachine.Set
		source string
		s      store.Setting
		ferr   error
	)
	err := st.WithTx(ctx, func(tx store.Tx) error {
		set, source, s, ferr = ingest.EffectiveExcluded(ctx, tx, org, configured, fromConfig)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return set, source, s, ferr
}

func TestEffectiveExcludedPrecedence(t *testing.T) {
	st := newStore(t)
	conf := statemachine.NewSet(statemachine.Blocked)

	set, src, s, err := effective(t, st, "00D000000000001", conf, false)
	if err != nil || set != statemachine.DefaultExcluded() || src != ingest.SourceDefault || s != (store.Setting{}) {
		t.Fatalf("no setting, not from config: %v %q %+v %v", set, src, s, err)
	}
	set, src, _, err = effective(t, st, "00D000000000001", conf, true)
	if err != nil || set != conf || src != ingest.SourceConfig {
		t.Fatalf("no setting, from config: %v %q %v", set, src, err)
	}
	// The stored setting wins over the configuration, and an 18-character
	// id names the same org.
	putSetting(t, st, store.Setting{Scope: "org:00D000000000001", Key: ingest.SettingExcludedStates, Value: "OPEN,CLOSED", UpdatedBy: "support", UpdatedAt: t0})
	set, src, s, err = effective(t, st, "00D000000000001AAA", conf, true)
	if err != nil || set != statemachine.NewSet(statemachine.Open, statemachine.Closed) || src != ingest.SourceAPI {
		t.Fatalf("stored setting: %v %q %v", set, src, err)
	}
	if s.UpdatedBy != "support" || s.Value != "OPEN,CLOSED" {
		t.Fatalf("setting %+v", s)
	}
	// Another org is untouched.
	if _, src, _, _ := effective(t, st, "00D000000000002", conf, false); src != ingest.SourceDefault {
		t.Fatalf("another org's source %q", src)
	}
	// A stored empty list excludes nothing (it is not "no setting").
	putSetting(t, st, store.Setting{Scope: "org:00D000000000001", Key: ingest.SettingExcludedStates, Value: "", UpdatedBy: "support", UpdatedAt: t0})
	set, src, _, err = effective(t, st, "00D000000000001", conf, true)
	if err != nil || set != 0 || src != ingest.SourceAPI {
		t.Fatalf("stored empty setting: %v %q %v", set, src, err)
	}
	// A value that names no state is an error, never a fallback.
	putSetting(t, st, store.Setting{Scope: "org:00D000000000001", Key: ingest.SettingExcludedStates, Value: "AUTO_BOT,SOMETIMES", UpdatedBy: "x", UpdatedAt: t0})
	if _, _, _, err := effective(t, st, "00D000000000001", conf, true); err == nil {
		t.Fatal("a corrupt stored value must be an error")
	}
}

func TestBlockingEnabledPrecedence(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	get := func(tenant string, configured bool) (bool, store.Setting, error) {
		t.Helper()
		var (
			on   bool
			s    store.Setting
			ferr error
		)
		if err := st.WithTx(ctx, func(tx store.Tx) error {
			on, s, ferr = ingest.BlockingEnabled(ctx, tx, tenant, configured)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return on, s, ferr
	}
	for _, configured := range []bool{true, false} {
		if on, s, err := get("acme", configured); err != nil || on != configured || s != (store.Setting{}) {
			t.Fatalf("no setting, configured %v: %v %+v %v", configured, on, s, err)
		}
	}
	putSetting(t, st, store.Setting{Scope: "tenant:acme", Key: ingest.SettingBlockingEnabled, Value: "false", UpdatedBy: "admin", UpdatedAt: t0})
	if on, s, err := get("acme", true); err != nil || on || s.UpdatedBy != "admin" {
		t.Fatalf("stored false over configured true: %v %+v %v", on, s, err)
	}
	if on, _, err := get("other", false); err != nil || on {
		t.Fatalf("another tenant: %v %v", on, err)
	}
	putSetting(t, st, store.Setting{Scope: "tenant:other", Key: ingest.SettingBlockingEnabled, Value: "true", UpdatedBy: "admin", UpdatedAt: t0})
	if on, _, err := get("other", false); err != nil || !on {
		t.Fatalf("stored true over configured false: %v %v", on, err)
	}
	putSetting(t, st, store.Setting{Scope: "tenant:acme", Key: ingest.SettingBlockingEnabled, Value: "maybe", UpdatedBy: "admin", UpdatedAt: t0})
	if _, _, err := get("acme", true); err == nil {
		t.Fatal("a stored value that is not a boolean must be an error")
	}
}

func TestOptOutKeywordsPrecedence(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	get := func(tenant string, configured []string) ([]string, store.Setting, error) {
		t.Helper()
		var (
			kw   []string
			s    store.Setting
			ferr error
		)
		if err := st.WithTx(ctx, func(tx store.Tx) error {
			kw, s, ferr = ingest.OptOutKeywords(ctx, tx, tenant, configured)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return kw, s, ferr
	}
	if kw, s, err := get("acme", []string{"STOP"}); err != nil || strings.Join(kw, ",") != "STOP" || s != (store.Setting{}) {
		t.Fatalf("no setting: %v %+v %v", kw, s, err)
	}
	putSetting(t, st, store.Setting{Scope: "tenant:acme", Key: ingest.SettingOptOutKeywords, Value: `["UNSUBSCRIBE","Do Not Disturb"]`, UpdatedBy: "admin", UpdatedAt: t0})
	if kw, s, err := get("acme", []string{"STOP"}); err != nil || strings.Join(kw, ",") != "UNSUBSCRIBE,Do Not Disturb" || s.UpdatedBy != "admin" {
		t.Fatalf("stored over configured: %v %+v %v", kw, s, err)
	}
	putSetting(t, st, store.Setting{Scope: "tenant:acme", Key: ingest.SettingOptOutKeywords, Value: `[]`, UpdatedBy: "admin", UpdatedAt: t0})
	if kw, _, err := get("acme", []string{"STOP"}); err != nil || kw == nil || len(kw) != 0 {
		t.Fatalf("stored none over configured: %#v %v", kw, err)
	}
	if kw, _, err := get("other", nil); err != nil || len(kw) != 0 {
		t.Fatalf("another tenant: %v %v", kw, err)
	}
	putSetting(t, st, store.Setting{Scope: "tenant:acme", Key: ingest.SettingOptOutKeywords, Value: "STOP", UpdatedBy: "admin", UpdatedAt: t0})
	if _, _, err := get("acme", nil); err == nil {
		t.Fatal("a stored value that is not a JSON list must be an error")
	}
}
