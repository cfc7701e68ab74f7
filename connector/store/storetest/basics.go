package storetest

import (
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

func testMigrateIdempotent(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	for i := range 2 {
		if err := e.s.Migrate(e.ctx); err != nil {
			e.t.Fatalf("Migrate run %d on a migrated store: %v", i+1, err)
		}
	}
	if got := e.get(c.ID); normConversation(got) != normConversation(c) {
		e.t.Errorf("after Migrate the conversation is %+v, want %+v", got, c)
	}
}

func testUpsertContact(e env) {
	key := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "491701234"}
	var first, again, renamed, otherChannel, otherTenant store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		if first, err = tx.UpsertContact(e.ctx, key, "Ana", t0); err != nil {
			return err
		}
		if again, err = tx.UpsertContact(e.ctx, key, "", at(time.Minute)); err != nil {
			return err
		}
		return nil
	})
	e.tx(func(tx store.Tx) error {
		var err error
		if renamed, err = tx.UpsertContact(e.ctx, key, "Ana B.", at(2*time.Minute)); err != nil {
			return err
		}
		k := key
		k.Channel = "tg"
		if otherChannel, err = tx.UpsertContact(e.ctx, k, "Ana", t0); err != nil {
			return err
		}
		k = key
		k.Tenant = "t2"
		otherTenant, err = tx.UpsertContact(e.ctx, k, "Ana", t0)
		return err
	})

	want := store.Contact{ID: first.ID, ContactKey: key, DisplayName: "Ana", CreatedAt: t0, UpdatedAt: t0}
	if first.ID <= 0 || !sameContact(normContact(first), want) {
		e.t.Errorf("created contact = %+v, want %+v", first, want)
	}
	if !sameContact(normContact(again), want) {
		e.t.Errorf("upsert with no name = %+v, want the contact unchanged %+v", again, want)
	}
	want.DisplayName, want.UpdatedAt = "Ana B.", at(2*time.Minute)
	if !sameContact(normContact(renamed), want) {
		e.t.Errorf("upsert with a new name = %+v, want %+v", renamed, want)
	}
	if otherChannel.ID == first.ID || otherChannel.Channel != "tg" {
		e.t.Errorf("same external id on another channel = %+v, want another contact than %d", otherChannel, first.ID)
	}
	if otherTenant.ID == first.ID || otherTenant.ID == otherChannel.ID || otherTenant.Tenant != "t2" {
		e.t.Errorf("same external id on another tenant = %+v, want another contact", otherTenant)
	}
}

func testSetContactBlock(e env) {
	c := e.contact("t1", "wa", "u1")
	key := c.ContactKey
	e.tx(func(tx store.Tx) error {
		return tx.SetContactBlock(e.ctx, c.ID, store.Block{Inbound: true, Outbound: false}, at(time.Minute))
	})
	var got store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		got, err = tx.UpsertContact(e.ctx, key, "", at(2*time.Minute))
		return err
	})
	if !got.BlockedInbound || got.BlockedOutbound {
		e.t.Errorf("after blocking inbound: inbound %v outbound %v, want true false", got.BlockedInbound, got.BlockedOutbound)
	}
	e.tx(func(tx store.Tx) error {
		return tx.SetContactBlock(e.ctx, c.ID, store.Block{Inbound: false, Outbound: true}, at(3*time.Minute))
	})
	e.tx(func(tx store.Tx) error {
		var err error
		got, err = tx.UpsertContact(e.ctx, key, "", at(4*time.Minute))
		return err
	})
	if got.BlockedInbound || !got.BlockedOutbound {
		e.t.Errorf("after blocking outbound only: inbound %v outbound %v, want false true", got.BlockedInbound, got.BlockedOutbound)
	}
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		return tx.SetContactBlock(e.ctx, c.ID+1000, store.Block{Inbound: true, Outbound: true}, t0)
	})
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("SetContactBlock of an unknown contact: %v, want ErrNotFound", err)
	}
}

