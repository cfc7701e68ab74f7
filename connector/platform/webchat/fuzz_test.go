package webchat

import (
	"testing"

	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// FuzzParse checks that Parse never panics, that every error wraps
// platform.ErrMalformed and that every event it returns is consistent.
func FuzzParse(f *testing.F) {
	platformtest.FuzzSeeds(f, "*.json")
	for _, s := range []string{
		``, `null`, `{}`, `{"events":null}`, `{"events":[{}]}`,
		`{"events":[{"id":"e","type":"message","visitor":{"id":"v"},"message":{"attachment":{"url":"http://[::1"}}}]}`,
		`{"events":[{"id":"e","type":"message","visitor":{"id":"v"},"timestamp":"2026-02-30T25:00:00Z","message":{"text":"x"}}]}`,
	} {
		f.Add([]byte(s))
	}
	a := newTestAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
