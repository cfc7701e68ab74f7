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
// The write transactions run on the writer's driver connection directly,
// not through database/sql (see writerTx in stmts.go): for the short
// statements of a delivery, database/sql's per-statement goroutine,
// bookkeeping and reflection cost the one writer more than SQLite itself.
//
// Times are stored as INTEGER unix microseconds (UTC), 0 for a zero time.
//
// # Leases
//
// Opened as the file's owner (Options.Owner, what serve uses), the store
// keeps the conversations' leases in memory (memLeases): a claim leases
// its candidates there and checks on a fresh read that they are still as
// its snapshot read them, without the writer; a settlement releases them
// once committed. Opened otherwise (a tool beside no owner, the
// multi-process tests), it writes its leases to the file.
//
// The SQL this driver shares with store/postgres (every primitive of
// store.Tx, the reads, the small writes) is in store/sqlstore; here are the
// opening, the write transaction with its statement cache, and the claims
// and settlements of the outbox.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
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
	*sqlstore.Store
	stmts       *stmtCache // the write transactions' prepared statements
	owner       *os.File   // the owner lock, when Options.Owner
	mem         *memLeases // the conversations' leases, when Options.Owner
	w           *sql.DB    // one connection: every write goes through it
	r           *sql.DB    // read-only connections
	busyTimeout time.Duration
	closed      atomic.Bool
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
	if owner != nil {
		st.mem = newMemLeases()
	}
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
	s := &Store{w: w, r: r, busyTimeout: opts.BusyTimeout, stmts: newStmtCache()}
	s.Store = sqlstore.New(dialect, r, s.update)
	return s, nil
}

// dsn builds a file: URI for the driver, escaping the path.
func dsn(absPath string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(absPath), RawQuery: params.Encode()}
	return u.String()
}

// TakenBack counts what TakeBackLeases took back.
type TakenBack struct {
	Conversations int // leases cleared: their outboxes are claimable at once
	Media         int // media items held by a claim: due at once
}

// qTakeBackMedia makes the media items a claim held (ClaimMedia, until
// their next update) due again, as of their last update.
var qTakeBackMedia = sqlstore.Q(`UPDATE media SET held_by = '', next_attempt_at = updated_at WHERE held_by <> ''`)

// TakeBackLeases takes back the work of this owner's previous run, which
// died with its process: it clears every conversation's lease written to
// the file (by a run of an earlier version, or by a tool that claimed
// beside no owner; an owner keeps its own in memory), expired or not, and
// makes every media item a claim held due again (an item waiting out a
// retry's backoff keeps waiting). Only an Owner may call it; it errs
// otherwise.
func (s *Store) TakeBackLeases(ctx context.Context) (TakenBack, error) {
	if s.owner == nil {
		return TakenBack{}, errors.New("take back leases: the store was not opened as the file's owner")
	}
	var tb TakenBack
	err := s.update(ctx, func(x *sqlstore.Tx) error {
		conv, err := x.Affected(ctx, sqlstore.QRescueLeases, dialect.Time(time.UnixMicro(math.MaxInt64)))
		if err != nil {
			return err
		}
		media, err := x.Affected(ctx, qTakeBackMedia)
		tb = TakenBack{Conversations: int(conv), Media: int(media)}
		return err
	})
	if err != nil {
		return TakenBack{}, fmt.Errorf("take back leases: %w", err)
	}
	return tb, nil
}

// RescueLeases clears the leases that expired at or before now, written
// or (for an owner) in memory, and returns how many.
func (s *Store) RescueLeases(ctx context.Context, now time.Time) (int, error) {
	n, err := s.Store.RescueLeases(ctx, now)
	if err != nil || s.mem == nil {
		return n, err
	}
	return n + s.mem.rescue(now), nil
}

// Close releases both connection pools, and the owner lock.
func (s *Store) Close() error {
	var err error
	if !s.closed.Swap(true) { // a second Close finds the statements gone
		err = s.closeStatements()
	}
	err = errors.Join(err, s.r.Close(), s.w.Close())
	if s.owner != nil {
		err = errors.Join(err, s.owner.Close())
	}
	if err != nil {
		return fmt.Errorf("close sqlite store: %w", err)
	}
	return nil
}

// closeStatements finalizes the writer's prepared statements, which
// would otherwise keep its connection from closing.
func (s *Store) closeStatements() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.busyTimeout)
	defer cancel()
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("finalize the statements: %w", err)
	}
	err = conn.Raw(func(dc any) error {
		c, _ := dc.(driverConn)
		return s.stmts.close(c)
	})
	return errors.Join(err, conn.Close())
}

// Migrate applies the embedded migrations not applied yet, in one write
// transaction, and records them in schema_migrations. It is idempotent,
// and refuses a database migrated by a newer version of the connector.
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx, nil) }

// migrate applies the migrations of ms (in version order; the embedded
// ones when nil) not applied yet.
func (s *Store) migrate(ctx context.Context, ms []sqlstore.Migration) error {
	return sqlstore.Migrate(ctx, s.update, migrationFiles, ms, nil)
}

// migrationFiles are the schema changes, numbered as PostgreSQL's.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// WithTx runs fn in one IMMEDIATE transaction on the writer connection.
// fn must not start another write of this store (WithTx, Claim, Settle, ...):
// it would wait for the connection fn holds and fail with ErrBusy. Reads of
// the store (GetConversation, ...) are fine but see only committed data.
func (s *Store) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.update(ctx, func(x *sqlstore.Tx) error { return fn(x) })
}

// WithTxBatch runs each fn in one IMMEDIATE transaction, each in a
// savepoint of its own (see store.Batcher and sqlstore.Batch).
func (s *Store) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	return sqlstore.Batch(ctx, s.update, len(fns), func(i int, x *sqlstore.Tx) error { return fns[i](x) })
}

// update runs fn in a write transaction (see write), its statements
// prepared once.
func (s *Store) update(ctx context.Context, fn func(*sqlstore.Tx) error) error {
	return s.write(ctx, func(t writerTx) error { return fn(sqlstore.NewTx(dialect, t)) })
}

// write runs fn in a write transaction on the writer connection, on the
// driver directly (see writerTx): it commits when fn returns nil and rolls
// back otherwise (and when fn panics), returning fn's error as is.
func (s *Store) write(ctx context.Context, fn func(writerTx) error) (err error) {
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
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("the sqlite driver's connection is a %T", dc)
		}
		// Begun without ctx's cancellation, which each statement checks
		// (see uncancelled): fn's error rolls the transaction back.
		t, err := c.BeginTx(context.WithoutCancel(ctx), driver.TxOptions{})
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		return sqlstore.Run(t, func() error { return fn(writerTx{c: c, cache: s.stmts}) })
	})
}

// dialect is SQLite's: a UNIQUE constraint failure is the one error the
// shared SQL branches on; a transaction is never retried (one writer).
var dialect = &sqlstore.Dialect{
	Style: sqlstore.SQLite,
	IsUnique: func(err error) bool {
		var e *msqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	},
}
