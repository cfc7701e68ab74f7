package postgres

import (
	"slices"

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
// U+FFFD): the dialect's Args hook (sqlstore.Dialect) sees every query's
// parameters, so that none escapes it.

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
