// Package postgres is the store driver for several replicas of the
// connector sharing one PostgreSQL database (11 or later), through
// github.com/jackc/pgx/v5 and its pool.
//
// # Sharing work between replicas
//
// Every replica receives webhooks and runs dispatcher workers against the
// same tables; the database alone decides who does what:
//
//   - Webhook deliveries of one contact are serialised by UpsertContact:
//     its INSERT ... ON CONFLICT DO UPDATE locks the contact's row until the
//     transaction ends, so two deliveries for one contact (on two replicas,
//     or twice the same event) run one after the other and the second sees
//     what the first committed. A message is stored once: (tenant, channel,
//     platform id) is unique and InsertMessage inserts with ON CONFLICT DO
//     NOTHING.
//   - A conversation's outbox is pushed by one worker at a time, which
//     holds a lease on it: a random token, an owner and an expiry, stored
//     on the conversation. Claim picks ready conversations with SELECT ...
//     FOR UPDATE SKIP LOCKED, so workers claiming at the same moment take
//     disjoint conversations and never wait for each other, and writes the
//     lease before committing. Settle records the outcomes only if the
//     conversation still carries the caller's token (checked in the same
//     transaction that writes them) and returns store.ErrLeaseLost, changing
//     nothing, otherwise.
//   - A worker that dies keeps its leases until they expire; Claim then
//     takes the conversations over (and RescueLeases clears such leases).
//     Expiry is compared with the callers' clocks (ClaimParams.Now): keep
//     the replicas' clocks in sync and the lease TTL far above their skew.
//   - The pacing of each Salesforce org (store.OrgGate) is one row, which
//     UpdateOrgGate locks from its read to its commit: the replicas' updates
//     of one org apply one after the other, none lost. Each timer tick is
//     run by the replica that takes the tick's job lease (TryLease, one
//     INSERT ... ON CONFLICT DO UPDATE on the lease's row).
//
// Transactions run at READ COMMITTED; the row locks above do the
// serialising. A transaction that fails with a serialization failure or a
// deadlock (SQLSTATE 40001, 40P01) is run again, a few times, from the
// start (see WithTx).
//
// # Waking other replicas
//
// When a transaction that stored outbox work (a pending message, a state
// change to mirror onto a Salesforce record that exists, a replay)
// commits, the Store NOTIFYs a channel named after the schema (see
// Listen), so that a replica's dispatcher starts at once on work another
// replica received rather than at its next poll. The NOTIFY is a
// statement of its own, sent after the commit and only if the transaction
// committed, at most one every 25 ms for all the commits in between:
// PostgreSQL serialises the commits of notifying transactions on one lock
// of the whole database, held through their WAL flush, so a NOTIFY inside
// every delivery's transaction capped the deliveries of all replicas
// together at about one per flush. Dispatchers poll anyway: a notification
// lost (the listener was reconnecting, the process died between a commit
// and its NOTIFY) only delays the work until the next poll, and the
// replica that committed wakes its own dispatcher without it.
//
// # Sizing the pool
//
// Each Store holds one pool of connections (Options.MaxConns). A replica
// uses at once about: one connection per webhook being stored, one per
// dispatcher worker claiming or settling, one for the timers, one for
// Listen (held as long as it runs) and a few for the API. A transaction
// holds its connection until it ends, so a pool too small makes requests
// queue, not fail (until their context ends). The sum over every replica
// (plus operators' tools) must stay under the server's max_connections;
// put a pooler such as PgBouncer in between when it does not, in
// transaction mode with default_query_exec_mode=exec in the DSN (the
// driver otherwise caches prepared statements per connection). LISTEN
// needs a session of its own, which a pooler in transaction mode does not
// give: there, Listen cannot be relied on and the dispatchers poll.
//
// # Schema
//
// Open does not touch the schema: Migrate applies the embedded migrations,
// in one transaction under an advisory lock, so that replicas starting
// together migrate once. Tables are created in the connection's current
// schema (the first of search_path that exists). Times are timestamptz,
// kept to the microsecond; NULL stands for a zero time.
//
// The SQL this driver shares with store/sqlite (every primitive of
// store.Tx, the reads, the small writes) is in store/sqlstore, on
// database/sql: the pool is handed to it through pgx's stdlib package.
// Here are the opening, the retried transaction, LISTEN/NOTIFY, and the
// claims and settlements of the outbox.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

var _ store.Store = (*Store)(nil)

// Defaults for Options left at zero.
const (
	// DefaultMaxConns is the pool size when neither Options.MaxConns nor the
	// DSN's pool_max_conns sets one.
	DefaultMaxConns int32 = 10
	// DefaultTxAttempts is how many times a transaction failing with a
	// serialization failure or a deadlock is run in all.
	DefaultTxAttempts = 3
)

// applicationName names the connector's sessions in pg_stat_activity when
// the DSN does not name them.
const applicationName = "sfconnector"

