package instagram

import (
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// FuzzParse checks that Parse never panics, that every error wraps
// platform.ErrMalformed and that every event it returns is consistent.
func FuzzParse(f *testing.F) {
	platformtest.FuzzSeeds(f, "*.json")
	ts := time.Unix(1739321024, 0)
	f.Add(TextDelivery(testAccountID, testIGSID, "m_1", "hi", ts))
	f.Add(UnsendDelivery(testAccountID, testIGSID, "m_1", ts))
	f.Add(SeenDelivery(testAccountID, testIGSID, "m_1", ts))
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"object":"instagram"}`, `{"object":"instagram","entry":[null]}`,
		`{"object":"instagram","entry":[{"messaging":[{"message":{}}]}]}`,
		`{"object":"instagram","entry":[{"id":17841405822304914,"messaging":[{"sender":{"id":1},"message":{"mid":"x","is_echo":true,"is_deleted":true}}]}]}`,
		`{"object":"instagram","entry":[{"messaging":[{"sender":{"id":"1"},"message":{"mid":"x","reply_to":{"story":{"id":5}},"attachments":[{"type":"ig_reel","payload":null}]}}]}]}`,
		`{"object":"instagram","entry":[{"field":"comments","value":{}}]}`,
	} {
		f.Add([]byte(s))
	}
	a := newTestAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
