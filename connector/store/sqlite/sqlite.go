// Package sqlite is the embedded store driver: the whole connector state in
// one SQLite file, through modernc.org/sqlite (pure Go, no cgo).
//
// # Durability
//
// A webhook is acknowledged only once its messages are committed, so a
// commit must survive a crash of the process or of the machine:
//
//   - journal_mode WAL: a commit appends to the write-ahead log, readers keep
//     reading the last committed state while a writer works, and a crash
//     leaves either the whole transaction or none of it.
//   - synchronous FULL: the log is fsynced at every commit. In WAL mode,
//     NORMAL would be faster but may lose the last commits on power loss,
//     which would break the "answered 2xx means stored" promise.
//   - foreign_keys on: a message can not point at a missing conversation.
//
// # Connections
//
// SQLite allows one writer at a time. The store therefore keeps two pools on
// the same file: a writer pool of exactly one connection, through which every
// write transaction goes (so writers of this process queue in Go, in order,
// instead of polling a lock), and a pool of read-only connections for the
// reads that need no transaction, which WAL lets run beside the writer.
// Write transactions begin IMMEDIATE (_txlock=immediate): they take the write
// lock at BEGIN, so a transaction never fails half-way when it upgrades from
// reading to writing. Another process on the same file (an operator's tool, a
// second instance started by mistake) is waited for up to the busy timeout,
// the same bound a writer of this process waits for the writer connection.
//
// Times are stored as INTEGER unix microseconds (UTC), 0 for a zero time.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatsync/sfconnector/connector/store"
)

var _ store.Store = (*Store)(nil)

// Defaults for Options left at zero.
const (
	// DefaultBusyTimeout is how long a writer waits for the database.
	DefaultBusyTimeout = 10 * time.Second
	// DefaultMaxReaders is the size of the read pool.
	DefaultMaxReaders = 4
)

// ErrBusy is returned when a write waited the whole busy timeout for the
// writer connection of this store (another write transaction held it).
var ErrBusy = errors.New("database is busy")

// ErrOwned is returned by Open with Options.Owner when another process
// owns the database file.
var ErrOwned = errors.New("the database file is owned by another process")

// Options tune Open. The zero value is usable.
type Options struct {
	// Owner marks the process that runs the connector on the file (serve):
	// Open takes an exclusive lock on "<file>-owner" that the kernel holds
	// until the process ends, and fails with ErrOwned while another process
	// holds it. One owner at a time is what lets a restarted owner take
	// back its previous run's leases at once (see TakeBackLeases). Tools
	// that open the file beside a running owner (token, dead, migrate)
	// leave it false.
	Owner bool
	// BusyTimeout is how long a write waits for the database when another
	// transaction holds it. Default DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxReaders caps the read-only connections. Default DefaultMaxReaders.
	MaxReaders int
}

// Store is the SQLite implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	stmts       *stmtCache // the write transactions' prepared statements
	owner       *os.File   // the owner lock, when Options.Owner
	w           *sql.DB    // one connection: every write goes through it
	r           *sql.DB    // read-only connections
	busyTimeout time.Duration
}

// Open opens (creating it and its parent directory when missing) the
// database file at path. It does not migrate: call Migrate.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite store: %q is not a file path", path)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = DefaultMaxReaders
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite store: create directory: %w", err)
	}
	var owner *os.File
	if opts.Owner {
		if owner, err = lockFile(abs + "-owner"); err != nil {
			return nil, fmt.Errorf("open sqlite store: %w", err)
		}
	}
	st, err := open(ctx, abs, opts)
	if err != nil {
		if owner != nil {
			_ = owner.Close()
		}
		return nil, err
	}
	st.owner = owner
	return st, nil
}

// open opens the file at the absolute path abs.
func open(ctx context.Context, abs string, opts Options) (*Store, error) {
	// The file holds personal data: create it readable by its owner only.
	// SQLite gives the -wal and -shm files the database file's permissions.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}

	busy := "busy_timeout(" + strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10) + ")"
	w, err := sql.Open("sqlite", dsn(abs, url.Values{
		// temp_store MEMORY keeps savepoints' journals (group commit, batched
		// settlements) in memory rather than in temporary files.
		"_pragma": {busy, "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "temp_store(MEMORY)"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// The writer connects first: it creates the file and turns WAL on before
	// any reader opens it.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store: journal mode is %q, not wal (is the file on a network file system?)", mode)
	}

	r, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_pragma":     {busy, "synchronous(FULL)", "foreign_keys(1)"},
		"_query_only": {"1"},
	}))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	r.SetMaxOpenConns(opts.MaxReaders)
	r.SetMaxIdleConns(opts.MaxReaders)
	if err := r.PingContext(ctx); err != nil {
		_ = errors.Join(r.Close(), w.Close())
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	return &Store{w: w, r: r, busyTimeout: opts.BusyTimeout, stmts: newStmtCache(w)}, nil
}

