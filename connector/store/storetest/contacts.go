package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// txContact reads a contact through Tx.GetContact.
func (e env) txContact(id int64) store.Contact {
	e.t.Helper()
	var c store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		c, err = tx.LockContact(e.ctx, id)
		return err
	})
	return normContact(c)
}

// storeContact reads a contact through Store.GetContact.
func (e env) storeContact(id int64) store.Contact {
	e.t.Helper()
	c, err := e.s.GetContact(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Store.GetContact(%d): %v", id, err)
	}
	return c
}

// setBlock sets a contact's block and fails the test on error.
func (e env) setBlock(id int64, b store.Block, when time.Time) {
	e.t.Helper()
	e.tx(func(tx store.Tx) error { return tx.SetContactBlock(e.ctx, id, b, when) })
}

// setTags sets a contact's tags and fails the test on error.
func (e env) setTags(id int64, tags ...string) {
	e.t.Helper()
	e.tx(func(tx store.Tx) error { return tx.SetTags(e.ctx, id, tags) })
}

func contactIDs(cs []store.Contact) []int64 {
	ids := []int64{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func testContactBlockInfo(e env) {
	c := e.contact("t1", "wa", "u1")
	other := e.contact("t1", "wa", "u2")
	want := normContact(c)

	// Blocking records the note, who and when, and moves UpdatedAt.
	e.setBlock(c.ID, store.Block{Inbound: true, Outbound: true, Note: "spam", By: "alice"}, at(time.Minute))
	want.BlockedInbound, want.BlockedOutbound = true, true
	want.Block = store.BlockInfo{Note: "spam", By: "alice", At: at(time.Minute)}
	want.UpdatedAt = at(time.Minute)
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("Tx.GetContact after blocking = %+v, want %+v", got, want)
	}
	// UpsertContact reads the same columns.
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("UpsertContact after blocking = %+v, want %+v", got, want)
	}

	// The same block again (a retry) changes nothing, not even the times.
	e.setBlock(c.ID, store.Block{Inbound: true, Outbound: true, Note: "spam", By: "alice"}, at(2*time.Minute))
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after the same block again = %+v, want it unchanged %+v", got, want)
	}

	// A direction lifted is a change: the new note, who and time.
	e.setBlock(c.ID, store.Block{Outbound: true, Note: "opt-out keyword STOP", By: "opt-out"}, at(3*time.Minute))
	want.BlockedInbound = false
	want.Block = store.BlockInfo{Note: "opt-out keyword STOP", By: "opt-out", At: at(3 * time.Minute)}
	want.UpdatedAt = at(3 * time.Minute)
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after blocking outbound only = %+v, want %+v", got, want)
	}

	// The same directions with another note are a change too.
	e.setBlock(c.ID, store.Block{Outbound: true, Note: "asked by phone", By: "bob"}, at(4*time.Minute))
	want.Block = store.BlockInfo{Note: "asked by phone", By: "bob", At: at(4 * time.Minute)}
	want.UpdatedAt = at(4 * time.Minute)
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after changing the note = %+v, want %+v", got, want)
	}

	// Both directions lifted clear the note, who and when, whatever is given.
	e.setBlock(c.ID, store.Block{Note: "ignored", By: "carol"}, at(5*time.Minute))
	want.BlockedOutbound = false
	want.Block = store.BlockInfo{}
	want.UpdatedAt = at(5 * time.Minute)
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after lifting the block = %+v, want %+v", got, want)
	}
	// Unblocking an unblocked contact changes nothing.
	e.setBlock(c.ID, store.Block{}, at(6*time.Minute))
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after unblocking again = %+v, want it unchanged %+v", got, want)
	}

	if got, w := e.txContact(other.ID), normContact(other); !sameContact(got, w) {
		e.t.Errorf("other contact = %+v, want it unchanged %+v", got, w)
	}
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		return tx.SetContactBlock(e.ctx, c.ID, store.Block{Inbound: true}, time.Time{})
	})
	if err == nil {
		e.t.Errorf("SetContactBlock with no time: no error")
	}
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after a refused block = %+v, want it unchanged %+v", got, want)
	}
}

