package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// DefaultLimit is the page size of the lists when the caller gives none.
const DefaultLimit = 100

// orDefault is limit, or DefaultLimit when it is not positive.
func orDefault(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return limit
}

// Tx implements store.Tx on one write transaction of either driver.
type Tx struct {
	Conn
	// OutboxWork is set when the transaction stored work for the outbox (a
	// pending message, a state change to mirror onto a record that
	// exists, a replay): PostgreSQL then notifies the listeners once it
	// committed.
	OutboxWork bool
}

// OutboxChannel is the SQL expression of the PostgreSQL channel outbox
// work is announced on: one per schema, since the replicas of one
// deployment share a schema and other schemas of the database hold other
// deployments (or tests). The schema's name is hashed to keep the channel
// a short, plain identifier whatever the name.
const OutboxChannel = `'sfconnector_outbox_' || md5(current_schema())`

// NewTx returns the Tx of a write transaction.
func NewTx(d *Dialect, q Querier) *Tx { return &Tx{Conn: Conn{D: d, Q: q}} }

// Store implements the reads and the small writes of store.Store that both
// drivers share. A driver embeds it and adds its own transactions, claims
// and settlements.
type Store struct {
	d      *Dialect
	db     *sql.DB
	r      Conn
	update func(context.Context, func(*Tx) error) error
}

// New returns the shared part of a driver's store: reads run on db (for
// SQLite, its read-only pool) and writes in update, the driver's write
// transaction (retried, notifying, ... as the driver does).
func New(d *Dialect, db *sql.DB, update func(context.Context, func(*Tx) error) error) *Store {
	return &Store{d: d, db: db, r: Conn{D: d, Q: Std(db)}, update: update}
}

// Snapshot runs fn in a read-only transaction of the read pool: its reads
// see one snapshot, taken beside the writer.
func (s *Store) Snapshot(ctx context.Context, fn func(Conn) error) error { return s.readTx(ctx, fn) }

// readTx runs fn in a read-only transaction: its reads see one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(Conn) error) error {
	t, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	err = fn(Conn{D: s.d, Q: Std(t)})
	return errors.Join(err, t.Rollback()) // read only: nothing to commit
}

// Run runs fn in t, a transaction the driver began (a *sql.Tx, or a
// driver's own): it commits when fn returns nil and rolls back otherwise
// (and when fn panics), returning fn's error as is.
func Run(t driver.Tx, fn func() error) error {
	committed := false
	defer func() {
		if !committed {
			// The rollback's own error adds nothing to fn's error or panic:
			// a connection whose rollback fails is closed, which ends the
			// transaction.
			_ = t.Rollback()
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}
