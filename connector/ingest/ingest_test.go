package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/statemachine"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func newStore(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ingest.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func msg(id, contact, text string) platform.Event {
	return platform.Event{Kind: platform.KindMessage, ID: id, Contact: contact, ContactName: "Ann", Timestamp: t0,
		Message: &platform.Message{Kind: platform.Text, Text: text}}
}

type fixture struct {
	t  *testing.T
	st store.Store
	in *ingest.Ingester
	ch ingest.Channel
}

func newFixture(t *testing.T, hasBot bool, excluded statemachine.Set) *fixture {
	st := newStore(t)
	now := t0
	return &fixture{t: t, st: st, in: &ingest.Ingester{Store: st, Now: func() time.Time { now = now.Add(time.Second); return now }},
		ch: ingest.Channel{Tenant: "acme", ID: "wa", HasBot: hasBot, OrgID: "00D000000000001", Excluded: excluded}}
}

func (f *fixture) ingest(events ...platform.Event) ingest.Result {
	f.t.Helper()
	res, err := f.in.Ingest(context.Background(), f.ch, events)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// conversationOf returns the conversation holding platform message id.
func (f *fixture) conversationOf(contact string) (store.Conversation, []store.Message) {
	f.t.Helper()
	ctx := context.Background()
	var conv store.Conversation
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		c, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: contact}, "", t0)
		if err != nil {
			return err
		}
		conv, err = tx.LatestConversation(ctx, c.ID)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	msgs, err := f.st.ListMessages(ctx, conv.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return conv, msgs
}

func (f *fixture) setState(convID int64, from, to statemachine.State) {
	f.t.Helper()
	ctx := context.Background()
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		_, err := tx.ApplyTransition(ctx, store.Transition{ConversationID: convID, From: from, To: to, Event: "set_state", Actor: "test", At: t0})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func TestNewConversationStartsOpenAndPushes(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	res := f.ingest(msg("m1", "u1", "hi"), msg("m2", "u1", "there"))
	if res.Stored != 2 || res.Pending != 2 {
		t.Fatalf("result %+v", res)
	}
	conv, msgs := f.conversationOf("u1")
	if conv.State != statemachine.Open || len(msgs) != 2 || msgs[0].PlatformID != "m1" || msgs[1].PlatformID != "m2" {
		t.Fatalf("conv %+v msgs %+v", conv, msgs)
	}
	if msgs[0].PushStatus != store.Pending || msgs[0].StateAtReceipt != statemachine.Open || msgs[0].Body != "hi" {
		t.Fatalf("message %+v", msgs[0])
	}
}

func TestBotChannelStartsAutoBotAndExcludesByDefault(t *testing.T) {
	f := newFixture(t, true, statemachine.DefaultExcluded())
	res := f.ingest(msg("m1", "u1", "menu"))
	if res.Excluded != 1 || res.Pending != 0 {
		t.Fatalf("result %+v", res)
	}
	conv, msgs := f.conversationOf("u1")
	if conv.State != statemachine.AutoBot || msgs[0].PushStatus != store.Excluded {
		t.Fatalf("conv %v msg %+v", conv.State, msgs[0])
	}
	if msgs[0].PushReason != "state AUTO_BOT is excluded for org 00D000000000001" {
		t.Fatalf("reason %q", msgs[0].PushReason)
	}
}

func TestClosedReopensToOpen(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	f.ingest(msg("m1", "u1", "hi"))
	conv, _ := f.conversationOf("u1")
	f.setState(conv.ID, statemachine.Open, statemachine.Closed)
	f.ingest(msg("m2", "u1", "me again"))
	again, msgs := f.conversationOf("u1")
	if again.ID != conv.ID || again.State != statemachine.Open || msgs[1].StateAtReceipt != statemachine.Open {
		t.Fatalf("conv %+v msg %+v", again, msgs[1])
	}
	hist, err := f.st.History(context.Background(), conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.From != statemachine.Closed || last.To != statemachine.Open || last.Event != "inbound" {
		t.Fatalf("history %+v", hist)
	}
}

func TestBlockedNeverReopensAndFollowsExclusions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		excluded statemachine.Set
		want     store.PushStatus
	}{
		{"BLOCKED pushed by default", statemachine.DefaultExcluded(), store.Pending},
		{"BLOCKED excluded", statemachine.NewSet(statemachine.AutoBot, statemachine.Blocked), store.Excluded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, false, tc.excluded)
			f.ingest(msg("m1", "u1", "hi"))
			conv, _ := f.conversationOf("u1")
			f.setState(conv.ID, statemachine.Open, statemachine.Blocked)
			f.ingest(msg("m2", "u1", "spam"))
			again, msgs := f.conversationOf("u1")
			if again.ID != conv.ID || again.State != statemachine.Blocked {
				t.Fatalf("conversation %+v", again)
			}
			if msgs[1].StateAtReceipt != statemachine.Blocked || msgs[1].PushStatus != tc.want {
				t.Fatalf("message %+v", msgs[1])
			}
		})
	}
}

func TestExpiredLeadsToNewConversation(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	f.ingest(msg("m1", "u1", "hi"))
	old, _ := f.conversationOf("u1")
	f.setState(old.ID, statemachine.Open, statemachine.Expired)
	f.ingest(msg("m2", "u1", "back"))
	fresh, msgs := f.conversationOf("u1")
	if fresh.ID == old.ID || fresh.State != statemachine.Open || len(msgs) != 1 || msgs[0].PlatformID != "m2" {
		t.Fatalf("fresh %+v msgs %+v", fresh, msgs)
	}
}

