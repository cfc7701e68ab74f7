package dispatch

import (
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/sanitize"
	"github.com/chatsync/sfconnector/connector/store"
)

func TestMessageRecordCutsTheBodyToItsField(t *testing.T) {
	mp := config.DefaultMapping()
	c := store.Conversation{ID: 7, Tenant: "acme", Channel: "web"}
	long := strings.Repeat("😀 ", 1<<20/6) // over 1 MiB, 2 UTF-16 units per emoji
	r := messageRecord(mp, c, store.Message{Tenant: "acme", Channel: "web", PlatformID: "w1", Body: long})
	body, _ := r["Body__c"].(string)
	if n := sanitize.Length(body); n > config.DefaultBodyLength || n < config.DefaultBodyLength-200 {
		t.Errorf("body of %d characters, want at most %d and close to it", n, config.DefaultBodyLength)
	}
	if !strings.Contains(body, sanitize.TruncatedMarker) || !strings.HasPrefix(long, strings.SplitN(body, sanitize.TruncatedMarker, 2)[0]) {
		t.Errorf("the cut body does not start the text and end with the marker: ...%q", body[len(body)-100:])
	}

	mp.Message.BodyLength = 100
	r = messageRecord(mp, c, store.Message{Tenant: "acme", Channel: "web", PlatformID: "w1", Body: strings.Repeat("a", 101)})
	if n := sanitize.Length(r["Body__c"].(string)); n > 100 {
		t.Errorf("body_length 100: body of %d characters", n)
	}
	r = messageRecord(mp, c, store.Message{Tenant: "acme", Channel: "web", PlatformID: "w1", Body: strings.Repeat("a", 100)})
	if r["Body__c"] != strings.Repeat("a", 100) {
		t.Errorf("a body that fits must be written as it is, got %q", r["Body__c"])
	}
}

func TestMessageKeyFitsAnExternalID(t *testing.T) {
	short := store.Message{Tenant: "acme", Channel: "web", PlatformID: "w1"}
	if k := MessageKey(short); k != "acme:web:w1" {
		t.Errorf("MessageKey = %q, want acme:web:w1", k)
	}
	a := store.Message{Tenant: strings.Repeat("t", 64), Channel: strings.Repeat("c", 64), PlatformID: strings.Repeat("é", 127) + "a"}
	b := a
	b.PlatformID = strings.Repeat("é", 127) + "b"
	ka, kb := MessageKey(a), MessageKey(b)
	if sanitize.Length(ka) > MaxKeyLength || !strings.HasPrefix(ka, a.Tenant+":"+a.Channel+":sha256:") {
		t.Errorf("long MessageKey = %q (%d characters)", ka, sanitize.Length(ka))
	}
	if ka == kb || ka != MessageKey(a) {
		t.Errorf("long keys must be stable and distinct: %q %q", ka, kb)
	}
}

func TestMessageRecordDeliveryStatus(t *testing.T) {
	mp := config.DefaultMapping()
	c := store.Conversation{ID: 7, Tenant: "acme", Channel: "wa"}
	out := store.Message{Tenant: "acme", Channel: "wa", PlatformID: "out-1", Direction: store.Outbound, DeliveryStatus: store.DeliverySent}
	if got := messageRecord(mp, c, out)["Delivery_Status__c"]; got != "sent" {
		t.Errorf("sent reply: Delivery_Status__c = %v, want sent", got)
	}
	out.DeliveryStatus, out.SendError = store.DeliveryFailed, strings.Repeat("refused ", 100)
	got, _ := messageRecord(mp, c, out)["Delivery_Status__c"].(string)
	if !strings.HasPrefix(got, "failed: refused refused") || sanitize.Length(got) > 255 {
		t.Errorf("failed reply: Delivery_Status__c = %q (%d characters), want the reason cut to 255", got, sanitize.Length(got))
	}
	in := store.Message{Tenant: "acme", Channel: "wa", PlatformID: "in-1", Direction: store.Inbound, DeliveryStatus: "read"}
	if v, ok := messageRecord(mp, c, in)["Delivery_Status__c"]; ok {
		t.Errorf("inbound message: Delivery_Status__c = %v, want none", v)
	}
}
