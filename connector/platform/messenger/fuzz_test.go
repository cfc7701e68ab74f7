package messenger

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
	f.Add(TextDelivery(testPageID, testPSID, "m_1", "hi", ts))
	f.Add(ReactionDelivery(testPageID, testPSID, "m_1", "", ts))
	f.Add(DeliveryReceipt(testPageID, testPSID, ts))
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"object":"page"}`, `{"object":"page","entry":null}`,
		`{"object":"page","entry":[{}]}`,
		`{"object":"page","entry":[{"messaging":[{}]}]}`,
		`{"object":"page","entry":[{"messaging":[{"sender":{"id":1},"message":{"mid":"x","attachments":[{},{"type":"location","payload":{"coordinates":{}}}]}}]}]}`,
		`{"object":"page","entry":[{"messaging":[{"sender":{"user_ref":"g"},"delivery":{"mids":["a",""]}}]}]}`,
		`{"object":"page","entry":[{"id":"682498302938465","standby":[{"read":{"watermark":"x"}}],"changes":[{"field":"feed"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	a := newTestAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
