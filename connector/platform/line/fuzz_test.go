package line

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
	f.Add(TextDelivery("Ubot", "U1", "1", "hi", ts))
	f.Add(Delivery("Ubot", Event{Type: "postback", UserID: "U1", Text: "a=b", Params: map[string]string{"date": "2026-01-02"}, Time: ts}))
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"events":[]}`, `{"events":[{}]}`, `{"events":[null]}`,
		`{"events":[{"type":"message","source":{"userId":"U1"},"message":{"id":1e3,"type":"location","latitude":"a"}}]}`,
		`{"events":[{"type":"message","source":{"userId":"U1"},"message":{"id":"1","type":"image","imageSet":{"id":"s","index":1}}}]}`,
		`{"events":[{"type":"postback","source":{"roomId":"R1"},"postback":{"data":"x","params":{"a":{"b":1},"datetime":null}}}]}`,
		`{"events":[{"type":"unsend","timestamp":-1,"source":{"groupId":"C1"},"unsend":{"messageId":7}}]}`,
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
