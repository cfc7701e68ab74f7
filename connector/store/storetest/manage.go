package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

func testContactConversations(e env) {
	first := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	e.transition(first, statemachine.Open, statemachine.Expired, at(time.Minute))
	var second store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		second, err = tx.CreateConversation(e.ctx, store.Conversation{
			ContactID: first.ContactID, State: statemachine.Blocked, CreatedAt: at(2 * time.Minute),
		}, "system", "test")
		return err
	})
	e.conversation("t1", "wa", "u2", statemachine.Open, t0)

	var got, none []store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		if got, err = tx.ContactConversations(e.ctx, first.ContactID); err != nil {
			return err
		}
		none, err = tx.ContactConversations(e.ctx, first.ContactID+1000)
		return err
	})
	if ids, want := conversationIDs(got), []int64{first.ID, second.ID}; !slices.Equal(ids, want) {
		e.t.Fatalf("ContactConversations = %v, want %v (oldest first, not the other contact's)", ids, want)
	}
	if w := normConversation(e.get(first.ID)); normConversation(got[0]) != w {
		e.t.Errorf("ContactConversations[0] = %+v, want %+v", got[0], w)
	}
	if w := normConversation(second); normConversation(got[1]) != w {
		e.t.Errorf("ContactConversations[1] = %+v, want %+v", got[1], w)
	}
	if len(none) != 0 {
		e.t.Errorf("ContactConversations of an unknown contact = %v, want none", conversationIDs(none))
	}
}

func testListConversations(e env) {
	a := e.conversation("t1", "wa", "a", statemachine.Open, t0)
	b := e.conversation("t1", "wa", "b", statemachine.AutoBot, at(time.Minute))
	c := e.conversation("t1", "tg", "c", statemachine.Open, at(2*time.Minute))
	d := e.conversation("t1", "wa", "d", statemachine.Open, at(3*time.Minute))
	d = e.transition(d, statemachine.Open, statemachine.Blocked, at(10*time.Minute))
	foreign := e.conversation("t2", "wa", "a", statemachine.Open, t0)
	// A second conversation of a's contact.
	a = e.transition(a, statemachine.Open, statemachine.Expired, at(5*time.Minute))
	var a2 store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		a2, err = tx.CreateConversation(e.ctx, store.Conversation{
			ContactID: a.ContactID, State: statemachine.Open, CreatedAt: at(6 * time.Minute),
		}, "system", "test")
		return err
	})

	list := func(f store.ConversationFilter) []store.Conversation {
		e.t.Helper()
		cs, err := e.s.ListConversations(e.ctx, f)
		if err != nil {
			e.t.Fatalf("ListConversations(%+v): %v", f, err)
		}
		return cs
	}
	for _, tc := range []struct {
		f    store.ConversationFilter
		want []int64
	}{
		{store.ConversationFilter{Tenant: "t1"}, []int64{a.ID, b.ID, c.ID, d.ID, a2.ID}},
		{store.ConversationFilter{Tenant: "t2"}, []int64{foreign.ID}},
		{store.ConversationFilter{Tenant: "t3"}, []int64{}},
		{store.ConversationFilter{Tenant: "t1", States: statemachine.NewSet(statemachine.Open)}, []int64{c.ID, a2.ID}},
		{store.ConversationFilter{Tenant: "t1", States: statemachine.NewSet(statemachine.Blocked, statemachine.AutoBot)}, []int64{b.ID, d.ID}},
		{store.ConversationFilter{Tenant: "t1", Channel: "tg"}, []int64{c.ID}},
		{store.ConversationFilter{Tenant: "t1", ContactID: a.ContactID}, []int64{a.ID, a2.ID}},
		// a2 and a were last changed at 6 and 5 minutes, d at 10.
		{store.ConversationFilter{Tenant: "t1", UpdatedSince: at(5 * time.Minute)}, []int64{a.ID, d.ID, a2.ID}},
		{store.ConversationFilter{Tenant: "t1", UpdatedSince: at(6 * time.Minute)}, []int64{d.ID, a2.ID}},
		{store.ConversationFilter{Tenant: "t1", UpdatedSince: at(10*time.Minute + time.Microsecond)}, []int64{}},
		{store.ConversationFilter{Tenant: "t1", Channel: "wa", States: statemachine.NewSet(statemachine.Open, statemachine.Expired)}, []int64{a.ID, a2.ID}},
		{store.ConversationFilter{Tenant: "t1", AfterID: a.ID, Limit: 2}, []int64{b.ID, c.ID}},
		{store.ConversationFilter{Tenant: "t1", AfterID: c.ID, Limit: 2}, []int64{d.ID, a2.ID}},
		{store.ConversationFilter{Tenant: "t1", AfterID: a2.ID}, []int64{}},
	} {
		if got := conversationIDs(list(tc.f)); !slices.Equal(got, tc.want) {
			e.t.Errorf("ListConversations(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}

	// The conversations come whole, with the contact's external id.
	for _, got := range list(store.ConversationFilter{Tenant: "t1"}) {
		if want := normConversation(e.get(got.ID)); normConversation(got) != want || got.ContactExternalID == "" {
			e.t.Errorf("listed conversation = %+v, want %+v", got, want)
		}
	}

	if _, err := e.s.ListConversations(e.ctx, store.ConversationFilter{}); err == nil {
		e.t.Errorf("ListConversations with no tenant: no error")
	}
}

func testListConversationsLimit(e env) {
	var ids []int64
	e.tx(func(tx store.Tx) error {
		for i := range 101 {
			ct, err := tx.UpsertContact(e.ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: fmt.Sprintf("u%03d", i)}, "", t0)
			if err != nil {
				return err
			}
			c, err := tx.CreateConversation(e.ctx, store.Conversation{ContactID: ct.ID, State: statemachine.Open, CreatedAt: t0}, "system", "")
			if err != nil {
				return err
			}
			ids = append(ids, c.ID)
		}
		return nil
	})
	cs, err := e.s.ListConversations(e.ctx, store.ConversationFilter{Tenant: "t1"})
	if err != nil {
		e.t.Fatalf("ListConversations: %v", err)
	}
	if got := conversationIDs(cs); !slices.Equal(got, ids[:100]) {
		e.t.Errorf("ListConversations with no limit returned %d conversations, want the first 100", len(got))
	}
	cs, err = e.s.ListConversations(e.ctx, store.ConversationFilter{Tenant: "t1", Limit: 5000})
	if err != nil {
		e.t.Fatalf("ListConversations: %v", err)
	}
	if got := conversationIDs(cs); !slices.Equal(got, ids) {
		e.t.Errorf("ListConversations with limit 5000 returned %d conversations, want all 101", len(got))
	}
}

// deleteConversations deletes and fails the test on error.
func (e env) deleteConversations(ids ...int64) int {
	e.t.Helper()
	var n int
	e.tx(func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteConversations(e.ctx, ids)
		return err
	})
	return n
}

