package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// A collection of three message records: the second failed.
const (
	collectionReq = `{"allOrNone":false,"records":[
		{"attributes":{"type":"Chat_Message__c"},"Message_Key__c":"t:c:m1","Body__c":"a"},
		{"attributes":{"type":"Chat_Message__c"},"Message_Key__c":"t:c:m2","Body__c":"b"},
		{"attributes":{"type":"Chat_Message__c"},"message_key__c":"t:c:m3","Body__c":"c"}]}`
	collectionResp = `[
		{"id":"a02000000000001AAA","success":true,"created":true,"errors":[]},
		{"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"locked","fields":[]}]},
		{"id":"a02000000000003AAA","success":true,"created":false,"errors":[]}]`
)

func TestParseCollection(t *testing.T) {
	got := parseCall(http.MethodPatch, "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c",
		[]byte(collectionReq), 200, []byte(collectionResp))
	want := []written{
		{Object: "Chat_Message__c", Key: "t:c:m1", Created: true},
		{Object: "Chat_Message__c", Key: "t:c:m3", Created: false},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("writes = %+v, want %+v", got, want)
	}
	// A call that failed as a whole wrote nothing.
	if got := parseCall(http.MethodPatch, "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c",
		[]byte(collectionReq), 503, []byte(`[{"errorCode":"SERVER_UNAVAILABLE","message":"x"}]`)); len(got) != 0 {
		t.Fatalf("a 503 wrote %+v", got)
	}
	// Other calls write nothing the meter can see.
	if got := parseCall(http.MethodGet, "/services/data/v62.0/limits", nil, 200, []byte(`{}`)); len(got) != 0 {
		t.Fatalf("limits wrote %+v", got)
	}
}

func TestParseComposite(t *testing.T) {
	req := `{"allOrNone":false,"compositeRequest":[
		{"method":"PATCH","url":"/services/data/v62.0/composite/sobjects/Chat_Conversation__c/Conversation_Key__c","referenceId":"r0",
		 "body":{"allOrNone":false,"records":[{"attributes":{"type":"Chat_Conversation__c"},"Conversation_Key__c":"t:c:1"}]}},
		{"method":"PATCH","url":"/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c","referenceId":"r1",
		 "body":` + collectionReq + `},
		{"method":"PATCH","url":"/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c","referenceId":"r2",
		 "body":{"allOrNone":false,"records":[{"attributes":{"type":"Chat_Message__c"},"Message_Key__c":"t:c:m9"}]}}]}`
	// The answers in another order than the requests: they are matched by
	// referenceId. r2 failed as a whole.
	resp := `{"compositeResponse":[
		{"body":[{"errorCode":"INVALID_FIELD","message":"No such column"}],"httpHeaders":{},"httpStatusCode":400,"referenceId":"r2"},
		{"body":[{"id":"a01000000000001AAA","success":true,"created":true,"errors":[]}],"httpHeaders":{},"httpStatusCode":200,"referenceId":"r0"},
		{"body":` + collectionResp + `,"httpHeaders":{},"httpStatusCode":200,"referenceId":"r1"}]}`
	got := parseCall(http.MethodPost, "/services/data/v62.0/composite", []byte(req), 200, []byte(resp))
	want := []written{
		{Object: "Chat_Conversation__c", Key: "t:c:1", Created: true},
		{Object: "Chat_Message__c", Key: "t:c:m1", Created: true},
		{Object: "Chat_Message__c", Key: "t:c:m3", Created: false},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("writes = %+v, want %+v", got, want)
	}
}

