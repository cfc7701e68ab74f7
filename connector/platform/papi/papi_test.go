package papi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/papi"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

var errMine = errors.New("temporary failure of the test API")

func fastClient(srv *httptest.Server) *papi.Client {
	return papi.New(papi.Config{HTTPClient: srv.Client(), Transient: errMine,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
}

func TestJSONBodyAndHeaders(t *testing.T) {
	stub := &platformtest.APIStub{Body: `{"ok":true}`}
	srv := platformtest.Start(t, stub)
	c := fastClient(srv)
	resp, err := c.Do(context.Background(), papi.Request{Method: http.MethodPost, URL: srv.URL + "/v1/send",
		JSON: map[string]string{"text": `a <b> & "c"`}, Auth: papi.Bearer("tok"),
		Header: http.Header{"X-Key": {"k1"}}})
	if err != nil || resp.Status != 200 || string(resp.Body) != `{"ok":true}` || !resp.OK() || resp.Truncated {
		t.Fatalf("Do = %+v, %v", resp, err)
	}
	got := stub.Only(t).Pick("Authorization", "Content-Type", "Accept", "X-Key")
	want := platformtest.Request{Method: "POST", Path: "/v1/send", Body: `{"text":"a <b> & \"c\""}`, Header: http.Header{
		"Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}, "Accept": {"application/json"}, "X-Key": {"k1"}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("request\n got %+v\nwant %+v", got, want)
	}
}

func TestFormAndBasicAuth(t *testing.T) {
	stub := &platformtest.APIStub{Status: 201, Body: `{}`}
	srv := platformtest.Start(t, stub)
	resp, err := fastClient(srv).Do(context.Background(), papi.Request{Method: http.MethodPost, URL: srv.URL + "/m",
		Form: url.Values{"To": {"+1"}, "Body": {"hi & bye"}}, Auth: papi.Basic("AC1", "secret")})
	if err != nil || resp.Status != 201 {
		t.Fatalf("Do = %+v, %v", resp, err)
	}
	r := stub.Only(t)
	if r.Body != "Body=hi+%26+bye&To=%2B1" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request %+v", r)
	}
	req := &http.Request{Header: r.Header}
	if u, p, ok := req.BasicAuth(); !ok || u != "AC1" || p != "secret" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
}

func TestHeaderAuth(t *testing.T) {
	stub := &platformtest.APIStub{}
	srv := platformtest.Start(t, stub)
	if _, err := fastClient(srv).Do(context.Background(), papi.Request{URL: srv.URL, Auth: papi.HeaderAuth("X-Viber-Auth-Token", "v")}); err != nil {
		t.Fatal(err)
	}
	if r := stub.Only(t); r.Method != "GET" || r.Header.Get("X-Viber-Auth-Token") != "v" || r.Body != "" {
		t.Errorf("request %+v", r)
	}
}

// counting answers status n times, then 200.
func counting(t *testing.T, status, failures int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(calls.Add(1)) <= failures {
			w.WriteHeader(status)
			fmt.Fprint(w, `{"error":"later"}`)
			return
		}
		fmt.Fprint(w, `{"done":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRetriesOnlyWhenAllowed(t *testing.T) {
	for _, status := range []int{429, 500, 503} {
		srv, calls := counting(t, status, 2)
		resp, err := fastClient(srv).Do(context.Background(), papi.Request{Method: "POST", URL: srv.URL, JSON: map[string]int{"a": 1}, Retry: true})
		if err != nil || resp.Status != 200 || calls.Load() != 3 {
			t.Errorf("retryable %d: %+v %v after %d calls, want 200 after 3", status, resp, err, calls.Load())
		}

		srv, calls = counting(t, status, 2)
		resp, err = fastClient(srv).Do(context.Background(), papi.Request{Method: "POST", URL: srv.URL, JSON: map[string]int{"a": 1}})
		if err != nil || resp.Status != status || calls.Load() != 1 {
			t.Errorf("not retryable %d: %+v %v after %d calls, want %d after 1", status, resp, err, calls.Load(), status)
		}
	}
}

func TestRetryBudgetHandsBackTheLastAnswer(t *testing.T) {
	srv, calls := counting(t, 503, 100)
	resp, err := fastClient(srv).Do(context.Background(), papi.Request{URL: srv.URL, Retry: true})
	if err != nil || resp.Status != 503 || string(resp.Body) != `{"error":"later"}` || calls.Load() != papi.DefaultRetryMax+1 {
		t.Fatalf("Do = %+v, %v after %d calls; want the 503 after %d", resp, err, calls.Load(), papi.DefaultRetryMax+1)
	}
	c := papi.New(papi.Config{HTTPClient: srv.Client(), RetryMax: -1})
	calls.Store(0)
	if resp, err := c.Do(context.Background(), papi.Request{URL: srv.URL, Retry: true}); err != nil || resp.Status != 503 || calls.Load() != 1 {
		t.Fatalf("retries disabled: %+v %v after %d calls", resp, err, calls.Load())
	}
}

func TestNoRetryOfAPermanentRefusal(t *testing.T) {
	srv, calls := counting(t, 400, 1)
	resp, err := fastClient(srv).Do(context.Background(), papi.Request{URL: srv.URL, Retry: true})
	if err != nil || resp.Status != 400 || calls.Load() != 1 {
		t.Fatalf("Do = %+v, %v after %d calls; want the 400 once", resp, err, calls.Load())
	}
}

func TestTransportFailureIsTransientAndHidesTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	u := srv.URL + "/botSECRET-TOKEN/sendMessage"
	srv.Close()
	for _, retry := range []bool{false, true} {
		_, err := papi.New(papi.Config{Transient: errMine, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}).
			Do(context.Background(), papi.Request{Method: "POST", URL: u, Name: "POST sendMessage", Retry: retry})
		if !errors.Is(err, errMine) || !strings.Contains(err.Error(), "POST sendMessage") || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("retry %v: error %v, want the transient sentinel, the call's name and no URL", retry, err)
		}
	}
	_, err := papi.New(papi.Config{}).Do(context.Background(), papi.Request{URL: u})
	if !errors.Is(err, papi.ErrTransient) {
		t.Errorf("default sentinel: %v", err)
	}
}

func TestCanceledContextIsNotTransient(t *testing.T) {
	srv, _ := counting(t, 503, 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fastClient(srv).Do(ctx, papi.Request{URL: srv.URL, Retry: true})
	if !errors.Is(err, context.Canceled) || errors.Is(err, errMine) {
		t.Fatalf("Do with a canceled context = %v, want context.Canceled, not transient", err)
	}
}

func TestLimit(t *testing.T) {
	stub := &platformtest.APIStub{Body: "0123456789", ContentType: "image/JPEG; q=1"}
	srv := platformtest.Start(t, stub)
	c := fastClient(srv)
	resp, err := c.Do(context.Background(), papi.Request{URL: srv.URL, Limit: 4})
	if err != nil || string(resp.Body) != "0123" || !resp.Truncated || resp.ContentType() != "image/jpeg" {
		t.Fatalf("limit 4: %+v (%q) %v", resp, resp.ContentType(), err)
	}
	resp, err = c.Do(context.Background(), papi.Request{URL: srv.URL, Limit: 10})
	if err != nil || string(resp.Body) != "0123456789" || resp.Truncated {
		t.Fatalf("limit 10: %+v %v", resp, err)
	}
}

func TestOpenStreams(t *testing.T) {
	stub := &platformtest.APIStub{Body: "media bytes", ContentType: "audio/ogg"}
	srv := platformtest.Start(t, stub)
	resp, err := fastClient(srv).Open(context.Background(), papi.Request{URL: srv.URL, Auth: papi.Bearer("t"), Header: http.Header{"Accept": {"*/*"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "media bytes" {
		t.Fatalf("body %q, %v", b, err)
	}
	if r := stub.Only(t); r.Header.Get("Accept") != "*/*" || r.Header.Get("Authorization") != "Bearer t" {
		t.Errorf("request %+v", r)
	}
}

// A download's body may take longer than the HTTP client's Timeout:
// Download is bounded by its context alone, where Open's read fails. The
// server sends the first bytes, then the rest once released; the test
// releases the download's rest only after an Open started later has timed
// out, so the download outlived the client's Timeout.
func TestDownloadOutlivesTheClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = io.WriteString(w, "first bytes, ")
		w.(http.Flusher).Flush()
		select {
		case <-release:
			_, _ = io.WriteString(w, "the rest")
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	hc := srv.Client()
	hc.Timeout = 100 * time.Millisecond
	c := papi.New(papi.Config{HTTPClient: hc, Transient: errMine})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dl, err := c.Download(ctx, papi.Request{URL: srv.URL + "/video", Name: "download"})
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	defer dl.Body.Close()
	got := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(dl.Body)
		if err != nil {
			b = []byte("error: " + err.Error())
		}
		got <- string(b)
	}()

	op, err := c.Open(ctx, papi.Request{URL: srv.URL + "/video"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if b, err := io.ReadAll(op.Body); err == nil {
		t.Fatalf("Open's body read %q past the client's Timeout", b)
	}
	op.Body.Close()
	release <- struct{}{}
	if b := <-got; b != "first bytes, the rest" {
		t.Errorf("the download's body: %q", b)
	}
}

func TestCallRefusal(t *testing.T) {
	stub := &platformtest.APIStub{Status: 403, Body: `{"description":"Forbidden"}`}
	srv := platformtest.Start(t, stub)
	errRefused := errors.New("refused")
	c := papi.New(papi.Config{HTTPClient: srv.Client(), Refusal: func(r *papi.Response) error {
		return fmt.Errorf("%w: HTTP %d: %s", errRefused, r.Status, r.Body)
	}})
	resp, err := c.Call(context.Background(), papi.Request{URL: srv.URL})
	if !errors.Is(err, errRefused) || resp == nil || resp.Status != 403 || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("Call = %+v, %v", resp, err)
	}
	var se *papi.StatusError
	if _, err := papi.New(papi.Config{HTTPClient: srv.Client()}).Call(context.Background(), papi.Request{URL: srv.URL}); !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("default refusal: %v", err)
	}
	ok := platformtest.Start(t, &platformtest.APIStub{})
	if _, err := c.Call(context.Background(), papi.Request{URL: ok.URL}); err != nil {
		t.Fatalf("Call of a 200: %v", err)
	}
}

func TestJSON(t *testing.T) {
	b, err := papi.JSON(map[string]string{"a": "<&>"})
	if err != nil || string(b) != `{"a":"<&>"}` {
		t.Fatalf("JSON = %s, %v", b, err)
	}
	if _, err := papi.JSON(func() {}); err == nil {
		t.Fatal("JSON of a func succeeded")
	}
}

func TestDefaultsAndBaseURL(t *testing.T) {
	if hc := papi.New(papi.Config{}).HTTP(); hc == nil || hc.Timeout != papi.DefaultTimeout {
		t.Errorf("default HTTP client %+v, want one with the default timeout", hc)
	}
	own := &http.Client{}
	if papi.New(papi.Config{HTTPClient: own}).HTTP() != own {
		t.Error("the configured HTTP client is not the one used")
	}
	for _, tt := range [][3]string{{"", "https://api.example/", "https://api.example"}, {"http://x/v1//", "https://d", "http://x/v1"}} {
		if got := papi.BaseURL(tt[0], tt[1]); got != tt[2] {
			t.Errorf("BaseURL(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

// A refusal that quotes the credential it refused (Meta's "Malformed
// access token <token>") reaches the adapter with the credential
// redacted, whichever way the request sent it; shorter text is left.
func TestAnAnswerRepeatingTheCredentialIsRedacted(t *testing.T) {
	const token, password, header = "EAAGm0PX4ZCpsBA-token", "twilio-auth-token-1", "viber-auth-token-22"
	for _, c := range []struct {
		name, secret string
		auth         papi.Auth
	}{
		{"bearer", token, papi.Bearer(token)},
		{"basic", password, papi.Basic("AC123", password)},
		{"header", header, papi.HeaderAuth("X-Viber-Auth-Token", header)},
	} {
		stub := &platformtest.APIStub{Status: 400, Body: `{"error":{"message":"Malformed access token ` + c.secret + `","code":190}}`}
		srv := platformtest.Start(t, stub)
		resp, err := fastClient(srv).Do(context.Background(), papi.Request{Method: http.MethodPost, URL: srv.URL, Auth: c.auth})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"error":{"message":"Malformed access token [redacted]","code":190}}`; string(resp.Body) != want {
			t.Errorf("%s: body %s, want %s", c.name, resp.Body, want)
		}
	}
	stub := &platformtest.APIStub{Status: 400, Body: `{"error":"bad tok"}`}
	srv := platformtest.Start(t, stub)
	resp, err := fastClient(srv).Do(context.Background(), papi.Request{URL: srv.URL, Auth: papi.Bearer("tok")})
	if err != nil || string(resp.Body) != `{"error":"bad tok"}` {
		t.Errorf("a credential shorter than any real one was scrubbed: %s %v", resp.Body, err)
	}
}
