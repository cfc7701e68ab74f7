package storetest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// testSyncWatermarks: a watermark is not found until written, reads back
// as written (per org and object), is replaced by the next write, and an
// incomplete one is refused without changing anything.
func testSyncWatermarks(e env) {
	ctx := context.Background()
	const org, other = "00D5g000004Xyz1", "00D1a000000Abc2"
	if _, err := e.s.SyncWatermark(ctx, org, "Chat_Conversation__c"); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("SyncWatermark of an empty store: %v, want ErrNotFound", err)
	}
	first := store.SyncWatermark{Org: org, Object: "Chat_Conversation__c", Modstamp: at(time.Minute), UpdatedAt: at(2 * time.Minute)}
	if err := e.s.PutSyncWatermark(ctx, first); err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.PutSyncWatermark(ctx, store.SyncWatermark{Org: other, Object: "Chat_Conversation__c", Modstamp: at(time.Hour), UpdatedAt: at(time.Hour)}); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.s.SyncWatermark(ctx, org, "Chat_Conversation__c")
	if err != nil || !sameWatermark(got, first) {
		e.t.Fatalf("SyncWatermark = %+v, %v; want %+v", got, err, first)
	}
	if _, err := e.s.SyncWatermark(ctx, org, "Other__c"); !errors.Is(err, store.ErrNotFound) {
		e.t.Errorf("another object's watermark: %v, want ErrNotFound", err)
	}
	second := first
	second.Modstamp, second.UpdatedAt = at(3*time.Minute+time.Microsecond), at(4*time.Minute)
	second.Seen = []string{"a0X000000000001AAA", "a0X000000000002AAA"}
	second.WriteBack = map[string]int{"acme:wa:12": 1, "acme:wa:13": 3}
	if err := e.s.PutSyncWatermark(ctx, second); err != nil {
		e.t.Fatal(err)
	}
	if got, err := e.s.SyncWatermark(ctx, org, "Chat_Conversation__c"); err != nil || !sameWatermark(got, second) {
		e.t.Errorf("after the second write: %+v, %v; want %+v", got, err, second)
	}
	// The next one, with nothing seen or to write back, clears both.
	third := first
	third.Modstamp, third.UpdatedAt = at(5*time.Minute), at(5*time.Minute)
	if err := e.s.PutSyncWatermark(ctx, third); err != nil {
		e.t.Fatal(err)
	}
	if got, err := e.s.SyncWatermark(ctx, org, "Chat_Conversation__c"); err != nil || !sameWatermark(got, third) {
		e.t.Errorf("after the third write: %+v, %v; want %+v", got, err, third)
	}
	if err := e.s.PutSyncWatermark(ctx, second); err != nil {
		e.t.Fatal(err)
	}
	bad := second
	bad.Modstamp = time.Time{}
	if err := e.s.PutSyncWatermark(ctx, bad); err == nil {
		e.t.Error("a watermark without a modstamp was accepted")
	}
	if got, _ := e.s.SyncWatermark(ctx, org, "Chat_Conversation__c"); !sameWatermark(got, second) {
		e.t.Errorf("a refused write changed the watermark to %+v", got)
	}
	if got, _ := e.s.SyncWatermark(ctx, other, "Chat_Conversation__c"); !got.Modstamp.Equal(at(time.Hour)) {
		e.t.Errorf("the other org's watermark is %+v", got)
	}
}

func sameWatermark(a, b store.SyncWatermark) bool {
	return a.Org == b.Org && a.Object == b.Object && a.Modstamp.Equal(b.Modstamp) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		slices.Equal(a.Seen, b.Seen) && maps.Equal(a.WriteBack, b.WriteBack)
}
