package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	wh "github.com/chatsync/sfconnector/connector/webhook"
	"github.com/chatsync/sfconnector/statemachine"
)

const (
	appSecret     = "wa-app-secret-8c1f"
	webchatSecret = "webchat-secret-77d2"
	phoneID       = "1234567890"
	lastReply     = "You will not hear from us again."
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// fakeSender is the real WhatsApp adapter (verify, parse) with a Send the
// test controls.
type fakeSender struct {
	platform.Adapter
	mu    sync.Mutex
	sent  []string // "to: text"
	send  func(ctx context.Context) (string, error)
	count int
}

func (f *fakeSender) Send(ctx context.Context, to, text string) (string, error) {
	f.mu.Lock()
	f.sent = append(f.sent, to+": "+text)
	f.count++
	n := f.count
	send := f.send
	f.mu.Unlock()
	if send != nil {
		return send(ctx)
	}
	return "wamid.reply" + string(rune('0'+n)), nil
}

// Account is the real adapter's: the channel reads its own number's
// events of a delivery for several numbers.
func (f *fakeSender) Account() string { return f.Adapter.(platform.AccountScoped).Account() }

func (f *fakeSender) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// syncBuffer is a log sink the background replies write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t      *testing.T
	st     store.Store
	h      *wh.Handler
	srv    http.Handler
	wa     *fakeSender
	logs   *syncBuffer
	m      *metrics.Metrics
	stored int
	mu     sync.Mutex
}

func newEnv(t *testing.T, optOut config.OptOut) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "w.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st, optOut, phoneID)
}

// newEnvOn builds the handler on st for a WhatsApp channel "wa" of the
// phone number id phone and a web chat "web", and the extra channels: a
// connector restarted with another configuration on the same store.
func newEnvOn(t *testing.T, st store.Store, optOut config.OptOut, phone string, extra ...config.Channel) *env {
	t.Helper()
	cfg := &config.Config{Tenants: []config.Tenant{{
		ID: "acme",
		Salesforce: config.Salesforce{OrgID: "00D000000000001", LoginURL: "http://127.0.0.1",
			Auth: config.Auth{Flow: config.FlowClientCredentials, ClientID: "x", ClientSecret: config.NewSecret("y")}},
		OptOut: optOut,
		Channels: append([]config.Channel{
			{ID: "wa", Platform: config.PlatformWhatsApp, WhatsApp: &config.WhatsApp{PhoneNumberID: phone,
				AppSecret: config.NewSecret(appSecret), VerifyToken: config.NewSecret("v"), AccessToken: config.NewSecret("access-token-3e9a")}},
			{ID: "web", Platform: config.PlatformWebChat, WebChat: &config.WebChat{Secret: config.NewSecret(webchatSecret)}},
		}, extra...),
	}}}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Build(cfg, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := reg.Channel("acme", "wa")
	fs := &fakeSender{Adapter: ch.Adapter}
	ch.Adapter = fs
	e := &env{t: t, st: st, wa: fs, logs: &syncBuffer{}, m: metrics.New()}
	e.h = &wh.Handler{Registry: reg, Ingester: &ingest.Ingester{Store: st}, MaxBodyBytes: 1 << 20, Metrics: e.m,
		Replies: manage.New(manage.Config{Store: st, Tenants: manage.FromRegistry(reg), Log: zerolog.New(e.logs)}),
		Wake:    func(int) { e.mu.Lock(); e.stored++; e.mu.Unlock() }}
	mux := http.NewServeMux()
	e.h.Register(mux)
	e.srv = httpx.Middleware(zerolog.New(e.logs), mux)
	return e
}

// post sends a signed delivery and returns the answer's status and JSON.
func (e *env) post(channel string, body []byte) (int, map[string]any) {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks/acme/"+channel, bytes.NewReader(body))
	switch channel {
	case "wa":
		r.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(appSecret, body))
	case "web":
		r.Header.Set(webchat.SignatureHeader, webchat.Sign(webchatSecret, body))
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		e.t.Fatalf("answer %d %q: %v", w.Code, w.Body.String(), err)
	}
	return w.Code, out
}

func (e *env) text(from, id, text string) []byte {
	return whatsapp.TextDelivery(phoneID, from, "Ann", id, text, t0)
}

