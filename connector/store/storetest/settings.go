package storetest

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

func testSettings(e env) {
	get := func(scope, key string) (store.Setting, error) {
		var s store.Setting
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			s, err = tx.GetSetting(e.ctx, scope, key)
			return err
		})
		s.UpdatedAt = utc(s.UpdatedAt)
		return s, err
	}
	put := func(s store.Setting) error {
		return e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.PutSetting(e.ctx, s) })
	}
	history := func(scope, key string) []store.Setting {
		e.t.Helper()
		h, err := e.s.SettingHistory(e.ctx, scope, key)
		if err != nil {
			e.t.Fatalf("SettingHistory: %v", err)
		}
		for i := range h {
			h[i].UpdatedAt = utc(h[i].UpdatedAt)
		}
		return h
	}
	const scope, key = "org:00D000000000001", "excluded_states"

	if _, err := get(scope, key); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("GetSetting of an unset setting: %v, want ErrNotFound", err)
	}
	if h := history(scope, key); h == nil || len(h) != 0 {
		e.t.Errorf("history of an unset setting = %#v, want empty", h)
	}
	first := store.Setting{Scope: scope, Key: key, Value: "AUTO_BOT", UpdatedBy: "ops", UpdatedAt: at(time.Minute)}
	second := store.Setting{Scope: scope, Key: key, Value: "", UpdatedBy: "ops2", UpdatedAt: at(2 * time.Minute)}
	other := store.Setting{Scope: "tenant:acme", Key: "blocking_enabled", Value: "false", UpdatedBy: "admin", UpdatedAt: at(time.Minute)}
	sameKeyOtherScope := store.Setting{Scope: "org:00D000000000002", Key: key, Value: "BLOCKED", UpdatedAt: at(time.Minute)}
	sameScopeOtherKey := store.Setting{Scope: scope, Key: "other_key", Value: "1", UpdatedAt: at(time.Minute)}
	for _, s := range []store.Setting{first, other, sameKeyOtherScope, sameScopeOtherKey} {
		if err := put(s); err != nil {
			e.t.Fatalf("PutSetting(%+v): %v", s, err)
		}
	}
	if got, err := get(scope, key); err != nil || got != first {
		e.t.Errorf("GetSetting = %+v, %v; want %+v", got, err, first)
	}
	if err := put(second); err != nil {
		e.t.Fatalf("PutSetting: %v", err)
	}
	if got, err := get(scope, key); err != nil || got != second {
		e.t.Errorf("GetSetting after a second write = %+v, %v; want %+v (an empty value is a value)", got, err, second)
	}
	if got := history(scope, key); !slices.Equal(got, []store.Setting{first, second}) {
		e.t.Errorf("SettingHistory = %+v, want %+v", got, []store.Setting{first, second})
	}
	if got, err := get(other.Scope, other.Key); err != nil || got != other {
		e.t.Errorf("other setting = %+v, %v; want %+v", got, err, other)
	}
	if got, err := get(scope, sameScopeOtherKey.Key); err != nil || got != sameScopeOtherKey {
		e.t.Errorf("another key of the scope = %+v, %v; want %+v", got, err, sameScopeOtherKey)
	}
	if got := history(scope, sameScopeOtherKey.Key); !slices.Equal(got, []store.Setting{sameScopeOtherKey}) {
		e.t.Errorf("history of another key of the scope = %+v, want %+v", got, []store.Setting{sameScopeOtherKey})
	}
	if got := history(sameKeyOtherScope.Scope, key); !slices.Equal(got, []store.Setting{sameKeyOtherScope}) {
		e.t.Errorf("history of the same key in another scope = %+v, want %+v", got, []store.Setting{sameKeyOtherScope})
	}

	// A write rolled back leaves neither the value nor its history.
	boom := errors.New("boom")
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		if err := tx.PutSetting(e.ctx, store.Setting{Scope: scope, Key: key, Value: "OPEN", UpdatedAt: at(time.Hour)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		e.t.Fatalf("WithTx = %v, want boom", err)
	}
	if got, err := get(scope, key); err != nil || got != second {
		e.t.Errorf("GetSetting after a rolled back write = %+v, %v; want %+v", got, err, second)
	}
	if got := history(scope, key); len(got) != 2 {
		e.t.Errorf("history after a rolled back write = %+v, want 2 entries", got)
	}

	for _, bad := range []store.Setting{
		{Key: key, Value: "x", UpdatedAt: t0},
		{Scope: scope, Value: "x", UpdatedAt: t0},
		{Scope: scope, Key: key, Value: "x"},
	} {
		if err := put(bad); err == nil {
			e.t.Errorf("PutSetting(%+v): no error", bad)
		}
	}

	// GetSettings reads several at once, and leaves out the keys not set
	// (a key's scope and name are matched together).
	getAll := func(keys ...store.SettingKey) (map[store.SettingKey]store.Setting, error) {
		var got map[store.SettingKey]store.Setting
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.GetSettings(e.ctx, keys)
			return err
		})
		for k, s := range got {
			s.UpdatedAt = utc(s.UpdatedAt)
			got[k] = s
		}
		return got, err
	}
	keyOf := func(s store.Setting) store.SettingKey { return store.SettingKey{Scope: s.Scope, Key: s.Key} }
	unset := store.SettingKey{Scope: other.Scope, Key: key}
	got, err := getAll(keyOf(second), unset, keyOf(other), keyOf(sameScopeOtherKey))
	want := map[store.SettingKey]store.Setting{keyOf(second): second, keyOf(other): other, keyOf(sameScopeOtherKey): sameScopeOtherKey}
	if err != nil || !maps.Equal(got, want) {
		e.t.Errorf("GetSettings = %+v, %v; want %+v", got, err, want)
	}
	if got, err := getAll(unset); err != nil || len(got) != 0 {
		e.t.Errorf("GetSettings of an unset key = %+v, %v; want none", got, err)
	}
	if got, err := getAll(); err != nil || len(got) != 0 {
		e.t.Errorf("GetSettings of no key = %+v, %v; want none", got, err)
	}
	if _, err := getAll(make([]store.SettingKey, store.MaxSettingKeys+1)...); err == nil {
		e.t.Errorf("GetSettings of %d keys: no error", store.MaxSettingKeys+1)
	}
}