func testNativeBlock(e env) {
	c := e.contact("t1", "wa", "u1")
	other := e.contact("t1", "wa", "u2")
	want := normContact(c)
	if want.Native != (store.NativeBlock{}) {
		e.t.Fatalf("new contact's native block = %+v, want none", c.Native)
	}
	nb := store.NativeBlock{
		Want: "block", Status: store.NativePending, Error: "timeout", Attempts: 2,
		NextAttemptAt: at(time.Hour), UpdatedAt: at(time.Minute),
	}
	e.tx(func(tx store.Tx) error { return tx.SetNativeBlock(e.ctx, c.ID, nb) })
	want.Native = nb
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("Tx.GetContact after SetNativeBlock = %+v, want %+v", got, want)
	}
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("UpsertContact after SetNativeBlock = %+v, want %+v", got, want)
	}
	if got := normContact(e.storeContact(c.ID)); !sameContact(got, want) {
		e.t.Errorf("Store.GetContact after SetNativeBlock = %+v, want %+v", got, want)
	}

	// Every field is replaced, zero times included.
	nb = store.NativeBlock{Want: "block", Status: store.NativeApplied, Attempts: 3, UpdatedAt: at(2 * time.Minute)}
	e.tx(func(tx store.Tx) error { return tx.SetNativeBlock(e.ctx, c.ID, nb) })
	want.Native = nb
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after the native block applied = %+v, want %+v", got, want)
	}

	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		return tx.SetNativeBlock(e.ctx, c.ID+1000, nb)
	})
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("SetNativeBlock of an unknown contact: %v, want ErrNotFound", err)
	}
	for _, bad := range []store.NativeBlock{
		{Want: "block", Status: "done"},
		{Want: "ban", Status: store.NativePending},
	} {
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.SetNativeBlock(e.ctx, c.ID, bad) })
		if err == nil || errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("SetNativeBlock(%+v): %v, want an error", bad, err)
		}
	}
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after refused native blocks = %+v, want it unchanged %+v", got, want)
	}
	if got, w := e.txContact(other.ID), normContact(other); !sameContact(got, w) {
		e.t.Errorf("other contact = %+v, want it unchanged %+v", got, w)
	}
}

func testDueNativeBlocks(e env) {
	native := func(ext string, nb store.NativeBlock) store.Contact {
		c := e.contact("t1", "wa", ext)
		e.tx(func(tx store.Tx) error { return tx.SetNativeBlock(e.ctx, c.ID, nb) })
		return c
	}
	now := at(time.Hour)
	later := native("later", store.NativeBlock{Want: "block", Status: store.NativePending, NextAttemptAt: now.Add(time.Microsecond)})
	dueNow := native("now", store.NativeBlock{Want: "block", Status: store.NativePending, NextAttemptAt: now, Attempts: 1})
	dueOld := native("old", store.NativeBlock{Want: "unblock", Status: store.NativePending, NextAttemptAt: at(time.Minute)})
	dueZero := native("zero", store.NativeBlock{Want: "block", Status: store.NativePending})
	native("applied", store.NativeBlock{Want: "block", Status: store.NativeApplied, NextAttemptAt: at(time.Minute)})
	native("failed", store.NativeBlock{Want: "block", Status: store.NativeFailed, NextAttemptAt: at(time.Minute)})
	e.contact("t2", "wa", "none")

	due := func(now time.Time, limit int) []int64 {
		e.t.Helper()
		cs, err := e.s.DueNativeBlocks(e.ctx, now, limit)
		if err != nil {
			e.t.Fatalf("DueNativeBlocks: %v", err)
		}
		return contactIDs(cs)
	}
	if got, want := due(now, 0), []int64{dueZero.ID, dueOld.ID, dueNow.ID}; !slices.Equal(got, want) {
		e.t.Errorf("DueNativeBlocks = %v, want %v (zero, oldest, now; not later, applied or failed)", got, want)
	}
	if got, want := due(now, 2), []int64{dueZero.ID, dueOld.ID}; !slices.Equal(got, want) {
		e.t.Errorf("DueNativeBlocks with limit 2 = %v, want %v", got, want)
	}
	if got, want := due(now.Add(time.Microsecond), 0), []int64{dueZero.ID, dueOld.ID, dueNow.ID, later.ID}; !slices.Equal(got, want) {
		e.t.Errorf("DueNativeBlocks a microsecond later = %v, want %v", got, want)
	}
	cs, err := e.s.DueNativeBlocks(e.ctx, now, 0)
	if err != nil || len(cs) != 3 {
		e.t.Fatalf("DueNativeBlocks = %v, %v", cs, err)
	}
	want := normContact(dueNow)
	want.Native = store.NativeBlock{Want: "block", Status: store.NativePending, NextAttemptAt: now, Attempts: 1}
	if got := normContact(cs[2]); !sameContact(got, want) {
		e.t.Errorf("due contact = %+v, want %+v", got, want)
	}
}