func TestInboundBlockedContactRecordedOnLatestConversation(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	ctx := context.Background()
	f.ingest(msg("m1", "u1", "hi"))
	old, _ := f.conversationOf("u1")
	f.setState(old.ID, statemachine.Open, statemachine.Expired)
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		return tx.SetContactBlock(ctx, old.ContactID, store.Block{Inbound: true, Outbound: true}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ingest(msg("m2", "u1", "let me in"))
	conv, msgs := f.conversationOf("u1")
	if conv.ID != old.ID || conv.State != statemachine.Expired {
		t.Fatalf("a blocked contact must not get a new conversation: %+v", conv)
	}
	if len(msgs) != 2 || msgs[1].StateAtReceipt != statemachine.Blocked {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestDuplicatesAreIgnored(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	f.ingest(msg("m1", "u1", "hi"))
	conv, _ := f.conversationOf("u1")
	f.setState(conv.ID, statemachine.Open, statemachine.Closed)
	// A platform retry of m1 must not reopen the CLOSED conversation.
	res := f.ingest(msg("m1", "u1", "hi"))
	if res.Duplicates != 1 || res.Stored != 0 {
		t.Fatalf("result %+v", res)
	}
	again, msgs := f.conversationOf("u1")
	if again.State != statemachine.Closed || len(msgs) != 1 {
		t.Fatalf("conv %v, %d messages", again.State, len(msgs))
	}
}

func TestReceiptsAndOtherEventsAreNotMessages(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	res := f.ingest(
		platform.Event{Kind: platform.KindReceipt, ID: "wamid.1:status:read", Contact: "u1", Status: "read"},
		platform.Event{Kind: platform.KindIgnored, Detail: "account_update"},
		msg("m1", "u1", "hi"),
	)
	// The receipt names a message the connector did not send: it is
	// counted and changes nothing; the ignored event is other.
	if res.Receipts != 1 || res.Other != 1 || res.Stored != 1 {
		t.Fatalf("result %+v", res)
	}
}

// failingStore fails the nth AddMessage, to check that a delivery is
// stored whole or not at all.
type failingStore struct {
	store.Store
	n int
}

type failingTx struct {
	store.Tx
	s *failingStore
}

var errBoom = errors.New("disk on fire")

func (f *failingStore) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.WithTx(ctx, func(tx store.Tx) error { return fn(failingTx{tx, f}) })
}

func (f failingTx) AddMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	f.s.n--
	if f.s.n == 0 {
		return store.Message{}, false, errBoom
	}
	return f.Tx.AddMessage(ctx, m)
}

func TestDeliveryIsAtomic(t *testing.T) {
	st := newStore(t)
	in := &ingest.Ingester{Store: &failingStore{Store: st, n: 2}}
	_, err := in.Ingest(context.Background(), ingest.Channel{Tenant: "acme", ID: "wa"}, []platform.Event{msg("m1", "u1", "a"), msg("m2", "u2", "b")})
	if !errors.Is(err, errBoom) {
		t.Fatalf("err = %v", err)
	}
	stats, err := st.Stats(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range stats.Messages {
		if v != 0 {
			t.Fatalf("nothing may be stored, found %d %s", v, k)
		}
	}
	for k, v := range stats.Conversations {
		if v != 0 {
			t.Fatalf("nothing may be stored, found %d %v conversations", v, k)
		}
	}
}

func TestContactEventsAreRecordedOnTheContact(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	later := t0.Add(time.Hour)
	res := f.ingest(
		platform.Event{Kind: platform.KindContact, ID: "unfollow:1", Contact: "u1", Status: "blocked", Timestamp: later},
		platform.Event{Kind: platform.KindContact, ID: "follow:0", Contact: "u1", Status: "follow", Timestamp: t0},
	)
	if res.ContactEvents != 2 || res.Stored != 0 {
		t.Fatalf("result %+v", res)
	}
	ctx := context.Background()
	var c store.Contact
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: "u1"}, "", t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The older follow, delivered after, does not override the block.
	if c.PlatformStatus != "blocked" || !c.PlatformStatusAt.Equal(later) || !c.UnreachableOnPlatform() {
		t.Fatalf("contact %+v", c)
	}
	// A contact event makes no conversation.
	if _, err := f.st.Stats(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	err = f.st.WithTx(ctx, func(tx store.Tx) error {
		_, err := tx.LatestConversation(ctx, c.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a contact event must not open a conversation: %v", err)
	}
}

// TestAGroupMessageNamesItsWriter: a message in a group chat is filed
// under the group, with the member who wrote it as its sender; a
// one-to-one message's sender is its contact.
func TestAGroupMessageNamesItsWriter(t *testing.T) {
	f := newFixture(t, false, statemachine.DefaultExcluded())
	jonas := msg("g1", "-100123", "invoice for PO 5521?")
	jonas.Sender = "Jonas Weber (6011223344)"
	petra := msg("g2", "-100123", "and mine for PO 5522")
	petra.Sender = "Petra (6011223355)"
	f.ingest(jonas, petra, msg("p1", "31600000001", "hello"))
	_, group := f.conversationOf("-100123")
	if len(group) != 2 || group[0].Sender != "Jonas Weber (6011223344)" || group[1].Sender != "Petra (6011223355)" {
		t.Fatalf("the group's messages: %+v", group)
	}
	if _, one := f.conversationOf("31600000001"); len(one) != 1 || one[0].Sender != "31600000001" {
		t.Fatalf("the one-to-one message: %+v", one)
	}
}
