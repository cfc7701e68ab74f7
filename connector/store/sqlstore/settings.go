package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

const settingColumns = `scope, key, value, updated_by, updated_at`

func scanSetting(sc Scanner) (store.Setting, error) {
	var s store.Setting
	return s, sc.Scan(&s.Scope, &s.Key, &s.Value, &s.UpdatedBy, T(&s.UpdatedAt))
}

var qGetSetting = Q(`SELECT ` + settingColumns + ` FROM settings WHERE scope = $1 AND key = $2`)

// GetSetting returns a setting, or ErrNotFound.
func (x *Tx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	s, err := One(ctx, x.Conn, scanSetting, qGetSetting, scope, key)
	if err != nil {
		return store.Setting{}, fmt.Errorf("get setting %s %s: %w", scope, key, err)
	}
	return s, nil
}

// settingsQueries holds qGetSettings's statements, by number of keys.
var settingsQueries sync.Map

// qGetSettings reads n settings, the keys' scopes and names in $1, $2, ...
func qGetSettings(n int) *Query {
	if q, ok := settingsQueries.Load(n); ok {
		return q.(*Query)
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + settingColumns + ` FROM settings WHERE `)
	for i := range n {
		if i > 0 {
			b.WriteString(` OR `)
		}
		fmt.Fprintf(&b, `(scope = $%d AND key = $%d)`, 2*i+1, 2*i+2)
	}
	q, _ := settingsQueries.LoadOrStore(n, Q(b.String()))
	return q.(*Query)
}

// GetSettings reads the settings of keys in one statement and returns
// those that are set, by key.
func (x *Tx) GetSettings(ctx context.Context, keys []store.SettingKey) (map[store.SettingKey]store.Setting, error) {
	if len(keys) > store.MaxSettingKeys {
		return nil, fmt.Errorf("get settings: %d keys, at most %d", len(keys), store.MaxSettingKeys)
	}
	got := make(map[store.SettingKey]store.Setting, len(keys))
	if len(keys) == 0 {
		return got, nil
	}
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k.Scope, k.Key)
	}
	ss, err := List(ctx, x.Conn, scanSetting, qGetSettings(len(keys)), args...)
	if err != nil {
		return nil, fmt.Errorf("get settings: %w", err)
	}
	for _, s := range ss {
		got[store.SettingKey{Scope: s.Scope, Key: s.Key}] = s
	}
	return got, nil
}

var (
	// qPutSetting's upsert locks the setting's row first (PostgreSQL), so
	// that the history of concurrent writes is in the order they committed.
	qPutSetting = Q(`
		INSERT INTO settings (` + settingColumns + `) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, key) DO UPDATE SET
			value = excluded.value, updated_by = excluded.updated_by, updated_at = excluded.updated_at`)
	qSettingHistory = Q(`INSERT INTO setting_history (` + settingColumns + `) VALUES ($1, $2, $3, $4, $5)`)
)

// PutSetting writes a setting and appends it to its history. Scope, Key
// and UpdatedAt are required.
func (x *Tx) PutSetting(ctx context.Context, s store.Setting) error {
	if s.Scope == "" || s.Key == "" {
		return errors.New("put setting: scope and key are required")
	}
	if s.UpdatedAt.IsZero() {
		return fmt.Errorf("put setting %s %s: UpdatedAt is required", s.Scope, s.Key)
	}
	args := []any{s.Scope, s.Key, s.Value, s.UpdatedBy, x.D.Time(s.UpdatedAt)}
	if _, err := x.Exec(ctx, qPutSetting, args...); err != nil {
		return fmt.Errorf("put setting %s %s: %w", s.Scope, s.Key, err)
	}
	if _, err := x.Exec(ctx, qSettingHistory, args...); err != nil {
		return fmt.Errorf("put setting %s %s: history: %w", s.Scope, s.Key, err)
	}
	return nil
}