func testGetContact(e env) {
	c := e.contact("t1", "wa", "u1")
	e.setTags(c.ID, "vip")
	var inTx store.Contact
	e.tx(func(tx store.Tx) error {
		if err := tx.SetContactBlock(e.ctx, c.ID, store.Block{Inbound: true, Note: "n", By: "b"}, at(time.Minute)); err != nil {
			return err
		}
		var err error
		inTx, err = tx.LockContact(e.ctx, c.ID)
		return err
	})
	if inTx.Tags != nil {
		e.t.Errorf("Tx.GetContact tags = %q, want nil (a Tx's contact has no tags)", inTx.Tags)
	}
	if !inTx.BlockedInbound || inTx.Block.Note != "n" {
		e.t.Errorf("Tx.GetContact in the transaction that blocked = %+v, want the block seen", inTx)
	}
	got := e.storeContact(c.ID)
	want := normContact(inTx)
	want.Tags = []string{"vip"}
	if !sameContact(normContact(got), want) {
		e.t.Errorf("Store.GetContact = %+v, want %+v", got, want)
	}

	bare := e.contact("t1", "wa", "u2")
	if got := e.storeContact(bare.ID); got.Tags == nil || len(got.Tags) != 0 {
		e.t.Errorf("Store.GetContact of a contact with no tags: tags %#v, want empty and not nil", got.Tags)
	}
	if _, err := e.s.GetContact(e.ctx, c.ID+1000); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("Store.GetContact of an unknown id: %v, want ErrNotFound", err)
	}
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		_, err := tx.LockContact(e.ctx, c.ID+1000)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("Tx.GetContact of an unknown id: %v, want ErrNotFound", err)
	}
}

func testSetTags(e env) {
	c := e.contact("t1", "wa", "u1")
	other := e.contact("t1", "wa", "u2")
	e.setTags(other.ID, "other")
	tags := func(id int64) []string {
		e.t.Helper()
		return e.storeContact(id).Tags
	}

	e.setTags(c.ID, "vip", "b2b", "vip", "Lead")
	if got, want := tags(c.ID), []string{"Lead", "b2b", "vip"}; !slices.Equal(got, want) {
		e.t.Errorf("tags = %q, want %q (deduplicated, sorted)", got, want)
	}
	// SetTags replaces, it does not add.
	e.setTags(c.ID, "churned", "b2b")
	if got, want := tags(c.ID), []string{"b2b", "churned"}; !slices.Equal(got, want) {
		e.t.Errorf("tags after a replace = %q, want %q", got, want)
	}
	// An empty tag is refused, and nothing changes.
	for _, bad := range [][]string{{"ok", ""}, {" "}} {
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.SetTags(e.ctx, c.ID, bad) })
		if err == nil || errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("SetTags(%q): %v, want an error", bad, err)
		}
	}
	if got, want := tags(c.ID), []string{"b2b", "churned"}; !slices.Equal(got, want) {
		e.t.Errorf("tags after refused tags = %q, want %q", got, want)
	}
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.SetTags(e.ctx, c.ID+1000, []string{"x"}) })
	if !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("SetTags of an unknown contact: %v, want ErrNotFound", err)
	}
	// No tags clears them.
	e.setTags(c.ID)
	if got := tags(c.ID); len(got) != 0 {
		e.t.Errorf("tags after clearing = %q, want none", got)
	}
	if got, want := tags(other.ID), []string{"other"}; !slices.Equal(got, want) {
		e.t.Errorf("other contact's tags = %q, want %q", got, want)
	}
}

