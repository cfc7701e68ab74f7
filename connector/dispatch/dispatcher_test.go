package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	dto "github.com/prometheus/client_model/go"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/statemachine"
)

// fakeSF records calls and answers per record by rule.
type fakeSF struct {
	mu sync.Mutex
	// callErr, when set, fails whole calls.
	callErr error
	// recordErr maps a message body to the per-record error code it gets.
	recordErr map[string]string
	// recordMsg, when set for a body, is the message of its error.
	recordMsg map[string]string
	// collectionErr, when set, fails the collections it returns an error
	// for as a whole (k counts every collection sent, from 0).
	collectionErr func(k int, object string) error
	// calls are the collections sent, in order; composites counts the
	// Composite calls and sizes their collections.
	calls      []call
	composites [][]int
	used, max  int
	// during, when set, runs at each call, before it is answered.
	during func()
}

type call struct {
	object string
	keys   []string
}

func (f *fakeSF) UpsertComposite(_ context.Context, cols []sfclient.Collection) ([]sfclient.CollectionResult, error) {
	f.mu.Lock()
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used++
	var sizes []int
	for _, c := range cols {
		sizes = append(sizes, len(c.Records))
	}
	f.composites = append(f.composites, sizes)
	if f.callErr != nil {
		return nil, f.callErr
	}
	out := make([]sfclient.CollectionResult, len(cols))
	for k, col := range cols {
		c := call{object: col.Object}
		for _, r := range col.Records {
			c.keys = append(c.keys, fmt.Sprint(r[col.ExternalIDField]))
		}
		f.calls = append(f.calls, c)
		if f.collectionErr != nil {
			if err := f.collectionErr(len(f.calls)-1, col.Object); err != nil {
				out[k].Err = err
				continue
			}
		}
		res := make([]sfclient.Result, len(col.Records))
		for i, r := range col.Records {
			body, _ := r["Body__c"].(string)
			if code, ok := f.recordErr[body]; ok {
				msg := "rejected " + body
				if m, ok := f.recordMsg[body]; ok {
					msg = m
				}
				res[i] = sfclient.Result{Errors: []sfclient.RecordError{{StatusCode: code, Message: msg, Fields: []string{"Body__c"}}}}
				continue
			}
			res[i] = sfclient.Result{Success: true, ID: fmt.Sprintf("a02%012d", i), Created: true}
		}
		out[k].Results = res
	}
	return out, nil
}

func (f *fakeSF) Usage() (int, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used, f.max, f.max > 0
}

func (f *fakeSF) messageKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.object == "Chat_Message__c" {
			out = append(out, c.keys...)
		}
	}
	return out
}

type orgs struct{ org *Org }

func (o orgs) Org(string) (*Org, bool) { return o.org, true }
func (o orgs) Tenants() []string       { return []string{"acme"} }

