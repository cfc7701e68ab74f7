package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
)

// An unusable event is kept in quarantine in the delivery's transaction,
// beside its usable neighbours, with a reason made storable (no NUL, valid
// UTF-8, bounded); the same bytes again are the same event.
func TestUnusableEventsAreQuarantinedBesideTheirNeighbours(t *testing.T) {
	f := newFixture(t, false, 0)
	f.ch.Platform = "whatsapp"
	raw := []byte("{\"raw\":\"\x00\xff\"}")
	bad := platform.Unusable(raw, "other_account: \x00\xff"+strings.Repeat("x", 500))
	res := f.ingest(msg("wamid.1", "31600000001", "hello"), bad)
	if res.Stored != 1 || res.Quarantined != 1 || len(res.QuarantinedEvents) != 1 || !res.QuarantinedEvents[0].New {
		t.Fatalf("result %+v", res)
	}
	qs, err := f.st.ListQuarantine(context.Background(), store.QuarantineFilter{Tenant: "acme"})
	if err != nil || len(qs) != 1 {
		t.Fatalf("quarantine %+v, %v", qs, err)
	}
	q := qs[0]
	if q.Channel != "wa" || q.Platform != "whatsapp" || string(q.Raw) != string(raw) || len(q.Reason) > 300 ||
		strings.ContainsRune(q.Reason, 0) || !strings.HasPrefix(q.Reason, "other_account: \uFFFDxxx") {
		t.Fatalf("quarantined %+v", q)
	}
	again := f.ingest(bad)
	if again.Quarantined != 1 || again.QuarantinedEvents[0].New || again.QuarantinedEvents[0].ID != q.ID {
		t.Fatalf("the same event again: %+v", again)
	}
}

func TestIgnoredType(t *testing.T) {
	for _, c := range []struct {
		ev   platform.Event
		want string
	}{
		{platform.Event{Kind: platform.KindIgnored, Detail: "field account_update"}, "field_account_update"},
		{platform.Event{Kind: platform.KindIgnored, Detail: "standby message"}, "standby_message"},
		{platform.Event{Kind: platform.KindIgnored, Detail: "referral"}, "referral"},
		{platform.Event{Kind: platform.KindIgnored, Detail: "voice call webhook CA123"}, "voice"},
		{platform.Event{Kind: platform.KindIgnored, Detail: "field Feed-2"}, "field"},
		{platform.Event{Kind: platform.KindIgnored, Detail: "Update 12"}, "other"},
		{platform.Event{Kind: platform.KindIgnored}, "other"},
		{platform.Event{Kind: platform.KindReceipt, Status: "echo"}, "receipt_echo"},
		{platform.Event{Kind: platform.KindReceipt, Status: "read:123"}, "other"},
	} {
		if got := ingest.IgnoredType(&c.ev); got != c.want {
			t.Errorf("IgnoredType(%+v) = %q, want %q", c.ev, got, c.want)
		}
	}
}
