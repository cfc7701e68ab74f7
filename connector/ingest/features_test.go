package ingest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// contact reads the contact through a transaction (a Tx's contact carries
// the block).
func (f *fixture) contact(external string) store.Contact {
	f.t.Helper()
	ctx := context.Background()
	var c store.Contact
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: external}, "", t0)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) block(contactID int64, b store.Block) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.st.WithTx(ctx, func(tx store.Tx) error { return tx.SetContactBlock(ctx, contactID, b, t0) }); err != nil {
		f.t.Fatal(err)
	}
}

// outbound stores an outbound message the connector sent in contact's
// conversation.
func (f *fixture) outbound(contact, platformID string) {
	f.t.Helper()
	conv, _ := f.conversationOf(contact)
	ctx := context.Background()
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		_, _, err := tx.InsertMessage(ctx, store.Message{
			Tenant: "acme", Channel: "wa", ConversationID: conv.ID, ContactID: conv.ContactID, PlatformID: platformID,
			Direction: store.Outbound, Kind: platform.Text, Body: "hello", Sender: "alice", SentAt: t0, ReceivedAt: t0,
			StateAtReceipt: conv.State, PushStatus: store.Pending,
		})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) message(contact, platformID string) store.Message {
	f.t.Helper()
	_, msgs := f.conversationOf(contact)
	for _, m := range msgs {
		if m.PlatformID == platformID {
			return m
		}
	}
	f.t.Fatalf("no message %s in %+v", platformID, msgs)
	return store.Message{}
}

func receipt(msgID, status string, at time.Time) platform.Event {
	return platform.Event{Kind: platform.KindReceipt, ID: msgID + ":status:" + status, Contact: "u1", Status: status, Timestamp: at}
}

func TestReceiptsUpdateTheOutboundMessage(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	f.ingest(msg("m1", "u1", "hi"))
	f.outbound("u1", "wamid.out1")

	res := f.ingest(receipt("wamid.out1", "sent", t0.Add(time.Minute)), receipt("wamid.out1", "delivered", t0.Add(2*time.Minute)))
	if res.Receipts != 2 || res.Other != 0 || res.Stored != 0 || res.ReceiptsRecorded != 2 {
		t.Fatalf("result %+v", res)
	}
	if m := f.message("u1", "wamid.out1"); m.DeliveryStatus != "delivered" || !m.DeliveryStatusAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after delivered: %q at %v", m.DeliveryStatus, m.DeliveryStatusAt)
	}
	res = f.ingest(receipt("wamid.out1", "read", t0.Add(3*time.Minute)))
	if m := f.message("u1", "wamid.out1"); m.DeliveryStatus != "read" || res.Receipts != 1 {
		t.Fatalf("after read: %q, result %+v", m.DeliveryStatus, res)
	}
	// A late retry of an older receipt does not go back.
	f.ingest(receipt("wamid.out1", "delivered", t0.Add(2*time.Minute)))
	if m := f.message("u1", "wamid.out1"); m.DeliveryStatus != "read" {
		t.Fatalf("an older receipt overrode read: %q", m.DeliveryStatus)
	}
	// A receipt without a timestamp (Twilio) is taken as of now.
	f.outbound("u1", "SMout2")
	f.ingest(platform.Event{Kind: platform.KindReceipt, ID: "SMout2:status:failed", Contact: "u1", Status: "failed"})
	if m := f.message("u1", "SMout2"); m.DeliveryStatus != "failed" || m.DeliveryStatusAt.IsZero() {
		t.Fatalf("receipt without time: %q at %v", m.DeliveryStatus, m.DeliveryStatusAt)
	}
	// A receipt for a message the connector did not send is accepted.
	res = f.ingest(receipt("wamid.other-app", "read", t0))
	if res.Receipts != 1 || res.ReceiptsRecorded != 0 {
		t.Fatalf("unknown message: %+v", res)
	}
	// The inbound message is never given a delivery status.
	res = f.ingest(receipt("m1", "read", t0.Add(time.Hour)))
	if m := f.message("u1", "m1"); m.DeliveryStatus != "" || res.ReceiptsRecorded != 0 {
		t.Fatalf("inbound message got %q", m.DeliveryStatus)
	}
}

