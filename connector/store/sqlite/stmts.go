package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

// maxStatements bounds the statements kept prepared.
const maxStatements = 256

// stmtCache keeps the write transactions' statements prepared on the
// writer connection. Parsing and planning a statement costs SQLite more
// than running it, and the writer is the store's one bottleneck: a
// statement is prepared the first time it is seen outside a transaction
// (a write transaction holds the one writer connection, so a statement it
// meets for the first time runs unprepared and is prepared before the next
// write), then reused by every transaction after.
type stmtCache struct {
	db *sql.DB

	mu        sync.Mutex
	stmts     map[string]*sql.Stmt
	misses    map[string]bool
	failed    map[string]bool // statements that would not prepare
	preparing bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, misses: map[string]bool{}, failed: map[string]bool{}}
}

// get returns the prepared statement of query, or nil (and remembers the
// miss).
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stmts[query]
	if st == nil && !c.failed[query] && len(c.stmts)+len(c.misses) < maxStatements {
		c.misses[query] = true
	}
	return st
}

// prepareMisses prepares the statements missed so far, before a write
// takes the writer connection (a statement prepared on the database is
// prepared on that connection, the only one). The first write after a
// miss pays for it; every later one reuses the statement.
func (c *stmtCache) prepareMisses(ctx context.Context) {
	c.mu.Lock()
	if c.preparing || len(c.misses) == 0 {
		c.mu.Unlock()
		return
	}
	c.preparing = true
	queries := make([]string, 0, len(c.misses))
	for q := range c.misses {
		queries = append(queries, q)
	}
	clear(c.misses)
	c.mu.Unlock()
	prepared := map[string]*sql.Stmt{}
	for _, q := range queries {
		// A statement that fails to prepare is not cached: it runs
		// unprepared from then on.
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil && ctx.Err() != nil {
			break // the write was given up; the rest waits for another
		}
		prepared[q] = st
	}
	c.mu.Lock()
	for q, st := range prepared {
		if st == nil {
			c.failed[q] = true
			continue
		}
		c.stmts[q] = st
	}
	c.preparing = false
	c.mu.Unlock()
}

// close closes every prepared statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close() // closing the database closes it anyway
		delete(c.stmts, q)
	}
}

// cachedTx is a write transaction whose statements go through the cache.
type cachedTx struct {
	*sql.Tx
	cache *stmtCache
}

// ExecContext runs query with its prepared statement when there is one.
func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query with its prepared statement when there is one.
func (t cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query with its prepared statement when there is one.
func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cache.get(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// Uncached returns the transaction without the cache, for a statement
// that runs once (a migration).
func (t cachedTx) Uncached() sqlstore.Querier { return t.Tx }
