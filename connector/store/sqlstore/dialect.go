// Package sqlstore is the SQL both store drivers share: the primitives of
// store.Tx and the reads and small writes of store.Store, written once on
// database/sql, with a Dialect for what SQLite and PostgreSQL spell
// differently. The drivers (store/sqlite, store/postgres) keep what truly
// differs: opening, their write transactions, the outbox's claims and
// settlements, PostgreSQL's LISTEN/NOTIFY and the migration files.
//
// Queries are written in PostgreSQL's style, with numbered parameters ($1)
// and a few macros between braces, and rendered once per query text for
// each style (Q):
//
//   - {IN $N}: membership in the list passed as parameter N (Dialect.List):
//     SQLite reads a JSON array with json_each, PostgreSQL an array with ANY.
//   - {A|B}: A on SQLite, B on PostgreSQL ("{|FOR UPDATE}",
//     "{revoked_at = 0|revoked_at IS NULL}").
//
// Times are SQLite INTEGER unix microseconds (0 for the zero time) and
// PostgreSQL timestamptz (NULL for the zero time): Dialect.Time encodes a
// parameter and T scans a column of either.
package sqlstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Style is a dialect's way of writing SQL.
type Style int

// Styles.
const (
	SQLite Style = iota
	Postgres
	nStyles
)

// Dialect is what differs between the databases at run time.
type Dialect struct {
	Style Style
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
	// Retryable reports whether a transaction that failed with err may
	// succeed when run again (nil: never).
	Retryable func(error) bool
	// Args, when set, rewrites the parameters of every statement
	// (PostgreSQL cleans strings it would refuse).
	Args func([]any) []any
}

// Time encodes t as a parameter: unix microseconds (0 for zero) on SQLite,
// a UTC time to the microsecond (NULL for zero) on PostgreSQL.
func (d *Dialect) Time(t time.Time) any {
	if d.Style == SQLite {
		if t.IsZero() {
			return int64(0)
		}
		return t.UnixMicro()
	}
	if t.IsZero() {
		return nil
	}
	return t.Truncate(time.Microsecond).UTC()
}

// TimeNotNull encodes t as a parameter for a column that holds a time in
// every row: as Time, but the zero time is PostgreSQL's first instant
// rather than NULL (it reads back as the zero time).
func (d *Dialect) TimeNotNull(t time.Time) any {
	if d.Style == Postgres && t.IsZero() {
		return t
	}
	return d.Time(t)
}

// List encodes a list for an {IN $N} parameter: a JSON array on SQLite,
// the slice itself (an array) on PostgreSQL.
func (d *Dialect) List(v any) any {
	if d.Style == Postgres {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Lists are of numbers and strings, which always marshal.
		panic(fmt.Sprintf("sqlstore: list %T: %v", v, err))
	}
	return string(b)
}

// retryable reports whether err may succeed in a new transaction.
func (d *Dialect) retryable(err error) bool { return d.Retryable != nil && d.Retryable(err) }

// Query is a statement rendered for every style.
type Query struct{ text [nStyles]string }

// Q renders a query written in PostgreSQL's style with the macros of the
// package comment for every style. Constant queries are rendered once, as
// package variables.
func Q(text string) *Query {
	q := &Query{}
	for s := range nStyles {
		q.text[s] = render(text, s)
	}
	return q
}

// For returns the query's text in d's style.
func (q *Query) For(d *Dialect) string { return q.text[d.Style] }

// render rewrites text's macros and, for SQLite, its $N parameters (?N).
func render(text string, s Style) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			b.WriteString(text)
			break
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			panic("sqlstore: unclosed { in " + text)
		}
		b.WriteString(text[:i])
		macro := text[i+1 : i+j]
		text = text[i+j+1:]
		if p, ok := strings.CutPrefix(macro, "IN "); ok {
			if s == SQLite {
				b.WriteString("IN (SELECT value FROM json_each(" + p + "))")
			} else {
				b.WriteString("= ANY (" + p + ")")
			}
			continue
		}
		lite, pg, ok := strings.Cut(macro, "|")
		if !ok {
			panic("sqlstore: unknown macro {" + macro + "}")
		}
		if s == SQLite {
			b.WriteString(lite)
		} else {
			b.WriteString(pg)
		}
	}
	out := b.String()
	if s == SQLite {
		out = strings.ReplaceAll(out, "$", "?")
	}
	return out
}

// Params numbers parameters for a query built at run time (filters).
type Params struct{ Args []any }

// Add adds a parameter and returns its placeholder.
func (p *Params) Add(v any) string {
	p.Args = append(p.Args, v)
	return "$" + strconv.Itoa(len(p.Args))
}
