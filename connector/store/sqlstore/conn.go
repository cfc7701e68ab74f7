package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// Querier runs statements: database/sql's pool or transaction (see Std),
// or SQLite's writer connection, which runs them on the driver directly.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (Rows, error)
}

// Rows are a query's rows, read as *sql.Rows reads them.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// StdQuerier is what *sql.DB, *sql.Conn and *sql.Tx share.
type StdQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Std returns the Querier of q, which runs its statements through
// database/sql.
func Std(q StdQuerier) Querier { return std{q} }

type std struct{ q StdQuerier }

func (s std) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.q.ExecContext(ctx, query, args...)
}

func (s std) QueryContext(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// Conn runs queries of one dialect on a Querier: a transaction, or the
// pool for reads outside one.
type Conn struct {
	D *Dialect
	Q Querier
}

func (c Conn) args(args []any) []any {
	if c.D.Args != nil {
		return c.D.Args(args)
	}
	return args
}

// Exec runs a statement.
func (c Conn) Exec(ctx context.Context, q *Query, args ...any) (sql.Result, error) {
	return c.Q.ExecContext(ctx, q.For(c.D), c.args(args)...)
}

// Query runs a query returning rows.
func (c Conn) Query(ctx context.Context, q *Query, args ...any) (Rows, error) {
	return c.Q.QueryContext(ctx, q.For(c.D), c.args(args)...)
}

// Row runs a query returning one row: its Scan returns sql.ErrNoRows
// when there is none, as *sql.Row's does.
func (c Conn) Row(ctx context.Context, q *Query, args ...any) Scanner {
	rows, err := c.Query(ctx, q, args...)
	return row{rows, err}
}

type row struct {
	rows Rows
	err  error
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// Affected runs a statement and returns how many rows it changed.
func (c Conn) Affected(ctx context.Context, q *Query, args ...any) (int64, error) {
	res, err := c.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MustAffect runs a statement and returns ErrNotFound, naming what, when it
// changed no row.
func (c Conn) MustAffect(ctx context.Context, what string, q *Query, args ...any) error {
	n, err := c.Affected(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// Scanner is a row (see Conn.Row) or Rows.
type Scanner interface{ Scan(dest ...any) error }

// List runs q and scans every row with scan; the list is empty, not nil,
// when there is none.
func List[T any](ctx context.Context, c Conn, scan func(Scanner) (T, error), q *Query, args ...any) ([]T, error) {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// collect scans every row of rows and closes them.
func collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Column runs q and returns its one column.
func Column[T any](ctx context.Context, c Conn, q *Query, args ...any) ([]T, error) {
	return List(ctx, c, func(sc Scanner) (T, error) {
		var v T
		err := sc.Scan(&v)
		return v, err
	}, q, args...)
}

// One scans the one row of q with scan; ErrNotFound when there is none.
func One[T any](ctx context.Context, c Conn, scan func(Scanner) (T, error), q *Query, args ...any) (T, error) {
	v, err := scan(c.Row(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, store.ErrNotFound
	}
	return v, err
}

// T returns a scan destination for a time column of either dialect:
// unix microseconds (0 is the zero time), a time (in UTC), or NULL (the
// zero time).
func T(t *time.Time) sql.Scanner { return timeDest{t} }

type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.Time{}
		if v != 0 {
			*d.t = time.UnixMicro(v).UTC()
		}
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("scan a time from %T", src)
	}
	return nil
}

// AsTime is how a time reads back once stored: to the microsecond, in
// UTC; the zero time stays zero.
func AsTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