func testCreateConversation(e env) {
	ct := e.contact("t1", "wa", "u1")
	var c, inTx store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		c, err = tx.CreateConversation(e.ctx, store.Conversation{
			Tenant: "t1", Channel: "wa", ContactID: ct.ID, State: statemachine.AutoBot,
			CreatedAt: t0, UpdatedAt: t0, LastActivityAt: at(time.Second),
		}, "system", "first message")
		if err != nil {
			return err
		}
		inTx, err = tx.Conversation(e.ctx, c.ID)
		return err
	})
	want := store.Conversation{
		ID: c.ID, Tenant: "t1", Channel: "wa", ContactID: ct.ID, ContactExternalID: "u1",
		State: statemachine.AutoBot, CreatedAt: t0, UpdatedAt: t0, LastActivityAt: at(time.Second),
		Version: 1, SyncedVersion: 0,
	}
	if c.ID <= 0 || normConversation(c) != want {
		e.t.Errorf("created conversation = %+v, want %+v", c, want)
	}
	if normConversation(inTx) != want {
		e.t.Errorf("Tx.GetConversation = %+v, want %+v", inTx, want)
	}
	if got := e.get(c.ID); normConversation(got) != want {
		e.t.Errorf("Store.GetConversation = %+v, want %+v", got, want)
	}

	h, err := e.s.History(e.ctx, c.ID)
	if err != nil {
		e.t.Fatalf("History: %v", err)
	}
	wantH := store.Transition{ConversationID: c.ID, From: store.NoState, To: statemachine.AutoBot,
		Event: "created", Actor: "system", Reason: "first message", At: t0}
	if len(h) != 1 || h[0].ID <= 0 {
		e.t.Fatalf("history of a new conversation = %+v, want one creation entry", h)
	}
	wantH.ID = h[0].ID
	if normTransition(h[0]) != wantH {
		e.t.Errorf("creation entry = %+v, want %+v", h[0], wantH)
	}

	if _, err := e.s.GetConversation(e.ctx, c.ID+1000); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("Store.GetConversation of an unknown id: %v, want ErrNotFound", err)
	}
	err = e.s.WithTx(e.ctx, func(tx store.Tx) error {
		_, err := tx.Conversation(e.ctx, c.ID+1000)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("Tx.GetConversation of an unknown id: %v, want ErrNotFound", err)
	}

	// No conversation for an unknown contact, nor on another tenant or
	// channel than its contact's; the transaction stays usable.
	other := e.contact("t1", "wa", "u2")
	e.tx(func(tx store.Tx) error {
		_, err := tx.CreateConversation(e.ctx, store.Conversation{ContactID: other.ID + 1000, State: statemachine.Open, CreatedAt: t0}, "system", "")
		if !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("conversation of an unknown contact: %v, want ErrNotFound", err)
		}
		for _, where := range [][2]string{{"t2", "wa"}, {"t1", "tg"}} {
			_, err := tx.CreateConversation(e.ctx, store.Conversation{Tenant: where[0], Channel: where[1],
				ContactID: other.ID, State: statemachine.Open, CreatedAt: t0}, "system", "")
			if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				e.t.Errorf("conversation on %s/%s of a contact on t1/wa: %v, want an error naming the contact's", where[0], where[1], err)
			}
		}
		_, err = tx.LatestConversation(e.ctx, other.ID)
		if !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("the contact's conversations after the refusals: %v, want none", err)
		}
		return nil
	})
}

