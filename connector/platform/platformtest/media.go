package platformtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
)

// Route is the answer of a Routes stand-in to one path.
type Route struct {
	// Status is the HTTP status; zero means 200 OK.
	Status int
	// ContentType is the answer's Content-Type; none when empty.
	ContentType string
	// Header holds further header fields.
	Header http.Header
	// Body is the answer's body.
	Body string
	// Chunked sends the body without a Content-Length (a streamed answer
	// whose size is not declared).
	Chunked bool
}

// Routes is a stand-in for a platform API with several endpoints (a media
// lookup and its download): it answers each request by its path with the
// Route of that path ("METHOD /path" first, then "/path"), and 404 to any
// other. It records every request. Set Routes before serving.
type Routes struct {
	Routes map[string]Route

	mu       sync.Mutex
	requests []Request
}

// ServeHTTP records r and writes the route's answer.
func (s *Routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, fmt.Sprintf("platformtest: reading the request body: %v", err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	s.mu.Unlock()
	route, ok := s.Routes[r.Method+" "+r.URL.Path]
	if !ok {
		route, ok = s.Routes[r.URL.Path]
	}
	if !ok {
		http.Error(w, "platformtest: no route for "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	for name, values := range route.Header {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	if route.ContentType != "" {
		w.Header().Set("Content-Type", route.ContentType)
	}
	status := route.Status
	if status == 0 {
		status = http.StatusOK
	}
	if route.Chunked {
		w.WriteHeader(status)
		// Two writes with a flush between: the server cannot declare the
		// length.
		half := len(route.Body) / 2
		_, _ = io.WriteString(w, route.Body[:half])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		_, _ = io.WriteString(w, route.Body[half:])
		return
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(route.Body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, route.Body)
}

// Requests returns the requests received so far, oldest first.
func (s *Routes) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Paths returns "METHOD /path" of each request received, in order.
func (s *Routes) Paths() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// CheckMediaError fails t unless err is a FetchMedia error of the wanted
// class: platform.ErrMediaTooLarge ("too large"), platform.ErrMediaGone
// ("gone") or neither ("temporary"), and unless it shows none of the
// secrets.
func CheckMediaError(t testing.TB, err error, class string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("FetchMedia succeeded, want a %s error", class)
	}
	var got string
	switch {
	case errors.Is(err, platform.ErrMediaTooLarge) && errors.Is(err, platform.ErrMediaGone):
		got = "both too large and gone"
	case errors.Is(err, platform.ErrMediaTooLarge):
		got = "too large"
	case errors.Is(err, platform.ErrMediaGone):
		got = "gone"
	case errors.Is(err, platform.ErrNoContent):
		got = "no content"
	case errors.Is(err, platform.ErrMediaNoCredential):
		got = "receive only"
	default:
		got = "temporary"
	}
	if got != class {
		t.Fatalf("FetchMedia error %q is %s, want %s", err, got, class)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("FetchMedia error %q shows a secret", err)
		}
	}
}
