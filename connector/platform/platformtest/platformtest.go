// Package platformtest holds helpers for testing platform adapters and the
// code that uses them: HMAC signing as the platforms do it, building webhook
// requests, CheckParse, which asserts the contract of
// platform.Adapter.Parse and suits unit tests and fuzz targets alike, and
// APIStub, a recording stand-in for a platform's sending API.
package platformtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
)

// HMACSHA256Hex returns hex(HMAC-SHA256(secret, body)), the digest WhatsApp,
// Messenger, Instagram, Viber and the web chat put in their signature
// headers (WhatsApp and the web chat with a "sha256=" prefix).
func HMACSHA256Hex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// NewRequest builds a server-side request for target carrying body, with
// the given header name/value pairs set. It panics on an odd number of
// header arguments, which is a mistake in the test itself.
func NewRequest(method, target string, body []byte, header ...string) *http.Request {
	if len(header)%2 != 0 {
		panic("platformtest.NewRequest: header arguments come in name/value pairs")
	}
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for i := 0; i < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// CheckParse calls a.Parse on body and fails t when the result breaks the
// adapter contract: Parse panics; it returns an error that does not wrap
// platform.ErrMalformed; it returns events together with an error; or an
// event is inconsistent (unknown kind, a message without id, contact,
// content or message kind, a receipt without id or status, a non-message
// carrying a Message, an unusable event without Raw or Reason, or whose Raw
// does not parse again, alone, into the same unusable event). It returns the events, or nil when Parse refused the
// body.
func CheckParse(t testing.TB, a platform.Adapter, body []byte) []platform.Event {
	t.Helper()
	events, err := safeParse(a, body)
	if err != nil {
		if !errors.Is(err, platform.ErrMalformed) {
			t.Fatalf("%s: Parse error does not wrap ErrMalformed: %v", a.Platform(), err)
		}
		if len(events) != 0 {
			t.Fatalf("%s: Parse returned %d events with error %v", a.Platform(), len(events), err)
		}
		return nil
	}
	for i, ev := range events {
		if problem := eventProblem(ev); problem != "" {
			t.Fatalf("%s: event %d (%+v): %s", a.Platform(), i, ev, problem)
		}
		if ev.Kind == platform.KindUnusable {
			checkUnusableRaw(t, a, i, ev)
		}
	}
	return events
}

// checkUnusableRaw fails t unless the raw bytes of an unusable event parse
// again, alone, into one event unusable for the same reason: what replay
// from quarantine relies on.
func checkUnusableRaw(t testing.TB, a platform.Adapter, i int, ev platform.Event) {
	t.Helper()
	again, err := safeParse(a, ev.Raw)
	if err != nil {
		t.Fatalf("%s: event %d: its Raw does not parse again: %v", a.Platform(), i, err)
	}
	if len(again) != 1 || again[0].Kind != platform.KindUnusable || again[0].Reason != ev.Reason {
		t.Fatalf("%s: event %d: its Raw parses into %+v, want one event unusable for %q", a.Platform(), i, again, ev.Reason)
	}
}

// safeParse runs Parse, turning a panic into an error that does not wrap
// ErrMalformed so that CheckParse reports it.
func safeParse(a platform.Adapter, body []byte) (events []platform.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			events, err = nil, fmt.Errorf("Parse panicked: %v", p)
		}
	}()
	r := NewRequest(http.MethodPost, "/webhooks/tenant/channel", body)
	return a.Parse(r, body)
}

// eventProblem describes what is wrong with ev, or returns "".
func eventProblem(ev platform.Event) string {
	switch ev.Kind {
	case platform.KindMessage:
		switch {
		case ev.ID == "":
			return "message without ID"
		case ev.Contact == "":
			return "message without Contact"
		case ev.Message == nil:
			return "message without Message"
		case ev.Message.Kind == "":
			return "message without Message.Kind"
		}
	case platform.KindReceipt:
		switch {
		case ev.ID == "":
			return "receipt without ID"
		case ev.Status == "":
			return "receipt without Status"
		case ev.Message != nil:
			return "receipt with a Message"
		}
	case platform.KindContact, platform.KindIgnored:
		if ev.Message != nil {
			return "non-message event with a Message"
		}
	case platform.KindUnusable:
		switch {
		case len(ev.Raw) == 0:
			return "unusable event without Raw"
		case ev.Reason == "":
			return "unusable event without Reason"
		case ev.Message != nil:
			return "unusable event with a Message"
		}
	default:
		return fmt.Sprintf("unknown kind %q", ev.Kind)
	}
	return ""
}

// AssertEvents fails t when got is not want, event by event, showing the
// events that differ.
func AssertEvents(t testing.TB, got, want []platform.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n%s", len(got), len(want), Dump(got))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("event %d:\n got %s\nwant %s", i, Dump(got[i:i+1]), Dump(want[i:i+1]))
		}
	}
}

// Dump writes events one a line, with their message, for a test's
// failure message.
func Dump(evs []platform.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("{Kind:" + string(ev.Kind) + " ID:" + ev.ID + " Contact:" + ev.Contact + " Name:" + ev.ContactName +
			" Sender:" + ev.Sender + " Time:" + ev.Timestamp.String() + " Status:" + ev.Status + " Detail:" + ev.Detail)
		if ev.Message != nil {
			m := ev.Message
			b.WriteString(" Message:{Kind:" + m.Kind + " Text:" + m.Text + " MediaRef:" + m.MediaRef +
				" MediaType:" + m.MediaType + " ReplyTo:" + m.ReplyTo + "}")
		}
		b.WriteString("}\n")
	}
	return b.String()
}