func testOneLiveConversation(e env) {
	first := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	create := func(when time.Time) (store.Conversation, error) {
		var c store.Conversation
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			c, err = tx.CreateConversation(e.ctx, store.Conversation{
				Tenant: "t1", Channel: "wa", ContactID: first.ContactID, State: statemachine.Open, CreatedAt: when,
			}, "system", "")
			return err
		})
		return c, err
	}
	if _, err := create(at(time.Minute)); err == nil || !errors.Is(err, store.ErrConflict) {
		e.t.Fatalf("second live conversation of a contact: %v, want ErrConflict", err)
	}
	e.transition(first, statemachine.Open, statemachine.Expired, at(2*time.Minute))
	second, err := create(at(3 * time.Minute))
	if err != nil {
		e.t.Fatalf("new conversation once the first is EXPIRED: %v", err)
	}

	var live, latest store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		if live, err = tx.LiveConversation(e.ctx, first.ContactID); err != nil {
			return err
		}
		latest, err = tx.LatestConversation(e.ctx, first.ContactID)
		return err
	})
	if live.ID != second.ID || latest.ID != second.ID {
		e.t.Errorf("live %d latest %d, want both %d", live.ID, latest.ID, second.ID)
	}

	// Bringing the EXPIRED one back to life would make two live ones.
	err = e.s.WithTx(e.ctx, func(tx store.Tx) error {
		_, err := tx.ApplyTransition(e.ctx, store.Transition{ConversationID: first.ID,
			From: statemachine.Expired, To: statemachine.Open, Event: "set_state", Actor: "tester", At: at(4 * time.Minute)})
		return err
	})
	if !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("reviving an EXPIRED conversation beside a live one: %v, want ErrConflict", err)
	}

	e.transition(second, statemachine.Open, statemachine.Expired, at(5*time.Minute))
	err = e.s.WithTx(e.ctx, func(tx store.Tx) error {
		_, err := tx.LiveConversation(e.ctx, first.ContactID)
		if !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("LiveConversation with only EXPIRED ones: %v, want ErrNotFound", err)
		}
		latest, err = tx.LatestConversation(e.ctx, first.ContactID)
		if err != nil {
			return err
		}
		_, err = tx.LatestConversation(e.ctx, first.ContactID+1000)
		if !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("LatestConversation of a contact with none: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if latest.ID != second.ID || latest.State != statemachine.Expired {
		e.t.Errorf("latest = %d in %v, want %d EXPIRED", latest.ID, latest.State, second.ID)
	}
}

func testApplyTransition(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	closed := e.transition(c, statemachine.Open, statemachine.Closed, at(time.Minute))
	if closed.State != statemachine.Closed || closed.Version != 2 || !closed.UpdatedAt.Equal(at(time.Minute)) {
		e.t.Errorf("after OPEN -> CLOSED: state %v version %d updated %v, want CLOSED 2 %v",
			closed.State, closed.Version, closed.UpdatedAt, at(time.Minute))
	}
	same := e.transition(c, statemachine.Closed, statemachine.Closed, at(2*time.Minute))
	if same.Version != 2 || !same.UpdatedAt.Equal(at(time.Minute)) {
		e.t.Errorf("after CLOSED -> CLOSED: version %d updated %v, want 2 %v (no change)",
			same.Version, same.UpdatedAt, at(time.Minute))
	}

	// A transition from the wrong state changes nothing, and the
	// transaction can go on.
	e.tx(func(tx store.Tx) error {
		_, err := tx.ApplyTransition(e.ctx, store.Transition{ConversationID: c.ID,
			From: statemachine.Open, To: statemachine.Blocked, Event: "block", Actor: "api", At: at(3 * time.Minute)})
		if !errors.Is(err, store.ErrConflict) {
			e.t.Errorf("transition from OPEN of a CLOSED conversation: %v, want ErrConflict", err)
		}
		return nil
	})
	if got := e.get(c.ID); got.State != statemachine.Closed || got.Version != 2 {
		e.t.Errorf("after a conflict: state %v version %d, want CLOSED 2", got.State, got.Version)
	}

	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		_, err := tx.ApplyTransition(e.ctx, store.Transition{ConversationID: c.ID + 1000,
			From: statemachine.Open, To: statemachine.Closed, Event: "set_state", Actor: "api", At: t0})
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("transition of an unknown conversation: %v, want ErrNotFound", err)
	}

	h, err := e.s.History(e.ctx, c.ID)
	if err != nil {
		e.t.Fatalf("History: %v", err)
	}
	want := []store.Transition{
		{ConversationID: c.ID, From: store.NoState, To: statemachine.Open, Event: "created", Actor: "system", Reason: "test", At: t0},
		{ConversationID: c.ID, From: statemachine.Open, To: statemachine.Closed, Event: "set_state", Actor: "tester", Reason: "test", At: at(time.Minute)},
		{ConversationID: c.ID, From: statemachine.Closed, To: statemachine.Closed, Event: "set_state", Actor: "tester", Reason: "test", At: at(2 * time.Minute)},
	}
	if len(h) != len(want) {
		e.t.Fatalf("history has %d entries, want %d: %+v", len(h), len(want), h)
	}
	for i := range want {
		if i > 0 && h[i].ID <= h[i-1].ID {
			e.t.Errorf("history ids not increasing: %+v", h)
		}
		want[i].ID = h[i].ID
		if normTransition(h[i]) != want[i] {
			e.t.Errorf("history[%d] = %+v, want %+v", i, h[i], want[i])
		}
	}
}

