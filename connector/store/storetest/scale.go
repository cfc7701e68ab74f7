package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// The fingerprint of the record last written is kept across claims,
// replaced by a later one, and forgotten on demand.
func testSyncedHash(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	e.message(c, "m1", store.Pending, t0)
	w := e.claimOne(params("w", at(time.Second)), c.ID)
	if w.Conversation.SyncedHash != "" {
		e.t.Fatalf("new conversation's SyncedHash = %q, want empty", w.Conversation.SyncedHash)
	}
	e.settle(w.Lease, store.Settlement{Now: at(time.Second), Outcomes: outcomes(w, store.Pushed, ""),
		SyncedVersion: w.Conversation.Version, SyncedHash: "h1"})
	if got := e.get(c.ID).SyncedHash; got != "h1" {
		e.t.Errorf("SyncedHash after settle = %q, want h1", got)
	}

	// A settlement without a hash keeps it; a new one replaces it.
	e.message(c, "m2", store.Pending, at(2*time.Second))
	w = e.claimOne(params("w", at(2*time.Second)), c.ID)
	if w.Conversation.SyncedHash != "h1" {
		e.t.Errorf("claimed conversation's SyncedHash = %q, want h1", w.Conversation.SyncedHash)
	}
	e.settle(w.Lease, store.Settlement{Now: at(2 * time.Second), Outcomes: outcomes(w, store.Pushed, "")})
	if got := e.get(c.ID).SyncedHash; got != "h1" {
		e.t.Errorf("SyncedHash after a settlement without one = %q, want h1 kept", got)
	}
	e.message(c, "m3", store.Pending, at(3*time.Second))
	w = e.claimOne(params("w", at(3*time.Second)), c.ID)
	e.settle(w.Lease, store.Settlement{Now: at(3 * time.Second), Outcomes: outcomes(w, store.Pending, "parent missing"),
		SyncedHash: "h2", ForgetRecord: true})
	if got := e.get(c.ID); got.SyncedHash != "" || got.SyncedVersion != 1 {
		e.t.Errorf("after ForgetRecord: hash %q, synced version %d; want empty and 1 kept", got.SyncedHash, got.SyncedVersion)
	}
	// A lost lease changes no hash.
	w = e.claimOne(params("w", at(4*time.Second)), c.ID)
	lost := w.Lease
	lost.Token += "x"
	if err := SettleOne(e.ctx, e.s, lost, store.Settlement{Now: at(4 * time.Second), SyncedHash: "h3"}); !errors.Is(err, store.ErrLeaseLost) {
		e.t.Fatalf("Settle with a wrong token: %v", err)
	}
	if got := e.get(c.ID).SyncedHash; got != "" {
		e.t.Errorf("SyncedHash after a lost settle = %q, want empty", got)
	}
}

// MaxRecords fills a claim with conversations, oldest work first, until
// the next one would not fit; a conversation counts its messages and its
// record when that may need writing.
func testClaimMaxRecords(e env) {
	var convs []store.Conversation
	for i := range 4 {
		c := e.conversation("t1", "wa", fmt.Sprint("u", i), statemachine.Open, t0)
		for j := range 3 {
			e.message(c, fmt.Sprintf("m%d-%d", i, j), store.Pending, at(time.Duration(i*10+j)*time.Millisecond))
		}
		convs = append(convs, c)
	}
	p := params("w", at(time.Second))
	p.MaxRecords = 9 // two new conversations: 2 × (3 messages + 1 record)
	ws := e.claim(p)
	if got := workIDs(ws); !slices.Equal(got, []int64{convs[0].ID, convs[1].ID}) {
		e.t.Fatalf("claim within 9 records = %v, want the two oldest %v", got, []int64{convs[0].ID, convs[1].ID})
	}
	for _, w := range ws {
		if len(w.Messages) != 3 {
			e.t.Errorf("conversation %d: %d messages, want 3", w.Conversation.ID, len(w.Messages))
		}
		e.settle(w.Lease, store.Settlement{Now: at(time.Second), Outcomes: outcomes(w, store.Pushed, ""),
			SyncedVersion: w.Conversation.Version, SyncedHash: "h"})
	}
	// The first conversation alone is always taken, whatever its size.
	p = params("w", at(2*time.Second))
	p.MaxRecords = 1
	if got := workIDs(e.claim(p)); !slices.Equal(got, []int64{convs[2].ID}) {
		e.t.Fatalf("claim within 1 record = %v, want [%d]", got, convs[2].ID)
	}
	// convs[2] is leased; convs[3] is claimed and pushed next.
	w := e.claimOne(params("w", at(2*time.Second)), convs[3].ID)
	e.settle(w.Lease, store.Settlement{Now: at(2 * time.Second), Outcomes: outcomes(w, store.Pushed, ""),
		SyncedVersion: w.Conversation.Version, SyncedHash: "h"})
	// A conversation whose record is up to date counts its messages only.
	e.message(convs[0], "late1", store.Pending, at(3*time.Second))
	e.message(convs[1], "late2", store.Pending, at(3*time.Second))
	e.message(convs[3], "late3", store.Pending, at(4*time.Second))
	p = params("w", at(5*time.Second))
	p.MaxRecords = 2
	got := workIDs(e.claim(p))
	slices.Sort(got)
	if want := []int64{convs[0].ID, convs[1].ID}; !slices.Equal(got, want) {
		e.t.Errorf("claim of up-to-date records within 2 = %v, want %v", got, want)
	}
}

