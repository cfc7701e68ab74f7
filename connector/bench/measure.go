package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/sfclient/standin"
)

// dataPrefix is the path prefix of Salesforce's REST data calls.
const dataPrefix = "/services/data/"

// written is one record a call wrote successfully.
type written struct {
	Object  string
	Key     string // the external id value
	Created bool
}

// meter wraps the Salesforce stand-in: it counts every data call and learns
// which records it wrote, and when: from the stand-in, which reports them
// (standin.WithWriteObserver), or, for another handler, by reading the
// call's request and answer (parseCall).
type meter struct {
	next http.Handler
	// msgObject and msgKey name the message object and its external id
	// field (the mapping's); their records are the messages tracked.
	msgObject, msgKey string

	mu          sync.Mutex
	calls       int
	failedCalls int                  // answered other than 2xx
	records     int                  // records written, every object
	created     int                  // message records created
	rewrites    int                  // message records written again after the first time
	first       map[string]time.Time // message key -> when first written
}

func newMeter(next http.Handler, msgObject, msgKey string) *meter {
	return &meter{next: next, msgObject: msgObject, msgKey: msgKey, first: map[string]time.Time{}}
}

// recorder keeps a copy of the answer, unless told not to.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	noCopy bool
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.noCopy {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, dataPrefix) {
		m.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	reqBody, err := standin.ReadAll(r.Body, min(r.ContentLength, maxBodyHint))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	// The stand-in tells what the call wrote, before it answers; any other
	// handler's call is read by parseCall.
	rec := &recorder{ResponseWriter: w}
	var observed []written
	var told bool
	r = r.WithContext(standin.WithWriteObserver(r.Context(), func(ws []standin.Write) {
		told = true
		rec.noCopy = true // parseCall does not need the answer
		observed = make([]written, len(ws))
		for i, w := range ws {
			observed[i] = written(w)
		}
	}))
	m.next.ServeHTTP(rec, r)
	end := time.Now()
	// A record counts as written at the midpoint of the call that wrote it.
	at := start.Add(end.Sub(start) / 2)
	writes := observed
	switch {
	case !told:
		writes = parseCall(r.Method, r.URL.Path, reqBody, rec.status, rec.body.Bytes())
	case rec.status/100 != 2:
		writes = nil
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if rec.status/100 != 2 {
		m.failedCalls++
	}
	m.records += len(writes)
	for _, wr := range writes {
		if !strings.EqualFold(wr.Object, m.msgObject) {
			continue
		}
		if wr.Created {
			m.created++
		}
		if _, ok := m.first[wr.Key]; ok {
			m.rewrites++
			continue
		}
		m.first[wr.Key] = at
	}
}

// maxBodyHint bounds the buffer allocated for a request body from its
// Content-Length.
const maxBodyHint = 16 << 20

// meterStats is a consistent snapshot of a meter's counters.
type meterStats struct {
	Calls, FailedCalls, Records, Created, Rewrites, Messages int
}

func (m *meter) stats() meterStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return meterStats{Calls: m.calls, FailedCalls: m.failedCalls, Records: m.records,
		Created: m.created, Rewrites: m.rewrites, Messages: len(m.first)}
}

// firstWrite returns when the message record with this key was first
// written.
func (m *meter) firstWrite(key string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.first[key]
	return t, ok
}

// unwritten returns, in keys' array, the keys whose message record was not
// written yet.
func (m *meter) unwritten(keys []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	still := keys[:0]
	for _, k := range keys {
		if _, ok := m.first[k]; !ok {
			still = append(still, k)
		}
	}
	return still
}

// collectionTarget parses the path of an sObject Collections upsert,
// /services/data/vXX.X/composite/sobjects/{object}/{field}, into the object
// and its external id field.
func collectionTarget(path string) (object, field string, ok bool) {
	if u, err := url.Parse(path); err == nil {
		path = u.Path
	}
	segs := strings.Split(strings.Trim(strings.TrimPrefix(path, dataPrefix), "/"), "/")
	if len(segs) != 5 || !strings.HasPrefix(segs[0], "v") || segs[1] != "composite" || segs[2] != "sobjects" {
		return "", "", false
	}
	return segs[3], segs[4], true
}

// isComposite reports whether path is /services/data/vXX.X/composite.
func isComposite(path string) bool {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(path, dataPrefix), "/"), "/")
	return len(segs) == 2 && strings.HasPrefix(segs[0], "v") && segs[1] == "composite"
}

// upsertResult is one record's result in a collection's answer.
type upsertResult struct {
	Success bool `json:"success"`
	Created bool `json:"created"`
}