func (e *env) wait() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.h.Wait(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) contact(channel, external string) store.Contact {
	e.t.Helper()
	ctx := context.Background()
	var c store.Contact
	if err := e.st.WithTx(ctx, func(tx store.Tx) (err error) {
		c, err = tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: channel, ExternalID: external}, "", t0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) messages(channel, external string) []store.Message {
	e.t.Helper()
	ctx := context.Background()
	c := e.contact(channel, external)
	var conv store.Conversation
	if err := e.st.WithTx(ctx, func(tx store.Tx) (err error) {
		conv, err = tx.LatestConversation(ctx, c.ID)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	msgs, err := e.st.ListMessages(ctx, conv.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

func (e *env) replies(result string) float64 {
	return counter(e.t, e.m, "connector_opt_out_replies_total", map[string]string{"tenant": "acme", "result": result})
}

// counter reads a counter's value from the metrics' registry (0 when the
// series does not exist).
func counter(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return s.GetCounter().GetValue()
		}
	}
	return 0
}

func stopConfig() config.OptOut {
	return config.OptOut{Keywords: []string{"STOP", "Do Not Disturb"}, LastReply: lastReply}
}

func TestOptOutSendsTheLastReplyAndStoresIt(t *testing.T) {
	e := newEnv(t, stopConfig())
	code, out := e.post("wa", e.text("31612345678", "wamid.in1", " Stop "))
	if code != http.StatusOK || out["stored"] != float64(1) {
		t.Fatalf("answer %d %v", code, out)
	}
	e.wait()
	if got := e.wa.calls(); len(got) != 1 || got[0] != "31612345678: "+lastReply {
		t.Fatalf("sends %q", got)
	}
	c := e.contact("wa", "31612345678")
	if c.OptOut.Keyword != "STOP" || c.BlockedOutbound || c.BlockedInbound {
		t.Fatalf("contact %+v", c)
	}
	msgs := e.messages("wa", "31612345678")
	if len(msgs) != 2 {
		t.Fatalf("messages %+v", msgs)
	}
	in, reply := msgs[0], msgs[1]
	if in.PlatformID != "wamid.in1" || in.Direction != store.Inbound {
		t.Fatalf("first message %+v", in)
	}
	if reply.SentID != "wamid.reply1" || reply.DeliveryStatus != store.DeliverySent || reply.Direction != store.Outbound || reply.Kind != platform.Text ||
		reply.Body != lastReply || reply.Sender != "opt-out" || reply.StateAtReceipt != statemachine.Open || reply.PushStatus != store.Pending {
		t.Fatalf("last reply %+v", reply)
	}
	if e.replies("sent") != 1 || e.replies("failed") != 0 || counter(t, e.m, "connector_opt_outs_total", map[string]string{"tenant": "acme"}) != 1 {
		t.Fatalf("metrics sent %v failed %v", e.replies("sent"), e.replies("failed"))
	}
	e.mu.Lock()
	stored := e.stored
	e.mu.Unlock()
	if stored != 2 {
		t.Fatalf("dispatcher woken %d times, want 2 (the delivery and the reply)", stored)
	}
	// The platform's retry of the STOP delivery sends nothing again.
	e.post("wa", e.text("31612345678", "wamid.in1", " Stop "))
	// A new STOP from a contact opted out already neither.
	e.post("wa", e.text("31612345678", "wamid.in2", "STOP"))
	e.wait()
	if got := e.wa.calls(); len(got) != 1 {
		t.Fatalf("sends after the retry and a second STOP: %q", got)
	}
}

func TestTheAnswerDoesNotWaitForTheLastReply(t *testing.T) {
	e := newEnv(t, stopConfig())
	release := make(chan struct{})
	e.wa.send = func(ctx context.Context) (string, error) {
		select {
		case <-release:
			return "wamid.late", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	answered := make(chan int, 1)
	go func() {
		code, _ := e.post("wa", e.text("316", "wamid.in1", "STOP"))
		answered <- code
	}()
	select {
	case code := <-answered:
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the delivery's answer waited for the last reply")
	}
	// While the reply is in flight, Wait reports that the drain did not
	// finish in time.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.h.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a reply in flight = %v", err)
	}
	close(release)
	e.wait()
	if msgs := e.messages("wa", "316"); len(msgs) != 2 || msgs[1].SentID != "wamid.late" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestLastReplyTimeoutAndFailureAreLoggedAndCounted(t *testing.T) {
	e := newEnv(t, stopConfig())
	e.h.ReplyTimeout = 50 * time.Millisecond
	e.wa.send = func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", errors.New("whatsapp: send: " + ctx.Err().Error())
	}
	start := time.Now()
	e.post("wa", e.text("316", "wamid.in1", "STOP"))
	e.wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the reply was not bounded by its timeout: %v", d)
	}
	if e.replies("retrying") != 1 || e.replies("sent") != 0 {
		t.Fatalf("metrics retrying %v sent %v", e.replies("retrying"), e.replies("sent"))
	}
	// The opt-out itself stands; the reply is stored, still sending, with
	// why the attempt failed: the timers retry it.
	if !e.contact("wa", "316").OptedOut() {
		t.Fatal("the opt-out must stand when the reply fails")
	}
	if msgs := e.messages("wa", "316"); len(msgs) != 2 || msgs[1].DeliveryStatus != store.DeliverySending ||
		!strings.Contains(msgs[1].SendError, "context deadline exceeded") || msgs[1].SendAttempts != 1 {
		t.Fatalf("messages %+v", msgs)
	}
	logs := e.logs.String()
	var found bool
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "outbound message not sent; it is retried") {
			found = true
			if !strings.Contains(line, `"level":"warn"`) || !strings.Contains(line, "context deadline exceeded") || !strings.Contains(line, `"message":`) {
				t.Errorf("log line %s", line)
			}
		}
	}
	if !found {
		t.Fatalf("no error logged:\n%s", logs)
	}
	for _, secret := range []string{appSecret, webchatSecret, "access-token-3e9a"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a secret is in the logs:\n%s", logs)
		}
	}
}