// dsn builds a file: URI for the driver, escaping the path.
func dsn(absPath string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(absPath), RawQuery: params.Encode()}
	return u.String()
}

// TakeBackLeases clears every lease on the file, expired or not, and
// returns how many: the leases of this owner's previous run, which died
// with its process. Only an Owner may call it; it errs otherwise.
func (s *Store) TakeBackLeases(ctx context.Context) (int, error) {
	if s.owner == nil {
		return 0, errors.New("take back leases: the store was not opened as the file's owner")
	}
	return s.RescueLeases(ctx, time.UnixMicro(math.MaxInt64))
}

// Close releases both connection pools, and the owner lock.
func (s *Store) Close() error {
	s.stmts.close()
	err := errors.Join(s.r.Close(), s.w.Close())
	if s.owner != nil {
		err = errors.Join(err, s.owner.Close())
	}
	if err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded files in version order. A file is named
// NNNN_description.sql; NNNN is its version.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive version and '_'", name)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("read migration %q: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	if len(out) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %q and %q share version %d", out[i-1].name, out[i].name, out[i].version)
		}
	}
	return out, nil
}

// Migrate applies the embedded migrations not applied yet, each in its own
// transaction, and records them in schema_migrations. It is idempotent, and
// refuses a database migrated by a newer version of the connector.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.migrate(ctx, ms)
}

// migrate applies the migrations of ms (in version order) not applied yet.
func (s *Store) migrate(ctx context.Context, ms []migration) error {
	err := s.write(ctx, func(tx cachedTx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`)
		if err != nil {
			return err
		}
		var newest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&newest); err != nil {
			return err
		}
		if known := ms[len(ms)-1].version; newest.Valid && newest.Int64 > int64(known) {
			return fmt.Errorf("database schema version %d is newer than this connector knows (%d)", newest.Int64, known)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		err := s.write(ctx, func(tx cachedTx) error {
			var applied bool
			err := tx.QueryRowContext(ctx,
				`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version).Scan(&applied)
			if err != nil || applied {
				return err
			}
			// Not through the statement cache: a migration runs once.
			if _, err := tx.Tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// WithTx runs fn in one IMMEDIATE transaction on the writer connection.
// fn must not start another write of this store (WithTx, Claim, Settle, ...):
// it would wait for the connection fn holds and fail with ErrBusy. Reads of
// the store (GetConversation, ...) are fine but see only committed data.
func (s *Store) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.write(ctx, func(t cachedTx) error { return fn(&tx{t: t}) })
}

// WithTxBatch runs each fn in one IMMEDIATE transaction, each in a
// savepoint of its own (see store.Batcher).
func (s *Store) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	return s.writeEach(ctx, len(fns), func(i int, t cachedTx) error { return fns[i](&tx{t: t}) })
}

// writeEach runs fn for 0..n-1 in one write transaction, each call on its
// own: a call that fails is rolled back alone and its error kept at its
// index. The second result is the transaction's own error.
//
// It is optimistic: the calls first run one after the other with no
// savepoint (three statements a call saved, a sixth of a delivery's cost);
// only when one of them fails is that transaction rolled back and every
// call run again, each inside a savepoint. The calls must therefore be
// safe to run twice (as a transaction's body is).
func (s *Store) writeEach(ctx context.Context, n int, fn func(i int, t cachedTx) error) ([]error, error) {
	errFailed := errors.New("a call failed")
	err := s.write(ctx, func(t cachedTx) error {
		for i := range n {
			if fn(i, t) != nil {
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
	errs := make([]error, n)
	err = s.write(ctx, func(t cachedTx) error {
		for i := range n {
			if _, err := t.ExecContext(ctx, `SAVEPOINT item`); err != nil {
				return err
			}
			if errs[i] = fn(i, t); errs[i] != nil {
				if _, err := t.ExecContext(ctx, `ROLLBACK TO item`); err != nil {
					return err
				}
			}
			if _, err := t.ExecContext(ctx, `RELEASE item`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// write runs fn in a write transaction on the writer connection: it commits
// when fn returns nil and rolls back otherwise (and when fn panics),
// returning fn's error as is.
func (s *Store) write(ctx context.Context, fn func(cachedTx) error) (err error) {
	s.stmts.prepareMisses(ctx)
	wait, cancel := context.WithTimeout(ctx, s.busyTimeout)
	conn, err := s.w.Conn(wait)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: waited %s for the writer connection", ErrBusy, s.busyTimeout)
		}
		return fmt.Errorf("get writer connection: %w", err)
	}
	defer func() {
		if cerr := conn.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("release writer connection: %w", cerr)
		}
	}()
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			// The rollback's own error adds nothing to fn's error or panic.
			_ = t.Rollback()
		}
	}()
	if err := fn(cachedTx{t, s.stmts}); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

// micros converts a time to the stored form: unix microseconds, 0 for zero.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts a stored time back; 0 is the zero time.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