func testNotes(e env) {
	c := e.contact("t1", "wa", "u1")
	other := e.contact("t1", "wa", "u2")
	add := func(n store.Note) (store.Note, error) {
		var out store.Note
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			out, err = tx.AddNote(e.ctx, n)
			return err
		})
		return out, err
	}
	notes := func(id int64) []store.Note {
		e.t.Helper()
		ns, err := e.s.Notes(e.ctx, id)
		if err != nil {
			e.t.Fatalf("Notes(%d): %v", id, err)
		}
		for i := range ns {
			ns[i].CreatedAt, ns[i].EditedAt = utc(ns[i].CreatedAt), utc(ns[i].EditedAt)
		}
		return ns
	}

	if got := notes(c.ID); got == nil || len(got) != 0 {
		e.t.Errorf("notes of a new contact = %#v, want empty", got)
	}
	first, err := add(store.Note{ContactID: c.ID, Text: "called, no answer", Author: "alice", CreatedAt: at(time.Minute)})
	if err != nil {
		e.t.Fatalf("AddNote: %v", err)
	}
	second, err := add(store.Note{ContactID: c.ID, Text: "prefers email", Author: "bob", CreatedAt: at(2 * time.Minute)})
	if err != nil {
		e.t.Fatalf("AddNote: %v", err)
	}
	theirs, err := add(store.Note{ContactID: other.ID, Text: "other", Author: "bob", CreatedAt: at(time.Minute)})
	if err != nil {
		e.t.Fatalf("AddNote: %v", err)
	}
	want := []store.Note{
		{ID: first.ID, ContactID: c.ID, Text: "called, no answer", Author: "alice", CreatedAt: at(time.Minute)},
		{ID: second.ID, ContactID: c.ID, Text: "prefers email", Author: "bob", CreatedAt: at(2 * time.Minute)},
	}
	if first.ID <= 0 || second.ID <= first.ID {
		e.t.Errorf("note ids %d, %d: want positive and growing", first.ID, second.ID)
	}
	first.CreatedAt = utc(first.CreatedAt)
	if first != want[0] {
		e.t.Errorf("AddNote returned %+v, want %+v", first, want[0])
	}
	if got := notes(c.ID); !slices.Equal(got, want) {
		e.t.Errorf("Notes = %+v, want %+v", got, want)
	}

	if _, err := add(store.Note{ContactID: c.ID + 1000, Text: "x", CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("AddNote to an unknown contact: %v, want ErrNotFound", err)
	}
	if _, err := add(store.Note{ContactID: c.ID, Text: "", CreatedAt: t0}); err == nil {
		e.t.Errorf("AddNote with no text: no error")
	}

	del := func(contactID, noteID int64) error {
		return e.s.WithTx(e.ctx, func(tx store.Tx) error { return tx.DeleteNote(e.ctx, contactID, noteID) })
	}
	// Another contact's note is not this contact's.
	if err := del(c.ID, theirs.ID); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("DeleteNote of another contact's note: %v, want ErrNotFound", err)
	}
	if err := del(c.ID, first.ID); err != nil {
		e.t.Fatalf("DeleteNote: %v", err)
	}
	if err := del(c.ID, first.ID); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("DeleteNote twice: %v, want ErrNotFound", err)
	}
	if got := notes(c.ID); !slices.Equal(got, want[1:]) {
		e.t.Errorf("Notes after a delete = %+v, want %+v", got, want[1:])
	}
	if got := notes(other.ID); len(got) != 1 || got[0].ID != theirs.ID {
		e.t.Errorf("other contact's notes = %+v, want [%d]", got, theirs.ID)
	}

	// An edit replaces the text and says who and when; the author and
	// creation time stay.
	editNote := func(contactID, noteID int64, text string, when time.Time) (store.Note, error) {
		var out store.Note
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			out, err = tx.EditNote(e.ctx, contactID, noteID, text, "carol", when)
			return err
		})
		return out, err
	}
	edited, err := editNote(c.ID, second.ID, "prefers email, not calls", at(3*time.Minute))
	if err != nil {
		e.t.Fatalf("EditNote: %v", err)
	}
	wantEdited := store.Note{ID: second.ID, ContactID: c.ID, Text: "prefers email, not calls", Author: "bob",
		CreatedAt: at(2 * time.Minute), EditedBy: "carol", EditedAt: at(3 * time.Minute)}
	edited.CreatedAt, edited.EditedAt = utc(edited.CreatedAt), utc(edited.EditedAt)
	if edited != wantEdited {
		e.t.Errorf("EditNote returned %+v, want %+v", edited, wantEdited)
	}
	if got := notes(c.ID); !slices.Equal(got, []store.Note{wantEdited}) {
		e.t.Errorf("Notes after an edit = %+v, want %+v", got, wantEdited)
	}
	for _, tc := range []struct {
		name          string
		contact, note int64
		text          string
		when          time.Time
		wantNotFound  bool
	}{
		{"another contact's note", c.ID, theirs.ID, "mine now", at(4 * time.Minute), true},
		{"a deleted note", c.ID, first.ID, "back", at(4 * time.Minute), true},
		{"no text", c.ID, second.ID, "", at(4 * time.Minute), false},
		{"no time", c.ID, second.ID, "x", time.Time{}, false},
	} {
		_, err := editNote(tc.contact, tc.note, tc.text, tc.when)
		if err == nil || errors.Is(err, store.ErrNotFound) != tc.wantNotFound {
			e.t.Errorf("EditNote of %s: %v, want an error (not found: %v)", tc.name, err, tc.wantNotFound)
		}
	}
	if got := notes(c.ID); !slices.Equal(got, []store.Note{wantEdited}) {
		e.t.Errorf("Notes after refused edits = %+v, want %+v", got, wantEdited)
	}
	if got := notes(other.ID); len(got) != 1 || got[0].Text != "other" || got[0].EditedBy != "" {
		e.t.Errorf("other contact's notes after refused edits = %+v", got)
	}
}

