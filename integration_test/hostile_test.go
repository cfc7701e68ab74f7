package integration_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/sanitize"
)

// storedMessage is what a hostile delivery left in the store, as the API
// shows it: comparable across drivers (a 1 MiB body by its hash).
type storedMessage struct {
	Channel, Contact, PlatformID, Body string
	BodyLen                            int
}

// TestHostileDeliveriesAreStoredTheSameOnBothDrivers posts signed web chat
// and WhatsApp deliveries with NUL characters and invalid UTF-8 in texts
// and ids, an id of 3,000 characters and a 1 MiB text, each beside a
// valid neighbour, to the connector on SQLite and on PostgreSQL: every
// delivery is answered 200, both stores end up with the same messages
// (cleaned, the overlong id's event kept out), and every message reaches
// Salesforce, the 1 MiB text cut to its field with the marker. The API
// refuses a NUL in a tag, a note, a block note, a reply or a filter with
// 400 on both drivers.
func TestHostileDeliveriesAreStoredTheSameOnBothDrivers(t *testing.T) {
	t.Parallel()
	results := map[string][]storedMessage{}
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			results[driver] = hostileDeliveries(t, driver)
		})
	}
	if t.Failed() {
		return
	}
	if !slices.Equal(results["sqlite"], results["postgres"]) {
		t.Errorf("the drivers stored different messages:\nsqlite   %+v\npostgres %+v", results["sqlite"], results["postgres"])
	}
}

func hostileDeliveries(t *testing.T, driver string) []storedMessage {
	acme := newOrg(t, "", nil)
	opts := envOptions{
		Tenants: []tenantSpec{{ID: "acme", Org: acme,
			Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}, {ID: "web", Platform: "webchat"}}}},
		MaxBodyBytes: 4 << 20,
	}
	if driver == "postgres" {
		opts.PostgresDSN = postgresSchema(t)
	}
	e := newEnv(t, opts)
	e.start()

	long := incompressible(3000) // PostgreSQL's index compresses a repetitive id
	mib := strings.Repeat("a 1 MiB message ", 1<<20/16)
	web := func(events ...string) []byte {
		return []byte(`{"events":[` + strings.Join(events, ",") + `]}`)
	}
	msg := func(id, visitor, text string) string {
		return fmt.Sprintf(`{"id":%s,"type":"message","visitor":{"id":%s,"name":"V"},"message":{"text":%s}}`, id, visitor, text)
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	// JSON escapes for NUL; raw invalid UTF-8 bytes inside strings.
	for _, d := range []struct {
		body                []byte
		stored, quarantined int
	}{
		{web(msg(`"web-1\u0000"`, `"visitor\u0000-1"`, "\"hello\\u0000 there \xff\""), msg(`"web-2"`, `"visitor-2"`, `"a valid neighbour"`)), 2, 0},
		{web(msg(q(long), `"visitor-3"`, `"an overlong id"`), msg(`"web-3"`, `"visitor-3"`, `"beside an overlong id"`)), 1, 1},
		{web(msg(`"web-4"`, q(long), `"an overlong visitor id"`), msg(`"web-5"`, `"visitor-3"`, `"beside an overlong visitor"`)), 1, 1},
		{web(msg(`"web-6"`, `"visitor-4"`, q(mib))), 1, 0},
	} {
		resp, err := e.sender().WebChat(context.Background(), "acme", "web", webchatSecret, d.body)
		e.checkHostileAnswer("web chat", resp, err, d.stored, d.quarantined)
	}

	phone, ts := defaultPhoneNumberID, time.Now().Add(-time.Minute)
	resp, err := e.sender().WhatsApp(context.Background(), "acme", "wa", appSecret, whatsapp.Delivery(phone,
		whatsapp.Inbound{From: "31600000001", Name: "Ann\x00", ID: "wamid.NUL\x001", Time: ts, Text: "nul\x00 text"},
		whatsapp.Inbound{From: "31600000001", Name: "Ann", ID: long, Time: ts, Text: "an overlong id"},
		whatsapp.Inbound{From: "31600000002", Name: "Bob", ID: "wamid.OK1", Time: ts, Text: "a valid neighbour"},
		whatsapp.Inbound{From: "31600000002", Name: "Bob", ID: "wamid.MIB", Time: ts, Text: mib},
	))
	e.checkHostileAnswer("whatsapp", resp, err, 3, 1)

	wantIDs := []string{"wa:wamid.MIB", "wa:wamid.NUL1", "wa:wamid.OK1", "web:web-1", "web:web-2", "web:web-3", "web:web-5", "web:web-6"}
	waitFor(t, waitTimeout, "every stored message pushed", func() (bool, string) {
		s := e.stats("acme")
		return s.Messages["pushed"] == len(wantIDs), fmt.Sprintf("messages %v", s.Messages)
	})

	agent := e.newCaller("acme", "agent", "agent")
	got := storedMessages(agent)
	checkNULRefused(t, agent)
	var ids []string
	byID := map[string]storedMessage{}
	for _, m := range got {
		ids = append(ids, m.Channel+":"+m.PlatformID)
		byID[m.Channel+":"+m.PlatformID] = m
	}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("stored messages %q, want %q", ids, wantIDs)
	}
	for id, want := range map[string]storedMessage{
		"web:web-1":     {Channel: "web", Contact: "visitor-1", PlatformID: "web-1", Body: "hello there \uFFFD"},
		"web:web-3":     {Channel: "web", Contact: "visitor-3", PlatformID: "web-3", Body: "beside an overlong id"},
		"wa:wamid.NUL1": {Channel: "wa", Contact: "31600000001", PlatformID: "wamid.NUL1", Body: "nul text"},
		"wa:wamid.OK1":  {Channel: "wa", Contact: "31600000002", PlatformID: "wamid.OK1", Body: "a valid neighbour"},
		"web:web-6":     {Channel: "web", Contact: "visitor-4", PlatformID: "web-6", Body: bodyDigest(mib)},
		"wa:wamid.MIB":  {Channel: "wa", Contact: "31600000002", PlatformID: "wamid.MIB", Body: bodyDigest(mib)},
	} {
		want.BodyLen = byID[id].BodyLen
		if byID[id] != want {
			t.Errorf("%s stored as %+v, want %+v", id, byID[id], want)
		}
	}
	if n := byID["web:web-6"].BodyLen; n != len(mib) {
		t.Errorf("the 1 MiB text is stored with %d bytes, want all %d", n, len(mib))
	}

	recs := messageRecords(t, acme.SF)
	for _, key := range []string{msgKey("acme", "web", "web-6"), msgKey("acme", "wa", "wamid.MIB")} {
		body := field(recs[key], "Body__c")
		if n := sanitize.Length(body); n > 131072 || !strings.HasPrefix(body, mib[:1000]) || !strings.Contains(body, fmt.Sprintf("the full text of %d characters is kept", len(mib))) {
			t.Errorf("%s: Salesforce's body has %d characters, ends %q; want the text cut to 131072 with the marker", key, n, body[max(0, len(body)-120):])
		}
	}
	if d := e.deadLetters("acme"); len(d) != 0 {
		t.Errorf("dead letters: %+v", d)
	}
	return got
}

