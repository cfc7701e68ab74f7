package storetest

import (
	"errors"
	"fmt"
	"slices"
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