func TestMeterCountsAndTimesWrites(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/services/oauth2/token" {
			_, _ = io.WriteString(w, `{}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != collectionReq {
			t.Errorf("the stand-in got %q", b)
		}
		_, _ = io.WriteString(w, collectionResp)
	})
	m := newMeter(next, "chat_message__c", "Message_Key__c")
	srv := httptest.NewServer(m)
	defer srv.Close()

	call := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	before := time.Now()
	call(http.MethodPatch, "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c", collectionReq)
	firstCall := time.Now()
	call(http.MethodPatch, "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c", collectionReq)
	call(http.MethodPost, "/services/oauth2/token", "")

	s := m.stats()
	want := meterStats{Calls: 2, Records: 4, Created: 2, Rewrites: 2, Messages: 2}
	if s != want {
		t.Fatalf("stats = %+v, want %+v", s, want)
	}
	at, ok := m.firstWrite("t:c:m1")
	if !ok || at.Before(before) || at.After(firstCall) {
		t.Fatalf("m1 first written at %v (ok %v), want within the first call [%v, %v]", at, ok, before, firstCall)
	}
	if _, ok := m.firstWrite("t:c:m2"); ok {
		t.Fatal("the failed record m2 counts as written")
	}
}

func TestFaultsAnswer503ToDataCallsOnly(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "passed") })
	srv := httptest.NewServer(&faults{next: next, rate: 1})
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/services/data/v62.0/limits"); code != 503 || !strings.Contains(body, "SERVER_UNAVAILABLE") {
		t.Fatalf("data call: %d %s", code, body)
	}
	if code, body := get("/id/x/y"); code != 200 || body != "passed" {
		t.Fatalf("identity call: %d %s", code, body)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, c := range []struct {
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(hundred...), 0.1, 1 * time.Millisecond},
	} {
		if got := percentile(c.values, c.p); got != c.want {
			t.Errorf("percentile(%d values, %g) = %v, want %v", len(c.values), c.p, got, c.want)
		}
	}
	var r Report
	r.latencies(ms(30, 10, 20))
	if r.P50 != Millis(20*time.Millisecond) || r.Max != Millis(30*time.Millisecond) {
		t.Fatalf("latencies of unsorted values: p50 %v max %v", r.P50, r.Max)
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@127.0.0.1:5432/test?sslmode=disable": "postgres://u:p@127.0.0.1:5432/bench_x?sslmode=disable",
		"postgresql://127.0.0.1":                             "postgresql://127.0.0.1/bench_x",
		"host=127.0.0.1 dbname=test ":                        "host=127.0.0.1 dbname=test dbname=bench_x",
	} {
		if got := withDatabase(in, "bench_x"); got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{Store: "mysql"},
		{Store: "postgres"},
		{DSN: "postgres://x"},
		{Replicas: 2},
		{FaultRate: 1},
		{FaultRate: -0.1},
		{Messages: -1},
		{Rate: -1},
		{Latency: -time.Second},
		{Set: []string{"dispatcher.workers"}},
		{Set: []string{"tenants.x=1"}},
		{Set: []string{"server.listen=:80"}},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	ok := Options{Store: "postgres", DSN: "postgres://x", Replicas: 3, FaultRate: 0.5,
		Set: []string{"dispatcher.workers=4", "timers.rescue=@every 1s"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
}

func TestCPUTimeOfThisProcess(t *testing.T) {
	var spin int
	start := time.Now()
	for time.Since(start) < 50*time.Millisecond { // burn CPU the kernel counts
		spin++
	}
	got, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 {
		t.Fatalf("cpuTime of a process that ran %d loops = %v, want some", spin, got)
	}
}

func TestDeliveryTemplateWritesTextDelivery(t *testing.T) {
	tmpl := newDeliveryTemplate()
	if tmpl == nil {
		t.Fatal("no template: TextDelivery's output is not what it expects")
	}
	ts := time.Now()
	for _, g := range []*generator{
		{idPrefix: "wamid.bench.0a1b2c3d.", contacts: 10000},
		{idPrefix: "wamid.noop.ff.", contacts: 1},
		{idPrefix: `id "<&>" \ é.`, contacts: 3},
	} {
		for _, i := range []int{0, 1, 9, 10, 12345, 99999, 1234567890} {
			got, want := tmpl.delivery(g, i, ts), textDelivery(g, i, ts)
			if !bytes.Equal(got, want) {
				t.Fatalf("delivery %d of %q:\n got %s\nwant %s", i, g.idPrefix, got, want)
			}
		}
	}
}

func TestPosterSignsAsMeta(t *testing.T) {
	const secret = "app-secret"
	var got struct {
		body []byte
		sig  string
		ct   string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.body, _ = io.ReadAll(r.Body)
		got.sig, got.ct = r.Header.Get(whatsapp.SignatureHeader), r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "answer")
	}))
	defer srv.Close()
	p := &poster{client: srv.Client(), mac: hmac.New(sha256.New, []byte(secret))}
	for _, body := range []string{`{"a":1}`, `{"b":2}`} {
		status, err := p.post(context.Background(), srv.URL, []byte(body))
		if err != nil || status != http.StatusTeapot || p.answer.String() != "answer" {
			t.Fatalf("post: %d %q %v", status, p.answer.String(), err)
		}
		if string(got.body) != body || got.sig != whatsapp.Sign(secret, []byte(body)) || got.ct != "application/json" {
			t.Fatalf("the server got %s signed %q (%s), want the signature %q", got.body, got.sig, got.ct, whatsapp.Sign(secret, []byte(body)))
		}
	}
}

// A delivery of several messages carries the consecutive contacts'
// messages it names, and the last delivery the rest.
func TestGeneratorBatchesConsecutiveContacts(t *testing.T) {
	g := &generator{idPrefix: "wamid.t.", contacts: 4, messages: 10, perDelivery: 3}
	if n := g.deliveryCount(); n != 4 {
		t.Fatalf("%d deliveries for 10 messages, 3 a delivery; want 4", n)
	}
	ts := time.Unix(1700000000, 0)
	for j, want := range [][]int{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}} {
		var got struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages []struct {
							From string `json:"from"`
							ID   string `json:"id"`
							Text struct {
								Body string `json:"body"`
							} `json:"text"`
						} `json:"messages"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(g.body(nil, j, ts), &got); err != nil {
			t.Fatalf("delivery %d: %v", j, err)
		}
		msgs := got.Entry[0].Changes[0].Value.Messages
		if len(msgs) != len(want) {
			t.Fatalf("delivery %d: %d messages, want %v", j, len(msgs), want)
		}
		for k, i := range want {
			if m := msgs[k]; m.ID != g.messageID(i) || m.From != waID(i%4) || m.Text.Body != messageText(i) {
				t.Errorf("delivery %d, message %d: %+v; want message %d of contact %d", j, k, m, i, i%4)
			}
		}
	}
}