func testDeleteConversations(e env) {
	gone := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	gone = e.transition(gone, statemachine.Open, statemachine.Blocked, at(time.Second))
	e.message(gone, "g1", store.Pending, at(2*time.Second))
	e.message(gone, "g2", store.Pushed, at(3*time.Second))
	e.message(gone, "g3", store.Excluded, at(4*time.Second))
	leased := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	e.message(leased, "l1", store.Pending, at(time.Second))
	kept := e.conversation("t1", "wa", "u3", statemachine.Open, t0)
	keptMsg := e.message(kept, "k1", store.Pending, at(5*time.Second))

	// leased is claimed by a worker before it is deleted.
	ws := e.claim(store.ClaimParams{Owner: "w", Now: at(time.Minute), LeaseTTL: time.Minute,
		MaxConversations: 1, MaxMessages: 10})
	if got := workIDs(ws); !slices.Equal(got, []int64{leased.ID}) {
		e.t.Fatalf("Claim = %v, want [%d] (the oldest work)", got, leased.ID)
	}

	if n := e.deleteConversations(gone.ID, leased.ID, kept.ID+1000); n != 4 {
		e.t.Errorf("DeleteConversations reported %d messages, want 4", n)
	}
	for _, id := range []int64{gone.ID, leased.ID} {
		if _, err := e.s.GetConversation(e.ctx, id); !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("GetConversation(%d) after its deletion: %v, want ErrNotFound", id, err)
		}
		if ms := e.messages(id); len(ms) != 0 {
			e.t.Errorf("messages of deleted conversation %d = %v, want none", id, messageIDs(ms))
		}
		h, err := e.s.History(e.ctx, id)
		if err != nil || len(h) != 0 {
			e.t.Errorf("history of deleted conversation %d = %+v, %v; want none", id, h, err)
		}
	}
	// The messages' platform ids are free again.
	var exists bool
	e.tx(func(tx store.Tx) error {
		var err error
		exists, err = tx.MessageExists(e.ctx, "t1", "wa", "g1")
		return err
	})
	if exists {
		e.t.Errorf("MessageExists of a deleted conversation's message: true")
	}

	// The worker's lease went with its conversation.
	err := SettleOne(e.ctx, e.s, ws[0].Lease, store.Settlement{Now: at(2 * time.Minute), Outcomes: outcomes(ws[0], store.Pushed, "")})
	if !errors.Is(err, store.ErrLeaseLost) {
		e.t.Errorf("Settle of a deleted conversation: %v, want ErrLeaseLost", err)
	}
	// The outbox holds only what is kept.
	w := e.claimOne(params("w", at(3*time.Minute)), kept.ID)
	if got := messageIDs(w.Messages); !slices.Equal(got, []int64{keptMsg.ID}) {
		e.t.Errorf("claimed messages = %v, want [%d]", got, keptMsg.ID)
	}
	e.settle(w.Lease, store.Settlement{Now: at(3 * time.Minute)})
	st, err := e.s.Stats(e.ctx, "t1")
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	if st.Messages[store.Pending] != 1 || st.Messages[store.Pushed] != 0 || st.Messages[store.Excluded] != 0 ||
		st.Conversations[statemachine.Open] != 1 || st.Conversations[statemachine.Blocked] != 0 {
		e.t.Errorf("Stats after the deletion = %+v, want one open conversation with one pending message", st)
	}
	// The contacts stay.
	if _, err := e.s.GetContact(e.ctx, gone.ContactID); err != nil {
		e.t.Errorf("GetContact of a deleted conversation's contact: %v, want the contact kept", err)
	}

	if n := e.deleteConversations(); n != 0 {
		e.t.Errorf("DeleteConversations of no ids = %d, want 0", n)
	}
	if n := e.deleteConversations(gone.ID); n != 0 {
		e.t.Errorf("DeleteConversations of a deleted conversation = %d, want 0", n)
	}
	if ms := e.messages(kept.ID); len(ms) != 1 {
		e.t.Errorf("messages of the kept conversation = %v, want one", messageIDs(ms))
	}
	h, err := e.s.History(e.ctx, kept.ID)
	if err != nil || len(h) != 1 {
		e.t.Errorf("history of the kept conversation = %+v, %v; want its creation", h, err)
	}

	// A rolled back deletion deletes nothing.
	boom := errors.New("boom")
	err = e.s.WithTx(e.ctx, func(tx store.Tx) error {
		if _, err := tx.DeleteConversations(e.ctx, []int64{kept.ID}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		e.t.Fatalf("WithTx = %v, want boom", err)
	}
	if ms := e.messages(kept.ID); len(ms) != 1 {
		e.t.Errorf("messages after a rolled back deletion = %v, want one", messageIDs(ms))
	}
}

func testDeliveryStatus(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	out := newMessage(c, "wamid.1", store.Pushed, at(time.Second))
	out.Direction, out.Sender = store.Outbound, "alice"
	var stored store.Message
	e.tx(func(tx store.Tx) error {
		var err error
		stored, _, err = tx.InsertMessage(e.ctx, out)
		return err
	})
	in := e.message(c, "in.1", store.Pushed, at(2*time.Second))

	set := func(tenant, channel, id, status string, when time.Time) (bool, error) {
		var changed bool
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			changed, err = tx.SetDeliveryStatus(e.ctx, tenant, channel, id, status, when)
			return err
		})
		return changed, err
	}
	mustSet := func(status string, when time.Time) bool {
		e.t.Helper()
		changed, err := set("t1", "wa", "wamid.1", status, when)
		if err != nil {
			e.t.Fatalf("SetDeliveryStatus(%s, %v): %v", status, when, err)
		}
		return changed
	}
	check := func(what, status string, when time.Time) {
		e.t.Helper()
		m := normMessage(e.messageByID(c.ID, stored.ID))
		if m.DeliveryStatus != status || m.DeliveryStatusAt != utc(when) {
			e.t.Errorf("%s: delivery status %q at %v, want %q at %v", what, m.DeliveryStatus, m.DeliveryStatusAt, status, when)
		}
	}
	check("new outbound message", "", time.Time{})

	if !mustSet("sent", at(time.Minute)) {
		e.t.Errorf("first receipt: reported no change")
	}
	check("after sent", "sent", at(time.Minute))
	if mustSet("delivered", at(30*time.Second)) {
		e.t.Errorf("older receipt: reported a change")
	}
	check("after an older receipt", "sent", at(time.Minute))
	if !mustSet("read", at(2*time.Minute)) {
		e.t.Errorf("newer receipt: reported no change")
	}
	check("after read", "read", at(2*time.Minute))
	// On a tie the receipt given wins; the same one again changes nothing.
	if !mustSet("delivered", at(2*time.Minute)) {
		e.t.Errorf("receipt as of the same time: reported no change")
	}
	check("after a receipt as of the same time", "delivered", at(2*time.Minute))
	if mustSet("delivered", at(2*time.Minute)) {
		e.t.Errorf("the stored receipt again: reported a change")
	}

	// An inbound message and an unknown one change nothing.
	if changed, err := set("t1", "wa", "in.1", "read", at(time.Hour)); err != nil || changed {
		e.t.Errorf("receipt on an inbound message: %v, %v; want false, nil", changed, err)
	}
	if m := e.messageByID(c.ID, in.ID); m.DeliveryStatus != "" || !m.DeliveryStatusAt.IsZero() {
		e.t.Errorf("inbound message after a receipt: %q at %v, want none", m.DeliveryStatus, m.DeliveryStatusAt)
	}
	for _, k := range [][3]string{{"t1", "wa", "nope"}, {"t2", "wa", "wamid.1"}, {"t1", "tg", "wamid.1"}} {
		if changed, err := set(k[0], k[1], k[2], "read", at(time.Hour)); err != nil || changed {
			e.t.Errorf("receipt on unknown message %v: %v, %v; want false, nil", k, changed, err)
		}
	}
	if changed, err := set("t1", "wa", "wamid.1", "", at(time.Hour)); err == nil || changed {
		e.t.Errorf("empty status: %v, %v; want false and an error", changed, err)
	}
	if changed, err := set("t1", "wa", "wamid.1", "read", time.Time{}); err == nil || changed {
		e.t.Errorf("receipt with no time: %v, %v; want false and an error", changed, err)
	}
	check("after refused receipts", "delivered", at(2*time.Minute))
}