func TestReceiptsThatNameNoMessageAreOther(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	f.ingest(msg("m1", "u1", "hi"))
	f.outbound("u1", "mid.out1")
	res := f.ingest(
		platform.Event{Kind: platform.KindReceipt, ID: "mid.out1:status:echo", Contact: "u1", Status: "echo"},
		platform.Event{Kind: platform.KindReceipt, ID: "read:u1:1700000000000", Contact: "u1", Status: "read"},
		platform.Event{Kind: platform.KindReceipt, ID: "mid.out1:status:read", Contact: "u1", Status: "delivered"},
	)
	if res.Receipts != 0 || res.Other != 3 {
		t.Fatalf("result %+v", res)
	}
	if m := f.message("u1", "mid.out1"); m.DeliveryStatus != "" {
		t.Fatalf("status %q recorded from a receipt naming no message", m.DeliveryStatus)
	}
}

func TestReceiptMessageID(t *testing.T) {
	for _, tc := range []struct {
		ev     platform.Event
		id     string
		wantOK bool
	}{
		{platform.Event{Kind: platform.KindReceipt, ID: "wamid.X=:status:read", Status: "read"}, "wamid.X=", true},
		{platform.Event{Kind: platform.KindReceipt, ID: "5429180000000000000:status:failed", Status: "failed"}, "5429180000000000000", true},
		{platform.Event{Kind: platform.KindReceipt, ID: ":status:sent", Status: "sent"}, "", false},
		{platform.Event{Kind: platform.KindReceipt, ID: "delivered:u1:12", Status: "delivered"}, "", false},
		{platform.Event{Kind: platform.KindMessage, ID: "m:status:read", Status: "read"}, "", false},
	} {
		id, ok := ingest.ReceiptMessageID(&tc.ev)
		if id != tc.id || ok != tc.wantOK {
			t.Errorf("%+v: %q %v, want %q %v", tc.ev, id, ok, tc.id, tc.wantOK)
		}
	}
}

func TestStoredExclusionsOverrideTheConfiguration(t *testing.T) {
	// The configuration excludes nothing; the support team's setting
	// excludes OPEN.
	f := newFixture(t, false, statemachine.Set(0))
	f.ch.ExcludedFromConfig = true
	if res := f.ingest(msg("m1", "u1", "hi")); res.Pending != 1 {
		t.Fatalf("without a setting: %+v", res)
	}
	putSetting(t, f.st, store.Setting{Scope: ingest.OrgScope(f.ch.OrgID), Key: ingest.SettingExcludedStates, Value: "OPEN", UpdatedBy: "support", UpdatedAt: t0})
	res := f.ingest(msg("m2", "u1", "again"))
	if res.Excluded != 1 || res.Pending != 0 {
		t.Fatalf("with the setting: %+v", res)
	}
	m := f.message("u1", "m2")
	if m.PushStatus != store.Excluded || m.PushReason != "state OPEN is excluded for org 00D000000000001" {
		t.Fatalf("message %+v", m)
	}
	// The first message keeps the decision taken when it arrived.
	if m := f.message("u1", "m1"); m.PushStatus != store.Pending {
		t.Fatalf("an earlier message changed: %+v", m)
	}
	// An 18-character org id reads the same setting.
	f.ch.OrgID = "00D000000000001AAA"
	if res := f.ingest(msg("m3", "u1", "and again")); res.Excluded != 1 {
		t.Fatalf("18-character org id: %+v", res)
	}
	// Setting [] through the API pushes everything, even what the
	// configuration would exclude.
	f.ch.Excluded = statemachine.NewSet(statemachine.Open)
	putSetting(t, f.st, store.Setting{Scope: ingest.OrgScope(f.ch.OrgID), Key: ingest.SettingExcludedStates, Value: "", UpdatedBy: "support", UpdatedAt: t0})
	if res := f.ingest(msg("m4", "u1", "last")); res.Pending != 1 {
		t.Fatalf("stored empty set: %+v", res)
	}
}

func TestChannelExcludedNow(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	ch := ingest.Channel{Tenant: "acme", ID: "wa", OrgID: "00D000000000001", Excluded: statemachine.NewSet(statemachine.Blocked), ExcludedFromConfig: true}
	get := func(ch ingest.Channel) (statemachine.Set, string) {
		t.Helper()
		var (
			set statemachine.Set
			src string
		)
		if err := st.WithTx(ctx, func(tx store.Tx) (err error) { set, src, err = ch.ExcludedNow(ctx, tx); return err }); err != nil {
			t.Fatal(err)
		}
		return set, src
	}
	if set, src := get(ch); set != statemachine.NewSet(statemachine.Blocked) || src != ingest.SourceConfig {
		t.Fatalf("configured: %v %q", set, src)
	}
	def := ch
	def.Excluded, def.ExcludedFromConfig = statemachine.DefaultExcluded(), false
	if set, src := get(def); set != statemachine.DefaultExcluded() || src != ingest.SourceDefault {
		t.Fatalf("default: %v %q", set, src)
	}
	putSetting(t, st, store.Setting{Scope: "org:00D000000000001", Key: ingest.SettingExcludedStates, Value: "CLOSED", UpdatedBy: "support", UpdatedAt: t0})
	if set, src := get(ch); set != statemachine.NewSet(statemachine.Closed) || src != ingest.SourceAPI {
		t.Fatalf("stored: %v %q", set, src)
	}
}