var qListSettingHistory = Q(`SELECT ` + settingColumns + ` FROM setting_history WHERE scope = $1 AND key = $2 ORDER BY id`)

// SettingHistory lists the values a setting was given, oldest first.
func (s *Store) SettingHistory(ctx context.Context, scope, key string) ([]store.Setting, error) {
	out, err := List(ctx, s.r, scanSetting, qListSettingHistory, scope, key)
	if err != nil {
		return nil, fmt.Errorf("history of setting %s %s: %w", scope, key, err)
	}
	return out, nil
}

const tokenColumns = `id, tenant, name, role, hash, created_at, revoked_at`

func scanToken(sc Scanner) (store.APIToken, error) {
	var t store.APIToken
	var role string
	err := sc.Scan(&t.ID, &t.Tenant, &t.Name, &role, &t.Hash, T(&t.CreatedAt), T(&t.RevokedAt))
	t.Role = store.Role(role)
	return t, err
}

// valid is true for a token not revoked.
const valid = `{revoked_at = 0|revoked_at IS NULL}`

var (
	qTokenTaken = Q(`SELECT EXISTS (SELECT 1 FROM api_tokens WHERE tenant = $1 AND name = $2 AND ` + valid + `),
		EXISTS (SELECT 1 FROM api_tokens WHERE hash = $3)`)
	qCreateToken = Q(`INSERT INTO api_tokens (tenant, name, role, hash, created_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING ` + tokenColumns)
	qTokenByHash = Q(`SELECT ` + tokenColumns + ` FROM api_tokens WHERE hash = $1 AND ` + valid)
	qListTokens  = Q(`SELECT ` + tokenColumns + ` FROM api_tokens WHERE tenant = $1 ORDER BY id`)
	qRevokeToken = Q(`UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND ` + valid)
)

// CreateToken stores a new, valid token. A name taken by a valid token of
// the same tenant, or a hash stored already, is ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if err := store.CheckNewToken(t); err != nil {
		return store.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	var out store.APIToken
	err := s.update(ctx, func(x *Tx) error {
		var nameTaken, hashTaken bool
		err := x.Row(ctx, qTokenTaken, t.Tenant, t.Name, t.Hash).Scan(&nameTaken, &hashTaken)
		switch {
		case err != nil:
			return err
		case nameTaken:
			return fmt.Errorf("a valid token of tenant %q has that name: %w", t.Tenant, store.ErrConflict)
		case hashTaken:
			return fmt.Errorf("a token with that hash is stored: %w", store.ErrConflict)
		}
		out, err = scanToken(x.Row(ctx, qCreateToken, t.Tenant, t.Name, string(t.Role), t.Hash, x.D.Time(t.CreatedAt)))
		if err != nil && x.D.IsUnique(err) {
			// Another process took the name or the hash meanwhile.
			return fmt.Errorf("a valid token of tenant %q has that name, or one has that hash: %w", t.Tenant, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return store.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return out, nil
}

// TokenByHash returns the valid token with that hash, or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.APIToken, error) {
	t, err := One(ctx, s.r, scanToken, qTokenByHash, hash)
	if err != nil {
		return store.APIToken{}, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// ListTokens lists the tenant's tokens, revoked ones included, by ID.
func (s *Store) ListTokens(ctx context.Context, tenant string) ([]store.APIToken, error) {
	ts, err := List(ctx, s.r, scanToken, qListTokens, tenant)
	if err != nil {
		return nil, fmt.Errorf("tokens of tenant %q: %w", tenant, err)
	}
	return ts, nil
}

// RevokeToken revokes a valid token as of now; ErrNotFound when no valid
// token has id.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("revoke token %d: the time is required", id)
	}
	return s.update(ctx, func(x *Tx) error {
		return x.MustAffect(ctx, fmt.Sprintf("revoke token %d: valid token", id), qRevokeToken, id, x.D.Time(now))
	})
}