// SettleBatch settles each item on its own: a lost lease or a refused
// outcome changes nothing of its item and never fails its neighbours.
func testSettleBatch(e env) {
	var ws []store.Work
	var convs []store.Conversation
	for i := range 3 {
		c := e.conversation("t1", "wa", fmt.Sprint("u", i), statemachine.Open, t0)
		e.message(c, fmt.Sprint("m", i), store.Pending, t0)
		convs = append(convs, c)
	}
	ws = e.claim(params("w", at(time.Second)))
	if len(ws) != 3 {
		e.t.Fatalf("claimed %d conversations, want 3", len(ws))
	}
	lost := ws[1].Lease
	lost.Token = "not-the-token"
	items := []store.SettleItem{
		{Lease: ws[0].Lease, Settlement: store.Settlement{Now: at(2 * time.Second), Outcomes: outcomes(ws[0], store.Pushed, ""), SyncedVersion: 1, SyncedHash: "a"}},
		{Lease: lost, Settlement: store.Settlement{Now: at(2 * time.Second), Outcomes: outcomes(ws[1], store.Pushed, "")}},
		{Lease: ws[2].Lease, Settlement: store.Settlement{Now: at(2 * time.Second), Outcomes: []store.Outcome{
			{MessageID: ws[2].Messages[0].ID, Status: store.Pushed, SalesforceID: "x"},
			{MessageID: ws[0].Messages[0].ID, Status: store.Pushed, SalesforceID: "y"}, // another conversation's
		}}},
	}
	errs, err := e.s.SettleBatch(e.ctx, items)
	if err != nil {
		e.t.Fatalf("SettleBatch: %v", err)
	}
	if len(errs) != 3 || errs[0] != nil || !errors.Is(errs[1], store.ErrLeaseLost) || errs[2] == nil {
		e.t.Fatalf("SettleBatch errors = %v, want [nil, ErrLeaseLost, an error]", errs)
	}
	if m := e.messageByID(convs[0].ID, ws[0].Messages[0].ID); m.PushStatus != store.Pushed {
		e.t.Errorf("first item's message = %s, want pushed", m.PushStatus)
	}
	if c := e.get(convs[0].ID); c.SyncedHash != "a" || c.SyncedVersion != 1 {
		e.t.Errorf("first item's conversation: hash %q version %d", c.SyncedHash, c.SyncedVersion)
	}
	for _, i := range []int{1, 2} {
		if m := e.messageByID(convs[i].ID, ws[i].Messages[0].ID); m.PushStatus != store.Pending || m.Attempts != 0 {
			e.t.Errorf("item %d's message = %+v, want untouched", i, m)
		}
	}
	// The refused item keeps its lease; the lost one is another's.
	if got := workIDs(e.claim(params("x", at(3*time.Second)))); len(got) != 0 {
		e.t.Errorf("claim while leases stand = %v, want none", got)
	}
	errs, err = e.s.SettleBatch(e.ctx, []store.SettleItem{{Lease: ws[2].Lease, Settlement: store.Settlement{Now: at(4 * time.Second)}}})
	if err != nil || len(errs) != 1 || errs[0] != nil {
		e.t.Fatalf("SettleBatch of the refused item again: %v %v", errs, err)
	}
	if errs, err := e.s.SettleBatch(e.ctx, nil); err != nil || len(errs) != 0 {
		e.t.Errorf("empty SettleBatch: %v %v", errs, err)
	}
}