// countingStore counts the setting reads of its transactions (the
// statements, and the keys they read), and can fail them.
type countingStore struct {
	store.Store
	reads int
	keys  map[string]int // reads by setting key
	fail  error
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (c *countingStore) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.WithTx(ctx, func(tx store.Tx) error { return fn(countingTx{tx, c}) })
}

func (c countingTx) GetSettings(ctx context.Context, keys []store.SettingKey) (map[store.SettingKey]store.Setting, error) {
	c.s.reads++
	if c.s.keys == nil {
		c.s.keys = map[string]int{}
	}
	for _, k := range keys {
		c.s.keys[k.Key]++
	}
	if c.s.fail != nil {
		return nil, c.s.fail
	}
	return c.Tx.GetSettings(ctx, keys)
}

func (c countingTx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	c.s.reads++
	if c.s.keys == nil {
		c.s.keys = map[string]int{}
	}
	c.s.keys[key]++
	if c.s.fail != nil {
		return store.Setting{}, c.s.fail
	}
	return c.Tx.GetSetting(ctx, scope, key)
}

func TestExclusionsAreReadOncePerBatchInTheTransaction(t *testing.T) {
	cs := &countingStore{Store: newStore(t)}
	in := &ingest.Ingester{Store: cs, Now: func() time.Time { return t0 }}
	wa := ingest.Channel{Tenant: "acme", ID: "wa", OrgID: "00D000000000001", Excluded: statemachine.DefaultExcluded()}
	wa2 := ingest.Channel{Tenant: "acme", ID: "wa2", OrgID: "00D000000000001", Excluded: statemachine.DefaultExcluded()}
	ctx := context.Background()
	_, err := in.IngestBatches(ctx, []ingest.Batch{
		{Channel: wa, Events: []platform.Event{msg("m1", "u1", "a"), msg("m2", "u2", "b"), msg("m3", "u1", "c")}},
		{Channel: wa2, Events: []platform.Event{msg("m4", "u3", "d")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The exclusions and the opt-out keywords, read together once per
	// batch.
	if cs.keys[ingest.SettingExcludedStates] != 2 || cs.keys[ingest.SettingOptOutKeywords] != 2 || cs.reads != 2 {
		t.Fatalf("setting reads for two batches: %d reads of %v, want two reads of the exclusions and the keywords", cs.reads, cs.keys)
	}
	// A delivery of receipts only reads no exclusions.
	cs.reads = 0
	if _, err := in.Ingest(ctx, wa, []platform.Event{receipt("x", "read", t0)}); err != nil {
		t.Fatal(err)
	}
	if cs.reads != 0 {
		t.Fatalf("%d setting reads for a delivery without messages", cs.reads)
	}
	// When the exclusions can not be read, nothing of the delivery is
	// stored (the platform retries it).
	cs.fail = errBoom
	if _, err := in.Ingest(ctx, wa, []platform.Event{msg("m5", "u9", "e")}); !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	cs.fail = nil
	stats, err := cs.Stats(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if n := stats.Messages[store.Pending] + stats.Messages[store.Excluded]; n != 4 {
		t.Fatalf("%d messages stored, want 4 (m5 must not be)", n)
	}
}

func optOutFixture(t *testing.T) *fixture {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	f.ch.OptOutKeywords = []string{"STOP", "Do Not Disturb"}
	return f
}

func TestOptOutKeywordOptsTheContactOut(t *testing.T) {
	f := optOutFixture(t)
	f.ingest(msg("m1", "u1", "hi"))
	res := f.ingest(msg("m2", "u1", "  stop \n"))
	if res.Stored != 1 || len(res.OptOuts) != 1 {
		t.Fatalf("result %+v", res)
	}
	c := f.contact("u1")
	want := ingest.OptOut{Tenant: "acme", Channel: "wa", ContactID: c.ID, ExternalID: "u1", Keyword: "STOP", ConversationID: f.message("u1", "m2").ConversationID}
	if res.OptOuts[0] != want {
		t.Fatalf("opt-out %+v, want %+v", res.OptOuts[0], want)
	}
	// The opt-out is the contact's own: no block is set.
	if c.OptOut.Keyword != "STOP" || c.OptOut.At.IsZero() || c.BlockedOutbound || c.BlockedInbound || c.Block != (store.BlockInfo{}) {
		t.Fatalf("contact %+v", c)
	}
	// The message itself is stored and pushed as any other.
	if m := f.message("u1", "m2"); m.Body != "  stop \n" || m.PushStatus != store.Pending {
		t.Fatalf("message %+v", m)
	}
	// The conversation's state is unchanged.
	if conv, _ := f.conversationOf("u1"); conv.State != statemachine.Open {
		t.Fatalf("state %v", conv.State)
	}
	// The platform's retry of the delivery opts out nothing again, nor
	// does a second keyword: the first opt-out stands.
	if res := f.ingest(msg("m2", "u1", "  stop \n")); res.Duplicates != 1 || len(res.OptOuts) != 0 {
		t.Fatalf("retry: %+v", res)
	}
	if res := f.ingest(msg("m3", "u1", "Do not disturb")); len(res.OptOuts) != 0 || f.contact("u1").OptOut != c.OptOut {
		t.Fatalf("second keyword: %+v, contact %+v", res, f.contact("u1"))
	}
	// Two keywords in one delivery opt out once (one last reply).
	if res := f.ingest(msg("m4", "u2", "stop"), msg("m5", "u2", "STOP")); len(res.OptOuts) != 1 {
		t.Fatalf("two keywords in one delivery: %+v", res.OptOuts)
	}
}

// Keywords an admin stored replace the configuration's, from the next
// delivery on.
func TestOptOutKeywordsStoredReplaceTheConfiguration(t *testing.T) {
	f := optOutFixture(t)
	putSetting(t, f.st, store.Setting{Scope: ingest.TenantScope("acme"), Key: ingest.SettingOptOutKeywords, Value: `["Unsubscribe"]`, UpdatedBy: "boss", UpdatedAt: t0})
	if res := f.ingest(msg("m1", "u1", "STOP")); len(res.OptOuts) != 0 || f.contact("u1").OptedOut() {
		t.Fatalf("a keyword of the configuration only: %+v", res)
	}
	res := f.ingest(msg("m2", "u2", "unsubscribe"))
	if len(res.OptOuts) != 1 || res.OptOuts[0].Keyword != "Unsubscribe" || f.contact("u2").OptOut.Keyword != "Unsubscribe" {
		t.Fatalf("the stored keyword: %+v", res)
	}
}

func TestOptOutMatching(t *testing.T) {
	for _, tc := range []struct {
		text, keyword string
		ok            bool
	}{
		{"STOP", "STOP", true},
		{"Stop", "STOP", true},
		{"do not   disturb", "Do Not Disturb", true},
		{"\tDO NOT DISTURB ", "Do Not Disturb", true},
		{"STOP please", "", false},
		{"stopp", "", false},
		{"", "", false},
	} {
		kw, ok := ingest.MatchOptOut([]string{"STOP", "Do Not Disturb"}, tc.text)
		if kw != tc.keyword || ok != tc.ok {
			t.Errorf("MatchOptOut(%q) = %q %v, want %q %v", tc.text, kw, ok, tc.keyword, tc.ok)
		}
	}
	if _, ok := ingest.MatchOptOut(nil, "STOP"); ok {
		t.Error("no keywords matched STOP")
	}
}

// A keyword matches what the contact wrote, or the title of the button
// (or postback) it pressed: a bot's "Do Not Disturb" button opts out.
func TestOptOutMatchesTextsAndButtons(t *testing.T) {
	f := optOutFixture(t)
	event := func(id, contact, kind, text string) platform.Event {
		return platform.Event{Kind: platform.KindMessage, ID: id, Contact: contact, Timestamp: t0, Message: &platform.Message{Kind: kind, Text: text}}
	}
	res := f.ingest(msg("m1", "u1", "please stop writing"), event("i1", "u2", platform.Image, "STOP"),
		event("b1", "u3", platform.Button, "Do Not Disturb"), event("p1", "u4", platform.Postback, "stop"))
	var got []string
	for _, o := range res.OptOuts {
		got = append(got, o.ExternalID+":"+o.Keyword)
	}
	if want := []string{"u3:Do Not Disturb", "u4:STOP"}; !slices.Equal(got, want) {
		t.Fatalf("opt-outs %v, want %v", got, want)
	}
	for ext, want := range map[string]bool{"u1": false, "u2": false, "u3": true, "u4": true} {
		if c := f.contact(ext); c.OptedOut() != want {
			t.Errorf("contact %s opted out: %v, want %v", ext, c.OptedOut(), want)
		}
	}
	// A tenant without keywords: STOP is just a message.
	g := newFixture(t, false, statemachine.DefaultExcluded())
	if res := g.ingest(msg("m1", "u1", "STOP")); len(res.OptOuts) != 0 || g.contact("u1").OptedOut() {
		t.Fatalf("no keywords: %+v", res)
	}
}

// A blocked contact's opt-out is recorded, and leaves the agent's block
// (its note, who and when) as it was; the contact gets no last reply:
// nothing automated runs for a blocked contact.
func TestOptOutOfABlockedContactKeepsTheBlock(t *testing.T) {
	for _, b := range []store.Block{
		{Inbound: true, Note: "spam", By: "alice"},
		{Outbound: true, Note: "asked by phone", By: "alice"},
	} {
		f := optOutFixture(t)
		f.ingest(msg("m1", "u1", "hi"))
		c := f.contact("u1")
		f.block(c.ID, b)
		before := f.contact("u1")
		res := f.ingest(msg("m2", "u1", "Do not disturb"), msg("m3", "u2", "stop"))
		if len(res.OptOuts) != 2 || res.OptOuts[0].Keyword != "Do Not Disturb" || !res.OptOuts[0].Blocked || res.OptOuts[1].Blocked {
			t.Fatalf("block %+v: opt-outs %+v, want u1 blocked and u2 not", b, res.OptOuts)
		}
		c = f.contact("u1")
		if c.OptOut.Keyword != "Do Not Disturb" || c.BlockedInbound != b.Inbound || c.BlockedOutbound != b.Outbound || c.Block != before.Block {
			t.Fatalf("block %+v: contact %+v, want the opt-out and the block as it was (%+v)", b, c, before.Block)
		}
	}
}

// TestRefuseBlockedRefusesBlockedContacts: on a channel that refuses
// blocked contacts (the web chat), the messages of a contact blocked for inbound are
// refused and named in the result, and its neighbours in the delivery are
// stored as usual.
func TestRefuseBlockedRefusesBlockedContacts(t *testing.T) {
	f := newFixture(t, false, 0)
	f.ch.RefuseBlocked = true
	f.ingest(msg("m1", "bob", "hello"))
	f.block(f.contact("bob").ID, store.Block{Inbound: true, Outbound: true, Note: "spam", By: "alice"})
	conv, _ := f.conversationOf("bob")
	f.setState(conv.ID, statemachine.Open, statemachine.Blocked)

	res := f.ingest(msg("m2", "bob", "still here"), msg("m3", "ann", "hi"), photo("m4", "bob", "upload:b0b"))
	if len(res.Refused) != 2 || res.Refused[0] != (ingest.Refusal{ID: "m2", Contact: "bob", Reason: "contact_blocked"}) ||
		res.Refused[1].ID != "m4" {
		t.Fatalf("refused %+v, want m2 and m4 of bob", res.Refused)
	}
	if res.Stored != 1 {
		t.Errorf("stored %d, want ann's message only", res.Stored)
	}
	// The refused photo's media will never be fetched: the platform may
	// drop its copy.
	if want := []ingest.MediaRef{{Tenant: "acme", Channel: "wa", Ref: "upload:b0b"}}; !slices.Equal(res.Unfetched, want) {
		t.Errorf("unfetched %+v, want %+v", res.Unfetched, want)
	}
	if _, msgs := f.conversationOf("bob"); len(msgs) != 1 || msgs[0].PlatformID != "m1" {
		t.Errorf("bob's messages %+v, want only m1 (m2 refused at the door)", msgs)
	}

	// Without the door, the same message is recorded as BLOCKED.
	f.ch.RefuseBlocked = false
	res = f.ingest(msg("m2", "bob", "still here"))
	if len(res.Refused) != 0 || res.Stored != 1 {
		t.Fatalf("without the door: %+v, want m2 stored", res)
	}
	if _, msgs := f.conversationOf("bob"); len(msgs) != 2 || msgs[1].StateAtReceipt != statemachine.Blocked {
		t.Errorf("bob's messages %+v, want m2 recorded as BLOCKED", msgs)
	}
}
