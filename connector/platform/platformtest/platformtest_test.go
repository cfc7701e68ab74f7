package platformtest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
)

// fakeAdapter returns fixed results from Parse, or panics.
type fakeAdapter struct {
	events []platform.Event
	err    error
	panic  bool
}

func (f fakeAdapter) Platform() string                   { return "fake" }
func (f fakeAdapter) Verify(*http.Request, []byte) error { return nil }
func (f fakeAdapter) Parse(*http.Request, []byte) ([]platform.Event, error) {
	if f.panic {
		panic("boom")
	}
	return f.events, f.err
}

// recorder is a testing.TB whose Fatalf records the failure and stops
// CheckParse by panicking with errFatal.
type recorder struct {
	testing.TB
	failure string
}

var errFatal = errors.New("fatal")

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	panic(errFatal)
}

// check runs CheckParse on a and returns the failure it reported, or "".
func check(t *testing.T, a platform.Adapter) (failure string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != errFatal {
			panic(p)
		}
		failure = r.failure
	}()
	CheckParse(r, a, []byte(`{}`))
	return ""
}

func TestCheckParse(t *testing.T) {
	msg := platform.Event{Kind: platform.KindMessage, ID: "m1", Contact: "u1", Message: &platform.Message{Kind: platform.Text}}
	tests := []struct {
		name string
		a    fakeAdapter
		want string // substring of the failure; "" when the contract holds
	}{
		{"good message", fakeAdapter{events: []platform.Event{msg}}, ""},
		{"good receipt", fakeAdapter{events: []platform.Event{{Kind: platform.KindReceipt, ID: "m1:status:read", Status: "read"}}}, ""},
		{"malformed error", fakeAdapter{err: fmt.Errorf("%w: bad", platform.ErrMalformed)}, ""},
		{"panic", fakeAdapter{panic: true}, "panicked"},
		{"other error", fakeAdapter{err: errors.New("oops")}, "does not wrap ErrMalformed"},
		{"events with error", fakeAdapter{events: []platform.Event{msg}, err: platform.ErrMalformed}, "events with error"},
		{"unknown kind", fakeAdapter{events: []platform.Event{{Kind: "weird"}}}, "unknown kind"},
		{"message without id", fakeAdapter{events: []platform.Event{{Kind: platform.KindMessage, Contact: "u", Message: &platform.Message{Kind: "text"}}}}, "without ID"},
		{"message without contact", fakeAdapter{events: []platform.Event{{Kind: platform.KindMessage, ID: "m", Message: &platform.Message{Kind: "text"}}}}, "without Contact"},
		{"message without content", fakeAdapter{events: []platform.Event{{Kind: platform.KindMessage, ID: "m", Contact: "u"}}}, "without Message"},
		{"message without kind", fakeAdapter{events: []platform.Event{{Kind: platform.KindMessage, ID: "m", Contact: "u", Message: &platform.Message{}}}}, "without Message.Kind"},
		{"receipt without status", fakeAdapter{events: []platform.Event{{Kind: platform.KindReceipt, ID: "r"}}}, "without Status"},
		{"ignored with message", fakeAdapter{events: []platform.Event{{Kind: platform.KindIgnored, Message: &platform.Message{Kind: "text"}}}}, "with a Message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(t, tt.a)
			if (tt.want == "" && got != "") || (tt.want != "" && !strings.Contains(got, tt.want)) {
				t.Fatalf("CheckParse failure = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	// Computed independently: printf '%s' 'hello' | openssl dgst -sha256 -hmac 'key'.
	if got := HMACSHA256Hex("key", []byte("hello")); got != "9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b" {
		t.Fatalf("HMACSHA256Hex = %s", got)
	}
	r := NewRequest(http.MethodPost, "/webhooks/t/c?x=1", []byte("body"), "X-A", "1", "X-B", "2")
	if r.Method != http.MethodPost || r.URL.Path != "/webhooks/t/c" || r.Header.Get("X-A") != "1" || r.Header.Get("X-B") != "2" {
		t.Fatalf("NewRequest built %s %s %v", r.Method, r.URL, r.Header)
	}
}
