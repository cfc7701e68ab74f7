package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBodyBytes bounds a request body the stand-in reads.
const maxBodyBytes = 16 << 20

// Record is a stored record, as Records and GET /__standin/records/{object}
// show it.
type Record struct {
	// ID is the record's 18-character id.
	ID string `json:"Id"`
	// Fields holds the record's field values by canonical field name: the
	// external id, plain fields, and lookup fields holding the parent's
	// record id (a relationship written by external id is stored resolved).
	// Strings stay strings, JSON numbers are json.Number, booleans bool.
	Fields map[string]any `json:"fields"`
	// CreatedSeq orders records by creation across all objects, from 1.
	CreatedSeq int64 `json:"createdSeq"`
	// UpdateCount is how many upserts updated the record after it was
	// created.
	UpdateCount int `json:"updateCount"`
	// SystemModstamp is when the record was last written (by the
	// connector or an agent), to the second as on Salesforce;
	// LastModifiedByID is who wrote it last.
	SystemModstamp   time.Time `json:"systemModstamp"`
	LastModifiedByID string    `json:"lastModifiedById"`
}

// Stats counts what the stand-in was asked, by kind of call.
type Stats struct {
	// TokenRequests counts POST /services/oauth2/token, TokensIssued the
	// successful ones and TokenFailures the refused ones.
	TokenRequests int `json:"tokenRequests"`
	TokensIssued  int `json:"tokensIssued"`
	TokenFailures int `json:"tokenFailures"`
	// IdentityCalls counts GET /id/... calls.
	IdentityCalls int `json:"identityCalls"`
	// APICalls counts /services/data calls that counted against the limit.
	APICalls int `json:"apiCalls"`
	// SingleUpserts and CollectionUpserts count the two upsert calls;
	// CollectionRecords counts the records sent in collections.
	SingleUpserts     int `json:"singleUpserts"`
	CollectionUpserts int `json:"collectionUpserts"`
	// CompositeCalls counts Composite requests (each one API call; the
	// collections inside them count in CollectionUpserts too).
	CompositeCalls    int `json:"compositeCalls"`
	CollectionRecords int `json:"collectionRecords"`
	// LimitsCalls counts GET .../limits.
	LimitsCalls int `json:"limitsCalls"`
	// DescribeCalls counts GET .../sobjects/{object}/describe (a call of
	// its own or a Composite subrequest), QueryCalls
	// GET .../query (first pages and nextRecordsUrl pages alike), and
	// AgentEdits the records edited through the agent hook.
	DescribeCalls int `json:"describeCalls"`
	QueryCalls    int `json:"queryCalls"`
	AgentEdits    int `json:"agentEdits"`
	// RecordsCreated, RecordsUpdated and RecordErrors count record outcomes
	// (rolled-back records included in the first two).
	RecordsCreated int `json:"recordsCreated"`
	RecordsUpdated int `json:"recordsUpdated"`
	RecordErrors   int `json:"recordErrors"`
	// InvalidSession counts calls refused with 401 INVALID_SESSION_ID,
	// LimitExceeded those refused with 403 REQUEST_LIMIT_EXCEEDED, Faults
	// those failed by fault injection.
	InvalidSession int `json:"invalidSession"`
	LimitExceeded  int `json:"limitExceeded"`
	Faults         int `json:"faults"`
	// APIUsage and DailyLimit are the api-usage counter and its maximum.
	APIUsage   int `json:"apiUsage"`
	DailyLimit int `json:"dailyLimit"`
}

// table holds one object's records.
type table struct {
	records []*Record          // in creation order
	byExt   map[string]*Record // external id value -> record
	byID    map[string]*Record // 18-character id -> record
}

// resetData empties every table. The caller holds s.mu or owns s.
func (s *Server) resetData() {
	s.tables = map[string]*table{}
	for _, o := range s.schema {
		s.tables[o.name] = &table{byExt: map[string]*Record{}, byID: map[string]*Record{}}
	}
	s.idSeq = map[string]int64{}
	s.created = 0
	s.files, s.fileBytes = map[string]*storedFile{}, 0
}

// Records returns a copy of the object's records in creation order, or nil
// for an unknown object. The object name is matched case-insensitively.
func (s *Server) Records(object string) []Record {
	o := s.schema[strings.ToLower(object)]
	if o == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[o.name]
	out := make([]Record, 0, len(t.records))
	for _, r := range t.records {
		c := *r
		c.Fields = maps.Clone(r.Fields)
		out = append(out, c)
	}
	return out
}