func testTouchConversation(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	e.tx(func(tx store.Tx) error { return tx.TouchConversation(e.ctx, c.ID, at(time.Hour)) })
	if got := e.get(c.ID); !got.LastActivityAt.Equal(at(time.Hour)) {
		e.t.Errorf("LastActivityAt = %v, want %v", got.LastActivityAt, at(time.Hour))
	}
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.TouchConversation(e.ctx, c.ID+1000, t0) })
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("TouchConversation of an unknown conversation: %v, want ErrNotFound", err)
	}
}

// testAddMessage checks that AddMessage stores the message, marks its
// conversation's outbox and touches it, and that a message stored already
// changes neither.
func testAddMessage(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	var first store.Message
	e.tx(func(tx store.Tx) error {
		var inserted bool
		var err error
		first, inserted, err = tx.AddMessage(e.ctx, newMessage(c, "wamid.add.1", store.Pending, at(time.Hour)))
		if err == nil && !inserted {
			e.t.Error("AddMessage of a new message: inserted false")
		}
		return err
	})
	got := e.get(c.ID)
	if !got.LastActivityAt.Equal(at(time.Hour)) {
		e.t.Errorf("LastActivityAt = %v, want %v", got.LastActivityAt, at(time.Hour))
	}
	ws := e.claim(store.ClaimParams{Owner: "w", Now: at(2 * time.Hour), LeaseTTL: time.Minute})
	if len(ws) != 1 || len(ws[0].Messages) != 1 || ws[0].Messages[0].ID != first.ID {
		e.t.Fatalf("claim after AddMessage = %+v, want the message %d", ws, first.ID)
	}
	pushed := store.Settlement{Now: at(2 * time.Hour), Outcomes: []store.Outcome{{MessageID: first.ID, Status: store.Pushed, SalesforceID: "a00000000000001"}}}
	if err := SettleOne(e.ctx, e.s, ws[0].Lease, pushed); err != nil {
		e.t.Fatalf("Settle: %v", err)
	}

	// Stored already: nothing changes, the conversation is not touched.
	e.tx(func(tx store.Tx) error {
		stored, inserted, err := tx.AddMessage(e.ctx, newMessage(c, "wamid.add.1", store.Pending, at(3*time.Hour)))
		if err == nil && (inserted || stored.ID != first.ID) {
			e.t.Errorf("AddMessage of a stored message = %d, inserted %v; want %d, false", stored.ID, inserted, first.ID)
		}
		return err
	})
	if got := e.get(c.ID); !got.LastActivityAt.Equal(at(time.Hour)) {
		e.t.Errorf("LastActivityAt after a duplicate = %v, want %v", got.LastActivityAt, at(time.Hour))
	}

	// An excluded message touches the conversation and leaves the outbox empty.
	e.tx(func(tx store.Tx) error {
		_, _, err := tx.AddMessage(e.ctx, newMessage(c, "wamid.add.2", store.Excluded, at(4*time.Hour)))
		return err
	})
	if got := e.get(c.ID); !got.LastActivityAt.Equal(at(4 * time.Hour)) {
		e.t.Errorf("LastActivityAt after an excluded message = %v, want %v", got.LastActivityAt, at(4*time.Hour))
	}
	if ws := e.claim(store.ClaimParams{Owner: "w", Now: at(5 * time.Hour), LeaseTTL: time.Minute}); len(ws) != 0 {
		e.t.Errorf("claim after an excluded message = %+v, want nothing", ws)
	}
}

