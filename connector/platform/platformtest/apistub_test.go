package platformtest

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// onlyFailure calls s.Only and returns the failure it reported, or "".
func onlyFailure(t *testing.T, s *APIStub) (failure string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != errFatal {
			panic(p)
		}
		failure = r.failure
	}()
	s.Only(r)
	return ""
}

// do sends a request to url and returns the answer's status, header and body.
func do(t *testing.T, client *http.Client, method, url, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestAPIStubAnswersAndRecords(t *testing.T) {
	stub := &APIStub{Status: http.StatusConflict, Body: "taken", ContentType: "text/plain",
		Header: http.Header{"x-request-id": {"req-1"}}}
	srv := Start(t, stub)

	if got := onlyFailure(t, stub); !strings.Contains(got, "got 0 requests") {
		t.Fatalf("Only before any request reported %q, want a failure about 0 requests", got)
	}

	status, header, body := do(t, srv.Client(), http.MethodPost, srv.URL+"/v1/send?to=a%20b", `{"x":1}`, "Authorization", "Bearer t")
	if status != http.StatusConflict || body != "taken" || header.Get("Content-Type") != "text/plain" || header.Get("X-Request-Id") != "req-1" {
		t.Fatalf("answer: %d %q %v", status, body, header)
	}
	first := stub.Only(t)
	if first.Method != http.MethodPost || first.Path != "/v1/send" || first.Query != "to=a%20b" ||
		first.Body != `{"x":1}` || first.Header.Get("Authorization") != "Bearer t" {
		t.Fatalf("recorded %+v", first)
	}

	do(t, srv.Client(), http.MethodDelete, srv.URL+"/v1/item", "")
	if stub.Count() != 2 {
		t.Fatalf("Count = %d after two requests, want 2", stub.Count())
	}
	requests := stub.Requests()
	if len(requests) != 2 || requests[0].Method != http.MethodPost || requests[1].Method != http.MethodDelete || requests[1].Body != "" {
		t.Fatalf("Requests = %+v, want the POST then the DELETE", requests)
	}
	requests[0].Path = "/changed"
	if stub.Requests()[0].Path != "/v1/send" {
		t.Fatal("changing the slice Requests returned changed the stub's record")
	}
	if got := onlyFailure(t, stub); !strings.Contains(got, "got 2 requests") {
		t.Fatalf("Only after two requests reported %q, want a failure about 2 requests", got)
	}
}

func TestAPIStubDefaults(t *testing.T) {
	stub := &APIStub{Body: `{}`}
	srv := Start(t, stub)
	status, header, body := do(t, srv.Client(), http.MethodGet, srv.URL, "")
	if status != http.StatusOK || header.Get("Content-Type") != "application/json" || body != `{}` {
		t.Fatalf("answer of a stub with no status or content type: %d %q %q", status, header.Get("Content-Type"), body)
	}
}

func TestRequestPick(t *testing.T) {
	r := Request{
		Method: http.MethodPost,
		Path:   "/p",
		Query:  "q=1",
		Header: http.Header{"Authorization": {"Bearer t"}, "Content-Type": {"application/json"}, "User-Agent": {"Go"}},
		Body:   "b",
	}
	want := Request{Method: http.MethodPost, Path: "/p", Query: "q=1",
		Header: http.Header{"Authorization": {"Bearer t"}, "Content-Type": {"application/json"}}, Body: "b"}
	if got := r.Pick("authorization", "Content-Type", "Accept"); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pick:\n got %+v\nwant %+v", got, want)
	}
	if got := r.Pick("Accept"); got.Header != nil {
		t.Fatalf("Pick of an absent field kept header %v, want nil", got.Header)
	}
	if len(r.Header) != 3 {
		t.Fatalf("Pick changed the original header: %v", r.Header)
	}
}
