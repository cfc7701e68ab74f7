package meta

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
)

var target = Target{Platform: "messenger", Object: "page", AccountIDs: []string{"100"}}

// one wraps messaging events in a delivery for account 100.
func one(items ...string) []byte {
	return []byte(`{"object":"page","entry":[{"id":"100","time":1700000000000,"messaging":[` + strings.Join(items, ",") + `]}]}`)
}

func parseOK(t *testing.T, body []byte) []platform.Event {
	t.Helper()
	events, err := ParseMessaging(body, target)
	if err != nil {
		t.Fatalf("ParseMessaging: %v\n%s", err, body)
	}
	return events
}

func TestFlex(t *testing.T) {
	tests := []struct {
		in   string
		want Flex
		ok   bool
	}{
		{`"abc"`, "abc", true},
		{`9007199254740993`, "9007199254740993", true}, // 2^53+1: a float64 would round it
		{`123456789012345678901234567890`, "123456789012345678901234567890", true},
		{`null`, "", true},
		{`true`, "true", true},
		{`{}`, "", false},
		{`[1]`, "", false},
	}
	for _, tt := range tests {
		var f Flex
		err := json.Unmarshal([]byte(tt.in), &f)
		if (err == nil) != tt.ok || (tt.ok && f != tt.want) {
			t.Errorf("Flex(%s) = %q, %v; want %q, ok %v", tt.in, f, err, tt.want, tt.ok)
		}
	}
	b, err := json.Marshal(struct {
		ID Flex `json:"id"`
	}{"9007199254740993"})
	if err != nil || string(b) != `{"id":"9007199254740993"}` {
		t.Fatalf("Marshal(Flex) = %s, %v", b, err)
	}
}

func TestMillis(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{`1458692752478`, time.UnixMilli(1458692752478).UTC(), true},
		{`"1458692752478"`, time.UnixMilli(1458692752478).UTC(), true},
		{`1527459824`, time.Unix(1527459824, 0).UTC(), true}, // seconds, as in some samples
		{`0`, time.Time{}, true},
		{`null`, time.Time{}, true},
		{`1.5e12`, time.Time{}, false},
		{`"soon"`, time.Time{}, false},
	}
	for _, tt := range tests {
		var m Millis
		err := json.Unmarshal([]byte(tt.in), &m)
		if (err == nil) != tt.ok || (tt.ok && !m.Time().Equal(tt.want)) {
			t.Errorf("Millis(%s) = %v, %v; want %v, ok %v", tt.in, m.Time(), err, tt.want, tt.ok)
		}
	}
	ts := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	if got := MillisOf(ts).Time(); !got.Equal(ts) {
		t.Errorf("MillisOf round trip = %v, want %v", got, ts)
	}
	if MillisOf(time.Time{}) != 0 {
		t.Errorf("MillisOf(zero) = %d", MillisOf(time.Time{}))
	}
}

func TestParseMessagingNumericIDsKeepEveryDigit(t *testing.T) {
	body := []byte(`{"object":"page","entry":[{"id":100,"messaging":[{"sender":{"id":9007199254740993},"recipient":{"id":100},` +
		`"timestamp":1700000000001,"message":{"mid":"m_1","text":"hi"}}]}]}`)
	events := parseOK(t, body)
	if len(events) != 1 || events[0].Contact != "9007199254740993" || events[0].Kind != platform.KindMessage {
		t.Fatalf("events = %+v, want one message from 9007199254740993", events)
	}
}