type env struct {
	t     *testing.T
	st    store.Store
	sf    *fakeSF
	d     *Dispatcher
	in    *ingest.Ingester
	now   time.Time
	ch    ingest.Channel
	clock func() time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := &config.Config{}
	cfg.ApplyDefaults()
	cfg.Dispatcher.BatchSize = 3
	cfg.Dispatcher.MaxAttempts = 3
	e := &env{t: t, st: st, sf: &fakeSF{recordErr: map[string]string{}}, now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	e.clock = func() time.Time { return e.now }
	org := &Org{Key: "00D000000000001", Client: e.sf, Mapping: config.DefaultMapping()}
	e.d = New(Config{Dispatcher: cfg.Dispatcher, Owner: "test"}, st, orgs{org}, metrics.New(), zerolog.Nop())
	e.d.Now = e.clock
	e.in = &ingest.Ingester{Store: st, Now: e.clock}
	e.ch = ingest.Channel{Tenant: "acme", ID: "wa", OrgID: "00D000000000001", Excluded: statemachine.DefaultExcluded()}
	return e
}

func (e *env) send(contact string, bodies ...string) {
	e.t.Helper()
	var evs []platform.Event
	for _, b := range bodies {
		evs = append(evs, platform.Event{Kind: platform.KindMessage, ID: contact + "-" + b, Contact: contact, Timestamp: e.now,
			Message: &platform.Message{Kind: platform.Text, Text: b}})
	}
	if _, err := e.in.Ingest(context.Background(), e.ch, evs); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) round() int {
	e.t.Helper()
	n, err := e.d.RunOnce(context.Background(), "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) stats() map[store.PushStatus]int {
	e.t.Helper()
	s, err := e.st.Stats(context.Background(), "acme")
	if err != nil {
		e.t.Fatal(err)
	}
	return s.Messages
}

func TestPushesConversationThenMessagesInOrder(t *testing.T) {
	e := newEnv(t)
	e.send("u1", "a", "b", "c", "d", "e")
	e.send("u2", "x")
	if n := e.round(); n != 2 {
		t.Fatalf("settled %d conversations", n)
	}
	if e.sf.calls[0].object != "Chat_Conversation__c" || len(e.sf.calls[0].keys) != 2 {
		t.Fatalf("first call must upsert both conversation records, got %+v", e.sf.calls[0])
	}
	// BatchSize 3: a claim takes at most 3 messages per conversation, and
	// a call carries at most 3 records.
	if len(e.sf.calls) != 3 {
		t.Fatalf("%d calls, want 3", len(e.sf.calls))
	}
	e.round()
	got := strings.Join(e.sf.messageKeys(), ",")
	want := "acme:wa:u1-a,acme:wa:u1-b,acme:wa:u1-c,acme:wa:u2-x,acme:wa:u1-d,acme:wa:u1-e"
	if got != want {
		t.Fatalf("message order\n got %s\nwant %s", got, want)
	}
	if s := e.stats(); s[store.Pushed] != 6 || s[store.Pending] != 0 {
		t.Fatalf("stats %v", s)
	}
}

func TestPermanentRecordErrorParksOnlyThatMessage(t *testing.T) {
	e := newEnv(t)
	e.sf.recordErr["b"] = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
	e.send("u1", "a", "b", "c")
	e.send("u2", "x")
	e.round()
	if s := e.stats(); s[store.Pushed] != 3 || s[store.Dead] != 1 {
		t.Fatalf("stats %v", s)
	}
	dead, err := e.st.ListDead(context.Background(), store.DeadFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].PlatformID != "u1-b" || !strings.Contains(dead[0].LastError, "FIELD_CUSTOM_VALIDATION_EXCEPTION: rejected b [Body__c]") {
		t.Fatalf("dead %+v", dead)
	}
	// Replay after the fix delivers it.
	delete(e.sf.recordErr, "b")
	if _, err := e.st.Replay(context.Background(), "acme", nil, e.now); err != nil {
		t.Fatal(err)
	}
	e.round()
	if s := e.stats(); s[store.Pushed] != 4 || s[store.Dead] != 0 {
		t.Fatalf("after replay %v", s)
	}
}

func TestTransientRecordErrorHoldsBackItsConversationOnly(t *testing.T) {
	e := newEnv(t)
	e.sf.recordErr["a"] = "UNABLE_TO_LOCK_ROW"
	// BatchSize 3 and two collections a call: the first call carries the
	// three conversation records and u0-p, u0-q, u1-a; the second would
	// carry u1-b, u1-c, which must be held back behind a.
	e.d.maxCollections = 2
	e.send("u0", "p", "q")
	e.send("u1", "a", "b", "c")
	e.send("u2", "x")
	e.round()
	keys := e.sf.messageKeys()
	if contains(keys, "acme:wa:u1-b") || contains(keys, "acme:wa:u1-c") {
		t.Fatalf("b and c were sent while a waits for a retry: %v", keys)
	}
	if !contains(keys, "acme:wa:u2-x") || !contains(keys, "acme:wa:u0-q") {
		t.Fatalf("the other conversations must go on: %v", keys)
	}
	// The retry waits for its backoff.
	if n := e.round(); n != 0 {
		t.Fatalf("claimed %d conversations before the backoff ended", n)
	}
	delete(e.sf.recordErr, "a")
	e.now = e.now.Add(time.Minute)
	e.round()
	if s := e.stats(); s[store.Pushed] != 6 || s[store.Pending] != 0 {
		t.Fatalf("stats %v", s)
	}
	keys = e.sf.messageKeys()
	if got := strings.Join(keys[len(keys)-3:], ","); got != "acme:wa:u1-a,acme:wa:u1-b,acme:wa:u1-c" {
		t.Fatalf("after the retry u1 must go in order, got %s", got)
	}
}

func TestTransientRecordErrorDiesAfterMaxAttempts(t *testing.T) {
	e := newEnv(t)
	e.sf.recordErr["a"] = "UNABLE_TO_LOCK_ROW"
	e.send("u1", "a")
	for i := 0; i < 3; i++ {
		e.round()
		e.now = e.now.Add(time.Hour)
	}
	dead, err := e.st.ListDead(context.Background(), store.DeadFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Attempts != 3 || !strings.Contains(dead[0].LastError, "after 3 attempts") {
		t.Fatalf("dead %+v", dead)
	}
}

func TestOutagePausesOrgWithoutCountingAttempts(t *testing.T) {
	e := newEnv(t)
	e.sf.callErr = &sfclient.APIError{HTTPStatus: 503, Code: "SERVER_UNAVAILABLE", Message: "down"}
	e.send("u1", "a", "b")
	for i := 0; i < 20; i++ { // far more rounds than MaxAttempts
		e.round()
		e.now = e.now.Add(time.Hour)
	}
	if s := e.stats(); s[store.Pending] != 2 || s[store.Dead] != 0 {
		t.Fatalf("an outage must not kill messages: %v", s)
	}
	calls := len(e.sf.calls)
	e.sf.callErr = nil
	e.now = e.now.Add(time.Hour)
	e.round()
	if s := e.stats(); s[store.Pushed] != 2 {
		t.Fatalf("after recovery %v (calls before %d)", s, calls)
	}
}

func TestOrgPauseAndResumeAreLoggedOnce(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.d.log = zerolog.New(&logs)
	e.d.gates.log = e.d.log
	e.sf.callErr = &sfclient.APIError{HTTPStatus: 403, Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}
	e.send("u1", "a")
	for i := 0; i < 4; i++ { // paused, then called again and paused again
		e.round()
		e.now = e.now.Add(10 * time.Second)
	}
	e.sf.callErr = nil
	e.now = e.now.Add(2 * time.Minute)
	e.round()
	e.round()
	var paused, resumed, failed int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch l["message"] {
		case "Salesforce org paused; its messages wait":
			paused++
			if l["level"] != "warn" || l["reason"] != "REQUEST_LIMIT_EXCEEDED" || l["org"] != "00D000000000001" {
				t.Errorf("pause line %s", line)
			}
		case "Salesforce org resumed; pushing again":
			resumed++
			if l["level"] != "info" || l["reason"] != "REQUEST_LIMIT_EXCEEDED" {
				t.Errorf("resume line %s", line)
			}
		case "Salesforce call failed; org paused, messages stay pending":
			failed++
			if l["level"] != "warn" || l["class"] != sfclient.RateLimited.String() {
				t.Errorf("failure line %s", line)
			}
		}
	}
	if paused != 1 || resumed != 1 || failed != 1 {
		t.Fatalf("paused %d, resumed %d, failed %d times, want once each:\n%s", paused, resumed, failed, logs.String())
	}
	if s := e.stats(); s[store.Pushed] != 1 {
		t.Fatalf("stats %v", s)
	}
}

func TestPausedOrgIsNotCalled(t *testing.T) {
	e := newEnv(t)
	e.sf.callErr = &sfclient.APIError{HTTPStatus: 403, Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}
	e.send("u1", "a")
	e.round()
	calls := len(e.sf.calls)
	e.now = e.now.Add(10 * time.Second) // LimitBackoff is 1m
	e.round()
	if len(e.sf.calls) != calls {
		t.Fatalf("the org was called while paused for REQUEST_LIMIT_EXCEEDED")
	}
	e.sf.callErr = nil
	e.now = e.now.Add(time.Minute)
	e.round()
	if s := e.stats(); s[store.Pushed] != 1 {
		t.Fatalf("stats %v", s)
	}
}

func TestHighAPIUsageSlowsTheOrg(t *testing.T) {
	e := newEnv(t)
	e.sf.used, e.sf.max = 95, 100 // above the 0.9 threshold after this call
	e.send("u1", "a")
	e.round()
	e.send("u2", "b")
	calls := len(e.sf.calls)
	e.now = e.now.Add(time.Second)
	e.round()
	if len(e.sf.calls) != calls {
		t.Fatalf("an org above its usage threshold must be slowed down")
	}
	e.now = e.now.Add(2 * time.Minute)
	e.round()
	if s := e.stats(); s[store.Pushed] != 2 {
		t.Fatalf("stats %v", s)
	}
}

func TestStateChangeIsMirroredOnceInSalesforce(t *testing.T) {
	e := newEnv(t)
	e.send("u1", "a")
	e.round()
	conv, err := e.st.Claim(context.Background(), store.ClaimParams{Owner: "x", Now: e.now, LeaseTTL: time.Minute, MaxConversations: 10, MaxMessages: 10})
	if err != nil || len(conv) != 0 {
		t.Fatalf("nothing should be left to claim: %v %v", conv, err)
	}
	// Find the conversation and close it, as an API caller would.
	msgs := e.sf.messageKeys()
	if len(msgs) != 1 {
		t.Fatalf("keys %v", msgs)
	}
	ctx := context.Background()
	var id int64
	err = e.st.WithTx(ctx, func(tx store.Tx) error {
		c, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: "u1"}, "", e.now)
		if err != nil {
			return err
		}
		live, err := tx.LiveConversation(ctx, c.ID)
		if err != nil {
			return err
		}
		id = live.ID
		_, err = tx.ApplyTransition(ctx, store.Transition{ConversationID: live.ID, From: statemachine.Open, To: statemachine.Closed, Event: "set_state", Actor: "agent", At: e.now})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.sf.calls)
	e.round()
	if len(e.sf.calls) != before+1 || e.sf.calls[before].object != "Chat_Conversation__c" {
		t.Fatalf("the state change must be mirrored with one conversation upsert, calls: %+v", e.sf.calls[before:])
	}
	if want := fmt.Sprintf("acme:wa:%d", id); e.sf.calls[before].keys[0] != want {
		t.Fatalf("mirrored %v, want %s", e.sf.calls[before].keys, want)
	}
	e.round()
	if len(e.sf.calls) != before+1 {
		t.Fatal("a mirrored state must not be written again")
	}
}

func TestExcludedConversationNeverReachesSalesforce(t *testing.T) {
	e := newEnv(t)
	e.ch.HasBot = true
	e.send("u1", "menu")
	e.round()
	if len(e.sf.calls) != 0 {
		t.Fatalf("nothing of an AUTO_BOT conversation may reach Salesforce: %+v", e.sf.calls)
	}
}

func TestStartStopDrains(t *testing.T) {
	e := newEnv(t)
	e.d.Now = nil
	e.in.Now = nil
	e.send("u1", "a", "b")
	if err := e.d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.d.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for e.stats()[store.Pushed] != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not pushed: %v", e.stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := backoff{Min: time.Second, Max: 10 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 50: 10 * time.Second} {
		if got := b.delay(n); got != want {
			t.Errorf("delay(%d) = %v, want %v", n, got, want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Two dispatchers on one store stand for two replicas: a pause one of them
// records after an outage holds the other back too, so replicas do not
// multiply the calls an org receives.
func TestOrgPauseIsSharedBetweenReplicas(t *testing.T) {
	e := newEnv(t)
	other := New(Config{Dispatcher: e.d.cfg.Dispatcher, Owner: "replica-b"}, e.st, orgs{&Org{Key: "00D000000000001", Client: e.sf, Mapping: config.DefaultMapping()}}, metrics.New(), zerolog.Nop())
	other.Now = e.clock
	e.sf.callErr = &sfclient.APIError{HTTPStatus: 503, Code: "SERVER_UNAVAILABLE", Message: "down"}
	e.send("u1", "a")
	e.round() // replica A fails and pauses the org
	calls := len(e.sf.calls)
	e.send("u2", "b")
	if _, err := other.RunOnce(context.Background(), "replica-b"); err != nil {
		t.Fatal(err)
	}
	if len(e.sf.calls) != calls {
		t.Fatalf("replica B called a paused org (%d calls, was %d)", len(e.sf.calls), calls)
	}
	gates, err := e.st.OrgGates(context.Background())
	if err != nil || len(gates) != 1 || gates[0].Failures != 1 || !gates[0].PausedUntil.After(e.now) || gates[0].Reason == "" {
		t.Fatalf("gates %+v, %v", gates, err)
	}
	// After the pause, replica B pushes and the failure count resets.
	e.sf.callErr = nil
	e.now = e.now.Add(time.Minute)
	if _, err := other.RunOnce(context.Background(), "replica-b"); err != nil {
		t.Fatal(err)
	}
	if s := e.stats(); s[store.Pushed] != 2 {
		t.Fatalf("stats %v", s)
	}
	gates, _ = e.st.OrgGates(context.Background())
	if gates[0].Failures != 0 {
		t.Fatalf("failures not reset: %+v", gates[0])
	}
}

// The usage a replica saw is shared: another replica slows down too.
func TestUsageThresholdIsShared(t *testing.T) {
	e := newEnv(t)
	other := New(Config{Dispatcher: e.d.cfg.Dispatcher, Owner: "replica-b"}, e.st, orgs{&Org{Key: "00D000000000001", Client: &fakeSF{recordErr: map[string]string{}}, Mapping: config.DefaultMapping()}}, metrics.New(), zerolog.Nop())
	other.Now = e.clock
	e.sf.used, e.sf.max = 95, 100
	e.send("u1", "a")
	e.round()
	e.send("u2", "b")
	if n, err := other.RunOnce(context.Background(), "replica-b"); err != nil || n != 0 {
		t.Fatalf("replica B claimed %d conversations of an org above its usage threshold (%v)", n, err)
	}
	gates, _ := e.st.OrgGates(context.Background())
	if gates[0].APIUsed < 95 || gates[0].APIMax != 100 {
		t.Fatalf("usage not recorded: %+v", gates[0])
	}
}

// TestAConversationDeletedWhilePushedIsNoLeaseLost: an admin's delete-all
// removes a conversation while its records are in a call; its settlement
// finds it gone, which is neither an error nor a lease lost.
func TestAConversationDeletedWhilePushedIsNoLeaseLost(t *testing.T) {
	e := newEnv(t)
	e.send("u1", "spam")
	e.send("u2", "hello")
	ctx := context.Background()
	convs, err := e.st.ListConversations(ctx, store.ConversationFilter{Tenant: "acme"})
	if err != nil || len(convs) != 2 {
		t.Fatalf("conversations %+v %v", convs, err)
	}
	gone := convs[0].ID
	e.sf.during = func() {
		e.sf.during = nil
		if err := e.st.WithTx(ctx, func(tx store.Tx) error {
			_, err := tx.DeleteConversations(ctx, []int64{gone})
			return err
		}); err != nil {
			t.Error(err)
		}
	}
	lostLeases := func() float64 {
		var pb dto.Metric
		if err := e.d.metrics.LeaseLost.Write(&pb); err != nil {
			t.Fatal(err)
		}
		return pb.GetCounter().GetValue()
	}
	before := lostLeases()
	if n, err := e.d.RunOnce(ctx, "test"); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want the other conversation settled and no error", n, err)
	}
	if lost := lostLeases() - before; lost != 0 {
		t.Errorf("leases lost counted: %v, want 0", lost)
	}
	if s := e.stats(); s[store.Pushed] != 1 || s[store.Pending] != 0 {
		t.Errorf("messages by status %v, want the other conversation's pushed and nothing pending", s)
	}
}
