package standin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Composite limits, as Salesforce sets them.
const (
	// MaxCompositeSubrequests is the most subrequests of one Composite
	// request.
	MaxCompositeSubrequests = 25
	// MaxCompositeCollections is the most of them that may be sObject
	// Collections (or query) subrequests.
	MaxCompositeCollections = 5
)

// compositeRequest is the body of POST /services/data/vXX.X/composite.
type compositeRequest struct {
	AllOrNone        bool         `json:"allOrNone"`
	CompositeRequest []subrequest `json:"compositeRequest"`
}

// subrequest is one subrequest of a Composite request.
type subrequest struct {
	Method      string  `json:"method"`
	URL         string  `json:"url"`
	ReferenceID string  `json:"referenceId"`
	Body        rawBody `json:"body"`
}

// rawBody is a subrequest's body as it is in the request: unlike
// json.RawMessage it is not a copy, but the request's bytes, which
// decodeComposite's caller keeps as they are.
type rawBody []byte

func (b *rawBody) UnmarshalJSON(data []byte) error {
	*b = data
	return nil
}

// decodeComposite decodes a Composite request's body as decodeBody does
// (its first JSON value). A body that is one JSON value, as bodies are,
// is decoded without a json.Decoder's copies of it; the subrequests' bodies
// are then slices of body.
func decodeComposite(body []byte, req *compositeRequest) error {
	if json.Unmarshal(body, req) == nil {
		return nil
	}
	*req = compositeRequest{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(req)
}

// subresponse is one entry of compositeResponse.
type subresponse struct {
	Body           any               `json:"body"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	ReferenceID    string            `json:"referenceId"`

	// writes are the records a collection wrote, for a write observer.
	writes []Write
}

// handleComposite is POST /services/data/vXX.X/composite: the subrequests
// run in order, in one call toward the API limit. The stand-in executes
// sObject Collections upserts (PATCH .../composite/sobjects/{object}/{field}),
// single-record upserts (PATCH .../sobjects/{object}/{field}/{value}) and
// describes (GET .../sobjects/{object}/describe); any other subrequest is
// answered 404 NOT_FOUND within the response.
//
// With allOrNone false every subrequest stands on its own: one that fails
// does not undo or stop the others. With allOrNone true, the first failing
// subrequest (an error status, or a collection with a failed record) rolls
// back everything the request wrote: it keeps its own answer, the
// subrequests before it answer 400 PROCESSING_HALTED (their writes were
// undone) and the ones after it are not executed and answer the same.
func (s *Server) handleComposite(w http.ResponseWriter, r *http.Request, version string, body []byte) {
	var req compositeRequest
	if err := decodeComposite(body, &req); err != nil || req.CompositeRequest == nil {
		writeErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a valid Composite request")
		return
	}
	if n := len(req.CompositeRequest); n > MaxCompositeSubrequests {
		writeErrors(w, http.StatusBadRequest, "LIMIT_EXCEEDED",
			fmt.Sprintf("Composite request contains %d subrequests; the limit is %d", n, MaxCompositeSubrequests))
		return
	}
	collections := 0
	refs := map[string]bool{}
	for i, sr := range req.CompositeRequest {
		if sr.ReferenceID == "" || refs[sr.ReferenceID] {
			writeErrors(w, http.StatusBadRequest, "INVALID_INPUT",
				fmt.Sprintf("Subrequest %d: referenceId must be set and unique within the request", i))
			return
		}
		refs[sr.ReferenceID] = true
		if isCollectionURL(sr.URL) || strings.Contains(sr.URL, "/query") {
			collections++
		}
	}
	if collections > MaxCompositeCollections {
		writeErrors(w, http.StatusBadRequest, "LIMIT_EXCEEDED",
			fmt.Sprintf("Composite request contains %d sObject Collections or query subrequests; the limit is %d", collections, MaxCompositeCollections))
		return
	}

	s.mu.Lock()
	s.stats.CompositeCalls++
	s.mu.Unlock()
	observe := writeObserver(r.Context())
	out := make([]subresponse, 0, len(req.CompositeRequest))
	var journal []func()
	var undo *[]func() // only allOrNone needs undo steps
	if req.AllOrNone {
		undo = &journal
	}
	halted := -1
	for i, sr := range req.CompositeRequest {
		resp, failed := s.subrequest(version, sr, undo, observe != nil)
		out = append(out, resp)
		if failed && req.AllOrNone {
			halted = i
			break
		}
	}
	if halted >= 0 {
		s.mu.Lock()
		for j := len(journal) - 1; j >= 0; j-- {
			journal[j]()
		}
		s.mu.Unlock()
		halt := func(ref string) subresponse {
			return subresponse{
				Body: []fieldError{{ErrorCode: "PROCESSING_HALTED", Fields: []string{},
					Message: "The transaction was rolled back since another operation in the same transaction failed."}},
				HTTPHeaders: map[string]string{}, HTTPStatusCode: http.StatusBadRequest, ReferenceID: ref,
			}
		}
		for i := range out[:halted] {
			out[i] = halt(out[i].ReferenceID)
		}
		for _, sr := range req.CompositeRequest[halted+1:] {
			out = append(out, halt(sr.ReferenceID))
		}
	}
	if observe != nil {
		var writes []Write
		for _, sr := range out {
			if sr.HTTPStatusCode/100 == 2 {
				writes = append(writes, sr.writes...)
			}
		}
		observe(writes)
	}
	writeJSON(w, http.StatusOK, map[string]any{"compositeResponse": out})
}

// isCollectionURL reports whether a subrequest URL is an sObject
// Collections resource.
func isCollectionURL(u string) bool { return strings.Contains(u, "/composite/sobjects") }

// subrequest executes one subrequest and reports whether it failed (an
// error status, or, for a collection, a record that failed). It appends
// the undo steps of its writes to journal, unless journal is nil. With
// observed, a collection's answer keeps the records it wrote.
func (s *Server) subrequest(version string, sr subrequest, journal *[]func(), observed bool) (subresponse, bool) {
	resp := subresponse{HTTPHeaders: map[string]string{}, ReferenceID: sr.ReferenceID}
	fail := func(e *apiError) (subresponse, bool) {
		resp.HTTPStatusCode, resp.Body = e.status, e.body()
		return resp, true
	}
	notFound := &apiError{http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist"}
	path, _, _ := strings.Cut(sr.URL, "?")
	segs, ok := splitPath(strings.TrimPrefix(path, "/services/data/"))
	if !ok || !strings.HasPrefix(path, "/services/data/") || len(segs) < 2 || segs[0] != version {
		return fail(notFound)
	}
	rest := segs[1:]
	dec := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(sr.Body))
		d.UseNumber()
		return d.Decode(v)
	}
	switch {
	case len(rest) == 4 && rest[0] == "composite" && rest[1] == "sobjects":
		if sr.Method != http.MethodPatch {
			return fail(&apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", sr.Method, http.MethodPatch)})
		}
		var req collectionRequest
		if err := dec(&req); err != nil {
			return fail(&apiError{http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a valid sObject Collections request"})
		}
		o, e := s.checkCollection(rest[2], rest[3], req)
		if e != nil {
			return fail(e)
		}
		// The Composite request's allOrNone true overrides the
		// collection's own: its records are rolled back as one.
		allOrNone := req.AllOrNone || journal != nil
		s.mu.Lock()
		var own []func()
		var undo *[]func()
		if allOrNone {
			undo = &own
		}
		results, failed := s.upsertCollectionLocked(o, req.Records, undo)
		if allOrNone && failed {
			rollBack(own, results)
			own = nil
		}
		if journal != nil {
			*journal = append(*journal, own...)
		}
		s.mu.Unlock()
		resp.HTTPStatusCode, resp.Body = http.StatusOK, results
		if observed {
			resp.writes = collectionWrites(nil, rest[2], rest[3], req.Records, results)
		}
		return resp, failed
	case len(rest) == 3 && rest[0] == "sobjects" && rest[2] == "describe":
		if sr.Method != http.MethodGet {
			return fail(&apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", sr.Method, http.MethodGet)})
		}
		o := s.schema[strings.ToLower(rest[1])]
		if o == nil {
			return fail(notFound)
		}
		s.mu.Lock()
		s.stats.DescribeCalls++
		s.mu.Unlock()
		resp.HTTPStatusCode, resp.Body = http.StatusOK, s.describeObject(o, version)
		return resp, false
	case len(rest) == 4 && rest[0] == "sobjects":
		if sr.Method != http.MethodPatch {
			return fail(&apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", sr.Method, http.MethodPatch)})
		}
		o, e := s.lookupObjectAndField(rest[1], rest[2])
		if e != nil {
			return fail(e)
		}
		rec := map[string]any{}
		if err := dec(&rec); err != nil {
			return fail(&apiError{http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a JSON object"})
		}
		for k := range rec {
			if strings.EqualFold(k, o.externalID) {
				delete(rec, k)
			}
		}
		rec[o.externalID] = rest[3]
		s.mu.Lock()
		s.stats.SingleUpserts++
		out := s.upsertLocked(o, rec, journal)
		s.countOutcome(out)
		s.mu.Unlock()
		if out.err != nil {
			fields := out.err.fields
			if fields == nil {
				fields = []string{}
			}
			resp.HTTPStatusCode = http.StatusBadRequest
			resp.Body = []fieldError{{Message: out.err.message, ErrorCode: out.err.code, Fields: fields}}
			return resp, true
		}
		resp.HTTPStatusCode = http.StatusOK
		if out.created {
			resp.HTTPStatusCode = http.StatusCreated
		}
		resp.Body = map[string]any{"id": out.id, "success": true, "errors": []any{}, "created": out.created}
		return resp, false
	}
	return fail(notFound)
}