func TestNoLastReplyWhenNotConfiguredUnreachableOrUnsupported(t *testing.T) {
	t.Run("no last reply configured", func(t *testing.T) {
		e := newEnv(t, config.OptOut{Keywords: []string{"STOP"}})
		e.post("wa", e.text("316", "wamid.in1", "stop"))
		e.wait()
		if len(e.wa.calls()) != 0 || !e.contact("wa", "316").OptedOut() {
			t.Fatalf("sends %q", e.wa.calls())
		}
	})
	// Nothing automated runs for a blocked contact: its opt-out is
	// recorded, its block kept, and no last reply sent.
	t.Run("blocked contact", func(t *testing.T) {
		e := newEnv(t, stopConfig())
		c := e.contact("wa", "316")
		ctx := context.Background()
		if err := e.st.WithTx(ctx, func(tx store.Tx) error {
			return tx.SetContactBlock(ctx, c.ID, store.Block{Inbound: true, Note: "spam", By: "alice"}, t0)
		}); err != nil {
			t.Fatal(err)
		}
		e.post("wa", e.text("316", "wamid.in1", "STOP"))
		e.wait()
		c = e.contact("wa", "316")
		if len(e.wa.calls()) != 0 || e.replies("blocked") != 1 || !c.OptedOut() || c.Block.By != "alice" || c.Block.Note != "spam" {
			t.Fatalf("sends %q, blocked %v, contact %+v", e.wa.calls(), e.replies("blocked"), c)
		}
		if msgs := e.messages("wa", "316"); len(msgs) != 1 {
			t.Fatalf("messages %+v, want the STOP alone", msgs)
		}
	})
	t.Run("unreachable on the platform", func(t *testing.T) {
		e := newEnv(t, stopConfig())
		c := e.contact("wa", "316")
		ctx := context.Background()
		if err := e.st.WithTx(ctx, func(tx store.Tx) error {
			_, err := tx.SetContactPlatformStatus(ctx, c.ID, "blocked", t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		e.post("wa", e.text("316", "wamid.in1", "STOP"))
		e.wait()
		if len(e.wa.calls()) != 0 || e.replies("unreachable") != 1 {
			t.Fatalf("sends %q, unreachable %v", e.wa.calls(), e.replies("unreachable"))
		}
	})
	t.Run("channel that can not send", func(t *testing.T) {
		e := newEnv(t, stopConfig())
		body := []byte(`{"events":[{"id":"w1","type":"message","visitor":{"id":"v1","name":"Ann"},"timestamp":"2026-11-21T09:00:00Z","message":{"text":"STOP"}}]}`)
		code, out := e.post("web", body)
		e.wait()
		if code != http.StatusOK {
			t.Fatalf("answer %d %v", code, out)
		}
		if !e.contact("web", "v1").OptedOut() || e.replies("unsupported") != 1 || len(e.wa.calls()) != 0 {
			t.Fatalf("contact %+v, unsupported %v", e.contact("web", "v1"), e.replies("unsupported"))
		}
	})
}

func TestLastReplyFollowsTheStoredExclusions(t *testing.T) {
	e := newEnv(t, stopConfig())
	ctx := context.Background()
	if err := e.st.WithTx(ctx, func(tx store.Tx) error {
		return tx.PutSetting(ctx, store.Setting{Scope: "org:00D000000000001", Key: ingest.SettingExcludedStates, Value: "OPEN", UpdatedBy: "support", UpdatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	e.post("wa", e.text("316", "wamid.in1", "STOP"))
	e.wait()
	msgs := e.messages("wa", "316")
	if len(msgs) != 2 || msgs[0].PushStatus != store.Excluded || msgs[1].PushStatus != store.Excluded ||
		msgs[1].PushReason != "state OPEN is excluded for org 00D000000000001" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestReceiptsAreCountedInTheAnswer(t *testing.T) {
	e := newEnv(t, stopConfig())
	e.post("wa", e.text("316", "wamid.in1", "hello"))
	c := e.contact("wa", "316")
	ctx := context.Background()
	msgs := e.messages("wa", "316")
	if err := e.st.WithTx(ctx, func(tx store.Tx) error {
		_, _, err := tx.InsertMessage(ctx, store.Message{Tenant: "acme", Channel: "wa", ConversationID: msgs[0].ConversationID, ContactID: c.ID,
			PlatformID: "wamid.out1", Direction: store.Outbound, Kind: platform.Text, Body: "hi", Sender: "alice", SentAt: t0, ReceivedAt: t0,
			StateAtReceipt: statemachine.Open, PushStatus: store.Pending})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	body := whatsapp.StatusDelivery(phoneID,
		whatsapp.Status{ID: "wamid.out1", Recipient: "316", Status: "delivered", Time: t0.Add(time.Minute)},
		whatsapp.Status{ID: "wamid.out1", Recipient: "316", Status: "read", Time: t0.Add(2 * time.Minute)})
	code, out := e.post("wa", body)
	if code != http.StatusOK || out["receipts"] != float64(2) || out["other"] != float64(0) {
		t.Fatalf("answer %d %v", code, out)
	}
	for _, key := range []string{"stored", "pending", "excluded", "duplicates", "contact_events", "receipts", "other"} {
		if _, ok := out[key]; !ok {
			t.Errorf("the answer has no %q: %v", key, out)
		}
	}
	if m := e.messages("wa", "316")[1]; m.DeliveryStatus != "read" {
		t.Fatalf("outbound message %+v", m)
	}
}

// A refused delivery is logged at warn level with why; an unknown tenant
// and an unknown channel get the same answer, and only the log tells them
// apart.
func TestRefusalsAreLoggedWithTheirReasonAndUnknownPathsLookAlike(t *testing.T) {
	e := newEnv(t, config.OptOut{})
	body := e.text("31600000001", "wamid.r1", "hello")
	r := httptest.NewRequest(http.MethodPost, "/webhooks/acme/wa", bytes.NewReader(body))
	r.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign("not-the-secret", body))
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("wrong signature: %d", w.Code)
	}
	answers := map[string]string{}
	for _, path := range []string{"/webhooks/nobody/wa", "/webhooks/acme/nochannel"} {
		r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, r)
		if w.Code != http.StatusNotFound {
			t.Fatalf("%s: %d", path, w.Code)
		}
		var a httpx.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		// The message names what was asked for; with the path's names
		// taken out, both answers are the same.
		parts := strings.Split(strings.TrimPrefix(path, "/webhooks/"), "/")
		msg := strings.ReplaceAll(strings.ReplaceAll(a.Error.Message, `"`+parts[0]+`"`, "T"), `"`+parts[1]+`"`, "C")
		answers[path] = a.Error.Code + " " + msg
	}
	if answers["/webhooks/nobody/wa"] != answers["/webhooks/acme/nochannel"] {
		t.Errorf("an unknown tenant and an unknown channel are told apart: %v", answers)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("want one line per request, got:\n%s", e.logs.String())
	}
	want := []struct{ code, detail string }{{"bad_signature", ""}, {"unknown_channel", "no tenant"}, {"unknown_channel", "has no channel"}}
	for i, l := range lines {
		if l["level"] != "warn" || l["error_code"] != want[i].code || l["reason"] == nil || l["reason"] == "" {
			t.Errorf("line %d: %v", i, l)
		}
		if d, _ := l["detail"].(string); !strings.Contains(d, want[i].detail) {
			t.Errorf("line %d: detail %q, want %q", i, d, want[i].detail)
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("line %d: no duration_ms: %v", i, l)
		}
	}
}