func testInsertMessage(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	other := e.conversation("t1", "tg", "u1", statemachine.Open, t0)
	otherTenant := e.conversation("t2", "wa", "u1", statemachine.Open, t0)
	m := store.Message{
		Tenant: "t1", Channel: "wa", ConversationID: c.ID, ContactID: c.ContactID,
		PlatformID: "wamid.1", Direction: store.Outbound, Kind: "image", Body: "caption",
		MediaURL: "media-1", MediaType: "image/jpeg", ReplyTo: "wamid.0", Sender: "agent 7",
		SentAt: at(-time.Second), ReceivedAt: t0, StateAtReceipt: statemachine.Open,
		PushStatus: store.Excluded, PushReason: "state OPEN is excluded for org 00D000000000001",
	}
	var stored, dup, onOther, onOtherTenant store.Message
	var inserted, dupInserted, otherInserted, otherTenantInserted, exists, existsElsewhere bool
	e.tx(func(tx store.Tx) error {
		var err error
		if exists, err = tx.MessageExists(e.ctx, "t1", "wa", "wamid.1"); err != nil || exists {
			e.t.Errorf("MessageExists before insert = %v, %v; want false", exists, err)
		}
		if stored, inserted, err = tx.InsertMessage(e.ctx, m); err != nil {
			return err
		}
		changed := m
		changed.Body, changed.PushStatus = "another body", store.Pending
		if dup, dupInserted, err = tx.InsertMessage(e.ctx, changed); err != nil {
			return err
		}
		if exists, err = tx.MessageExists(e.ctx, "t1", "wa", "wamid.1"); err != nil {
			return err
		}
		existsElsewhere, err = tx.MessageExists(e.ctx, "t1", "tg", "wamid.1")
		return err
	})
	e.tx(func(tx store.Tx) error {
		var err error
		m2 := newMessage(other, "wamid.1", store.Pending, t0)
		if onOther, otherInserted, err = tx.InsertMessage(e.ctx, m2); err != nil {
			return err
		}
		m3 := newMessage(otherTenant, "wamid.1", store.Pending, t0)
		onOtherTenant, otherTenantInserted, err = tx.InsertMessage(e.ctx, m3)
		return err
	})

	want := m
	want.ID = stored.ID
	if !inserted || stored.ID <= 0 || normMessage(stored) != want {
		e.t.Errorf("InsertMessage = %+v inserted %v, want %+v inserted true", stored, inserted, want)
	}
	if dupInserted || normMessage(dup) != want {
		e.t.Errorf("duplicate InsertMessage = %+v inserted %v, want the stored %+v inserted false", dup, dupInserted, want)
	}
	if !exists || existsElsewhere {
		e.t.Errorf("MessageExists: on its channel %v, on another %v; want true false", exists, existsElsewhere)
	}
	if !otherInserted || onOther.ID == stored.ID || !otherTenantInserted || onOtherTenant.ID == stored.ID || onOtherTenant.ID == onOther.ID {
		e.t.Errorf("same platform id on another channel (%d, %v) or tenant (%d, %v): want new messages besides %d",
			onOther.ID, otherInserted, onOtherTenant.ID, otherTenantInserted, stored.ID)
	}
	if got := e.messages(c.ID); len(got) != 1 || normMessage(got[0]) != want {
		e.t.Errorf("ListMessages = %+v, want only %+v", got, want)
	}
}

