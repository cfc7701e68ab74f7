package webchat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const testSecret = "webchat-secret"

func newTestAdapter(t testing.TB) *Adapter {
	t.Helper()
	a, err := New(Config{Secret: testSecret})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "secret is required") {
		t.Fatalf("New without a secret = %v, want ErrInvalidConfig", err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		if out := fmt.Sprintf(verb, Config{Secret: testSecret}); strings.Contains(out, testSecret) {
			t.Errorf("%s of Config shows the secret: %s", verb, out)
		}
	}
	a := newTestAdapter(t)
	if a.Platform() != "webchat" {
		t.Errorf("Platform() = %q", a.Platform())
	}
}

func TestCapabilitiesNativeBlockAtTheDoor(t *testing.T) {
	a := newTestAdapter(t)
	if got := platform.CapabilitiesOf(a); got != (platform.Capabilities{NativeBlock: true, Media: true}) {
		t.Fatalf("CapabilitiesOf = %+v, want the native block and media only", got)
	}
	var door platform.BlockedRefuser = a
	if !door.RefusesBlocked() {
		t.Error("the web chat does not keep its door: blocked visitors would be recorded, not refused")
	}
	if err := a.Block(t.Context(), "v-1"); err != nil {
		t.Errorf("Block: %v", err)
	}
	if err := a.Unblock(t.Context(), "v-1"); err != nil {
		t.Errorf("Unblock: %v", err)
	}
}

// The known vector was computed independently with
//
//	printf '%s' '{"events":[]}' | openssl dgst -sha256 -hmac 'webchat-secret'
const (
	vectorBody = `{"events":[]}`
	vectorHex  = "0664b46dc1479ab8bbbc18c848e08ba2c50f9d0fc0d0032936942bd91402abfc"
)

func TestSignKnownVector(t *testing.T) {
	if got := Sign(testSecret, []byte(vectorBody)); got != "sha256="+vectorHex {
		t.Fatalf("Sign = %s, want sha256=%s", got, vectorHex)
	}
}

func TestVerify(t *testing.T) {
	a := newTestAdapter(t)
	body := []byte(vectorBody)
	tests := []struct {
		name   string
		header []string
		body   []byte
		want   string // substring of the error; "" when valid
	}{
		{"known vector", []string{SignatureHeader, "sha256=" + vectorHex}, body, ""},
		{"missing", nil, body, "missing X-Webchat-Signature"},
		{"no prefix", []string{SignatureHeader, vectorHex}, body, "does not start with"},
		{"not hex", []string{SignatureHeader, "sha256=xyz"}, body, "hex digits"},
		{"wrong secret", []string{SignatureHeader, Sign("other", body)}, body, "does not match"},
		{"altered body", []string{SignatureHeader, "sha256=" + vectorHex}, []byte(`{"events":[ ]}`), "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/web", tt.body, tt.header...)
			err := a.Verify(r, tt.body)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, platform.ErrBadSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v, want ErrBadSignature containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), vectorHex) {
				t.Fatalf("error shows the secret or the expected signature: %v", err)
			}
		})
	}
}

func TestParseTestdata(t *testing.T) {
	a := newTestAdapter(t)
	tests := []struct {
		file string
		want []platform.Event
	}{
		{"example.json", []platform.Event{
			{Kind: platform.KindMessage, ID: "evt-1", Contact: "v-123", ContactName: "Ann",
				Timestamp: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
				Message: &platform.Message{Kind: platform.Image, Text: "hello", MediaRef: "https://cdn.example.com/u/photo.png",
					MediaType: "image/png", ReplyTo: "evt-0"}},
			{Kind: platform.KindIgnored, ID: "evt-2", Contact: "v-123", Detail: "typing"},
		}},
		{"kinds.json", []platform.Event{
			{Kind: platform.KindMessage, ID: "k-1", Contact: "v-9", ContactName: "Bo",
				Timestamp: time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC),
				Message:   &platform.Message{Kind: platform.Text, Text: "just text"}},
			{Kind: platform.KindMessage, ID: "k-2", Contact: "v-9",
				Message: &platform.Message{Kind: platform.Video, MediaRef: "https://cdn.example.com/clip.mp4", MediaType: "video/mp4"}},
			{Kind: platform.KindMessage, ID: "k-3", Contact: "v-9",
				Message: &platform.Message{Kind: platform.Audio, MediaRef: "https://cdn.example.com/note.ogg", MediaType: "Audio/Ogg; codecs=opus"}},
			{Kind: platform.KindMessage, ID: "k-4", Contact: "v-9",
				Message: &platform.Message{Kind: platform.Document, Text: "my invoice", MediaRef: "http://files.example.com/inv.pdf", MediaType: "application/pdf"}},
			{Kind: platform.KindMessage, ID: "k-5", Contact: "v-9",
				Message: &platform.Message{Kind: platform.Document, MediaRef: "https://files.example.com/blob"}},
			{Kind: platform.KindIgnored, ID: "k-6", Contact: "v-9", Detail: "read"},
			{Kind: platform.KindIgnored, ID: "k-7", Contact: "v-9", Detail: "unknown type cobrowse_start"},
		}},
		{"empty.json", []platform.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := platformtest.CheckParse(t, a, readTestdata(t, tt.file))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse:\n got %s\nwant %s", dump(got), dump(tt.want))
			}
		})
	}
}

