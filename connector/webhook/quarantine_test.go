package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	wh "github.com/chatsync/sfconnector/connector/webhook"
)

func (e *env) quarantine() []store.Quarantined {
	e.t.Helper()
	qs, err := e.st.ListQuarantine(context.Background(), store.QuarantineFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return qs
}

// A delivery for a phone number id no channel has is answered 200 and its
// event kept in quarantine, once, counted and logged at warn with the
// reason; a replay before the configuration is fixed keeps it; after, the
// message is stored once and leaves the quarantine.
func TestAnotherAccountsEventIsQuarantinedAndReplayed(t *testing.T) {
	e := newEnv(t, config.OptOut{})
	const typo = "1234567899"
	body := whatsapp.TextDelivery(typo, "31611111111", "Ann", "wamid.q1", "Hello?", t0)
	for range 2 { // the platform's retry is kept once
		code, out := e.post("wa", body)
		if code != 200 || out["quarantined"] != float64(1) || out["stored"] != float64(0) {
			t.Fatalf("answer %d %v, want 200 with one event quarantined", code, out)
		}
	}
	qs := e.quarantine()
	if len(qs) != 1 {
		t.Fatalf("quarantine = %+v, want one event", qs)
	}
	q := qs[0]
	if q.Tenant != "acme" || q.Channel != "wa" || q.Platform != "whatsapp" ||
		q.Reason != "other_account: phone_number_id "+typo+" is not the channel's" || !strings.Contains(string(q.Raw), "wamid.q1") {
		t.Fatalf("quarantined %+v", q)
	}
	if n := counter(t, e.m, "connector_events_quarantined_total", map[string]string{"platform": "whatsapp", "reason": "other_account"}); n != 1 {
		t.Errorf("quarantined metric = %v, want 1 (the retry is not counted again)", n)
	}
	logs := e.logs.String()
	if strings.Count(logs, "event quarantined") != 1 || !strings.Contains(logs, `"level":"warn"`) || !strings.Contains(logs, q.Reason) {
		t.Errorf("want one warning with the reason; logs:\n%s", logs)
	}
	if strings.Contains(logs, appSecret) || strings.Contains(logs, "access-token-3e9a") {
		t.Errorf("a secret reached the logs:\n%s", logs)
	}

	// Replayed before the fix: still unusable, kept.
	out, err := e.h.Replay(context.Background(), q.ID)
	if err != nil || out.Replayed || out.Reason != q.Reason {
		t.Fatalf("replay before the fix = %+v, %v", out, err)
	}
	if qs := e.quarantine(); len(qs) != 1 || qs[0].ID != q.ID {
		t.Fatalf("after a failed replay: %+v", qs)
	}

	// The operator fixes the phone number id and replays.
	fixed := newEnvOn(t, e.st, config.OptOut{}, typo)
	out, err = fixed.h.Replay(context.Background(), q.ID)
	if err != nil || !out.Replayed || out.Result.Stored != 1 || out.Result.Pending != 1 {
		t.Fatalf("replay after the fix = %+v, %v", out, err)
	}
	if qs := fixed.quarantine(); len(qs) != 0 {
		t.Fatalf("the replayed event is still in quarantine: %+v", qs)
	}
	if msgs := fixed.messages("wa", "31611111111"); len(msgs) != 1 || msgs[0].Body != "Hello?" || msgs[0].PlatformID != "wamid.q1" {
		t.Fatalf("messages = %+v", msgs)
	}
	if fixed.stored != 1 {
		t.Errorf("the dispatcher was woken %d times, want 1", fixed.stored)
	}
	if _, err := fixed.h.Replay(context.Background(), q.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("replaying it again: %v, want ErrNotFound", err)
	}
	// The platform's retry after the fix is a duplicate.
	if code, out := fixed.post("wa", body); code != 200 || out["duplicates"] != float64(1) {
		t.Errorf("retry after the replay: %d %v", code, out)
	}
}

// A replay of several ids naming one that is not quarantined (never, or
// replayed already) replays none of them and names the unknown ones; a
// repeated id is replayed once.
func TestReplayOfIDsWithAnUnknownOneReplaysNothing(t *testing.T) {
	e := newEnv(t, config.OptOut{})
	const typo = "1234567899"
	if code, _ := e.post("wa", whatsapp.TextDelivery(typo, "31611111111", "Ann", "wamid.q1", "Hello?", t0)); code != 200 {
		t.Fatalf("answer %d", code)
	}
	qs := e.quarantine()
	if len(qs) != 1 {
		t.Fatalf("quarantine = %+v", qs)
	}
	id := qs[0].ID
	fixed := newEnvOn(t, e.st, config.OptOut{}, typo)
	out, err := fixed.h.ReplayIDs(context.Background(), []int64{id, id + 1000, -4})
	if !errors.Is(err, store.ErrNotFound) || len(out) != 0 {
		t.Fatalf("ReplayIDs = %+v, %v; want ErrNotFound and nothing replayed", out, err)
	}
	if want := fmt.Sprintf("no quarantined event %d and -4 (never quarantined, or replayed already): nothing replayed", id+1000); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to say %q", err, want)
	}
	if qs := fixed.quarantine(); len(qs) != 1 || qs[0].ID != id {
		t.Fatalf("after the refused replay: %+v", qs)
	}
	// Stored now, not by the refused replay: not a duplicate.
	out, err = fixed.h.ReplayIDs(context.Background(), []int64{id, id})
	if err != nil || len(out) != 1 || !out[0].Replayed || out[0].Stored != 1 || out[0].Duplicates != 0 {
		t.Fatalf("ReplayIDs of a repeated id = %+v, %v", out, err)
	}
	if msgs := fixed.messages("wa", "31611111111"); len(msgs) != 1 {
		t.Fatalf("messages = %+v", msgs)
	}
}

