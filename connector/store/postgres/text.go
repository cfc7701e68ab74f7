package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatsync/sfconnector/connector/sanitize"
)

// The connector's boundaries hand the store clean text (the webhooks
// normalise what they parse, the API refuses a NUL with 400). PostgreSQL
// refuses a text value holding a NUL or invalid UTF-8 with an error, which
// would fail a delivery's whole transaction, every time the platform
// retries it; SQLite stores such a value as it is. So that no such value
// can poison a transaction or a read here, every string parameter the
// driver sends (string, *string, []string) is cleaned on its way as
// sanitize.Text cleans it (NUL removed, invalid UTF-8 replaced with
// U+FFFD): the pool and every transaction are wrapped so that no query
// escapes it.

// cleanArgs returns args with their strings cleaned, copying only when one
// needs it.
func cleanArgs(args []any) []any {
	var out []any
	set := func(i int, v any) {
		if out == nil {
			out = append([]any(nil), args...)
		}
		out[i] = v
	}
	for i, a := range args {
		switch v := a.(type) {
		case string:
			if c := sanitize.Text(v); c != v {
				set(i, c)
			}
		case *string:
			if v != nil {
				if c := sanitize.Text(*v); c != *v {
					set(i, &c)
				}
			}
		case []string:
			if slices.ContainsFunc(v, func(s string) bool { return sanitize.Text(s) != s }) {
				cs := make([]string, len(v))
				for k, s := range v {
					cs[k] = sanitize.Text(s)
				}
				set(i, cs)
			}
		}
	}
	if out == nil {
		return args
	}
	return out
}

// cleanPool is the store's pool, its queries' parameters cleaned.
type cleanPool struct{ *pgxpool.Pool }

func (p cleanPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return p.Pool.Exec(ctx, sql, cleanArgs(args)...)
}

func (p cleanPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.Pool.Query(ctx, sql, cleanArgs(args)...)
}

func (p cleanPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return p.Pool.QueryRow(ctx, sql, cleanArgs(args)...)
}

// BeginTx begins a transaction whose queries' parameters are cleaned.
func (p cleanPool) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	t, err := p.Pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return cleanTx{t}, nil
}

// cleanTx is a transaction (or savepoint), its queries' parameters cleaned.
type cleanTx struct{ pgx.Tx }

func (t cleanTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.Tx.Exec(ctx, sql, cleanArgs(args)...)
}

func (t cleanTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.Tx.Query(ctx, sql, cleanArgs(args)...)
}

func (t cleanTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.Tx.QueryRow(ctx, sql, cleanArgs(args)...)
}

// Begin starts a savepoint whose queries' parameters are cleaned.
func (t cleanTx) Begin(ctx context.Context) (pgx.Tx, error) {
	sp, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return cleanTx{sp}, nil
}
