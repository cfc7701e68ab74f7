package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// testMedia: a message's media item is recorded once (a second insert
// returns the first), with its message's joined fields; an incomplete
// one is refused; claims take due pending items and fetched ones whose
// message is pushed, holding them until their lease passes; UpdateMedia
// writes every field and refuses an unknown item or status; bytes kept in
// the store round-trip and go when the item leaves the store's location;
// failed items replay to pending or fetched; deleting the conversation
// deletes its items and their bytes.
func testMedia(e env) {
	c := e.conversation("acme", "wa", "31600000001", statemachine.Open, at(0))
	m1 := e.message(c, "wamid.1", store.Pending, at(time.Second))
	m2 := e.message(c, "wamid.2", store.Excluded, at(2*time.Second))
	other := e.conversation("globex", "wa", "31600000002", statemachine.Open, at(0))
	m3 := e.message(other, "wamid.3", store.Pending, at(3*time.Second))

	insert := func(m store.MediaItem) store.MediaItem {
		e.t.Helper()
		var got store.MediaItem
		e.tx(func(tx store.Tx) error {
			var err error
			got, err = tx.InsertMedia(e.ctx, m)
			return err
		})
		return got
	}
	item := func(msg store.Message, status store.MediaStatus, reason string, created time.Time) store.MediaItem {
		return store.MediaItem{MessageID: msg.ID, ConversationID: msg.ConversationID, Tenant: msg.Tenant, Channel: msg.Channel,
			Ref: "media-of-" + msg.PlatformID, Status: status, Reason: reason, CreatedAt: created}
	}
	a := insert(item(m1, store.MediaPending, "", at(time.Second)))
	if a.ID == 0 || a.Status != store.MediaPending || a.Ref != "media-of-wamid.1" || a.MessageID != m1.ID ||
		a.ConversationID != c.ID || !a.NextAttemptAt.Equal(at(time.Second)) || !a.CreatedAt.Equal(at(time.Second)) ||
		a.MessagePlatformID != "wamid.1" || a.MessagePushStatus != store.Pending || a.MessageSalesforceID != "" {
		e.t.Fatalf("InsertMedia = %+v", a)
	}
	if again := insert(item(m1, store.MediaSkipped, "again", at(time.Hour))); again.ID != a.ID || again.Status != store.MediaPending {
		e.t.Fatalf("a second item of message %d = %+v, want the first %+v", m1.ID, again, a)
	}
	b := insert(item(m2, store.MediaSkipped, "the message is excluded", at(2*time.Second)))
	g := insert(item(m3, store.MediaPending, "", at(3*time.Second)))
	for _, bad := range []store.MediaItem{
		{MessageID: m2.ID, Tenant: "acme", Channel: "wa", Status: store.MediaPending, CreatedAt: t0},           // no ref
		{MessageID: m2.ID, Tenant: "acme", Channel: "wa", Ref: "x", Status: store.MediaFetched, CreatedAt: t0}, // not new
		{MessageID: m2.ID, Tenant: "acme", Channel: "wa", Ref: "x", Status: store.MediaPending},                // no time
	} {
		if err := e.s.WithTx(e.ctx, func(tx store.Tx) error { _, err := tx.InsertMedia(e.ctx, bad); return err }); err == nil {
			e.t.Errorf("InsertMedia(%+v) succeeded", bad)
		}
	}

	list := func(f store.MediaFilter) []int64 {
		e.t.Helper()
		ms, err := e.s.ListMedia(e.ctx, f)
		if err != nil {
			e.t.Fatalf("ListMedia(%+v): %v", f, err)
		}
		ids := []int64{}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		f    store.MediaFilter
		want []int64
	}{
		{store.MediaFilter{}, []int64{a.ID, b.ID, g.ID}},
		{store.MediaFilter{Tenant: "acme"}, []int64{a.ID, b.ID}},
		{store.MediaFilter{Tenant: "acme", Status: store.MediaSkipped}, []int64{b.ID}},
		{store.MediaFilter{ConversationID: other.ID}, []int64{g.ID}},
		{store.MediaFilter{MessageID: m1.ID}, []int64{a.ID}},
		{store.MediaFilter{AfterID: a.ID, Limit: 1}, []int64{b.ID}},
		{store.MediaFilter{Channel: "wa", RefPrefix: "media-of-wamid."}, []int64{a.ID, b.ID, g.ID}},
		{store.MediaFilter{Tenant: "acme", Channel: "wa", RefPrefix: "media-of-wamid.2"}, []int64{b.ID}},
		{store.MediaFilter{Channel: "tg"}, []int64{}},
		{store.MediaFilter{RefPrefix: "media-of-wamid.9"}, []int64{}},
	} {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			e.t.Errorf("ListMedia(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}

	claim := func(now, until time.Time) []int64 {
		e.t.Helper()
		ms, err := e.s.ClaimMedia(e.ctx, "w1", now, until, 10)
		if err != nil {
			e.t.Fatalf("ClaimMedia: %v", err)
		}
		ids := []int64{}
		for _, m := range ms {
			ids = append(ids, m.ID)
			if !m.NextAttemptAt.Equal(until) {
				e.t.Errorf("claimed item %d is held until %v, want %v", m.ID, m.NextAttemptAt, until)
			}
		}
		return ids
	}
	if got := claim(at(2*time.Second), at(time.Minute)); !slices.Equal(got, []int64{a.ID}) {
		e.t.Fatalf("claim at 2s = %v, want [%d] (the other is not due, the skipped one never)", got, a.ID)
	}
	if got := claim(at(10*time.Second), at(time.Minute)); !slices.Equal(got, []int64{g.ID}) {
		e.t.Fatalf("claim at 10s = %v, want [%d] (%d is held until 1m)", got, g.ID, a.ID)
	}

	// Fetched: waits for the message's push, then is claimed to upload.
	data := bytes.Repeat([]byte{0, 0xff, 'j'}, 1000)
	if err := e.s.PutMediaData(e.ctx, a.ID, data); err != nil {
		e.t.Fatalf("PutMediaData: %v", err)
	}
	fetched := a
	fetched.Status, fetched.Size, fetched.SHA256, fetched.ContentType, fetched.FileName = store.MediaFetched, 3000, "ab12", "image/jpeg", "photo.jpg"
	fetched.Location, fetched.Attempts, fetched.NextAttemptAt = store.MediaInStore, 2, at(5*time.Second)
	if err := e.s.UpdateMedia(e.ctx, fetched, at(4*time.Second)); err != nil {
		e.t.Fatalf("UpdateMedia: %v", err)
	}
	got, err := e.s.GetMedia(e.ctx, a.ID)
	if err != nil {
		e.t.Fatalf("GetMedia: %v", err)
	}
	if got.Status != store.MediaFetched || got.Size != 3000 || got.SHA256 != "ab12" || got.ContentType != "image/jpeg" ||
		got.FileName != "photo.jpg" || got.Location != store.MediaInStore || got.Attempts != 2 ||
		!got.NextAttemptAt.Equal(at(5*time.Second)) || !got.UpdatedAt.Equal(at(4*time.Second)) || !got.CreatedAt.Equal(a.CreatedAt) {
		e.t.Fatalf("after UpdateMedia: %+v", got)
	}
	if back, err := e.s.MediaData(e.ctx, a.ID); err != nil || !bytes.Equal(back, data) {
		e.t.Fatalf("MediaData = %d bytes, %v; want the %d bytes put", len(back), err, len(data))
	}
	if got := claim(at(time.Minute), at(2*time.Minute)); !slices.Equal(got, []int64{g.ID}) {
		e.t.Fatalf("claim with the message not pushed = %v, want only [%d] again (its lease passed)", got, g.ID)
	}
	p := params("w", at(time.Minute))
	p.SkipTenants = []string{"globex"}
	w := e.claimOne(p, c.ID)
	var outs []store.Outcome
	for _, m := range w.Messages {
		outs = append(outs, store.Outcome{MessageID: m.ID, Status: store.Pushed, SalesforceID: "a0X000000000001"})
	}
	e.settle(w.Lease, store.Settlement{Now: at(time.Minute), Outcomes: outs, SyncedVersion: c.Version})
	ms, err := e.s.ClaimMedia(e.ctx, "w1", at(time.Minute), at(2*time.Minute), 10)
	if err != nil || len(ms) != 1 || ms[0].ID != a.ID || ms[0].MessageSalesforceID != "a0X000000000001" ||
		ms[0].MessagePushStatus != store.Pushed || ms[0].Status != store.MediaFetched {
		e.t.Fatalf("claim with the message pushed = %+v, %v", ms, err)
	}

	// Failed, with the bytes kept: replayed to be uploaded again.
	failed := ms[0]
	failed.Status, failed.Reason, failed.NextAttemptAt = store.MediaFailed, "salesforce: STORAGE_LIMIT_EXCEEDED", time.Time{}
	if err := e.s.UpdateMedia(e.ctx, failed, at(61*time.Second)); err != nil {
		e.t.Fatalf("UpdateMedia failed: %v", err)
	}
	gFailed, _ := e.s.GetMedia(e.ctx, g.ID)
	gFailed.Status, gFailed.Reason = store.MediaFailed, "media larger than the limit"
	if err := e.s.UpdateMedia(e.ctx, gFailed, at(61*time.Second)); err != nil {
		e.t.Fatalf("UpdateMedia: %v", err)
	}
	if got := list(store.MediaFilter{Status: store.MediaFailed}); !slices.Equal(got, []int64{a.ID, g.ID}) {
		e.t.Errorf("failed items = %v", got)
	}
	// globex's item named for acme: nothing replayed.
	if ids, err := e.s.ReplayMedia(e.ctx, "acme", []int64{a.ID, b.ID, g.ID}, at(2*time.Minute)); !errors.Is(err, store.ErrNotFound) ||
		len(ids) != 0 || !strings.Contains(err.Error(), fmt.Sprintf("tenant acme has no media item %d: nothing replayed", g.ID)) {
		e.t.Fatalf("ReplayMedia(acme) of globex's %d = %v, %v; want ErrNotFound naming it", g.ID, ids, err)
	}
	if ra, _ := e.s.GetMedia(e.ctx, a.ID); ra.Status != store.MediaFailed {
		e.t.Fatalf("a refused replay replayed %d: %+v", a.ID, ra)
	}
	if ids, err := e.s.ReplayMedia(e.ctx, "acme", []int64{a.ID, b.ID}, at(2*time.Minute)); err != nil || !slices.Equal(ids, []int64{a.ID}) {
		e.t.Fatalf("ReplayMedia(acme) = %v, %v; want [%d] (%d is skipped)", ids, err, a.ID, b.ID)
	}
	if ids, err := e.s.ReplayMedia(e.ctx, "globex", nil, at(2*time.Minute)); err != nil || !slices.Equal(ids, []int64{g.ID}) {
		e.t.Fatalf("ReplayMedia(globex, all) = %v, %v", ids, err)
	}
	if _, err := e.s.ReplayMedia(e.ctx, "", nil, at(2*time.Minute)); err == nil {
		e.t.Error("ReplayMedia without a tenant succeeded")
	}
	ra, _ := e.s.GetMedia(e.ctx, a.ID)
	rg, _ := e.s.GetMedia(e.ctx, g.ID)
	if ra.Status != store.MediaFetched || ra.Reason != "" || ra.Attempts != 0 || !ra.NextAttemptAt.Equal(at(2*time.Minute)) ||
		rg.Status != store.MediaPending {
		e.t.Fatalf("replayed: %+v and %+v; want fetched (bytes kept) and pending", ra, rg)
	}

	// Uploaded, the bytes dropped.
	up := ra
	up.Status, up.Location, up.ContentVersionID, up.ContentDocumentID = store.MediaUploaded, store.MediaNowhere, "068000000000001", "069000000000001"
	if err := e.s.UpdateMedia(e.ctx, up, at(3*time.Minute)); err != nil {
		e.t.Fatalf("UpdateMedia uploaded: %v", err)
	}
	if _, err := e.s.MediaData(e.ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("MediaData after the bytes left the store: %v, want ErrNotFound", err)
	}
	if got, _ := e.s.GetMedia(e.ctx, a.ID); got.ContentVersionID != "068000000000001" || got.ContentDocumentID != "069000000000001" ||
		got.StatusText() != "uploaded" {
		e.t.Errorf("uploaded: %+v", got)
	}
	if got, _ := e.s.GetMedia(e.ctx, b.ID); got.StatusText() != "skipped: the message is excluded" {
		e.t.Errorf("skipped item's status text = %q", got.StatusText())
	}

	// Refusals.
	bad := up
	bad.Status = "lost"
	if err := e.s.UpdateMedia(e.ctx, bad, at(4*time.Minute)); err == nil {
		e.t.Error("UpdateMedia with an invalid status succeeded")
	}
	if got, _ := e.s.GetMedia(e.ctx, a.ID); got.Status != store.MediaUploaded {
		e.t.Errorf("an invalid update changed the item: %+v", got)
	}
	missing := up
	missing.ID = 1 << 40
	if err := e.s.UpdateMedia(e.ctx, missing, at(4*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("UpdateMedia of an unknown item: %v, want ErrNotFound", err)
	}
	if err := e.s.PutMediaData(e.ctx, 1<<40, []byte("x")); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("PutMediaData of an unknown item: %v, want ErrNotFound", err)
	}
	if _, err := e.s.GetMedia(e.ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("GetMedia of an unknown item: %v, want ErrNotFound", err)
	}

	// Deleting the conversation deletes its items with their bytes.
	if err := e.s.PutMediaData(e.ctx, b.ID, []byte("kept")); err != nil {
		e.t.Fatalf("PutMediaData: %v", err)
	}
	e.tx(func(tx store.Tx) error { _, err := tx.DeleteConversations(e.ctx, []int64{c.ID}); return err })
	if got := list(store.MediaFilter{}); !slices.Equal(got, []int64{g.ID}) {
		e.t.Errorf("items after deleting conversation %d = %v, want [%d]", c.ID, got, g.ID)
	}
	if _, err := e.s.MediaData(e.ctx, b.ID); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("MediaData of a deleted item: %v, want ErrNotFound", err)
	}
}

// testMediaHolds: a claim holds its items for its owner, who alone renews
// them (the media worker's heartbeat) until their next update; RenewMedia
// returns the ids it did not renew: another owner's, updated, unknown.
// Claims and renewals need an owner.
func testMediaHolds(e env) {
	c := e.conversation("acme", "wa", "31600000001", statemachine.Open, at(0))
	var items []store.MediaItem
	for i, id := range []string{"wamid.h1", "wamid.h2", "wamid.h3"} {
		m := e.message(c, id, store.Pending, at(time.Duration(i+1)*time.Second))
		e.tx(func(tx store.Tx) error {
			it, err := tx.InsertMedia(e.ctx, store.MediaItem{MessageID: m.ID, ConversationID: c.ID, Tenant: "acme", Channel: "wa",
				Ref: "ref-" + id, Status: store.MediaPending, CreatedAt: m.ReceivedAt})
			items = append(items, it)
			return err
		})
	}
	a, b, d := items[0].ID, items[1].ID, items[2].ID
	if _, err := e.s.ClaimMedia(e.ctx, "", at(time.Minute), at(2*time.Minute), 10); err == nil {
		e.t.Error("ClaimMedia without an owner succeeded")
	}
	claimed, err := e.s.ClaimMedia(e.ctx, "w1", at(time.Minute), at(2*time.Minute), 2)
	if err != nil || len(claimed) != 2 || claimed[0].ID != a || claimed[1].ID != b || claimed[0].HeldBy != "w1" {
		e.t.Fatalf("ClaimMedia(w1) = %+v, %v; want items %d and %d held by w1", claimed, err, a, b)
	}
	renew := func(owner string, ids []int64, until time.Time) []int64 {
		e.t.Helper()
		lost, err := e.s.RenewMedia(e.ctx, owner, ids, until)
		if err != nil {
			e.t.Fatalf("RenewMedia(%s, %v): %v", owner, ids, err)
		}
		return lost
	}
	due := func(id int64) time.Time {
		e.t.Helper()
		it, err := e.s.GetMedia(e.ctx, id)
		if err != nil {
			e.t.Fatalf("GetMedia(%d): %v", id, err)
		}
		return it.NextAttemptAt
	}
	if lost := renew("w1", []int64{a, b}, at(3*time.Minute)); len(lost) != 0 {
		e.t.Errorf("w1 renewing its own items lost %v", lost)
	}
	if !due(a).Equal(at(3*time.Minute)) || !due(b).Equal(at(3*time.Minute)) {
		e.t.Errorf("renewed items due at %v and %v, want %v", due(a), due(b), at(3*time.Minute))
	}
	// Another owner renews nothing of w1's, nor an item nobody holds, nor
	// an unknown one.
	if lost := renew("w2", []int64{a, d, 999999}, at(4*time.Minute)); !slices.Equal(lost, []int64{a, d, 999999}) {
		e.t.Errorf("w2 renewing = lost %v, want every id", lost)
	}
	if !due(a).Equal(at(3*time.Minute)) || !due(d).Equal(at(3*time.Second)) {
		e.t.Errorf("after w2's renewal: due at %v and %v, want unchanged", due(a), due(d))
	}
	// Updated and kept (the worker goes on with it): still held.
	kept := claimed[0]
	kept.FileName = "voice.ogg"
	if err := e.s.UpdateMedia(e.ctx, kept, at(80*time.Second)); err != nil {
		e.t.Fatalf("UpdateMedia: %v", err)
	}
	// Updated and released: no longer held.
	done := claimed[1]
	done.Attempts, done.NextAttemptAt, done.HeldBy = 1, at(10*time.Minute), ""
	if err := e.s.UpdateMedia(e.ctx, done, at(90*time.Second)); err != nil {
		e.t.Fatalf("UpdateMedia: %v", err)
	}
	if got, err := e.s.GetMedia(e.ctx, b); err != nil || got.HeldBy != "" {
		e.t.Errorf("the released item = %+v, %v; want it held by nobody", got, err)
	}
	if lost := renew("w1", []int64{a, b}, at(5*time.Minute)); !slices.Equal(lost, []int64{b}) {
		e.t.Errorf("w1 renewing after the updates = lost %v, want [%d]", lost, b)
	}
	if !due(b).Equal(at(10 * time.Minute)) {
		e.t.Errorf("the updated item is due at %v, want its own %v", due(b), at(10*time.Minute))
	}
	// A hold that passed is another claim's: the first owner renews it no
	// more.
	taken, err := e.s.ClaimMedia(e.ctx, "w2", at(6*time.Minute), at(7*time.Minute), 10)
	if err != nil || len(taken) != 2 || taken[0].ID != a || taken[1].ID != d {
		e.t.Fatalf("ClaimMedia(w2) once w1's hold passed = %+v, %v; want items %d and %d", taken, err, a, d)
	}
	if lost := renew("w1", []int64{a}, at(8*time.Minute)); !slices.Equal(lost, []int64{a}) {
		e.t.Errorf("w1 renewing an item w2 took = lost %v, want [%d]", lost, a)
	}
	if lost := renew("w2", []int64{a, d}, at(8*time.Minute)); len(lost) != 0 {
		e.t.Errorf("w2 renewing its items lost %v", lost)
	}
	if _, err := e.s.RenewMedia(e.ctx, "", []int64{a}, at(9*time.Minute)); err == nil {
		e.t.Error("RenewMedia without an owner succeeded")
	}
	if lost, err := e.s.RenewMedia(e.ctx, "w2", nil, at(9*time.Minute)); err != nil || len(lost) != 0 {
		e.t.Errorf("RenewMedia of no item = %v, %v", lost, err)
	}
}

// testMediaUpdateHeld: UpdateHeldMedia writes an item only while its
// owner's claim holds it; once another claimer took it, or an update
// released it, it returns ErrLeaseLost and changes nothing.
func testMediaUpdateHeld(e env) {
	c := e.conversation("acme", "wa", "31600000001", statemachine.Open, at(0))
	m := e.message(c, "wamid.u1", store.Pending, at(time.Second))
	var item store.MediaItem
	e.tx(func(tx store.Tx) error {
		var err error
		item, err = tx.InsertMedia(e.ctx, store.MediaItem{MessageID: m.ID, ConversationID: c.ID, Tenant: "acme", Channel: "wa",
			Ref: "ref-u1", Status: store.MediaPending, CreatedAt: m.ReceivedAt})
		return err
	})
	claimed, err := e.s.ClaimMedia(e.ctx, "w1", at(time.Minute), at(2*time.Minute), 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != item.ID {
		e.t.Fatalf("ClaimMedia(w1) = %+v, %v", claimed, err)
	}
	it := claimed[0]
	if err := e.s.UpdateHeldMedia(e.ctx, "", it, at(70*time.Second)); err == nil {
		e.t.Error("UpdateHeldMedia without an owner succeeded")
	}
	// Held by w1: written, and kept.
	it.FileName = "voice.ogg"
	if err := e.s.UpdateHeldMedia(e.ctx, "w1", it, at(70*time.Second)); err != nil {
		e.t.Fatalf("UpdateHeldMedia(w1) while held: %v", err)
	}
	// Another owner writes nothing.
	other := it
	other.Status, other.Reason = store.MediaFailed, "not w2's"
	if err := e.s.UpdateHeldMedia(e.ctx, "w2", other, at(75*time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		e.t.Errorf("UpdateHeldMedia(w2) of w1's item = %v, want ErrLeaseLost", err)
	}
	// w1's hold passes and w2 takes the item: w1 writes nothing more.
	taken, err := e.s.ClaimMedia(e.ctx, "w2", at(3*time.Minute), at(4*time.Minute), 10)
	if err != nil || len(taken) != 1 || taken[0].ID != item.ID || taken[0].FileName != "voice.ogg" || taken[0].Status != store.MediaPending {
		e.t.Fatalf("ClaimMedia(w2) once w1's hold passed = %+v, %v", taken, err)
	}
	stale := it
	stale.Status, stale.Reason, stale.HeldBy = store.MediaFailed, "w1 too late", ""
	if err := e.s.UpdateHeldMedia(e.ctx, "w1", stale, at(3*time.Minute+time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		e.t.Errorf("UpdateHeldMedia(w1) after w2 took the item = %v, want ErrLeaseLost", err)
	}
	// w2 releases it; then w2's own later update is refused too.
	done := taken[0]
	done.Attempts, done.NextAttemptAt, done.HeldBy = 1, at(10*time.Minute), ""
	if err := e.s.UpdateHeldMedia(e.ctx, "w2", done, at(3*time.Minute+2*time.Second)); err != nil {
		e.t.Fatalf("UpdateHeldMedia(w2) releasing: %v", err)
	}
	if err := e.s.UpdateHeldMedia(e.ctx, "w2", done, at(3*time.Minute+3*time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		e.t.Errorf("UpdateHeldMedia(w2) of the released item = %v, want ErrLeaseLost", err)
	}
	got, err := e.s.GetMedia(e.ctx, item.ID)
	if err != nil || got.Status != store.MediaPending || got.Reason != "" || got.Attempts != 1 || got.HeldBy != "" ||
		!got.NextAttemptAt.Equal(at(10*time.Minute)) || !got.UpdatedAt.Equal(at(3*time.Minute+2*time.Second)) {
		e.t.Errorf("the item = %+v, %v; want w2's release alone", got, err)
	}
	missing := it
	missing.ID = 999999
	if err := e.s.UpdateHeldMedia(e.ctx, "w1", missing, at(4*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("UpdateHeldMedia of an unknown item = %v, want ErrNotFound", err)
	}
}
