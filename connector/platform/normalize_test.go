package platform_test

import (
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
)

func TestNormalize(t *testing.T) {
	raw := []byte(`{"the":"delivery"}`)
	long := strings.Repeat("x", 3000)
	text := strings.Repeat("y", 1<<20) + "\x00end\xff"
	events := []platform.Event{
		{Kind: platform.KindMessage, ID: "m\x001", Contact: "v\x00isitor\xff", ContactName: "Ann\x00",
			Message: &platform.Message{Kind: platform.Text, Text: "hi\x00 there\xc3(", ReplyTo: long}},
		{Kind: platform.KindMessage, ID: long, Contact: "c", Message: &platform.Message{Kind: platform.Text, Text: "x"}},
		{Kind: platform.KindMessage, ID: "m2", Contact: long, Message: &platform.Message{Kind: platform.Text}},
		{Kind: platform.KindMessage, ID: "\x00", Contact: "c", Message: &platform.Message{Kind: platform.Text}},
		{Kind: platform.KindContact, Contact: long, Status: "blocked"},
		{Kind: platform.KindMessage, ID: "m3", Contact: "c", Message: &platform.Message{Kind: platform.Text, Text: text}},
		{Kind: platform.KindMessage, ID: strings.Repeat("i", platform.MaxIDBytes), Contact: "c", Message: &platform.Message{Kind: platform.Text}},
		{Kind: platform.KindContact, Status: "follow"},
		platform.Unusable([]byte("own"), "unknown_account"),
	}
	got := platform.Normalize(events, raw)

	m := got[0]
	if m.Kind != platform.KindMessage || m.ID != "m1" || m.Contact != "visitor\uFFFD" || m.ContactName != "Ann" ||
		m.Message.Text != "hi there\uFFFD(" || m.Message.ReplyTo != "" {
		t.Errorf("hostile message normalised to %+v %+v", m, *m.Message)
	}
	for i, want := range map[int]string{1: "id_too_long: the event id", 2: "id_too_long: the contact id", 3: "id_missing: the event id", 4: "id_too_long: the contact id"} {
		ev := got[i]
		if ev.Kind != platform.KindUnusable || !strings.HasPrefix(ev.Reason, want) || string(ev.Raw) != string(raw) {
			t.Errorf("event %d: kind %s reason %q raw %q; want unusable, %q..., the delivery", i, ev.Kind, ev.Reason, ev.Raw, want)
		}
	}
	if ev := got[5]; ev.Kind != platform.KindMessage || ev.Message.Text != strings.Repeat("y", 1<<20)+"end\uFFFD" {
		t.Errorf("a 1 MiB text must be kept whole, cleaned; got kind %s, %d bytes", ev.Kind, len(ev.Message.Text))
	}
	if ev := got[6]; ev.Kind != platform.KindMessage {
		t.Errorf("an id of exactly MaxIDBytes must be usable, got %s %q", ev.Kind, ev.Reason)
	}
	if ev := got[7]; ev.Kind != platform.KindContact {
		t.Errorf("a contact event without a contact is left to ingestion, got %s", ev.Kind)
	}
	if ev := got[8]; ev.Reason != "unknown_account" || string(ev.Raw) != "own" {
		t.Errorf("an adapter's unusable event must be left alone, got %q %q", ev.Reason, ev.Raw)
	}
}