func dump(evs []platform.Event) string {
	out := make([]string, 0, len(evs))
	for _, ev := range evs {
		s := fmt.Sprintf("{%s %s %s %q %s %q %q", ev.Kind, ev.ID, ev.Contact, ev.ContactName, ev.Timestamp, ev.Status, ev.Detail)
		if ev.Message != nil {
			s += fmt.Sprintf(" %+v", *ev.Message)
		}
		out = append(out, s+"}")
	}
	return "[" + strings.Join(out, "\n") + "]"
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // substring of the error
	}{
		{"not JSON", `hello`, "not a delivery"},
		{"list", `[]`, "not a delivery"},
		{"no events", `{}`, "missing events"},
		{"null events", `{"events":null}`, "missing events"},
		{"events not a list", `{"events":{}}`, "not a delivery"},
		{"no id", `{"events":[{"type":"message","visitor":{"id":"v"},"message":{"text":"a"}}]}`, "events[0]: id is required"},
		{"no visitor id", `{"events":[{"id":"e1","type":"message","visitor":{"name":"Ann"},"message":{"text":"a"}}]}`,
			`events[0] (id "e1"): visitor.id is required`},
		{"no visitor", `{"events":[{"id":"e1","type":"typing"}]}`, "visitor.id is required"},
		{"no type", `{"events":[{"id":"e1","visitor":{"id":"v"}}]}`, "type is required"},
		{"bad timestamp", `{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"timestamp":"21/11/2026","message":{"text":"a"}}]}`,
			"timestamp \"21/11/2026\" is not RFC 3339"},
		{"message missing", `{"events":[{"id":"e1","type":"message","visitor":{"id":"v"}}]}`, "message is required"},
		{"empty message", `{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"message":{}}]}`, "neither text nor attachment"},
		{"relative url", `{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"message":{"attachment":{"url":"/a.png","type":"image/png"}}}]}`,
			"attachment.url"},
		{"javascript url", `{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"message":{"attachment":{"url":"javascript:alert(1)"}}}]}`,
			"attachment.url"},
		{"second event bad", `{"events":[{"id":"e1","type":"typing","visitor":{"id":"v"}},{"id":"e2","type":"message","visitor":{"id":""}}]}`,
			`events[1] (id "e2")`},
		{"text not a string", `{"events":[{"id":"e1","type":"message","visitor":{"id":"v"},"message":{"text":5}}]}`, "not a delivery"},
	}
	a := newTestAdapter(t)
	for _, tt := range tests {
		platformtest.CheckMalformed(t, a, tt.name, tt.body, tt.want)
	}
}

// TestDeliveryTypesRoundTrip checks that the exported request types marshal
// to what Parse reads, so that clients can build bodies with them.
func TestDeliveryTypesRoundTrip(t *testing.T) {
	d := Delivery{Events: []Event{{
		ID: "evt-9", Type: "message", Visitor: Visitor{ID: "v-1", Name: "Cy"}, Timestamp: "2026-11-21T10:00:00Z",
		Message: &Message{Text: "see <this> & that", Attachment: &Attachment{URL: "https://x.example/a.mp3", Type: "audio/mpeg"}, ReplyTo: "evt-8"},
	}}}
	body, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(t)
	r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/web", body, SignatureHeader, Sign(testSecret, body))
	if err := a.Verify(r, body); err != nil {
		t.Fatalf("Verify of a signed body: %v", err)
	}
	got := platformtest.CheckParse(t, a, body)
	want := []platform.Event{{Kind: platform.KindMessage, ID: "evt-9", Contact: "v-1", ContactName: "Cy",
		Timestamp: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Message: &platform.Message{Kind: platform.Audio, Text: "see <this> & that", MediaRef: "https://x.example/a.mp3",
			MediaType: "audio/mpeg", ReplyTo: "evt-8"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse:\n got %s\nwant %s", dump(got), dump(want))
	}
}
