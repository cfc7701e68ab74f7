package platformtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
)

// Request is one request an APIStub received.
type Request struct {
	Method string
	Path   string      // the URL path, e.g. "/v21.0/123/messages"
	Query  string      // the raw query, without the leading "?"
	Header http.Header // every header field the request carried
	Body   string
}

// Pick returns a copy of r whose Header holds only the named fields that r
// carries (nil when it carries none of them). It lets a test compare a
// whole request with reflect.DeepEqual against a Request listing exactly
// the header fields that matter to it.
func (r Request) Pick(names ...string) Request {
	picked := r
	picked.Header = nil
	for _, name := range names {
		values := r.Header.Values(name)
		if len(values) == 0 {
			continue
		}
		if picked.Header == nil {
			picked.Header = make(http.Header, len(names))
		}
		picked.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), values...)
	}
	return picked
}

// APIStub is a stand-in for a platform's HTTP API. It records every request
// it serves and answers each with the same status, header and body. It is
// safe for concurrent use; set its answer fields before serving.
type APIStub struct {
	// Status is the HTTP status of the answer; zero means 200 OK.
	Status int
	// Body is the body of the answer.
	Body string
	// ContentType is the answer's Content-Type; empty means
	// "application/json".
	ContentType string
	// Header holds further header fields of the answer.
	Header http.Header

	mu       sync.Mutex
	requests []Request
}

// ServeHTTP records r and writes the stub's answer. A request whose body
// cannot be read is not recorded and gets 400 Bad Request.
func (s *APIStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, fmt.Sprintf("platformtest: reading the request body: %v", err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
		Header: r.Header.Clone(),
		Body:   string(body),
	})
	s.mu.Unlock()

	for name, values := range s.Header {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	contentType := s.ContentType
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	status := s.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s.Body) // the client may have gone; the test sees that on its side
}

// Requests returns the requests received so far, oldest first.
func (s *APIStub) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests the stub has received.
func (s *APIStub) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Only returns the one request the stub received, and fails t when it
// received none or several.
func (s *APIStub) Only(t testing.TB) Request {
	t.Helper()
	requests := s.Requests()
	if len(requests) != 1 {
		t.Fatalf("API stand-in got %d requests, want 1", len(requests))
	}
	return requests[0]
}

// Start serves h on a new local HTTP server that is closed when the test
// ends, and returns the server; its URL and Client are what an adapter's
// configuration points at.
func Start(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// CheckOnly fails t unless s received exactly one request, equal to want
// once its header is narrowed to the fields named (see Request.Pick).
func (s *APIStub) CheckOnly(t testing.TB, want Request, header ...string) {
	t.Helper()
	if got := s.Only(t).Pick(header...); !reflect.DeepEqual(got, want) {
		t.Fatalf("request:\n got %+v\nwant %+v", got, want)
	}
}