func testDeliveryStatusRoundTrip(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	m := newMessage(c, "wamid.2", store.Pending, at(time.Second))
	m.Direction, m.DeliveryStatus, m.DeliveryStatusAt = store.Outbound, "sent", at(2*time.Second)
	var stored store.Message
	e.tx(func(tx store.Tx) error {
		var err error
		stored, _, err = tx.InsertMessage(e.ctx, m)
		return err
	})
	want := normMessage(m)
	want.ID = stored.ID
	if normMessage(stored) != want {
		e.t.Errorf("InsertMessage returned %+v, want %+v", stored, want)
	}
	if got := e.messages(c.ID); len(got) != 1 || normMessage(got[0]) != want {
		e.t.Errorf("ListMessages = %+v, want [%+v]", got, want)
	}
	w := e.claimOne(params("w", at(time.Minute)), c.ID)
	if len(w.Messages) != 1 || normMessage(w.Messages[0]) != want {
		e.t.Errorf("claimed messages = %+v, want [%+v]", w.Messages, want)
	}
}

func testSettings(e env) {
	get := func(scope, key string) (store.Setting, error) {
		var s store.Setting
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			s, err = tx.GetSetting(e.ctx, scope, key)
			return err
		})
		s.UpdatedAt = utc(s.UpdatedAt)
		return s, err
	}
	put := func(s store.Setting) error {
		return e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.PutSetting(e.ctx, s) })
	}
	history := func(scope, key string) []store.Setting {
		e.t.Helper()
		h, err := e.s.SettingHistory(e.ctx, scope, key)
		if err != nil {
			e.t.Fatalf("SettingHistory: %v", err)
		}
		for i := range h {
			h[i].UpdatedAt = utc(h[i].UpdatedAt)
		}
		return h
	}
	const scope, key = "org:00D000000000001", "excluded_states"

	if _, err := get(scope, key); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("GetSetting of an unset setting: %v, want ErrNotFound", err)
	}
	if h := history(scope, key); h == nil || len(h) != 0 {
		e.t.Errorf("history of an unset setting = %#v, want empty", h)
	}
	first := store.Setting{Scope: scope, Key: key, Value: "AUTO_BOT", UpdatedBy: "ops", UpdatedAt: at(time.Minute)}
	second := store.Setting{Scope: scope, Key: key, Value: "", UpdatedBy: "ops2", UpdatedAt: at(2 * time.Minute)}
	other := store.Setting{Scope: "tenant:acme", Key: "blocking_enabled", Value: "false", UpdatedBy: "admin", UpdatedAt: at(time.Minute)}
	sameKeyOtherScope := store.Setting{Scope: "org:00D000000000002", Key: key, Value: "BLOCKED", UpdatedAt: at(time.Minute)}
	sameScopeOtherKey := store.Setting{Scope: scope, Key: "other_key", Value: "1", UpdatedAt: at(time.Minute)}
	for _, s := range []store.Setting{first, other, sameKeyOtherScope, sameScopeOtherKey} {
		if err := put(s); err != nil {
			e.t.Fatalf("PutSetting(%+v): %v", s, err)
		}
	}
	if got, err := get(scope, key); err != nil || got != first {
		e.t.Errorf("GetSetting = %+v, %v; want %+v", got, err, first)
	}
	if err := put(second); err != nil {
		e.t.Fatalf("PutSetting: %v", err)
	}
	if got, err := get(scope, key); err != nil || got != second {
		e.t.Errorf("GetSetting after a second write = %+v, %v; want %+v (an empty value is a value)", got, err, second)
	}
	if got := history(scope, key); !slices.Equal(got, []store.Setting{first, second}) {
		e.t.Errorf("SettingHistory = %+v, want %+v", got, []store.Setting{first, second})
	}
	if got, err := get(other.Scope, other.Key); err != nil || got != other {
		e.t.Errorf("other setting = %+v, %v; want %+v", got, err, other)
	}
	if got, err := get(scope, sameScopeOtherKey.Key); err != nil || got != sameScopeOtherKey {
		e.t.Errorf("another key of the scope = %+v, %v; want %+v", got, err, sameScopeOtherKey)
	}
	if got := history(scope, sameScopeOtherKey.Key); !slices.Equal(got, []store.Setting{sameScopeOtherKey}) {
		e.t.Errorf("history of another key of the scope = %+v, want %+v", got, []store.Setting{sameScopeOtherKey})
	}
	if got := history(sameKeyOtherScope.Scope, key); !slices.Equal(got, []store.Setting{sameKeyOtherScope}) {
		e.t.Errorf("history of the same key in another scope = %+v, want %+v", got, []store.Setting{sameKeyOtherScope})
	}

	// A write rolled back leaves neither the value nor its history.
	boom := errors.New("boom")
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		if err := tx.PutSetting(e.ctx, store.Setting{Scope: scope, Key: key, Value: "OPEN", UpdatedAt: at(time.Hour)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		e.t.Fatalf("WithTx = %v, want boom", err)
	}
	if got, err := get(scope, key); err != nil || got != second {
		e.t.Errorf("GetSetting after a rolled back write = %+v, %v; want %+v", got, err, second)
	}
	if got := history(scope, key); len(got) != 2 {
		e.t.Errorf("history after a rolled back write = %+v, want 2 entries", got)
	}

	for _, bad := range []store.Setting{
		{Key: key, Value: "x", UpdatedAt: t0},
		{Scope: scope, Value: "x", UpdatedAt: t0},
		{Scope: scope, Key: key, Value: "x"},
	} {
		if err := put(bad); err == nil {
			e.t.Errorf("PutSetting(%+v): no error", bad)
		}
	}
}