func testWithTxRollback(e env) {
	boom := errors.New("boom")
	key := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "u1"}
	var convID int64
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		ct, err := tx.UpsertContact(e.ctx, key, "Ana", t0)
		if err != nil {
			return err
		}
		c, err := tx.CreateConversation(e.ctx, store.Conversation{
			Tenant: "t1", Channel: "wa", ContactID: ct.ID, State: statemachine.Open, CreatedAt: t0,
		}, "system", "")
		if err != nil {
			return err
		}
		convID = c.ID
		if _, _, err := tx.InsertMessage(e.ctx, newMessage(c, "m1", store.Pending, t0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		e.t.Fatalf("WithTx returned %v, want fn's error", err)
	}
	if _, err := e.s.GetConversation(e.ctx, convID); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("conversation after rollback: %v, want ErrNotFound", err)
	}
	if ms := e.messages(convID); len(ms) != 0 {
		e.t.Errorf("messages after rollback: %+v", ms)
	}
	e.tx(func(tx store.Tx) error {
		exists, err := tx.MessageExists(e.ctx, "t1", "wa", "m1")
		if err != nil {
			return err
		}
		if exists {
			e.t.Errorf("message exists after rollback")
		}
		ct, err := tx.UpsertContact(e.ctx, key, "", at(time.Hour))
		if err != nil {
			return err
		}
		if !ct.CreatedAt.Equal(at(time.Hour)) || ct.DisplayName != "" {
			e.t.Errorf("contact after rollback = %+v, want a new one created at %v", ct, at(time.Hour))
		}
		return nil
	})
	if got, ok := e.stats(""); ok && got.Messages[store.Pending] != 0 {
		e.t.Errorf("stats after rollback count %d pending messages", got.Messages[store.Pending])
	}
}

func (e env) stats(tenant string) (store.Stats, bool) {
	e.t.Helper()
	st, err := e.s.Stats(e.ctx, tenant)
	if err != nil {
		e.t.Errorf("Stats(%q): %v", tenant, err)
		return store.Stats{}, false
	}
	return st, true
}

func testListMessagesAndHistory(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	other := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	// Received times out of order: the order is the ID's.
	m1 := e.message(c, "m1", store.Pending, at(3*time.Second))
	e.message(other, "x1", store.Pending, at(time.Second))
	m2 := e.message(c, "m2", store.Excluded, at(time.Second))
	m3 := e.message(c, "m3", store.Pending, at(2*time.Second))
	if got, want := messageIDs(e.messages(c.ID)), []int64{m1.ID, m2.ID, m3.ID}; !slices.Equal(got, want) {
		e.t.Errorf("ListMessages = %v, want %v", got, want)
	}
	if got := e.messages(c.ID + 1000); len(got) != 0 {
		e.t.Errorf("ListMessages of an unknown conversation = %+v, want none", got)
	}

	e.transition(c, statemachine.Open, statemachine.Blocked, at(time.Minute))
	e.transition(c, statemachine.Blocked, statemachine.Open, at(2*time.Minute))
	h, err := e.s.History(e.ctx, c.ID)
	if err != nil {
		e.t.Fatalf("History: %v", err)
	}
	var tos []statemachine.State
	for _, t := range h {
		tos = append(tos, t.To)
	}
	if want := []statemachine.State{statemachine.Open, statemachine.Blocked, statemachine.Open}; !slices.Equal(tos, want) {
		e.t.Errorf("history goes to %v, want %v", tos, want)
	}
	if h, err := e.s.History(e.ctx, c.ID+1000); err != nil || len(h) != 0 {
		e.t.Errorf("History of an unknown conversation = %+v, %v; want none", h, err)
	}
}

