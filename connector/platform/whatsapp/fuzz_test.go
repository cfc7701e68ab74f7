package whatsapp

import (
	"reflect"
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
		// The one-pass parse, where it answers, answers as the change by
		// change one does.
		if fast, ok := parseOnePass(testPhoneNumberID, body); ok {
			slow, err := parseChanges(testPhoneNumberID, body)
			if err != nil || !reflect.DeepEqual(fast, slow) {
				t.Errorf("one pass: %+v\nchange by change: %+v, %v", fast, slow, err)
			}
		}
	})
}

// BenchmarkParse compares the two ways parse reads a one-message delivery.
func BenchmarkParse(b *testing.B) {
	body := TextDelivery(testPhoneNumberID, "15551234567", "Ann", "wamid.bench", "hello there", time.Unix(1739321024, 0))
	b.Run("one pass", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parseOnePass(testPhoneNumberID, body); !ok {
				b.Fatal("not parsed in one pass")
			}
		}
	})
	b.Run("change by change", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseChanges(testPhoneNumberID, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