// RenewLeases keeps a worker's leases past their first expiry, and reports
// the ones it no longer holds.
func testRenewLeases(e env) {
	a := e.conversation("t1", "wa", "a", statemachine.Open, t0)
	b := e.conversation("t1", "wa", "b", statemachine.Open, t0)
	e.message(a, "ma", store.Pending, t0)
	e.message(b, "mb", store.Pending, t0)
	ws := e.claim(params("w", t0)) // leases until t0+1m
	if len(ws) != 2 {
		e.t.Fatalf("claimed %d, want 2", len(ws))
	}
	var wa, wb store.Work
	for _, w := range ws {
		if w.Conversation.ID == a.ID {
			wa = w
		} else {
			wb = w
		}
	}
	// b's lease expires and another worker takes it.
	other := e.claimOne(params("other", at(90*time.Second)), func() int64 {
		lost, err := e.s.RenewLeases(e.ctx, []store.Lease{wa.Lease}, at(50*time.Second), time.Minute)
		if err != nil || len(lost) != 0 {
			e.t.Fatalf("RenewLeases of a: lost %v, %v", lost, err)
		}
		return b.ID
	}())
	lost, err := e.s.RenewLeases(e.ctx, []store.Lease{wa.Lease, wb.Lease}, at(100*time.Second), time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	if !slices.Equal(lost, []int64{b.ID}) {
		e.t.Errorf("lost = %v, want [%d]", lost, b.ID)
	}
	// a is still held (renewed to 160s): no one else can take it.
	if got := workIDs(e.claim(params("third", at(140*time.Second)))); len(got) != 0 {
		e.t.Errorf("claim of renewed or held leases = %v, want none", got)
	}
	e.settle(wa.Lease, store.Settlement{Now: at(151 * time.Second), Outcomes: outcomes(wa, store.Pushed, "")})
	e.settle(other.Lease, store.Settlement{Now: at(151 * time.Second), Outcomes: outcomes(other, store.Pushed, "")})
	if lost, err := e.s.RenewLeases(e.ctx, []store.Lease{wa.Lease}, at(152*time.Second), time.Minute); err != nil || !slices.Equal(lost, []int64{a.ID}) {
		e.t.Errorf("renewal of a settled lease: lost %v, %v; want [%d]", lost, err, a.ID)
	}
	if lost, err := e.s.RenewLeases(e.ctx, nil, at(152*time.Second), time.Minute); err != nil || len(lost) != 0 {
		e.t.Errorf("empty renewal: %v %v", lost, err)
	}
}

// WithTxBatch commits every unit that succeeded in one transaction and
// rolls back the one that failed, alone.
func testWithTxBatch(e env) {
	boom := errors.New("boom")
	insert := func(ext string) func(store.Tx) error {
		return func(tx store.Tx) error {
			_, err := tx.UpsertContact(e.ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: ext}, "", t0)
			return err
		}
	}
	errs, err := e.s.WithTxBatch(e.ctx, []func(store.Tx) error{
		insert("a"),
		func(tx store.Tx) error {
			if err := insert("b")(tx); err != nil {
				return err
			}
			return boom // after a write: the write is rolled back
		},
		func(tx store.Tx) error {
			// A failing statement leaves the transaction usable for the next.
			_, err := tx.ApplyTransition(e.ctx, store.Transition{ConversationID: 987654, From: statemachine.Open, To: statemachine.Closed, At: t0})
			return err
		},
		insert("c"),
	})
	if err != nil {
		e.t.Fatalf("WithTxBatch: %v", err)
	}
	if len(errs) != 4 || errs[0] != nil || !errors.Is(errs[1], boom) || errs[2] == nil || errs[3] != nil {
		e.t.Fatalf("errors = %v, want [nil boom error nil]", errs)
	}
	var got []string
	cs, err := e.s.ListContacts(e.ctx, store.ContactFilter{Tenant: "t1"})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		got = append(got, c.ExternalID)
	}
	if !slices.Equal(got, []string{"a", "c"}) {
		e.t.Errorf("contacts = %v, want [a c]", got)
	}
}