func testStats(e env) {
	a := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	b := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	c := e.conversation("t2", "wa", "u1", statemachine.AutoBot, t0)
	e.transition(b, statemachine.Open, statemachine.Closed, at(time.Second))
	e.message(a, "a1", store.Pending, t0)
	e.message(a, "a2", store.Pending, t0)
	e.message(a, "a3", store.Excluded, t0)
	e.message(b, "b1", store.Pending, t0)
	e.message(c, "c1", store.Excluded, t0)
	e.message(c, "c2", store.Pending, t0)
	for _, w := range e.claim(params("w", at(time.Minute))) {
		var os []store.Outcome
		for _, m := range w.Messages {
			switch m.PlatformID {
			case "a1":
				os = append(os, store.Outcome{MessageID: m.ID, Status: store.Pushed, SalesforceID: "a0X1"})
			case "b1":
				os = append(os, store.Outcome{MessageID: m.ID, Status: store.Dead, Error: "INVALID_FIELD"})
			}
		}
		e.settle(w.Lease, store.Settlement{Now: at(time.Minute), Outcomes: os})
	}

	zeroStates := func() map[statemachine.State]int {
		m := map[statemachine.State]int{}
		for _, s := range statemachine.All {
			m[s] = 0
		}
		return m
	}
	wantConv := zeroStates()
	wantConv[statemachine.Open], wantConv[statemachine.Closed] = 1, 1
	want := store.Stats{
		Messages:      map[store.PushStatus]int{store.Pending: 1, store.Pushed: 1, store.Excluded: 1, store.Dead: 1},
		Conversations: wantConv,
	}
	if got, ok := e.stats("t1"); ok && (!maps.Equal(got.Messages, want.Messages) || !maps.Equal(got.Conversations, want.Conversations)) {
		e.t.Errorf("Stats(t1) = %+v, want %+v", got, want)
	}
	wantConv = zeroStates()
	wantConv[statemachine.Open], wantConv[statemachine.Closed], wantConv[statemachine.AutoBot] = 1, 1, 1
	want = store.Stats{
		Messages:      map[store.PushStatus]int{store.Pending: 2, store.Pushed: 1, store.Excluded: 2, store.Dead: 1},
		Conversations: wantConv,
	}
	if got, ok := e.stats(""); ok && (!maps.Equal(got.Messages, want.Messages) || !maps.Equal(got.Conversations, want.Conversations)) {
		e.t.Errorf("Stats(all) = %+v, want %+v", got, want)
	}
	want = store.Stats{
		Messages:      map[store.PushStatus]int{store.Pending: 0, store.Pushed: 0, store.Excluded: 0, store.Dead: 0},
		Conversations: zeroStates(),
	}
	if got, ok := e.stats("nobody"); ok && (!maps.Equal(got.Messages, want.Messages) || !maps.Equal(got.Conversations, want.Conversations)) {
		e.t.Errorf("Stats(nobody) = %+v, want every count 0", got)
	}
}

// inboundContactFields are what store.InboundLookup holds of a contact.
type inboundContactFields struct {
	store.ContactKey
	ID                              int64
	DisplayName                     string
	BlockedInbound, BlockedOutbound bool
}

func inboundContact(c store.Contact) inboundContactFields {
	return inboundContactFields{ContactKey: c.ContactKey, ID: c.ID, DisplayName: c.DisplayName,
		BlockedInbound: c.BlockedInbound, BlockedOutbound: c.BlockedOutbound}
}

// inboundLive is what store.InboundLookup holds of a live conversation.
func inboundLive(c store.Conversation) store.Conversation {
	return store.Conversation{ID: c.ID, State: c.State, Tenant: c.Tenant, Channel: c.Channel,
		ContactID: c.ContactID, ContactExternalID: c.ContactExternalID}
}