// A replayed event whose channel is no longer configured stays.
func TestReplayOfAnEventOfAChannelGone(t *testing.T) {
	e := newEnv(t, config.OptOut{})
	ctx := context.Background()
	var id int64
	if err := e.st.WithTx(ctx, func(tx store.Tx) error {
		q, _, err := tx.Quarantine(ctx, store.Quarantined{Tenant: "acme", Channel: "gone", Platform: "whatsapp",
			Reason: "other_account: x", Raw: []byte("{}"), ReceivedAt: t0})
		id = q.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.h.Replay(ctx, id); !errors.Is(err, wh.ErrChannelGone) {
		t.Fatalf("Replay = %v, want ErrChannelGone", err)
	}
	if qs := e.quarantine(); len(qs) != 1 {
		t.Fatalf("quarantine = %+v", qs)
	}
}

// Events dropped by design are counted by type and not quarantined.
func TestIgnoredEventsAreCountedByType(t *testing.T) {
	e := newEnv(t, config.OptOut{})
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` +
		`{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}},` +
		`{"field":"messages","value":{"metadata":{"phone_number_id":"` + phoneID + `"},` +
		`"statuses":[{"id":"wamid.unknown","status":"delivered","timestamp":"1700000000","recipient_id":"1"}]}}]}]}`)
	code, out := e.post("wa", body)
	if code != 200 || out["quarantined"] != nil {
		t.Fatalf("answer %d %v", code, out)
	}
	if n := counter(t, e.m, "connector_events_ignored_total", map[string]string{"platform": "whatsapp", "type": "field_account_update"}); n != 1 {
		t.Errorf("ignored field_account_update = %v, want 1", n)
	}
	if n := counter(t, e.m, "connector_events_ignored_total", map[string]string{"platform": "whatsapp", "type": "receipt_unrecorded"}); n != 1 {
		t.Errorf("ignored receipt_unrecorded = %v, want 1", n)
	}
	if qs := e.quarantine(); len(qs) != 0 {
		t.Errorf("quarantine = %+v", qs)
	}
}

// One Meta app posts every number's events to one URL: a delivery to "wa"
// holding changes for its number, for the tenant's other number and for a
// number no channel has stores each known number's message on its own
// channel and quarantines the third on "wa".
func TestAnAccountNoChannelReadsIsQuarantinedOnTheChannelPostedTo(t *testing.T) {
	base := newEnv(t, config.OptOut{})
	const phone2, phone3 = "2234567890", "3234567890"
	e := newEnvOn(t, base.st, config.OptOut{}, phoneID, config.Channel{ID: "wa2", Platform: config.PlatformWhatsApp,
		WhatsApp: &config.WhatsApp{PhoneNumberID: phone2, AppSecret: config.NewSecret(appSecret), VerifyToken: config.NewSecret("v"),
			AccessToken: config.NewSecret("access-token-3e9a")}})
	var changes []json.RawMessage
	for _, d := range []struct{ phone, id string }{{phoneID, "wamid.one"}, {phone2, "wamid.two"}, {phone3, "wamid.three"}} {
		var w struct {
			Entry []struct {
				Changes []json.RawMessage `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(whatsapp.TextDelivery(d.phone, "3161000000"+d.id[len(d.id)-1:], "Ann", d.id, "hi "+d.id, t0), &w); err != nil {
			t.Fatal(err)
		}
		changes = append(changes, w.Entry[0].Changes...)
	}
	body, err := json.Marshal(map[string]any{"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "1", "changes": changes}}})
	if err != nil {
		t.Fatal(err)
	}
	code, out := e.post("wa", body)
	if code != 200 || out["stored"] != float64(2) || out["quarantined"] != float64(1) {
		t.Fatalf("answer %d %v, want two stored and one quarantined", code, out)
	}
	qs := e.quarantine()
	if len(qs) != 1 || qs[0].Channel != "wa" || !strings.Contains(qs[0].Reason, phone3) ||
		!strings.Contains(string(qs[0].Raw), "wamid.three") || strings.Contains(string(qs[0].Raw), "wamid.two") {
		t.Fatalf("quarantine %+v", qs)
	}
	for _, c := range []struct{ channel, contact, id string }{{"wa", "3161000000e", "wamid.one"}, {"wa2", "3161000000o", "wamid.two"}} {
		if msgs := e.messages(c.channel, c.contact); len(msgs) != 1 || msgs[0].PlatformID != c.id {
			t.Errorf("%s: messages %+v", c.channel, msgs)
		}
	}
}

// takenMeanwhile is a store whose second write transaction finds the
// quarantined event gone: another replay took it between the check of
// the ids and this replay.
type takenMeanwhile struct {
	store.Store
	id    int64
	calls int
}

func (s *takenMeanwhile) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	s.calls++
	if s.calls == 2 {
		if err := s.Store.WithTx(ctx, func(tx store.Tx) error { return tx.DeleteQuarantined(ctx, s.id) }); err != nil {
			return err
		}
	}
	return s.Store.WithTx(ctx, fn)
}

// An event another replay takes between the check of the ids and its
// own replay is reported so, not answered 404 part-way.
func TestReplayOfAnEventTakenMeanwhile(t *testing.T) {
	e := newEnv(t, config.OptOut{})
	const typo = "1234567899"
	if code, _ := e.post("wa", whatsapp.TextDelivery(typo, "31611111111", "Ann", "wamid.q1", "Hello?", t0)); code != 200 {
		t.Fatalf("answer %d", code)
	}
	id := e.quarantine()[0].ID
	fixed := newEnvOn(t, e.st, config.OptOut{}, typo)
	fixed.h.Ingester.Store = &takenMeanwhile{Store: e.st, id: id}
	out, err := fixed.h.ReplayIDs(context.Background(), []int64{id})
	if err != nil || len(out) != 1 || out[0].Replayed || out[0].Reason != "replayed meanwhile by another request" {
		t.Fatalf("ReplayIDs = %+v, %v; want the event reported as taken meanwhile", out, err)
	}
}
