package whatsapp

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
	f.Add(TextDelivery(testPhoneNumberID, "1", "A", "wamid.1", "hi", ts))
	f.Add(StatusDelivery(testPhoneNumberID, Status{ID: "wamid.1", Recipient: "1", Status: "failed", Time: ts, ErrorCode: 131047}))
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"object":"whatsapp_business_account"}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"x","from":"1","timestamp":-1,"type":"location","location":{"latitude":"a"}}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"x","status":"deleted"}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"x","from":"1","type":"edit","edit":{"original_message_id":"y","message":{"type":"interactive","interactive":{"type":"nfm_reply"}}}}]}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	a, err := New(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