// Inbound reads what UpsertContact, MessageExists and LiveConversation
// would (the fields store.InboundLookup names), for a new contact, a known
// one, a renamed one, a blocked one, and one whose only conversation
// expired.
func testInbound(e env) {
	key := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "491701234"}
	lookup := func(name string, now time.Time, platformID string) store.InboundLookup {
		e.t.Helper()
		var in store.InboundLookup
		e.tx(func(tx store.Tx) error {
			var err error
			in, err = tx.Inbound(e.ctx, key, name, now, platformID)
			return err
		})
		return in
	}
	same := func(what string, got store.InboundLookup, stored, hasLive bool) {
		e.t.Helper()
		var contact store.Contact
		var exists bool
		var live store.Conversation
		liveErr := error(nil)
		e.tx(func(tx store.Tx) error {
			var err error
			if contact, err = tx.UpsertContact(e.ctx, key, "", t0); err != nil {
				return err
			}
			if exists, err = tx.MessageExists(e.ctx, key.Tenant, key.Channel, "m1"); err != nil {
				return err
			}
			live, liveErr = tx.LiveConversation(e.ctx, contact.ID)
			return nil
		})
		if inboundContact(got.Contact) != inboundContact(contact) {
			e.t.Errorf("%s: contact %+v, want %+v", what, got.Contact, contact)
		}
		if got.Stored != stored || (stored && !exists) {
			e.t.Errorf("%s: stored %v (MessageExists %v), want %v", what, got.Stored, exists, stored)
		}
		if got.HasLive != hasLive {
			e.t.Errorf("%s: has a live conversation %v (LiveConversation: %v), want %v", what, got.HasLive, liveErr, hasLive)
		}
		if hasLive && inboundLive(got.Live) != inboundLive(live) {
			e.t.Errorf("%s: live conversation %+v, want %+v", what, got.Live, live)
		}
	}

	first := lookup("Ana", t0, "m1")
	if first.Contact.ID <= 0 || first.Contact.DisplayName != "Ana" || first.Contact.ContactKey != key {
		e.t.Errorf("new contact: %+v, want it created as Ana", first.Contact)
	}
	same("new contact", first, false, false)

	conv := e.conversation(key.Tenant, key.Channel, key.ExternalID, statemachine.Open, at(time.Minute))
	e.message(conv, "m1", store.Pending, at(2*time.Minute))
	// The same id on another channel is another message.
	other := e.conversation(key.Tenant, "tg", key.ExternalID, statemachine.Open, at(time.Minute))
	e.message(other, "m2", store.Pending, at(2*time.Minute))
	known := lookup("", at(3*time.Minute), "m1")
	same("known contact, message stored", known, true, true)
	if known.Live.ID != conv.ID {
		e.t.Errorf("known contact: live conversation %d, want %d", known.Live.ID, conv.ID)
	}
	if in := lookup("Ana", at(3*time.Minute), "m2"); in.Stored || !in.HasLive || in.Live.ID != conv.ID {
		e.t.Errorf("a message of another channel: %+v, want not stored and conversation %d", in, conv.ID)
	}

	renamed := lookup("Ana B.", at(4*time.Minute), "m1")
	if renamed.Contact.DisplayName != "Ana B." || !renamed.Contact.UpdatedAt.Equal(at(4*time.Minute)) {
		e.t.Errorf("renamed contact: %+v, want Ana B. updated at %v", renamed.Contact, at(4*time.Minute))
	}
	same("renamed contact", renamed, true, true)

	// A closed conversation is live, in its state; the contact's blocks
	// are read.
	e.transition(conv, statemachine.Open, statemachine.Closed, at(5*time.Minute))
	e.tx(func(tx store.Tx) error {
		return tx.SetContactBlock(e.ctx, first.Contact.ID, store.Block{Inbound: true, Outbound: true, Note: "spam", By: "agent"}, at(5*time.Minute))
	})
	blocked := lookup("", at(5*time.Minute), "m4")
	same("blocked contact, closed conversation", blocked, false, true)
	if !blocked.Contact.BlockedInbound || !blocked.Contact.BlockedOutbound || blocked.Live.State != statemachine.Closed {
		e.t.Errorf("blocked contact: %+v, live %+v, want blocked both ways and CLOSED", blocked.Contact, blocked.Live)
	}

	e.transition(conv, statemachine.Closed, statemachine.Expired, at(5*time.Minute))
	expired := lookup("Ana B.", at(6*time.Minute), "m3")
	same("conversation expired", expired, false, false)
}