// Options tune Open. The zero value is usable.
type Options struct {
	// MaxConns caps the pool's connections. Zero means the DSN's
	// pool_max_conns when it has one, else DefaultMaxConns.
	MaxConns int32
	// TxAttempts is how many times a transaction that failed with a
	// serialization failure or a deadlock is run in all (1: never
	// retried). Zero means DefaultTxAttempts.
	TxAttempts int
	// OnListenError, when set, is told of each error that ends a listening
	// session of Listen, before it reconnects (the errors are otherwise
	// not reported, as Listen goes on). It runs on Listen's goroutine: it
	// should return quickly.
	OnListenError func(error)
	// OnNotifyError, when set, is told of each NOTIFY announcing
	// committed outbox work that failed (the other replicas then find the
	// work at their next poll). It runs on the announcer's goroutine: it
	// should return quickly.
	OnNotifyError func(error)
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use, by several goroutines and by several processes sharing
// the database.
type Store struct {
	*sqlstore.Store
	pool          *pgxpool.Pool // LISTEN's connections; db's, through pgx's stdlib
	db            *sql.DB
	txAttempts    int
	onListenError func(error)
	announce      *announcer

	// closing ends when Close starts: the running Listen calls stop, give
	// their connections back, and Close then waits for them (a pool does
	// not close while a connection is out).
	closing       context.Context
	stopListening context.CancelFunc
	mu            sync.Mutex
	closed        bool // no more Listen
	listeners     sync.WaitGroup
}

// Open connects a pool to the database named by dsn (a postgres:// URL or
// a "key=value ..." string, as libpq takes them; pool_* settings of pgxpool
// are understood) and checks that the server answers. It does not migrate:
// call Migrate. Errors never quote the DSN, which may hold a password.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parser's error quotes the DSN, masking the password only on a
		// best-effort basis: leave it out.
		return nil, errors.New("open postgres store: the DSN cannot be parsed (it is not quoted here, as it may hold a password)")
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !dsnSetsMaxConns(dsn):
		cfg.MaxConns = DefaultMaxConns
	}
	if opts.TxAttempts <= 0 {
		opts.TxAttempts = DefaultTxAttempts
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = applicationName
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	closing, stop := context.WithCancel(context.Background())
	s := &Store{
		pool: pool, db: stdlib.OpenDBFromPool(pool), txAttempts: opts.TxAttempts, onListenError: opts.OnListenError,
		closing: closing, stopListening: stop,
	}
	s.announce = newAnnouncer(s.db, opts.OnNotifyError, announceInterval)
	s.Store = sqlstore.New(dialect, s.db, s.update)
	return s, nil
}

// dsnSetsMaxConns reports whether the DSN carries pool_max_conns (which
// pgxpool.ParseConfig consumes, leaving no trace of whether it was given).
func dsnSetsMaxConns(dsn string) bool {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false
	}
	_, ok := cfg.RuntimeParams["pool_max_conns"]
	return ok
}

// Close ends the running Listen calls (they return ErrClosed), announces
// the outbox work committed since the last NOTIFY, and closes the pool,
// waiting for the connections in use to be given back.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopListening()
	s.listeners.Wait()
	s.announce.close()
	err := s.db.Close()
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("close postgres store: %w", err)
	}
	return nil
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockClass is the first key of the advisory lock Migrate takes; the
// second is a hash of the schema's name, so that schemas of one database
// migrate independently.
const migrateLockClass = 0x5f636e78 // "_cnx"

var (
	qSchema      = sqlstore.Q(`SELECT current_schema()`)
	qMigrateLock = sqlstore.Q(`SELECT pg_advisory_xact_lock($1, hashtext($2))`)
)

// Migrate applies the embedded migrations not applied yet, in one
// transaction, and records them in schema_migrations. The transaction first
// takes a transaction-scoped advisory lock on the current schema, so that
// replicas migrating at once run one after the other: the first applies
// the migrations, the others find them recorded. It is idempotent, and
// refuses a schema migrated by a newer version of the connector.
func (s *Store) Migrate(ctx context.Context) error { return s.migrate(ctx, nil) }

// migrate applies the migrations of ms (in version order; the embedded
// ones when nil) not applied yet.
func (s *Store) migrate(ctx context.Context, ms []sqlstore.Migration) error {
	return sqlstore.Migrate(ctx, s.update, migrationFiles, ms, func(x *sqlstore.Tx) error {
		var schema sql.NullString
		if err := x.Row(ctx, qSchema).Scan(&schema); err != nil {
			return err
		}
		if !schema.Valid {
			return errors.New("no schema of search_path exists to create the tables in")
		}
		if _, err := x.Exec(ctx, qMigrateLock, migrateLockClass, schema.String); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		return nil
	})
}

