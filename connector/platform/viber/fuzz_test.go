package viber

import (
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// FuzzParse checks that Parse never panics, that every error wraps
// platform.ErrMalformed and that every event it returns is consistent.
func FuzzParse(f *testing.F) {
	platformtest.FuzzSeeds(f, "*.json")
	ts := time.UnixMilli(1763719200000)
	f.Add(TextCallback("5741311803571721087", "u1", "Ann", "hi", ts))
	f.Add(ReceiptCallback("failed", "1", "u1", ts, "x"))
	f.Add(ConversationStartedCallback("2", "u1", "Ann", "c", true, ts))
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"event":""}`, `{"event":"message"}`,
		`{"event":"message","message_token":"","sender":{"id":"u"}}`,
		`{"event":"seen","message_token":-0}`,
		`{"event":"message","message_token":1,"sender":{"id":"u"},"message":{"type":"location","location":{}}}`,
		`{"event":"subscribed","user":{"id":"u"},"timestamp":9223372036854775807}`,
	} {
		f.Add([]byte(s))
	}
	a := newTestAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
