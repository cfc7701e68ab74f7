package messenger

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// FuzzParse checks that Parse never panics, that every error wraps
// platform.ErrMalformed and that every event it returns is consistent.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed payloads in testdata (%v)", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
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