// parseCall returns the records a data call wrote successfully, read from
// its request and its answer. It understands the sObject Collections upsert
// (PATCH .../composite/sobjects/{object}/{field}) and the Composite request
// (POST .../composite) whose subrequests are such upserts; any other call
// writes nothing it can see.
func parseCall(method, path string, reqBody []byte, status int, respBody []byte) []written {
	if status/100 != 2 {
		return nil
	}
	if object, field, ok := collectionTarget(path); ok && method == http.MethodPatch {
		return collectionWrites(object, field, reqBody, respBody)
	}
	if !isComposite(path) || method != http.MethodPost {
		return nil
	}
	var req struct {
		CompositeRequest []struct {
			Method      string          `json:"method"`
			URL         string          `json:"url"`
			ReferenceID string          `json:"referenceId"`
			Body        json.RawMessage `json:"body"`
		} `json:"compositeRequest"`
	}
	var resp struct {
		CompositeResponse []struct {
			Body           json.RawMessage `json:"body"`
			HTTPStatusCode int             `json:"httpStatusCode"`
			ReferenceID    string          `json:"referenceId"`
		} `json:"compositeResponse"`
	}
	if json.Unmarshal(reqBody, &req) != nil || json.Unmarshal(respBody, &resp) != nil {
		return nil
	}
	var out []written
	for _, sub := range resp.CompositeResponse {
		if sub.HTTPStatusCode/100 != 2 {
			continue
		}
		for _, sr := range req.CompositeRequest {
			if sr.ReferenceID != sub.ReferenceID || !strings.EqualFold(sr.Method, http.MethodPatch) {
				continue
			}
			if object, field, ok := collectionTarget(sr.URL); ok {
				out = append(out, collectionWrites(object, field, sr.Body, sub.Body)...)
			}
			break
		}
	}
	return out
}

// collectionWrites pairs a collection's records with their results, in
// order, and returns the successful ones.
func collectionWrites(object, field string, reqBody, respBody []byte) []written {
	var results []upsertResult
	if json.Unmarshal(respBody, &results) != nil {
		return nil
	}
	keys, ok := recordKeys(field, reqBody)
	if !ok {
		return nil
	}
	out := make([]written, 0, len(results))
	for i, res := range results {
		if i >= len(keys) || !res.Success {
			continue
		}
		out = append(out, written{Object: object, Key: keys[i], Created: res.Created})
	}
	return out
}

// recordKeys returns the field of each record of a collection's body, ""
// where it is missing or not a string. It decodes that field alone, into
// a struct built for it: field names match ignoring case, as Salesforce
// matches them (and as encoding/json matches struct fields).
func recordKeys(field string, body []byte) ([]string, bool) {
	t, ok := keyRecordType(field)
	if !ok {
		return recordKeysGeneric(field, body)
	}
	v := reflect.New(t) // *struct{ Records []struct{ Key any } }
	if json.Unmarshal(body, v.Interface()) != nil {
		return nil, false
	}
	recs := v.Elem().Field(0)
	keys := make([]string, recs.Len())
	for i := range keys {
		keys[i], _ = recs.Index(i).Field(0).Interface().(string)
	}
	return keys, true
}

// keyTypes caches keyRecordType's types by field name.
var keyTypes sync.Map

// keyRecordType returns struct{ Records []struct{ Key any `json:"<field>"` }
// `json:"records"` }, or false when field is not a plain Salesforce field
// name (letters, digits and underscores) to put in a tag.
func keyRecordType(field string) (reflect.Type, bool) {
	if t, ok := keyTypes.Load(field); ok {
		return t.(reflect.Type), true
	}
	if field == "" {
		return nil, false
	}
	for _, c := range field {
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return nil, false
		}
	}
	rec := reflect.StructOf([]reflect.StructField{{Name: "Key", Type: reflect.TypeFor[any](), Tag: reflect.StructTag(`json:"` + field + `"`)}})
	t := reflect.StructOf([]reflect.StructField{{Name: "Records", Type: reflect.SliceOf(rec), Tag: `json:"records"`}})
	keyTypes.Store(field, t)
	return t, true
}

// recordKeysGeneric is recordKeys for any field name, through generic maps.
func recordKeysGeneric(field string, body []byte) ([]string, bool) {
	var req struct {
		Records []map[string]any `json:"records"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil, false
	}
	keys := make([]string, len(req.Records))
	for i, rec := range req.Records {
		keys[i] = standin.StringField(rec, field)
	}
	return keys, true
}

// faults answers a share of the data calls with 503 SERVER_UNAVAILABLE,
// after the same latency as the stand-in's, instead of passing them on.
type faults struct {
	next    http.Handler
	rate    float64
	latency time.Duration
}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.rate <= 0 || !strings.HasPrefix(r.URL.Path, dataPrefix) || rand.Float64() >= f.rate {
		f.next.ServeHTTP(w, r)
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	t := time.NewTimer(f.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `[{"message":"Server temporarily unavailable. Please try again later.","errorCode":"SERVER_UNAVAILABLE"}]`)
}
