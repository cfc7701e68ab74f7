package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestTextWithNULIsRefused: a NUL character (or invalid UTF-8) in a body
// or a query parameter gets 400 invalid_text naming where it is, and
// changes nothing; the webhooks, by contrast, store a hostile delivery
// cleaned.
func TestTextWithNULIsRefused(t *testing.T) {
	e := start(t)
	e.deliverWhatsApp("31600000001", "wamid.A1", "hello")
	convID, contactID := e.find("acme", "wa", "31600000001")
	conv := fmt.Sprintf("/api/v1/tenants/acme/conversations/%d", convID)
	contact := fmt.Sprintf("/api/v1/tenants/acme/contacts/%d", contactID)

	for _, c := range []struct {
		name, method, path, body, where string
	}{
		{"tags", "PUT", contact + "/tags", `{"tags": ["ok", "v\u0000ip"]}`, "field tags[1]"},
		{"note", "POST", contact + "/notes", `{"text": "call \u0000back"}`, "field text"},
		{"reply", "POST", conv + "/messages", `{"text": "hello\u0000"}`, "field text"},
		{"block note", "PUT", contact + "/block", `{"inbound": true, "note": "sp\u0000am"}`, "field note"},
		{"state reason", "PUT", conv + "/details/", `{"action": "change_state", "state": "CLOSED", "reason": "\u0000"}`, "field reason"},
		// Raw invalid UTF-8 in a body, which encoding/json would turn into
		// U+FFFD: refused on the bytes, naming where it is.
		{"invalid UTF-8 tag", "PUT", contact + "/tags", "{\"tags\": [\"v\xffip\"]}", "the body (at byte 12)"},
		{"invalid UTF-8 note", "POST", contact + "/notes", "{\"text\": \"call \xff\xfe back\"}", "the body (at byte 15)"},
		{"invalid UTF-8 reply", "POST", conv + "/messages", "{\"text\": \"hello\xc3\"}", "the body (at byte 15)"},
		{"invalid UTF-8 block note", "PUT", contact + "/block", "{\"inbound\": true, \"note\": \"sp\xc3am\"}", "the body (at byte 29)"},
		{"invalid UTF-8 state reason", "PUT", conv + "/details/", "{\"action\": \"change_state\", \"state\": \"CLOSED\", \"reason\": \"a\xffb\"}", "the body (at byte 58)"},
		{"tag filter", "GET", "/api/v1/tenants/acme/contacts?tag=vip%00", "", "query parameter tag"},
		{"invalid UTF-8 filter", "GET", "/api/v1/tenants/acme/contacts?tag=%ff", "", "query parameter tag"},
		{"conversation filter", "GET", "/api/v1/tenants/acme/conversations?contact=%00", "", "query parameter"},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		b := e.do(req{method: c.method, path: c.path, token: "alice", body: body, want: 400, invalid: true})
		if code := errCode(t, b); code != "invalid_text" || !strings.Contains(string(b), c.where) {
			t.Errorf("%s: answer %s, want invalid_text naming %s", c.name, b, c.where)
		}
	}

	detail := decodeAs[struct {
		Tags    []string   `json:"tags"`
		Notes   []struct{} `json:"notes"`
		Blocked *struct{}  `json:"blocked"`
	}](t, e.do(req{method: "GET", path: contact, token: "alice", want: 200}))
	if len(detail.Tags) != 0 || len(detail.Notes) != 0 || detail.Blocked != nil {
		t.Errorf("a refused request changed the contact: %+v", detail)
	}
	state := decodeAs[struct {
		State    int `json:"state"`
		Messages []struct {
			Direction string `json:"direction"`
		} `json:"messages"`
	}](t, e.do(req{method: "GET", path: conv, token: "alice", want: 200}))
	if state.State != 0 || len(state.Messages) != 1 {
		t.Errorf("a refused request changed the conversation: %+v", state)
	}
}
