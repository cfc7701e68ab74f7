package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

// The write transactions run on the driver's connection directly, not
// through database/sql. The writer is the store's one bottleneck, and for
// the short statements of a delivery database/sql costs several times what
// SQLite does: per statement it starts a goroutine to watch the
// transaction's context, registers and unregisters the statement, and
// converts every argument and column through reflection. Reads outside a
// write transaction still go through database/sql's read-only pool.

// driverConn is what the writer needs of the driver's connection.
type driverConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

// maxStatements bounds the statements kept prepared.
const maxStatements = 256

// stmtCache keeps the write transactions' statements prepared on the
// writer connection: parsing and planning a statement costs SQLite more
// than running it. A statement is prepared the first time a transaction
// runs it and reused by every transaction after; beyond maxStatements, or
// when it will not prepare, it runs unprepared.
type stmtCache struct {
	mu     sync.Mutex
	conn   driverConn // the connection the statements were prepared on
	stmts  map[string]driver.Stmt
	failed map[string]bool // statements that would not prepare
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]driver.Stmt{}, failed: map[string]bool{}}
}

// stmt returns the prepared statement of query on c, preparing it when it
// is new, or nil when it runs unprepared. The cache follows the writer
// connection: when database/sql replaced it (after a panic, say), the
// statements of the old one are forgotten (they died with it).
func (sc *stmtCache) stmt(ctx context.Context, c driverConn, query string) driver.Stmt {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.conn != c {
		sc.conn = c
		clear(sc.stmts)
		clear(sc.failed)
	}
	if st, ok := sc.stmts[query]; ok {
		return st
	}
	if sc.failed[query] || len(sc.stmts)+len(sc.failed) >= maxStatements {
		return nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		// It runs unprepared from then on, and reports its error there.
		sc.failed[query] = true
		return nil
	}
	sc.stmts[query] = st
	return st
}

// close finalizes every prepared statement on c.
func (sc *stmtCache) close(c driverConn) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var errs []error
	if sc.conn == c {
		for _, st := range sc.stmts {
			errs = append(errs, st.Close())
		}
	}
	clear(sc.stmts)
	sc.conn = nil
	return errors.Join(errs...)
}

// writerTx is a write transaction's sqlstore.Querier on the driver
// connection; cache is nil for statements run unprepared (a migration runs
// once).
type writerTx struct {
	c     driverConn
	cache *stmtCache
}