// checkNULRefused sends the API a NUL in a tag, a note, a block note, a
// reply and filters: each gets 400 invalid_text (on PostgreSQL too, whose
// text columns refuse a NUL), and the contact is left as it was.
func checkNULRefused(t *testing.T, c *caller) {
	t.Helper()
	conv := c.conversationOf("web", "visitor-2")
	contact := fmt.Sprintf("/contacts/%d", conv.ContactID)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodPut, contact + "/tags", `{"tags": ["v\u0000ip"]}`},
		{http.MethodPost, contact + "/notes", `{"text": "call\u0000 back"}`},
		{http.MethodPut, contact + "/block", `{"inbound": true, "note": "spam\u0000"}`},
		{http.MethodPost, fmt.Sprintf("/conversations/%d/messages", conv.ID), `{"text": "hello\u0000"}`},
		{http.MethodGet, "/contacts?tag=vip%00", ""},
		{http.MethodGet, "/conversations?contact=%00", ""},
	} {
		var body any
		if r.body != "" {
			body = r.body
		}
		if res := c.do(r.method, r.path, body); res.Status != http.StatusBadRequest || res.errorCode() != "invalid_text" {
			t.Errorf("%s %s %s: %s, want 400 invalid_text", r.method, r.path, r.body, res)
		}
	}
	after := c.contact(conv.ContactID)
	if len(after.Tags) != 0 || after.Blocked != nil {
		t.Errorf("a refused request changed the contact: %+v", after)
	}
}

// checkHostileAnswer requires a 200 answer that counts stored messages
// and quarantined events.
func (e *env) checkHostileAnswer(what string, resp demo.Response, err error, stored, quarantined int) {
	e.t.Helper()
	if err != nil || resp.Status != http.StatusOK {
		e.t.Fatalf("%s delivery: %v status %d: %.300s", what, err, resp.Status, resp.Body)
	}
	var a struct {
		Stored      int `json:"stored"`
		Quarantined int `json:"quarantined"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		e.t.Fatalf("%s delivery: answer %.300s: %v", what, resp.Body, err)
	}
	if a.Stored != stored || a.Quarantined != quarantined {
		e.t.Errorf("%s delivery: answer %s, want %d stored and %d quarantined", what, resp.Body, stored, quarantined)
	}
}

// incompressible returns n hex digits of a SHA-256 chain.
func incompressible(n int) string {
	var b strings.Builder
	sum := sha256.Sum256([]byte("seed"))
	for b.Len() < n {
		b.WriteString(hex.EncodeToString(sum[:]))
		sum = sha256.Sum256(sum[:])
	}
	return b.String()[:n]
}

func bodyDigest(s string) string {
	if len(s) <= 200 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// storedMessages lists the tenant's messages through the API, by channel
// and platform id.
func storedMessages(c *caller) []storedMessage {
	var out []storedMessage
	for _, conv := range c.conversations("limit=1000") {
		d := c.conversation(conv.ID)
		for _, m := range d.Messages {
			out = append(out, storedMessage{Channel: d.Channel, Contact: m.Sender, PlatformID: m.PlatformID, Body: bodyDigest(m.Body), BodyLen: len(m.Body)})
		}
	}
	slices.SortFunc(out, func(a, b storedMessage) int {
		return strings.Compare(a.Channel+":"+a.PlatformID, b.Channel+":"+b.PlatformID)
	})
	return out
}
