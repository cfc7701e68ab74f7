package telegram

import (
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// FuzzParse checks that Parse never panics, that every error wraps
// platform.ErrMalformed and that every event it returns is consistent.
func FuzzParse(f *testing.F) {
	platformtest.FuzzSeeds(f, "*.json")
	ts := time.Unix(1763719200, 0)
	ann := User{ID: 42, FirstName: "Ann"}
	f.Add(TextUpdate(1, ann, 2, "hi", ts))
	f.Add(EditedUpdate(Inbound{UpdateID: 2, From: ann, MessageID: 2, Time: ts, Type: "photo", FileID: "p"}, ts))
	f.Add(CallbackUpdate(3, ann, "q", 4, "Yes", "yes", ts))
	f.Add(ReactionUpdate(4, ann, 2, "", ts))
	f.Add(MemberUpdate(5, ann, "kicked", "member", ts))
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"update_id":1}`, `{"update_id":1,"message":{}}`,
		`{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"reply_to_message":{"message_id":0}}}`,
		`{"update_id":1,"message":{"message_id":1,"chat":{"id":1},"photo":[{"width":9223372036854775807,"height":2,"file_id":"x"}]}}`,
		`{"update_id":1,"message_reaction":{"chat":{"id":1},"message_id":1,"new_reaction":[{"type":"x"}]}}`,
		`{"update_id":1,"callback_query":{"id":"q","from":{"id":1},"message":{"chat":{"id":0}}}}`,
	} {
		f.Add([]byte(s))
	}
	a := newTestAdapter(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		platformtest.CheckParse(t, a, body)
	})
}
