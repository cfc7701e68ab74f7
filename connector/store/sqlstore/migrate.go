package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one schema change of a driver's embedded files.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the files of fsys's folder "migrations" in version
// order. A file is named NNNN_description.sql; NNNN is its version.
func Migrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive version and '_'", name)
		}
		body, err := fs.ReadFile(fsys, path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	if len(out) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

var (
	qMigrationsTable = Q(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version    {INTEGER|integer} PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at {INTEGER|timestamptz} NOT NULL{| DEFAULT now()}
	){ STRICT|}`)
	qMigrationsApplied = Q(`SELECT version FROM schema_migrations`)
	qMigrationApplied  = Q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`)
)

// uncached is a Querier that can run a statement without preparing it
// (SQLite's cached transaction): a migration runs once.
type uncached interface{ Uncached() Querier }

// Migrate applies the migrations of ms (in version order; when nil, those
// of fsys, see Migrations) not applied yet in one write transaction of
// update, and records them in
// schema_migrations. lock, when set, runs first in the transaction
// (PostgreSQL takes an advisory lock there, so that replicas migrating at
// once run one after the other; SQLite's write transaction holds the
// file's write lock). It is idempotent, and refuses a schema migrated by a
// newer version of the connector.
func Migrate(ctx context.Context, update func(context.Context, func(*Tx) error) error, fsys fs.FS, ms []Migration, lock func(*Tx) error) error {
	if ms == nil {
		var err error
		if ms, err = Migrations(fsys); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	err := update(ctx, func(x *Tx) error {
		if lock != nil {
			if err := lock(x); err != nil {
				return err
			}
		}
		if _, err := x.Exec(ctx, qMigrationsTable); err != nil {
			return err
		}
		applied, err := Column[int64](ctx, x.Conn, qMigrationsApplied)
		if err != nil {
			return err
		}
		done := map[int]bool{}
		for _, v := range applied {
			done[int(v)] = true
			if known := ms[len(ms)-1].Version; int(v) > known {
				return fmt.Errorf("the schema is at version %d, newer than this connector knows (%d)", v, known)
			}
		}
		q := x.Q
		if u, ok := q.(uncached); ok {
			q = u.Uncached()
		}
		for _, m := range ms {
			if done[m.Version] {
				continue
			}
			if _, err := q.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := x.Exec(ctx, qMigrationApplied, m.Version, m.Name, x.D.Time(time.Now())); err != nil {
				return fmt.Errorf("%s: record: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Batch runs fn for 0..n-1 in one write transaction of update, each call
// on its own: a call that fails is rolled back alone and its error kept at
// its index. The second result is the transaction's own error (then
// nothing of any call is stored).
//
// It is optimistic: the calls first run one after the other with no
// savepoint (on SQLite three statements a call saved, a sixth of a
// delivery's cost); only when one of them fails is that transaction rolled
// back and every call run again, each inside a savepoint. The calls must
// therefore be safe to run twice (as a transaction's body is). A call
// failing with an error the dialect finds retryable fails the whole
// transaction, for update to run it again.
func Batch(ctx context.Context, update func(context.Context, func(*Tx) error) error, n int, fn func(i int, x *Tx) error) ([]error, error) {
	errFailed := errors.New("a call failed")
	err := update(ctx, func(x *Tx) error {
		for i := range n {
			if err := fn(i, x); err != nil {
				if x.D.retryable(err) {
					return err
				}
				return errFailed
			}
		}
		return nil
	})
	switch {
	case err == nil:
		return make([]error, n), nil
	case !errors.Is(err, errFailed):
		return nil, err
	}
	var errs []error
	err = update(ctx, func(x *Tx) error {
		errs = make([]error, n)
		for i := range n {
			errs[i] = x.Savepoint(ctx, func() error { return fn(i, x) })
			if errs[i] != nil && x.D.retryable(errs[i]) {
				return errs[i]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}