// Stats returns the call counters and the API usage.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.APIUsage = s.usage
	st.DailyLimit = s.opts.DailyLimit
	return st
}

// limitHeader sets Sforce-Limit-Info. The caller holds s.mu.
func (s *Server) limitHeader(w http.ResponseWriter) {
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.usage, s.opts.DailyLimit))
}

var versionPattern = regexp.MustCompile(`^v(\d+)\.(\d)$`)

// handleData serves /services/data/...: latency, faults, authentication and
// the API limit first, then the resource.
func (s *Server) handleData(w http.ResponseWriter, r *http.Request) {
	// Read the body first: until it is read, the server does not notice a
	// client hanging up, and a delayed call would outlive its client.
	limit := int64(maxBodyBytes)
	if isUpload(r) {
		limit = s.opts.MaxUploadBytes
	}
	body, err := ReadAll(io.LimitReader(r.Body, limit+1), min(r.ContentLength, limit+1))
	if err != nil {
		return
	}
	if int64(len(body)) > limit {
		writeErrors(w, http.StatusRequestEntityTooLarge, "REQUEST_ENTITY_TOO_LARGE",
			fmt.Sprintf("the request body is larger than the stand-in reads (%d bytes)", limit))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	// The latency is spent half before the call is processed and half
	// after: records become visible in the middle of the call, as a real
	// org's records do while its answer is still on its way.
	s.mu.Lock()
	delay := s.latency
	s.mu.Unlock()
	if !sleepCtx(r.Context(), delay/2) {
		return
	}
	defer sleepCtx(r.Context(), delay-delay/2)

	if f, ok := s.takeFault(); ok {
		s.mu.Lock()
		s.limitHeader(w)
		s.mu.Unlock()
		writeFault(w, f)
		return
	}
	if !s.authorized(r) {
		s.mu.Lock()
		s.stats.InvalidSession++
		s.limitHeader(w)
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", "Token")
		writeErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	s.mu.Lock()
	if s.usage >= s.opts.DailyLimit {
		s.stats.LimitExceeded++
		s.limitHeader(w)
		s.mu.Unlock()
		writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	s.usage++
	s.stats.APICalls++
	s.limitHeader(w)
	s.mu.Unlock()

	segs, ok := splitPath(strings.TrimPrefix(r.URL.EscapedPath(), "/services/data/"))
	if !ok || len(segs) < 2 {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	m := versionPattern.FindStringSubmatch(segs[0])
	if m == nil {
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	major, _ := strconv.Atoi(m[1])
	if major < minVersion || major > maxVersion || m[2] != "0" {
		// A version the org does not serve (GET /services/data/ lists
		// those it does).
		writeErrors(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	rest := segs[1:]
	switch {
	case len(rest) == 1 && rest[0] == "limits":
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		s.handleLimits(w)
	case len(rest) == 2 && rest[0] == "sobjects" && r.Method == http.MethodPost:
		s.handleInsert(w, r, rest[1], body)
	case len(rest) == 3 && rest[0] == "sobjects" && r.Method == http.MethodPatch:
		s.handleUpdateByID(w, rest[1], rest[2], body)
	case len(rest) == 4 && rest[0] == "sobjects" && r.Method == http.MethodGet &&
		strings.EqualFold(rest[1], "ContentVersion") && rest[3] == "VersionData":
		s.handleVersionData(w, rest[2])
	case len(rest) == 4 && rest[0] == "sobjects":
		if !allowMethod(w, r, http.MethodPatch) {
			return
		}
		s.handleUpsert(w, r, major, rest[1], rest[2], rest[3])
	case len(rest) == 1 && rest[0] == "composite":
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		s.handleComposite(w, r, segs[0], body)
	case len(rest) == 4 && rest[0] == "composite" && rest[1] == "sobjects":
		if !allowMethod(w, r, http.MethodPatch) {
			return
		}
		s.handleCollection(w, r, rest[2], rest[3])
	default:
		s.handleRead(w, r, segs[0], rest)
	}
}

// ReadAll is io.ReadAll, reading into one buffer of size bytes when size,
// the body's length as its header announced it, is positive: a body of a
// megabyte is read without the copies of a growing buffer.
func ReadAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1) // room for the read that finds the end
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// sleepCtx waits d, or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// splitPath splits an escaped path into unescaped segments, ignoring one
// trailing slash.
func splitPath(escaped string) ([]string, bool) {
	escaped = strings.TrimSuffix(escaped, "/")
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil || u == "" {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

// allowMethod answers 405 unless r uses method.
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
		fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", r.Method, method))
	return false
}

// handleLimits is GET /services/data/vXX.X/limits (DailyApiRequests only).
func (s *Server) handleLimits(w http.ResponseWriter) {
	s.mu.Lock()
	s.stats.LimitsCalls++
	used, max := s.usage, s.opts.DailyLimit
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"DailyApiRequests": map[string]int{"Max": max, "Remaining": max - used},
	})
}

// recErr is a per-record error.
type recErr struct {
	code    string
	message string
	fields  []string
}

// fieldError is an error of a single-record call: Salesforce's REST error
// with its fields, always present.
type fieldError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// collectionError is one error of an UpsertResult in a collection.
type collectionError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// upsertResult is Salesforce's UpsertResult: id and created only when the
// record succeeded.
type upsertResult struct {
	ID      string            `json:"id,omitempty"`
	Success bool              `json:"success"`
	Errors  []collectionError `json:"errors"`
	Created *bool             `json:"created,omitempty"`
}

// resolveObjectAndField finds the object and external id field named in a
// URL, writing Salesforce's error when they do not exist.
func (s *Server) resolveObjectAndField(w http.ResponseWriter, object, field string) (*objectSchema, bool) {
	o, e := s.lookupObjectAndField(object, field)
	if e != nil {
		e.write(w)
		return nil, false
	}
	return o, true
}

// lookupObjectAndField finds the object and external id field named in a
// URL, or the error Salesforce answers when they do not exist.
func (s *Server) lookupObjectAndField(object, field string) (*objectSchema, *apiError) {
	o := s.schema[strings.ToLower(object)]
	if o == nil {
		return nil, &apiError{http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist"}
	}
	canon, known := o.fields[strings.ToLower(field)]
	if !known {
		return nil, &apiError{http.StatusNotFound, "NOT_FOUND",
			"Provided external ID field does not exist or is not accessible: " + field}
	}
	if canon != o.externalID {
		return nil, &apiError{http.StatusBadRequest, "INVALID_FIELD",
			fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", canon, o.name)}
	}
	return o, nil
}

// apiError is a whole-call (or whole-subrequest) error: an HTTP status and
// Salesforce's one-element error array.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) write(w http.ResponseWriter) { writeErrors(w, e.status, e.code, e.message) }

// body is the JSON error array.
func (e *apiError) body() []fieldError {
	return []fieldError{{Message: e.message, ErrorCode: e.code, Fields: []string{}}}
}

// decodeBody reads a JSON body (already bounded by handleData) into v,
// numbers as json.Number.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	return nil
}

// handleUpsert is PATCH .../sobjects/{object}/{field}/{value}.
func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request, major int, object, field, value string) {
	o, ok := s.resolveObjectAndField(w, object, field)
	if !ok {
		return
	}
	var rec map[string]any
	if err := decodeBody(r, &rec); err != nil || rec == nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a JSON object")
		return
	}
	// The URL names the record: its value wins over one in the body.
	for k := range rec {
		if strings.EqualFold(k, o.externalID) {
			delete(rec, k)
		}
	}
	rec[o.externalID] = value

	s.mu.Lock()
	s.stats.SingleUpserts++
	out := s.upsertLocked(o, rec, nil)
	s.countOutcome(out)
	s.mu.Unlock()

	switch {
	case out.err != nil:
		fields := out.err.fields
		if fields == nil {
			fields = []string{}
		}
		writeJSON(w, http.StatusBadRequest, []fieldError{{Message: out.err.message, ErrorCode: out.err.code, Fields: fields}})
	case out.created:
		created := true
		writeJSON(w, http.StatusCreated, upsertResult{ID: out.id, Success: true, Errors: []collectionError{}, Created: &created})
	case major < 46:
		w.WriteHeader(http.StatusNoContent)
	default:
		created := false
		writeJSON(w, http.StatusOK, upsertResult{ID: out.id, Success: true, Errors: []collectionError{}, Created: &created})
	}
}

// collectionRequest is the body of an sObject Collections upsert.
type collectionRequest struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// handleCollection is PATCH .../composite/sobjects/{object}/{field}.
func (s *Server) handleCollection(w http.ResponseWriter, r *http.Request, object, field string) {
	var req collectionRequest
	if err := decodeBody(r, &req); err != nil {
		if _, e := s.lookupObjectAndField(object, field); e != nil {
			e.write(w)
			return
		}
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a valid sObject Collections request")
		return
	}
	o, e := s.checkCollection(object, field, req)
	if e != nil {
		e.write(w)
		return
	}
	s.mu.Lock()
	var journal []func()
	var undo *[]func() // only allOrNone needs undo steps
	if req.AllOrNone {
		undo = &journal
	}
	results, failed := s.upsertCollectionLocked(o, req.Records, undo)
	if req.AllOrNone && failed {
		rollBack(journal, results)
	}
	s.mu.Unlock()
	if f := writeObserver(r.Context()); f != nil {
		f(collectionWrites(nil, object, field, req.Records, results))
	}
	writeJSON(w, http.StatusOK, results)
}

// checkCollection checks an sObject Collections upsert of object by field
// before anything is written: the object and field, the record limit and
// every record's type.
func (s *Server) checkCollection(object, field string, req collectionRequest) (*objectSchema, *apiError) {
	o, e := s.lookupObjectAndField(object, field)
	if e != nil {
		return nil, e
	}
	if len(req.Records) > MaxCollectionRecords {
		return nil, &apiError{http.StatusBadRequest, "EXCEEDED_ID_LIMIT",
			fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", MaxCollectionRecords)}
	}
	for _, rec := range req.Records {
		typ := recordType(rec)
		if typ == "" {
			return nil, &apiError{http.StatusBadRequest, "INVALID_TYPE",
				"When using the sObject Collections API, each record must specify its type in attributes"}
		}
		ro := s.schema[strings.ToLower(typ)]
		if ro == nil {
			return nil, &apiError{http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", typ)}
		}
		if ro != o {
			return nil, &apiError{http.StatusBadRequest, "INVALID_TYPE",
				fmt.Sprintf("sObject type '%s' does not match the request's object %s", typ, o.name)}
		}
	}
	return o, nil
}

// upsertCollectionLocked upserts records of o in order, one result each,
// appending undo steps to journal (when not nil); failed reports whether a
// record failed. The caller holds s.mu.
func (s *Server) upsertCollectionLocked(o *objectSchema, records []map[string]any, journal *[]func()) (results []upsertResult, failed bool) {
	// The same external id twice in one call fails every occurrence.
	type ext struct {
		key string
		ok  bool
	}
	exts := make([]ext, len(records))
	seen := make(map[string]int, len(records))
	for i, rec := range records {
		if k, ok := extKey(o, rec); ok {
			exts[i] = ext{k, true}
			seen[k]++
		}
	}
	s.stats.CollectionUpserts++
	s.stats.CollectionRecords += len(records)
	results = make([]upsertResult, len(records))
	for i, rec := range records {
		var out outcome
		if k, ok := exts[i].key, exts[i].ok; ok && seen[k] > 1 {
			out.err = &recErr{code: "DUPLICATE_VALUE", message: "Duplicate external id specified: " + k, fields: []string{o.externalID}}
		} else {
			out = s.upsertLocked(o, rec, journal)
		}
		s.countOutcome(out)
		if out.err != nil {
			failed = true
			fields := out.err.fields
			if fields == nil {
				fields = []string{}
			}
			results[i] = upsertResult{Errors: []collectionError{{StatusCode: out.err.code, Message: out.err.message, Fields: fields}}}
			continue
		}
		created := out.created
		results[i] = upsertResult{ID: out.id, Success: true, Errors: []collectionError{}, Created: &created}
	}
	return results, failed
}

// rollBack undoes journal, newest first, and turns the successes of
// results into ALL_OR_NONE_OPERATION_ROLLED_BACK failures. The caller holds
// s.mu.
func rollBack(journal []func(), results []upsertResult) {
	for j := len(journal) - 1; j >= 0; j-- {
		journal[j]()
	}
	for i := range results {
		if results[i].Success {
			results[i] = upsertResult{Errors: []collectionError{{
				StatusCode: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
				Message:    "Record rolled back because not all records were valid and the request was using AllOrNone header",
				Fields:     []string{},
			}}}
		}
	}
}

// recordType returns attributes.type of a collection record.
func recordType(rec map[string]any) string {
	for k, v := range rec {
		if !strings.EqualFold(k, "attributes") {
			continue
		}
		attrs, _ := v.(map[string]any)
		t, _ := attrs["type"].(string)
		return t
	}
	return ""
}

// extKey returns the record's external id value as a string.
func extKey(o *objectSchema, rec map[string]any) (string, bool) {
	for k, v := range rec {
		if strings.EqualFold(k, o.externalID) {
			s, ok := scalarString(v)
			return s, ok && s != ""
		}
	}
	return "", false
}

// scalarString renders a JSON string or number as a string.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// isScalar reports whether v is a JSON scalar or null.
func isScalar(v any) bool {
	switch v.(type) {
	case nil, string, json.Number, bool, float64:
		return true
	}
	return false
}

// outcome is what upserting one record did.
type outcome struct {
	id      string
	created bool
	err     *recErr
}

// countOutcome adds out to the stats. The caller holds s.mu.
func (s *Server) countOutcome(out outcome) {
	switch {
	case out.err != nil:
		s.stats.RecordErrors++
	case out.created:
		s.stats.RecordsCreated++
	default:
		s.stats.RecordsUpdated++
	}
}

// upsertLocked validates rec and creates or updates the record with its
// external id. When journal is not nil an undo step is appended to it. The
// caller holds s.mu.
func (s *Server) upsertLocked(o *objectSchema, rec map[string]any, journal *[]func()) outcome {
	fail := func(code, msg string, fields ...string) outcome {
		return outcome{err: &recErr{code: code, message: msg, fields: fields}}
	}
	key, ok := extKey(o, rec)
	if !ok {
		return fail("MISSING_ARGUMENT", o.externalID+" not specified", o.externalID)
	}

	values := make(map[string]any, len(rec))
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k := range rec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var lowerBuf [64]byte
	for _, k := range keys {
		v := rec[k]
		lk := appendLower(lowerBuf[:0], k)
		if string(lk) == "attributes" {
			continue
		}
		if l, ok := o.relationships[string(lk)]; ok {
			parentID, e := s.resolveParent(l, v)
			if e != nil {
				return outcome{err: e}
			}
			values[l.Field] = parentID
			continue
		}
		canon, ok := o.fields[string(lk)]
		if !ok {
			return fail("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.name), k)
		}
		if !isScalar(v) {
			return fail("INVALID_TYPE_ON_FIELD_IN_RECORD", fmt.Sprintf("%s: value not of required type", canon), canon)
		}
		if l, ok := o.lookups[string(lk)]; ok && v != nil {
			id, e := s.resolveID(l, v)
			if e != nil {
				return outcome{err: e}
			}
			v = id
		}
		if e := s.checkValue(o, canon, v); e != nil {
			return outcome{err: e}
		}
		if max, ok := o.maxLength[canon]; ok {
			if str, isStr := v.(string); isStr && utf8.RuneCountInString(str) > max {
				return fail("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", canon, truncate(str, 40), max), canon)
			}
		}
		values[canon] = v
	}

	for _, id := range slices.Sorted(maps.Keys(s.rules)) {
		rule := s.rules[id]
		if !strings.EqualFold(rule.Object, o.name) {
			continue
		}
		canon, ok := o.fields[strings.ToLower(rule.Field)]
		if !ok {
			continue
		}
		if str, isStr := values[canon].(string); isStr && strings.Contains(str, rule.Contains) {
			return fail(rule.StatusCode, rule.Message, canon)
		}
	}

	t := s.tables[o.name]
	existing := t.byExt[key]
	var missing []string
	for _, f := range o.required {
		v, present := values[f]
		if (existing == nil && v == nil) || (existing != nil && present && v == nil) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fail("REQUIRED_FIELD_MISSING", fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", ")), missing...)
	}

	if existing == nil {
		s.created++
		// values is the new record's fields, but for the nulls.
		for k, v := range values {
			if v == nil {
				delete(values, k)
			}
		}
		r := &Record{ID: s.nextID(o), Fields: values, CreatedSeq: s.created}
		s.touchLocked(r, s.opts.UserID, nil)
		t.records = append(t.records, r)
		t.byExt[key] = r
		t.byID[r.ID] = r
		if journal != nil {
			*journal = append(*journal, func() {
				t.records = t.records[:len(t.records)-1]
				delete(t.byExt, key)
				delete(t.byID, r.ID)
			})
		}
		return outcome{id: r.ID, created: true}
	}

	var undo func()
	if journal != nil {
		before, beforeCount := maps.Clone(existing.Fields), existing.UpdateCount
		undo = func() { existing.Fields, existing.UpdateCount = before, beforeCount }
	}
	for k, v := range values {
		if v == nil {
			delete(existing.Fields, k)
		} else {
			existing.Fields[k] = v
		}
	}
	existing.UpdateCount++
	s.touchLocked(existing, s.opts.UserID, journal)
	if journal != nil {
		*journal = append(*journal, undo)
	}
	return outcome{id: existing.ID, created: false}
}

// resolveParent turns {"<parent external id field>": value} into the
// parent's record id. The caller holds s.mu.
func (s *Server) resolveParent(l Lookup, v any) (any, *recErr) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &recErr{code: "INVALID_TYPE_ON_FIELD_IN_RECORD",
			message: fmt.Sprintf("%s: value not of required type: expected an object naming the parent by external id", l.Relationship),
			fields:  []string{l.Relationship}}
	}
	parent := lookupLower(s.schema, l.Object)
	var keyField string
	var keyValue any
	n := 0
	for k, kv := range m {
		if strings.EqualFold(k, "attributes") {
			continue
		}
		keyField, keyValue = k, kv
		n++
	}
	if n != 1 {
		return nil, &recErr{code: "INVALID_FIELD",
			message: fmt.Sprintf("%s: the parent must be named by exactly one external id field", l.Relationship),
			fields:  []string{l.Relationship}}
	}
	if !strings.EqualFold(keyField, parent.externalID) {
		return nil, &recErr{code: "INVALID_FIELD",
			message: fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", keyField, parent.name),
			fields:  []string{}}
	}
	key, ok := scalarString(keyValue)
	if !ok {
		return nil, &recErr{code: "INVALID_TYPE_ON_FIELD_IN_RECORD",
			message: fmt.Sprintf("%s: value not of required type", parent.externalID), fields: []string{l.Relationship}}
	}
	p := s.tables[parent.name].byExt[key]
	if p == nil {
		return nil, &recErr{code: "INVALID_FIELD",
			message: fmt.Sprintf("Foreign key external ID: %s not found for field %s in entity %s", key, parent.externalID, parent.name),
			fields:  []string{}}
	}
	return p.ID, nil
}

// resolveID checks a lookup field's record id and returns its 18-character
// form. The caller holds s.mu.
func (s *Server) resolveID(l Lookup, v any) (string, *recErr) {
	str, _ := v.(string)
	if !idPattern.MatchString(str) {
		return "", &recErr{code: "MALFORMED_ID", message: fmt.Sprintf("%s: id value of incorrect type: %v", l.Field, v), fields: []string{l.Field}}
	}
	if len(str) == 15 {
		str += idSuffix(str)
	}
	parent := s.schema[strings.ToLower(l.Object)]
	if s.tables[parent.name].byID[str] == nil {
		return "", &recErr{code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: []string{l.Field}}
	}
	return str, nil
}

var idPattern = regexp.MustCompile(`^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$`)

// truncate shortens s to at most n runes for an error message.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "..."
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// nextID returns the object's next 18-character record id. The caller
// holds s.mu.
func (s *Server) nextID(o *objectSchema) string {
	s.idSeq[o.name]++
	n := s.idSeq[o.name]
	// The key prefix (three characters), twelve base-62 digits, the
	// suffix.
	var id [18]byte
	copy(id[:3], o.keyPrefix)
	body := id[3:15]
	for i := range body {
		body[i] = '0'
	}
	for i := len(body) - 1; i >= 0 && n > 0; i-- {
		body[i] = base62[n%62]
		n /= 62
	}
	putIDSuffix(id[15:], id[:15])
	return string(id[:])
}

// idSuffix computes the three characters that make a 15-character
// Salesforce id case-insensitively unique: for each block of five
// characters, a bit per upper-case letter, mapped onto A-Z0-5.
func idSuffix(id15 string) string {
	out := make([]byte, 3)
	putIDSuffix(out, []byte(id15))
	return string(out)
}

// putIDSuffix writes idSuffix(id15) into out[:3].
func putIDSuffix(out, id15 []byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	for block := 0; block < 3; block++ {
		flags := 0
		for j := 0; j < 5; j++ {
			c := id15[block*5+j]
			if c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		out[block] = alphabet[flags]
	}
}

// appendLower appends strings.ToLower(s) to b, without allocating when s
// is ASCII and fits b's capacity.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return append(b[:0], strings.ToLower(s)...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// lookupLower is m[strings.ToLower(name)], without allocating for the
// usual names.
func lookupLower[V any](m map[string]V, name string) V {
	var buf [64]byte
	return m[string(appendLower(buf[:0], name))]
}