func testListContacts(e env) {
	// t1/wa: plain, inbound-blocked, outbound-blocked, both; t1/tg: one; t2: one.
	plain := e.contact("t1", "wa", "plain")
	in := e.contact("t1", "wa", "in")
	out := e.contact("t1", "wa", "out")
	both := e.contact("t1", "wa", "both")
	tg := e.contact("t1", "tg", "tg")
	foreign := e.contact("t2", "wa", "foreign")
	var named store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		named, err = tx.UpsertContact(e.ctx, store.ContactKey{Tenant: "t1", Channel: "web", ExternalID: "v-1"}, "Ann Smith", t0)
		return err
	})
	e.setBlock(in.ID, store.Block{Inbound: true}, at(time.Minute))
	e.setBlock(out.ID, store.Block{Outbound: true}, at(time.Minute))
	e.setBlock(both.ID, store.Block{Inbound: true, Outbound: true, Note: "spam", By: "alice"}, at(time.Minute))
	e.setBlock(foreign.ID, store.Block{Inbound: true}, at(time.Minute))
	e.setTags(plain.ID, "vip", "b2b")
	e.setTags(out.ID, "vip")
	e.setTags(tg.ID, "vip")
	e.setTags(foreign.ID, "vip")
	e.setTags(both.ID, "vipx")

	list := func(f store.ContactFilter) []store.Contact {
		e.t.Helper()
		cs, err := e.s.ListContacts(e.ctx, f)
		if err != nil {
			e.t.Fatalf("ListContacts(%+v): %v", f, err)
		}
		return cs
	}
	yes, no := true, false
	for _, tc := range []struct {
		f    store.ContactFilter
		want []int64
	}{
		{store.ContactFilter{Tenant: "t1"}, []int64{plain.ID, in.ID, out.ID, both.ID, tg.ID, named.ID}},
		{store.ContactFilter{Tenant: "t2"}, []int64{foreign.ID}},
		{store.ContactFilter{Tenant: "t3"}, []int64{}},
		{store.ContactFilter{Tenant: "t1", Channel: "tg"}, []int64{tg.ID}},
		{store.ContactFilter{Tenant: "t1", Blocked: &yes}, []int64{in.ID, out.ID, both.ID}},
		{store.ContactFilter{Tenant: "t1", Blocked: &no}, []int64{plain.ID, tg.ID, named.ID}},
		{store.ContactFilter{Tenant: "t1", Tag: "vip"}, []int64{plain.ID, out.ID, tg.ID}},
		{store.ContactFilter{Tenant: "t1", Tag: "vip", Blocked: &yes}, []int64{out.ID}},
		{store.ContactFilter{Tenant: "t1", Tag: "vip", Channel: "wa", Blocked: &no}, []int64{plain.ID}},
		{store.ContactFilter{Tenant: "t1", Tag: "nobody"}, []int64{}},
		{store.ContactFilter{Tenant: "t1", Search: "OU"}, []int64{out.ID}},
		{store.ContactFilter{Tenant: "t1", Search: "Ann"}, []int64{named.ID}},
		{store.ContactFilter{Tenant: "t1", Search: "b", Blocked: &yes}, []int64{both.ID}},
		{store.ContactFilter{Tenant: "t1", Search: "%"}, []int64{}},
		{store.ContactFilter{Tenant: "t1", AfterID: in.ID, Limit: 2}, []int64{out.ID, both.ID}},
		{store.ContactFilter{Tenant: "t1", AfterID: both.ID, Limit: 2}, []int64{tg.ID, named.ID}},
		{store.ContactFilter{Tenant: "t1", AfterID: named.ID}, []int64{}},
	} {
		if got := contactIDs(list(tc.f)); !slices.Equal(got, tc.want) {
			e.t.Errorf("ListContacts(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}

	// The contacts come whole, with their tags sorted.
	cs := list(store.ContactFilter{Tenant: "t1", Channel: "wa"})
	if len(cs) != 4 {
		e.t.Fatalf("ListContacts = %v, want 4 contacts", contactIDs(cs))
	}
	for _, c := range cs {
		if want := normContact(e.storeContact(c.ID)); !sameContact(normContact(c), want) {
			e.t.Errorf("listed contact = %+v, want %+v", c, want)
		}
	}
	if got, want := cs[0].Tags, []string{"b2b", "vip"}; !slices.Equal(got, want) {
		e.t.Errorf("listed tags = %q, want %q", got, want)
	}
	if cs[1].Tags == nil || len(cs[1].Tags) != 0 {
		e.t.Errorf("listed contact with no tags: %#v, want empty and not nil", cs[1].Tags)
	}
	if b := cs[3].Block; b.Note != "spam" || b.By != "alice" || !utc(b.At).Equal(at(time.Minute)) {
		e.t.Errorf("listed block = %+v, want spam by alice at %v", b, at(time.Minute))
	}

	if _, err := e.s.ListContacts(e.ctx, store.ContactFilter{}); err == nil {
		e.t.Errorf("ListContacts with no tenant: no error")
	}
}

func testListContactsLimits(e env) {
	var ids []int64
	e.tx(func(tx store.Tx) error {
		for i := range 1001 {
			c, err := tx.UpsertContact(e.ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: fmt.Sprintf("u%04d", i)}, "", t0)
			if err != nil {
				return err
			}
			ids = append(ids, c.ID)
		}
		return nil
	})
	for _, tc := range []struct {
		limit, want int
	}{{0, 100}, {-1, 100}, {5, 5}, {1000, 1000}, {5000, 1000}} {
		cs, err := e.s.ListContacts(e.ctx, store.ContactFilter{Tenant: "t1", Limit: tc.limit})
		if err != nil {
			e.t.Fatalf("ListContacts: %v", err)
		}
		if got := contactIDs(cs); !slices.Equal(got, ids[:tc.want]) {
			e.t.Errorf("ListContacts with limit %d returned %d contacts, want the first %d", tc.limit, len(got), tc.want)
		}
	}
}

// optOut records or lifts a contact's opt-out and returns whether it
// changed the contact; it fails the test on error.
func (e env) optOut(id int64, o store.OptOut, now time.Time) bool {
	e.t.Helper()
	var changed bool
	e.tx(func(tx store.Tx) error {
		var err error
		changed, err = tx.SetContactOptOut(e.ctx, id, o, now)
		return err
	})
	return changed
}

func testContactOptOut(e env) {
	c := e.contact("t9", "wa", "u1")
	other := e.contact("t9", "wa", "u2")
	e.setBlock(c.ID, store.Block{Inbound: true, Note: "spam", By: "alice"}, at(time.Minute))
	blocked := e.txContact(c.ID)

	// An opt-out is recorded apart from the block, which stays whole.
	if !e.optOut(c.ID, store.OptOut{Keyword: "STOP", At: at(2 * time.Minute)}, at(2*time.Minute)) {
		e.t.Errorf("first opt-out: not reported as a change")
	}
	want := blocked
	want.OptOut = store.OptOut{Keyword: "STOP", At: at(2 * time.Minute)}
	want.UpdatedAt = at(2 * time.Minute)
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after the opt-out, Tx contact = %+v, want %+v", got, want)
	}
	if got := normContact(e.storeContact(c.ID)); got.OptOut != want.OptOut || got.Block != want.Block || !got.BlockedInbound {
		e.t.Errorf("after the opt-out, Store contact = %+v, want opt-out %+v and block %+v", got, want.OptOut, want.Block)
	}

	// A second opt-out keeps the first, and changes nothing.
	if e.optOut(c.ID, store.OptOut{Keyword: "UNSUBSCRIBE", At: at(3 * time.Minute)}, at(3*time.Minute)) {
		e.t.Errorf("opt-out over one in force: reported as a change")
	}
	if got := e.txContact(c.ID); !sameContact(got, want) {
		e.t.Errorf("after a second opt-out, contact = %+v, want %+v", got, want)
	}

	// Lifting the block leaves the opt-out; lifting the opt-out leaves a block.
	e.setBlock(c.ID, store.Block{}, at(4*time.Minute))
	if got := e.txContact(c.ID); got.OptOut != want.OptOut || got.BlockedInbound {
		e.t.Errorf("after the unblock, contact = %+v, want opt-out %+v and no block", got, want.OptOut)
	}
	e.setBlock(c.ID, store.Block{Outbound: true, Note: "rude", By: "bob"}, at(5*time.Minute))
	if !e.optOut(c.ID, store.OptOut{}, at(6*time.Minute)) {
		e.t.Errorf("lifting the opt-out: not reported as a change")
	}
	got := e.txContact(c.ID)
	if got.OptedOut() || got.OptOut != (store.OptOut{}) || !got.BlockedOutbound || got.Block.Note != "rude" || !got.UpdatedAt.Equal(at(6*time.Minute)) {
		e.t.Errorf("after lifting the opt-out, contact = %+v, want no opt-out, the outbound block kept, updated at %v", got, at(6*time.Minute))
	}
	if e.optOut(c.ID, store.OptOut{}, at(7*time.Minute)) {
		e.t.Errorf("lifting no opt-out: reported as a change")
	}

	// Listed as blocked while opted out, whatever its block.
	e.setBlock(c.ID, store.Block{}, at(8*time.Minute))
	e.optOut(other.ID, store.OptOut{Keyword: "stop", At: at(8 * time.Minute)}, at(8*time.Minute))
	yes, no := true, false
	for _, tc := range []struct {
		blocked *bool
		want    []int64
	}{{&yes, []int64{other.ID}}, {&no, []int64{c.ID}}} {
		cs, err := e.s.ListContacts(e.ctx, store.ContactFilter{Tenant: "t9", Blocked: tc.blocked})
		if err != nil {
			e.t.Fatal(err)
		}
		if ids := contactIDs(cs); !slices.Equal(ids, tc.want) {
			e.t.Errorf("ListContacts(blocked %v) = %v, want %v", *tc.blocked, ids, tc.want)
		}
	}

	// Errors change nothing.
	e.tx(func(tx store.Tx) error {
		if _, err := tx.SetContactOptOut(e.ctx, c.ID, store.OptOut{Keyword: "STOP"}, at(9*time.Minute)); err == nil {
			e.t.Errorf("opt-out without a time: no error")
		}
		if _, err := tx.SetContactOptOut(e.ctx, 1<<40, store.OptOut{Keyword: "STOP", At: t0}, t0); !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("opt-out of an unknown contact: %v, want ErrNotFound", err)
		}
		return nil
	})
	if got := e.txContact(c.ID); got.OptedOut() {
		e.t.Errorf("after the errors, contact opted out: %+v", got.OptOut)
	}
}
