package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/sanitize"
)

// maxBody caps a request body of the API.
const maxBody = 1 << 20

// errEmptyBody is decode's error for a request without a body.
var errEmptyBody = errors.New("empty body")

// decode reads the JSON body into v, refusing unknown fields and trailing
// data. When allowEmpty, an empty body leaves v as it is. It answers the
// request itself when the body is wrong (400 malformed_body naming the
// field, or 413) and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any, want string, allowEmpty bool) bool {
	err := decodeBody(w, r, v)
	if err == nil || allowEmpty && errors.Is(err, errEmptyBody) {
		return true
	}
	if errors.Is(err, sanitize.ErrNUL) || errors.Is(err, sanitize.ErrInvalidUTF8) {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_text", err.Error()+", which the connector does not store; remove it")
		return false
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		httpx.WriteError(w, r, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the body is larger than the limit of %d bytes", maxBody))
		return false
	}
	httpx.WriteError(w, r, http.StatusBadRequest, "malformed_body", err.Error()+"; want "+want)
	return false
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return errEmptyBody
	}
	// Checked on the bytes: encoding/json replaces invalid UTF-8 in a
	// string with U+FFFD, which checkText could no longer tell apart.
	if !utf8.Valid(raw) {
		return fmt.Errorf("the body (at byte %d) %w", invalidAt(raw), sanitize.ErrInvalidUTF8)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		var tooBig *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return errEmptyBody
		case errors.As(err, &tooBig):
			return err
		case errors.As(err, &typeErr):
			if typeErr.Field == "" {
				return fmt.Errorf("the body must be a JSON object, not a %s", typeErr.Value)
			}
			return fmt.Errorf("field %s must be a %s, not a %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()), typeErr.Value)
		case errors.As(err, &syntaxErr):
			return fmt.Errorf("the body is not valid JSON (at byte %d: %v)", syntaxErr.Offset, syntaxErr)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return fmt.Errorf("the body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errors.New("the body holds more than one JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body holds data after its JSON object")
	}
	return checkText(v)
}

// invalidAt returns the offset of the first byte of b that does not start
// a valid UTF-8 sequence.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// jsonType names a Go kind as JSON calls it.
func jsonType(kind string) string {
	switch kind {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	}
	return "number"
}

// pathID reads a numeric id from the path; it answers 400 and returns
// false when it is not one.
func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_field", fmt.Sprintf("%s %q is not a %s id (a positive number)", name, v, name))
		return 0, false
	}
	return n, true
}

// query checks the query's parameters against the known ones; it answers
// 400 bad_query and returns false for an unknown one or a malformed query
// (a bad percent-escape such as %zz): a filter is never silently dropped.
func query(w http.ResponseWriter, r *http.Request, known ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", "the query is malformed: "+err.Error())
		return nil, false
	}
	var unknown []string
	for k := range q {
		found := false
		for _, n := range known {
			if k == n {
				found = true
			}
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_query",
			fmt.Sprintf("unknown query parameter %q; known: %s", unknown[0], strings.Join(known, ", ")))
		return nil, false
	}
	if err := checkQuery(q); err != nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_text", err.Error()+", which the connector does not store; remove it")
		return nil, false
	}
	return q, true
}

// channelFilter reads the channel query parameter: empty, or one of the
// tenant's configured channels. It answers 400 bad_query, naming the
// tenant's channels, and returns false for another one (an unknown tenant
// is left to the operation, which answers 404).
func (a *API) channelFilter(w http.ResponseWriter, r *http.Request, q url.Values) (string, bool) {
	ch := q.Get("channel")
	if ch == "" {
		return "", true
	}
	t, ok := a.Manager.Tenant(r.PathValue("tenant"))
	if !ok {
		return ch, true
	}
	if _, known := t.Channels[ch]; known {
		return ch, true
	}
	ids := make([]string, 0, len(t.Channels))
	for id := range t.Channels {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	httpx.WriteError(w, r, http.StatusBadRequest, "bad_query",
		fmt.Sprintf("channel %q is not a channel of tenant %s; its channels: %s", ch, t.ID, strings.Join(ids, ", ")))
	return "", false
}

// paging reads after and limit (1 to 1000, default 100).
func paging(w http.ResponseWriter, r *http.Request, q url.Values) (after int64, limit int, ok bool) {
	after, limit = 0, 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("after %q must be an id (a number, 0 or more)", v))
			return 0, 0, false
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("limit %q must be a number from 1 to 1000", v))
			return 0, 0, false
		}
		limit = n
	}
	return after, limit, true
}

// nextAfter is the paging cursor of a full page, else 0.
func nextAfter(n, limit int, last int64) int64 {
	if n == limit {
		return last
	}
	return 0
}