// The statements run with their context's values but not its
// cancellation, which is checked before each statement instead: with a
// context that can end, the driver starts a goroutine per statement to
// watch it. A statement of the writer never waits for a lock (the process
// owns the file and has one writer connection), so a transaction given up
// ends at its next statement.
func uncancelled(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// ExecContext runs query with its prepared statement when there is one.
func (t writerTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, nv, err := statementArgs(ctx, args)
	if err != nil {
		return nil, err
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.(driver.StmtExecContext).ExecContext(ctx, nv)
	}
	return t.c.ExecContext(ctx, query, nv)
}

// QueryContext runs query with its prepared statement when there is one.
func (t writerTx) QueryContext(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	ctx, nv, err := statementArgs(ctx, args)
	if err != nil {
		return nil, err
	}
	var rows driver.Rows
	if st := t.stmt(ctx, query); st != nil {
		rows, err = st.(driver.StmtQueryContext).QueryContext(ctx, nv)
	} else {
		rows, err = t.c.QueryContext(ctx, query, nv)
	}
	if err != nil {
		return nil, err
	}
	return &driverRows{rows: rows}, nil
}

// statementArgs returns what a statement runs with: ctx without its
// cancellation (see uncancelled) and args as the driver takes them.
func statementArgs(ctx context.Context, args []any) (context.Context, []driver.NamedValue, error) {
	ctx, err := uncancelled(ctx)
	if err != nil {
		return nil, nil, err
	}
	nv, err := namedValues(args)
	if err != nil {
		return nil, nil, err
	}
	return ctx, nv, nil
}

func (t writerTx) stmt(ctx context.Context, query string) driver.Stmt {
	if t.cache == nil {
		return nil
	}
	return t.cache.stmt(ctx, t.c, query)
}

// Uncached returns the transaction without the cache, for a statement
// that runs once (a migration).
func (t writerTx) Uncached() sqlstore.Querier { return writerTx{c: t.c} }

// namedValues converts a statement's arguments as database/sql would for a
// driver without its own converter.
func namedValues(args []any) ([]driver.NamedValue, error) {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		var v driver.Value
		switch a := a.(type) {
		case nil, int64, float64, bool, []byte, string:
			v = a
		case int:
			v = int64(a)
		default:
			var err error
			if v, err = driver.DefaultParameterConverter.ConvertValue(a); err != nil {
				return nil, fmt.Errorf("argument $%d: %w", i+1, err)
			}
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv, nil
}

// driverRows reads a driver's rows as *sql.Rows does.
type driverRows struct {
	rows   driver.Rows
	vals   []driver.Value
	err    error
	closed bool
}

func (r *driverRows) Next() bool {
	if r.closed {
		return false
	}
	if r.vals == nil {
		r.vals = make([]driver.Value, len(r.rows.Columns()))
	}
	if err := r.rows.Next(r.vals); err != nil {
		if err != io.EOF {
			r.err = err
		}
		r.err = errors.Join(r.err, r.Close())
		return false
	}
	return true
}

func (r *driverRows) Scan(dest ...any) error {
	if r.closed {
		return errors.New("sql: Rows are closed")
	}
	if r.vals == nil {
		return errors.New("sql: Scan called without calling Next")
	}
	if len(dest) != len(r.vals) {
		return fmt.Errorf("sql: expected %d destination arguments in Scan, not %d", len(r.vals), len(dest))
	}
	for i, d := range dest {
		if err := assign(d, r.vals[i]); err != nil {
			return fmt.Errorf("sql: Scan error on column index %d: %w", i, err)
		}
	}
	return nil
}

func (r *driverRows) Err() error { return r.err }

func (r *driverRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.rows.Close()
}

// assign stores src, a value of the driver (int64, float64, bool, []byte,
// string or nil), in dest as database/sql's Scan does for the destinations
// the store uses; anything else is an error.
func assign(dest, src any) error {
	switch d := dest.(type) {
	case sql.Scanner:
		if b, ok := src.([]byte); ok {
			src = append([]byte(nil), b...) // the driver may reuse it
		}
		return d.Scan(src)
	case *int64:
		if v, ok := src.(int64); ok {
			*d = v
			return nil
		}
	case *int:
		if v, ok := src.(int64); ok {
			*d = int(v)
			return nil
		}
	case *bool:
		if v, ok := src.(int64); ok {
			*d = v != 0
			return nil
		}
		if v, ok := src.(bool); ok {
			*d = v
			return nil
		}
	case *string:
		switch v := src.(type) {
		case string:
			*d = v
			return nil
		case []byte:
			*d = string(v)
			return nil
		}
	case *[]byte:
		switch v := src.(type) {
		case nil:
			*d = nil
			return nil
		case []byte:
			*d = append([]byte(nil), v...)
			return nil
		case string:
			*d = []byte(v)
			return nil
		}
	case *float64:
		switch v := src.(type) {
		case float64:
			*d = v
			return nil
		case int64:
			*d = float64(v)
			return nil
		}
	case *any:
		if b, ok := src.([]byte); ok {
			src = append([]byte(nil), b...)
		}
		*d = src
		return nil
	}
	return assignKind(dest, src)
}

// assignKind stores src in a destination of a named type (a string or
// integer kind), as database/sql does through reflection.
func assignKind(dest, src any) error {
	p := reflect.ValueOf(dest)
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return fmt.Errorf("destination not a pointer: %T", dest)
	}
	v := p.Elem()
	switch v.Kind() {
	case reflect.String:
		switch s := src.(type) {
		case string:
			v.SetString(s)
			return nil
		case []byte:
			v.SetString(string(s))
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := src.(int64); ok && !v.OverflowInt(n) {
			v.SetInt(n)
			return nil
		}
	case reflect.Bool:
		if n, ok := src.(int64); ok {
			v.SetBool(n != 0)
			return nil
		}
	}
	return fmt.Errorf("converting %T to %T is unsupported", src, dest)
}