func normToken(t store.APIToken) store.APIToken {
	t.CreatedAt, t.RevokedAt = utc(t.CreatedAt), utc(t.RevokedAt)
	return t
}

func testTokens(e env) {
	create := func(t store.APIToken) (store.APIToken, error) {
		out, err := e.s.CreateToken(e.ctx, t)
		return normToken(out), err
	}
	mustCreate := func(t store.APIToken) store.APIToken {
		e.t.Helper()
		out, err := create(t)
		if err != nil {
			e.t.Fatalf("CreateToken(%+v): %v", t, err)
		}
		return out
	}
	list := func(tenant string) []store.APIToken {
		e.t.Helper()
		ts, err := e.s.ListTokens(e.ctx, tenant)
		if err != nil {
			e.t.Fatalf("ListTokens(%q): %v", tenant, err)
		}
		for i := range ts {
			ts[i] = normToken(ts[i])
		}
		return ts
	}
	byHash := func(hash string) (store.APIToken, error) {
		t, err := e.s.TokenByHash(e.ctx, hash)
		return normToken(t), err
	}
	revoke := func(id int64, when time.Time) error { return e.s.RevokeToken(e.ctx, id, when) }

	alice := store.APIToken{Tenant: "acme", Name: "alice", Role: store.RoleAgent, Hash: "h-alice", CreatedAt: at(time.Minute)}
	got := mustCreate(alice)
	if got.ID <= 0 {
		e.t.Errorf("CreateToken returned id %d, want positive", got.ID)
	}
	alice.ID = got.ID
	if got != alice {
		e.t.Errorf("CreateToken = %+v, want %+v", got, alice)
	}
	admin := mustCreate(store.APIToken{Tenant: "acme", Name: "boss", Role: store.RoleAdmin, Hash: "h-boss", CreatedAt: at(time.Minute)})
	operator := mustCreate(store.APIToken{Name: "support", Role: store.RoleOperator, Hash: "h-support", CreatedAt: at(time.Minute)})
	// The same name in another tenant is another token.
	otherAlice := mustCreate(store.APIToken{Tenant: "globex", Name: "alice", Role: store.RoleAdmin, Hash: "h-alice2", CreatedAt: at(time.Minute)})

	if got, err := byHash("h-alice"); err != nil || got != alice {
		e.t.Errorf("TokenByHash = %+v, %v; want %+v", got, err, alice)
	}
	if got, err := byHash("h-support"); err != nil || got != operator {
		e.t.Errorf("TokenByHash of the operator token = %+v, %v; want %+v", got, err, operator)
	}
	if _, err := byHash("h-nobody"); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("TokenByHash of an unknown hash: %v, want ErrNotFound", err)
	}

	// A valid token's name is taken in its tenant; so is a hash anywhere.
	if _, err := create(store.APIToken{Tenant: "acme", Name: "alice", Role: store.RoleAdmin, Hash: "h-new", CreatedAt: at(2 * time.Minute)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a taken name: %v, want ErrConflict", err)
	}
	if _, err := create(store.APIToken{Name: "support", Role: store.RoleOperator, Hash: "h-new", CreatedAt: at(2 * time.Minute)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a taken operator name: %v, want ErrConflict", err)
	}
	if _, err := create(store.APIToken{Tenant: "acme", Name: "carol", Role: store.RoleAgent, Hash: "h-boss", CreatedAt: at(2 * time.Minute)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a stored hash: %v, want ErrConflict", err)
	}
	for _, bad := range []store.APIToken{
		{Tenant: "acme", Role: store.RoleAgent, Hash: "h-x", CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: store.RoleAgent, CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: "root", Hash: "h-x", CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: store.RoleOperator, Hash: "h-x", CreatedAt: t0},
		{Name: "x", Role: store.RoleAdmin, Hash: "h-x", CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: store.RoleAgent, Hash: "h-x"},
	} {
		if _, err := create(bad); err == nil || errors.Is(err, store.ErrConflict) {
			e.t.Errorf("CreateToken(%+v): %v, want an error", bad, err)
		}
	}
	if got, want := list("acme"), []store.APIToken{alice, admin}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens(acme) after refused creations = %+v, want %+v", got, want)
	}

	// Revoking.
	if err := revoke(alice.ID, at(time.Hour)); err != nil {
		e.t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := byHash("h-alice"); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("TokenByHash of a revoked token: %v, want ErrNotFound", err)
	}
	if err := revoke(alice.ID, at(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("RevokeToken twice: %v, want ErrNotFound", err)
	}
	if err := revoke(operator.ID+1000, at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("RevokeToken of an unknown id: %v, want ErrNotFound", err)
	}
	if err := revoke(admin.ID, time.Time{}); err == nil {
		e.t.Errorf("RevokeToken with no time: no error")
	}
	alice.RevokedAt = at(time.Hour)
	// The name of a revoked token is free again (its hash is not).
	alice2 := mustCreate(store.APIToken{Tenant: "acme", Name: "alice", Role: store.RoleAdmin, Hash: "h-alice3", CreatedAt: at(2 * time.Hour)})
	if _, err := create(store.APIToken{Tenant: "acme", Name: "dave", Role: store.RoleAgent, Hash: "h-alice", CreatedAt: at(2 * time.Hour)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a revoked token's hash: %v, want ErrConflict", err)
	}
	if got, err := byHash("h-alice3"); err != nil || got != alice2 {
		e.t.Errorf("TokenByHash of the new token = %+v, %v; want %+v", got, err, alice2)
	}
	if got, want := list("acme"), []store.APIToken{alice, admin, alice2}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens(acme) = %+v, want %+v (revoked ones included, by id)", got, want)
	}
	if got, want := list(""), []store.APIToken{operator}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens of the operator = %+v, want %+v", got, want)
	}
	if got, want := list("globex"), []store.APIToken{otherAlice}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens(globex) = %+v, want %+v", got, want)
	}
	if got := list("nobody"); got == nil || len(got) != 0 {
		e.t.Errorf("ListTokens of an unknown tenant = %#v, want empty", got)
	}
}
