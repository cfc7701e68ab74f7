package ingest_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

func photo(id, contact, ref string) platform.Event {
	ev := msg(id, contact, "the broken kettle")
	ev.Message.Kind, ev.Message.MediaRef, ev.Message.MediaType = platform.Image, ref, "image/jpeg"
	return ev
}

func mediaOf(t *testing.T, st store.Store) map[string]store.MediaItem {
	t.Helper()
	items, err := st.ListMedia(context.Background(), store.MediaFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.MediaItem{}
	for _, m := range items {
		out[m.MessagePlatformID] = m
	}
	return out
}

// A media message of a channel that downloads media gets a pending item,
// stored with the message; an excluded one and a blocked contact's are
// recorded as skipped; a text message, a duplicate, and a channel that
// cannot download get none.
func TestMediaItemsRecorded(t *testing.T) {
	f := newFixture(t, false, statemachine.NewSet(statemachine.AutoBot))
	f.ch.Media = true
	res := f.ingest(photo("m1", "31600000001", "media-1"), msg("m2", "31600000001", "hello"), photo("m1", "31600000001", "media-1"))
	if res.Stored != 2 || res.MediaPending != 1 || res.MediaSkipped != 0 || res.Duplicates != 1 || len(res.Unfetched) != 0 {
		t.Fatalf("result = %+v", res)
	}
	items := mediaOf(t, f.st)
	if len(items) != 1 || items["m1"].Status != store.MediaPending || items["m1"].Ref != "media-1" || items["m1"].Tenant != "acme" {
		t.Fatalf("items = %+v", items)
	}

	// Excluded: a bot channel's AUTO_BOT conversation.
	fb := newFixture(t, true, statemachine.NewSet(statemachine.AutoBot))
	fb.ch.Media = true
	if res := fb.ingest(photo("b1", "31600000002", "media-b1")); res.Excluded != 1 || res.MediaSkipped != 1 ||
		!slices.Equal(res.Unfetched, []ingest.MediaRef{{Tenant: "acme", Channel: "wa", Ref: "media-b1"}}) {
		t.Fatalf("excluded result = %+v, want its item skipped and its media unfetched", res)
	}
	if it := mediaOf(t, fb.st)["b1"]; it.Status != store.MediaSkipped || !strings.HasPrefix(it.Reason, ingest.SkipExcluded) {
		t.Fatalf("excluded message's item = %+v", it)
	}

	// Blocked contact (inbound): recorded, skipped, even though BLOCKED is
	// pushed for this org.
	ctx := context.Background()
	err := f.st.WithTx(ctx, func(tx store.Tx) error {
		c, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: "31600000003"}, "", t0)
		if err != nil {
			return err
		}
		return tx.SetContactBlock(ctx, c.ID, store.Block{Inbound: true, Outbound: true, By: "test"}, t0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := f.ingest(photo("m3", "31600000003", "media-3")); res.Stored != 1 || res.Pending != 1 || res.MediaSkipped != 1 ||
		len(res.Unfetched) != 1 || res.Unfetched[0].Ref != "media-3" {
		t.Fatalf("blocked contact's result = %+v", res)
	}
	if it := mediaOf(t, f.st)["m3"]; it.Status != store.MediaSkipped || it.Reason != ingest.SkipBlocked {
		t.Fatalf("blocked contact's item = %+v", it)
	}

	// A channel whose adapter cannot download media.
	fn := newFixture(t, false, 0)
	if res := fn.ingest(photo("n1", "31600000004", "media-n1")); res.Stored != 1 || res.MediaPending+res.MediaSkipped != 0 {
		t.Fatalf("result without media capability = %+v", res)
	}
	if items := mediaOf(t, fn.st); len(items) != 0 {
		t.Fatalf("items without media capability = %+v", items)
	}
}