func normToken(t store.APIToken) store.APIToken {
	t.CreatedAt, t.RevokedAt = utc(t.CreatedAt), utc(t.RevokedAt)
	return t
}

func testTokens(e env) {
	create := func(t store.APIToken) (store.APIToken, error) {
		out, err := e.s.CreateToken(e.ctx, t)
		return normToken(out), err
	}
	mustCreate := func(t store.APIToken) store.APIToken {
		e.t.Helper()
		out, err := create(t)
		if err != nil {
			e.t.Fatalf("CreateToken(%+v): %v", t, err)
		}
		return out
	}
	list := func(tenant string) []store.APIToken {
		e.t.Helper()
		ts, err := e.s.ListTokens(e.ctx, tenant)
		if err != nil {
			e.t.Fatalf("ListTokens(%q): %v", tenant, err)
		}
		for i := range ts {
			ts[i] = normToken(ts[i])
		}
		return ts
	}
	byHash := func(hash string) (store.APIToken, error) {
		t, err := e.s.TokenByHash(e.ctx, hash)
		return normToken(t), err
	}
	revoke := func(id int64, when time.Time) error { return e.s.RevokeToken(e.ctx, id, when) }

	alice := store.APIToken{Tenant: "acme", Name: "alice", Role: store.RoleAgent, Hash: "h-alice", CreatedAt: at(time.Minute)}
	got := mustCreate(alice)
	if got.ID <= 0 {
		e.t.Errorf("CreateToken returned id %d, want positive", got.ID)
	}
	alice.ID = got.ID
	if got != alice {
		e.t.Errorf("CreateToken = %+v, want %+v", got, alice)
	}
	admin := mustCreate(store.APIToken{Tenant: "acme", Name: "boss", Role: store.RoleAdmin, Hash: "h-boss", CreatedAt: at(time.Minute)})
	operator := mustCreate(store.APIToken{Name: "support", Role: store.RoleOperator, Hash: "h-support", CreatedAt: at(time.Minute)})
	// The same name in another tenant is another token.
	otherAlice := mustCreate(store.APIToken{Tenant: "globex", Name: "alice", Role: store.RoleAdmin, Hash: "h-alice2", CreatedAt: at(time.Minute)})

	if got, err := byHash("h-alice"); err != nil || got != alice {
		e.t.Errorf("TokenByHash = %+v, %v; want %+v", got, err, alice)
	}
	if got, err := byHash("h-support"); err != nil || got != operator {
		e.t.Errorf("TokenByHash of the operator token = %+v, %v; want %+v", got, err, operator)
	}
	if _, err := byHash("h-nobody"); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("TokenByHash of an unknown hash: %v, want ErrNotFound", err)
	}

	// A valid token's name is taken in its tenant; so is a hash anywhere.
	if _, err := create(store.APIToken{Tenant: "acme", Name: "alice", Role: store.RoleAdmin, Hash: "h-new", CreatedAt: at(2 * time.Minute)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a taken name: %v, want ErrConflict", err)
	}
	if _, err := create(store.APIToken{Name: "support", Role: store.RoleOperator, Hash: "h-new", CreatedAt: at(2 * time.Minute)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a taken operator name: %v, want ErrConflict", err)
	}
	if _, err := create(store.APIToken{Tenant: "acme", Name: "carol", Role: store.RoleAgent, Hash: "h-boss", CreatedAt: at(2 * time.Minute)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a stored hash: %v, want ErrConflict", err)
	}
	for _, bad := range []store.APIToken{
		{Tenant: "acme", Role: store.RoleAgent, Hash: "h-x", CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: store.RoleAgent, CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: "root", Hash: "h-x", CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: store.RoleOperator, Hash: "h-x", CreatedAt: t0},
		{Name: "x", Role: store.RoleAdmin, Hash: "h-x", CreatedAt: t0},
		{Tenant: "acme", Name: "x", Role: store.RoleAgent, Hash: "h-x"},
	} {
		if _, err := create(bad); err == nil || errors.Is(err, store.ErrConflict) {
			e.t.Errorf("CreateToken(%+v): %v, want an error", bad, err)
		}
	}
	if got, want := list("acme"), []store.APIToken{alice, admin}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens(acme) after refused creations = %+v, want %+v", got, want)
	}

	// Revoking.
	if err := revoke(alice.ID, at(time.Hour)); err != nil {
		e.t.Fatalf("RevokeToken: %v", err)
	}
	if _, err := byHash("h-alice"); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("TokenByHash of a revoked token: %v, want ErrNotFound", err)
	}
	if err := revoke(alice.ID, at(2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("RevokeToken twice: %v, want ErrNotFound", err)
	}
	if err := revoke(operator.ID+1000, at(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("RevokeToken of an unknown id: %v, want ErrNotFound", err)
	}
	if err := revoke(admin.ID, time.Time{}); err == nil {
		e.t.Errorf("RevokeToken with no time: no error")
	}
	alice.RevokedAt = at(time.Hour)
	// The name of a revoked token is free again (its hash is not).
	alice2 := mustCreate(store.APIToken{Tenant: "acme", Name: "alice", Role: store.RoleAdmin, Hash: "h-alice3", CreatedAt: at(2 * time.Hour)})
	if _, err := create(store.APIToken{Tenant: "acme", Name: "dave", Role: store.RoleAgent, Hash: "h-alice", CreatedAt: at(2 * time.Hour)}); !errors.Is(err, store.ErrConflict) {
		e.t.Errorf("CreateToken with a revoked token's hash: %v, want ErrConflict", err)
	}
	if got, err := byHash("h-alice3"); err != nil || got != alice2 {
		e.t.Errorf("TokenByHash of the new token = %+v, %v; want %+v", got, err, alice2)
	}
	if got, want := list("acme"), []store.APIToken{alice, admin, alice2}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens(acme) = %+v, want %+v (revoked ones included, by id)", got, want)
	}
	if got, want := list(""), []store.APIToken{operator}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens of the operator = %+v, want %+v", got, want)
	}
	if got, want := list("globex"), []store.APIToken{otherAlice}; !slices.Equal(got, want) {
		e.t.Errorf("ListTokens(globex) = %+v, want %+v", got, want)
	}
	if got := list("nobody"); got == nil || len(got) != 0 {
		e.t.Errorf("ListTokens of an unknown tenant = %#v, want empty", got)
	}
}