func TestParseMessagingEdgeCases(t *testing.T) {
	ts := time.UnixMilli(1700000000001).UTC()
	tests := []struct {
		name string
		item string
		want []platform.Event
	}{
		{"chat plugin guest", `{"sender":{"user_ref":"guest-7"},"recipient":{"id":"100"},"timestamp":1700000000001,"message":{"mid":"m_1","text":"hi"}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_1", Contact: "guest-7", Timestamp: ts, Message: &platform.Message{Kind: platform.Text, Text: "hi"}}}},
		{"entry time stands in", `{"sender":{"id":"7"},"recipient":{"id":"100"},"message":{"mid":"m_1","text":"hi"}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_1", Contact: "7", Timestamp: time.UnixMilli(1700000000000).UTC(), Message: &platform.Message{Kind: platform.Text, Text: "hi"}}}},
		{"empty message", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001,"message":{"mid":"m_1"}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_1", Contact: "7", Timestamp: ts, Message: &platform.Message{Kind: platform.Other}, Detail: "message without text or attachments"}}},
		{"attachment without payload", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001,"message":{"mid":"m_1","attachments":[{"type":"fallback"}]}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_1", Contact: "7", Timestamp: ts, Message: &platform.Message{Kind: platform.Other}, Detail: "fallback"}}},
		{"unknown attachment type", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001,"message":{"mid":"m_1","attachments":[{"type":"hologram","payload":{"url":"https://x.test/h"}}]}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "m_1", Contact: "7", Timestamp: ts, Message: &platform.Message{Kind: platform.Other, MediaRef: "https://x.test/h"}, Detail: "hologram"}}},
		{"reaction named only", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001,"reaction":{"mid":"m_0","action":"react","reaction":"like"}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "reaction:m_0:7:👍:1700000000001", Contact: "7", Timestamp: ts, Message: &platform.Message{Kind: platform.Reaction, Text: "👍", ReplyTo: "m_0"}, Detail: "reaction like"}}},
		{"edit without count", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001,"message_edit":{"mid":"m_0","text":"new"}}`,
			[]platform.Event{{Kind: platform.KindMessage, ID: "edit:m_0:t1700000000001", Contact: "7", Timestamp: ts, Message: &platform.Message{Kind: platform.Edit, Text: "new", ReplyTo: "m_0"}, Detail: "edit"}}},
		{"edit by the business", `{"sender":{"id":"100"},"recipient":{"id":"7"},"timestamp":1700000000001,"message_edit":{"mid":"m_0","text":"new","num_edit":1}}`,
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "edit of the business's own message"}}},
		{"echo of a deletion", `{"sender":{"id":"100"},"recipient":{"id":"7"},"timestamp":1700000000001,"message":{"mid":"m_0","is_echo":true,"is_deleted":true}}`,
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "echo of a deleted message"}}},
		{"unknown event", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001,"game_play":{"game_id":"1"},"account_linking":{"status":"linked"}}`,
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "account_linking, game_play"}}},
		{"no event at all", `{"sender":{"id":"7"},"recipient":{"id":"100"},"timestamp":1700000000001}`,
			[]platform.Event{{Kind: platform.KindIgnored, Detail: "empty messaging event"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOK(t, one(tt.item))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("events:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseMessagingEntries(t *testing.T) {
	body := []byte(`{"object":"page","entry":[` +
		`{"id":"100","time":1,"changes":[{"field":"feed","value":{"item":"comment"}}]},` +
		`{"id":"100","time":1,"field":"mentions","value":{"media_id":"1"}},` +
		`{"id":"200","time":1,"messaging":[{"sender":{"id":"7"},"recipient":{"id":"200"},"message":{"mid":"m_9","text":"x"}}]},` +
		`{"id":"100","time":1,"standby":[{"sender":{"id":"7"},"recipient":{"id":"100"},"message":{"mid":"m_8","text":"y"}}]}]}`)
	got := parseOK(t, body)
	want := []platform.Event{
		{Kind: platform.KindIgnored, Detail: "field feed"},
		{Kind: platform.KindIgnored, Detail: "field mentions"},
		platform.Unusable([]byte(`{"object":"page","entry":[`+
			`{"id":"200","time":1,"messaging":[{"sender":{"id":"7"},"recipient":{"id":"200"},"message":{"mid":"m_9","text":"x"}}]}]}`),
			"other_account: entry for account 200 is not the channel's"),
		{Kind: platform.KindMessage, ID: "m_8", Contact: "7", Timestamp: time.Unix(1, 0).UTC(),
			Message: &platform.Message{Kind: platform.Text, Text: "y"}, Detail: "standby: another app owns the conversation"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n got %+v\nwant %+v", got, want)
	}
	// Without account ids, every entry is read.
	events, err := ParseMessaging(body, Target{Platform: "messenger", Object: "page"})
	if err != nil || len(events) != 4 || events[2].Kind != platform.KindMessage {
		t.Fatalf("ParseMessaging without account ids = %+v, %v", events, err)
	}
}

func TestParseMessagingMalformed(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"not JSON", `{`, "not a webhook delivery"},
		{"array", `[]`, "not a webhook delivery"},
		{"wrong object", `{"object":"instagram","entry":[]}`, `object is "instagram"`},
		{"no object", `{"entry":[]}`, `object is ""`},
		{"message without mid", string(one(`{"sender":{"id":"7"},"message":{"text":"x"}}`)), "entry[0].messaging[0].message: message has no mid"},
		{"message without sender", string(one(`{"recipient":{"id":"100"},"message":{"mid":"m_1","text":"x"}}`)), "has no sender"},
		{"reaction without mid", string(one(`{"sender":{"id":"7"},"reaction":{"action":"react","emoji":"x"}}`)), "reaction has no mid"},
		{"edit without mid", string(one(`{"sender":{"id":"7"},"message_edit":{"text":"x"}}`)), "message_edit has no mid"},
		{"postback without sender", string(one(`{"postback":{"mid":"m_1","payload":"p"}}`)), "postback has no sender"},
		{"postback without mid or time", `{"object":"page","entry":[{"id":"100","messaging":[{"sender":{"id":"7"},"postback":{"payload":"p"}}]}]}`, "neither mid nor timestamp"},
		{"empty delivery", string(one(`{"sender":{"id":"7"},"delivery":{}}`)), "neither mids nor watermark"},
		{"empty delivered mid", string(one(`{"sender":{"id":"7"},"delivery":{"mids":[""],"watermark":1}}`)), "mids[0]: empty message id"},
		{"empty read", string(one(`{"sender":{"id":"7"},"read":{}}`)), "neither mid nor watermark"},
		{"timestamp as float", string(one(`{"sender":{"id":"7"},"timestamp":1.5,"message":{"mid":"m","text":"x"}}`)), "not an integer"},
		{"text as number", string(one(`{"sender":{"id":"7"},"message":{"mid":"m","text":5}}`)), "entry[0].messaging[0]"},
		{"bad standby", `{"object":"page","entry":[{"id":"100","standby":[{"sender":[]}]}]}`, "standby[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseMessaging([]byte(tt.body), target)
			if !errors.Is(err, platform.ErrMalformed) || !strings.Contains(err.Error(), tt.want) || events != nil {
				t.Fatalf("ParseMessaging = %v, %v; want ErrMalformed containing %q", events, err, tt.want)
			}
			if !strings.HasPrefix(strings.TrimPrefix(err.Error(), platform.ErrMalformed.Error()+": "), "messenger: ") {
				t.Errorf("error does not name the platform: %v", err)
			}
		})
	}
}

func TestParseMessagingDetailIsClipped(t *testing.T) {
	long := strings.Repeat("é", 400)
	events := parseOK(t, one(`{"sender":{"id":"7"},"timestamp":1,"postback":{"mid":"m_1","title":"t","payload":"`+long+`"}}`))
	if len(events) != 1 || len(events[0].Detail) > platform.MaxDetail+len("…") || !strings.HasSuffix(events[0].Detail, "…") {
		t.Fatalf("Detail not clipped: %d bytes", len(events[0].Detail))
	}
}
