package standin

import (
	"context"
	"strings"
)

// Write is a record an sObject Collections upsert wrote, as a write
// observer sees it.
type Write struct {
	// Object is the object as the upsert's URL names it; Key the record's
	// value of the external id field the URL names (matched ignoring
	// case), or "" when that is not a JSON string.
	Object  string
	Key     string
	Created bool
}

type observerKey struct{}

// WithWriteObserver returns a context for a request to the stand-in: when
// the request is an sObject Collections upsert (PATCH
// .../composite/sobjects/{object}/{field}) or a Composite request, the
// stand-in calls f once, before it answers, with the records it wrote
// successfully, in the order of its answer: each record whose result is a
// success, in a collection that was answered 2xx (within a Composite
// request, the collections among its subrequests; single-record upserts
// are not reported). A request the stand-in refuses as a whole does not
// call f. The bench's meter uses it to learn what each call wrote without
// decoding the call again.
func WithWriteObserver(ctx context.Context, f func([]Write)) context.Context {
	return context.WithValue(ctx, observerKey{}, f)
}

// writeObserver returns the observer of ctx, or nil.
func writeObserver(ctx context.Context) func([]Write) {
	f, _ := ctx.Value(observerKey{}).(func([]Write))
	return f
}

// collectionWrites appends to out the records of a collection upsert of
// object by field whose results are successes.
func collectionWrites(out []Write, object, field string, records []map[string]any, results []upsertResult) []Write {
	for i, res := range results {
		if i >= len(records) || !res.Success {
			continue
		}
		out = append(out, Write{Object: object, Key: StringField(records[i], field), Created: res.Created != nil && *res.Created})
	}
	return out
}

// StringField returns a record's field as a string, "" when it is not
// one; field names are matched ignoring case, as Salesforce does.
func StringField(rec map[string]any, field string) string {
	v, ok := rec[field]
	if !ok {
		for k, kv := range rec {
			if strings.EqualFold(k, field) {
				v = kv
				break
			}
		}
	}
	s, _ := v.(string)
	return s
}