// WithTx runs fn in one READ COMMITTED transaction on a connection of the
// pool, committing when fn returns nil and rolling back otherwise (and
// when fn panics). The error of fn is returned as is.
//
// When the transaction fails with a serialization failure or a deadlock
// (SQLSTATE 40001 or 40P01, as returned by fn or by the commit), it is
// rolled back and fn runs again in a new transaction, up to
// Options.TxAttempts times in all: fn must do nothing but its work through
// the Tx (or be safe to repeat).
//
// fn may read through other methods of the store (GetConversation, ...):
// they run on other connections of the pool and see only committed data.
// A write of the store started from fn (Claim, Settle, WithTx, ...) that
// touches a row fn has written waits for fn's transaction, hence until ctx
// ends: don't.
//
// When fn stored outbox work, the listeners are notified once the
// transaction committed (see Listen).
func (s *Store) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.update(ctx, func(x *sqlstore.Tx) error { return fn(x) })
}

// WithTxBatch runs each fn in one transaction, each in a savepoint of its
// own (see store.Batcher and sqlstore.Batch). A fn that meets a deadlock or
// a serialization failure retries the whole transaction, as WithTx does.
//
// A statement of a batch of several waits at most BatchLockTimeout for a
// row lock (lock_timeout): the batch holds the rows of every fn before it
// until it commits, so two batches, or a batch and a settlement, could
// otherwise wait on each other. The fn that waited too long is rolled
// back with an error wrapping store.ErrLockWait. A batch of one is a
// transaction as WithTx's, with no statement more (a deadlock is found
// and retried as there).
func (s *Store) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	update := s.update
	if len(fns) > 1 {
		update = func(ctx context.Context, fn func(*sqlstore.Tx) error) error {
			return s.update(ctx, func(x *sqlstore.Tx) error {
				if _, err := x.Exec(ctx, qBatchLockTimeout); err != nil {
					return fmt.Errorf("set the batch's lock timeout: %w", err)
				}
				return fn(x)
			})
		}
	}
	errs, err := sqlstore.Batch(ctx, update, len(fns), func(i int, x *sqlstore.Tx) error { return fns[i](x) })
	for i, e := range errs {
		if sqlState(e) == codeLockNotAvailable {
			errs[i] = fmt.Errorf("%w: %w", store.ErrLockWait, e)
		}
	}
	return errs, err
}

// BatchLockTimeout is the longest a statement of WithTxBatch waits for a
// row lock. A group's transaction takes a few milliseconds; a wait beyond
// that is for a settlement or another replica's group, and the call does
// better to run alone after its group than to hold the group's rows
// meanwhile (the README's PostgreSQL performance paragraph compares 10
// and 100 ms).
const BatchLockTimeout = 10 * time.Millisecond

var qBatchLockTimeout = sqlstore.Q(fmt.Sprintf(`SET LOCAL lock_timeout = %d`, BatchLockTimeout.Milliseconds()))

// update runs fn in a transaction, retried as WithTx says; once it
// committed outbox work, the listeners are notified (see announcer).
func (s *Store) update(ctx context.Context, fn func(*sqlstore.Tx) error) error {
	var work bool
	err := s.inTx(ctx, func(t *sql.Tx) error {
		x := sqlstore.NewTx(dialect, sqlstore.Std(t))
		if err := fn(x); err != nil {
			return err
		}
		work = x.OutboxWork
		return nil
	})
	if err == nil && work {
		s.announce.signal()
	}
	return err
}

// inTx runs fn in a transaction, retried as WithTx says.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || attempt >= s.txAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		// A short, jittered pause lets the transaction that won go ahead.
		pause := time.Duration(attempt)*5*time.Millisecond + time.Duration(mrand.Int64N(int64(5*time.Millisecond)))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// runTx runs fn in one transaction (see sqlstore.Run).
func (s *Store) runTx(ctx context.Context, fn func(*sql.Tx) error) error {
	// READ COMMITTED whatever the server's default: the driver relies on
	// each statement seeing what committed before it started (after a
	// wait for a row lock, say), and on row locks to serialise.
	t, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	return sqlstore.Run(t, func() error { return fn(t) })
}

// SQLSTATE codes the driver branches on.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeLockNotAvailable     = "55P03"
)

// sqlState returns the SQLSTATE of a server error in err's chain, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports whether a transaction that failed with err may succeed
// when run again from the start.
func retryable(err error) bool {
	code := sqlState(err)
	return code == codeSerializationFailure || code == codeDeadlockDetected
}

// dialect is PostgreSQL's: strings cleaned on their way (see cleanArgs),
// transactions retried after a serialization failure or a deadlock.
var dialect = &sqlstore.Dialect{
	Style:     sqlstore.Postgres,
	IsUnique:  func(err error) bool { return sqlState(err) == codeUniqueViolation },
	Retryable: retryable,
	Args:      cleanArgs,
}