// testSends: an outbound message stored as sending is claimed when due,
// held back by the claim's lease, retried, and settled sent (receipts
// then find it by the platform's id) or failed with the reason.
func testSends(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	insert := func(id string, received time.Time) store.Message {
		e.t.Helper()
		m := newMessage(c, id, store.Pending, received)
		m.Direction, m.Sender = store.Outbound, "alice"
		m.DeliveryStatus, m.DeliveryStatusAt = store.DeliverySending, received
		var stored store.Message
		e.tx(func(tx store.Tx) error {
			var err error
			stored, _, err = tx.InsertMessage(e.ctx, m)
			return err
		})
		return stored
	}
	claim := func(now, until time.Time) []int64 {
		e.t.Helper()
		var ids []int64
		e.tx(func(tx store.Tx) error {
			ms, err := tx.ClaimSends(e.ctx, now, until, 10)
			for _, m := range ms {
				if m.DeliveryStatus != store.DeliverySending || m.Direction != store.Outbound {
					e.t.Errorf("claimed %+v", m)
				}
				ids = append(ids, m.ID)
			}
			return err
		})
		return ids
	}
	settle := func(id int64, o store.SendOutcome) bool {
		e.t.Helper()
		var ok bool
		e.tx(func(tx store.Tx) error {
			var err error
			ok, err = tx.SettleSend(e.ctx, id, o)
			return err
		})
		return ok
	}
	a := insert("out-a", at(time.Second))
	b := insert("out-b", at(2*time.Second))
	_ = insert("out-later", at(time.Hour))
	e.message(c, "in-1", store.Pending, at(3*time.Second)) // inbound: never claimed

	if got := claim(at(time.Minute), at(2*time.Minute)); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
		e.t.Fatalf("first claim = %v, want [%d %d] (due ones only, oldest first)", got, a.ID, b.ID)
	}
	if got := claim(at(90*time.Second), at(3*time.Minute)); len(got) != 0 {
		e.t.Fatalf("claim within the lease = %v, want none", got)
	}
	// a: a transient failure, retried later; b: sent.
	if !settle(a.ID, store.SendOutcome{Error: "timeout", RetryAt: at(5 * time.Minute), At: at(time.Minute)}) {
		e.t.Fatal("SettleSend(retry) changed nothing")
	}
	if !settle(b.ID, store.SendOutcome{SentID: "wamid.B", At: at(time.Minute)}) {
		e.t.Fatal("SettleSend(sent) changed nothing")
	}
	if settle(b.ID, store.SendOutcome{SentID: "wamid.B2", At: at(time.Minute)}) {
		e.t.Error("SettleSend of a message no longer sending changed it")
	}
	if got := claim(at(4*time.Minute), at(10*time.Minute)); len(got) != 0 {
		e.t.Fatalf("claim before the retry is due = %v, want none", got)
	}
	if got := claim(at(5*time.Minute), at(10*time.Minute)); !reflect.DeepEqual(got, []int64{a.ID}) {
		e.t.Fatalf("claim when the retry is due = %v, want [%d]", got, a.ID)
	}
	if !settle(a.ID, store.SendOutcome{Error: "the platform refused: 131047", At: at(6 * time.Minute)}) {
		e.t.Fatal("SettleSend(failed) changed nothing")
	}
	// A receipt names the message by the platform's id.
	e.tx(func(tx store.Tx) error {
		ok, err := tx.SetDeliveryStatus(e.ctx, "t1", "wa", "wamid.B", "delivered", at(2*time.Minute))
		if err == nil && !ok {
			e.t.Error("a receipt by the platform's id changed nothing")
		}
		return err
	})
	byID := map[int64]store.Message{}
	for _, m := range e.messages(c.ID) {
		byID[m.ID] = m
	}
	if m := byID[a.ID]; m.DeliveryStatus != store.DeliveryFailed || m.SendError != "the platform refused: 131047" || m.SendAttempts != 2 || m.SentID != "" {
		e.t.Errorf("failed message %+v", m)
	}
	if m := byID[b.ID]; m.DeliveryStatus != "delivered" || m.SentID != "wamid.B" || m.SendAttempts != 1 || m.SendError != "" || m.PlatformID != "out-b" {
		e.t.Errorf("sent message %+v", m)
	}
}

// testStatusChangeRepushes: an outbound message already pushed whose
// status changes (a send's outcome, a newer receipt) is pending again and
// claimable; an unchanged or older receipt, inbound, excluded and dead
// messages are not; a push that showed an older status leaves the
// message pending.
func testStatusChangeRepushes(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	outbound := func(id string, status store.PushStatus, received time.Time) store.Message {
		e.t.Helper()
		m := newMessage(c, id, status, received)
		m.Direction, m.Sender = store.Outbound, "alice"
		m.DeliveryStatus, m.DeliveryStatusAt = store.DeliverySending, received
		var stored store.Message
		e.tx(func(tx store.Tx) error {
			var err error
			stored, _, err = tx.InsertMessage(e.ctx, m)
			return err
		})
		return stored
	}
	receipt := func(id, status string, when time.Time) bool {
		e.t.Helper()
		var ok bool
		e.tx(func(tx store.Tx) error {
			var err error
			ok, err = tx.SetDeliveryStatus(e.ctx, "t1", "wa", id, status, when)
			return err
		})
		return ok
	}
	pushAll := func(now time.Time, want ...int64) {
		e.t.Helper()
		w := e.claimOne(params("w", now), c.ID)
		if got := messageIDs(w.Messages); !reflect.DeepEqual(got, want) {
			e.t.Fatalf("claimed messages %v, want %v", got, want)
		}
		os := outcomes(w, store.Pushed, "")
		for i, m := range w.Messages {
			os[i].DeliveryStatus = m.DeliveryStatus
		}
		e.settle(w.Lease, store.Settlement{Now: now, Outcomes: os})
	}
	pushStatus := func(id int64) store.PushStatus {
		e.t.Helper()
		return e.messageByID(c.ID, id).PushStatus
	}

	reply := outbound("out-1", store.Pending, at(time.Second))
	excluded := outbound("out-x", store.Excluded, at(2*time.Second))
	dead := outbound("out-d", store.Dead, at(3*time.Second))
	in := e.message(c, "in-1", store.Pending, at(4*time.Second))
	pushAll(at(time.Minute), reply.ID, in.ID)
	if ws := e.claim(params("w", at(time.Minute+time.Second))); len(ws) != 0 {
		e.t.Fatalf("claim after the push = %v, want none", workIDs(ws))
	}

	// The send's outcome: pending again, from its own received time.
	e.tx(func(tx store.Tx) error {
		for _, id := range []int64{reply.ID, excluded.ID, dead.ID} {
			if ok, err := tx.SettleSend(e.ctx, id, store.SendOutcome{SentID: "wamid." + strconv.FormatInt(id, 10), At: at(2 * time.Minute)}); err != nil || !ok {
				return fmt.Errorf("SettleSend(%d) = %v, %w", id, ok, err)
			}
		}
		return nil
	})
	if st := pushStatus(reply.ID); st != store.Pending {
		e.t.Fatalf("pushed reply after its send = %s, want pending", st)
	}
	if st := pushStatus(excluded.ID); st != store.Excluded {
		e.t.Errorf("excluded reply after its send = %s", st)
	}
	if st := pushStatus(dead.ID); st != store.Dead {
		e.t.Errorf("dead reply after its send = %s", st)
	}

	// A push that showed "sending" while the message is "sent" now leaves
	// it pending; the push showing "sent" settles it.
	w := e.claimOne(params("w", at(3*time.Minute)), c.ID)
	if got := messageIDs(w.Messages); !reflect.DeepEqual(got, []int64{reply.ID}) || w.Messages[0].DeliveryStatus != store.DeliverySent {
		e.t.Fatalf("claimed %+v, want the reply as sent", w.Messages)
	}
	os := outcomes(w, store.Pushed, "")
	os[0].DeliveryStatus = store.DeliverySending
	e.settle(w.Lease, store.Settlement{Now: at(3 * time.Minute), Outcomes: os})
	if st := pushStatus(reply.ID); st != store.Pending {
		e.t.Fatalf("reply pushed with an older status = %s, want pending", st)
	}
	pushAll(at(4*time.Minute), reply.ID)
	if st := pushStatus(reply.ID); st != store.Pushed {
		e.t.Fatalf("reply pushed with its status = %s, want pushed", st)
	}

	// A newer receipt: pending again; the same one or an older one: no.
	if !receipt("wamid."+strconv.FormatInt(reply.ID, 10), "delivered", at(5*time.Minute)) {
		e.t.Fatal("the delivered receipt changed nothing")
	}
	if st := pushStatus(reply.ID); st != store.Pending {
		e.t.Fatalf("pushed reply after a receipt = %s, want pending", st)
	}
	pushAll(at(6*time.Minute), reply.ID)
	if receipt("wamid."+strconv.FormatInt(reply.ID, 10), "delivered", at(5*time.Minute)) {
		e.t.Error("the same receipt again reported a change")
	}
	if receipt("out-1", "sent", at(4*time.Minute)) {
		e.t.Error("an older receipt reported a change")
	}
	if st := pushStatus(reply.ID); st != store.Pushed {
		e.t.Errorf("reply after an unchanged and an older receipt = %s, want pushed", st)
	}
	if ws := e.claim(params("w", at(7*time.Minute))); len(ws) != 0 {
		e.t.Errorf("claim after an unchanged and an older receipt = %v, want none", workIDs(ws))
	}
	if st := pushStatus(in.ID); st != store.Pushed {
		e.t.Errorf("inbound message = %s, want pushed", st)
	}
}
