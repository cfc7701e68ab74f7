package instagram

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// otherAccount is the reason of ignored.json's entry for another account.
const otherAccount = "other_account: entry for account 17841400000000000 is not the channel's"

// parseFile parses testdata/name through CheckParse, which also asserts
// the adapter contract.
func parseFile(t *testing.T, name string) []platform.Event {
	t.Helper()
	return platformtest.ParseFile(t, newTestAdapter(t), name)
}

// ms is an Instagram timestamp as a time.
func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

const (
	mid1    = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjE4MDYzNjQ4MDA4MDM5NzozMTk1NTkxMjk4MzQ0NDg0MzcxNDk0NTUyMjE2MzE0NTk4NAZDZD"
	cdn     = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id="
	echoMID = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxECH"
)

func msg(id string, ts int64, m platform.Message, detail string) platform.Event {
	return platform.Event{Kind: platform.KindMessage, ID: id, Contact: testIGSID, Timestamp: ms(ts), Message: &m, Detail: detail}
}

func TestParseDocumentedPayloads(t *testing.T) {
	const at = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxAT"
	platformtest.CheckTestdata(t, "*.json", parseFile, platformtest.ExpectedEvents{
		"text.json": []platform.Event{msg(mid1, 1569262485349, platform.Message{Kind: platform.Text, Text: "Hi! Is the blue jacket still available?"}, "")},
		"quick_reply.json": []platform.Event{msg("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxQR", 1569262485350,
			platform.Message{Kind: platform.Button, Text: "Size M"}, "quick_reply payload SIZE_M")},
		"reply.json": []platform.Event{
			msg("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxRP1", 1569262485351, platform.Message{Kind: platform.Text, Text: "Yes please", ReplyTo: mid1}, ""),
			msg("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxRP2", 1569262485352, platform.Message{Kind: platform.Text, Text: "Love this look!"},
				"reply to story 17952754273684870"),
		},
		"attachments.json": []platform.Event{
			msg(at+"1", 1569262485360, platform.Message{Kind: platform.Image, MediaRef: cdn + "1001&signature=s1"}, ""),
			msg(at+"1:attachment:1", 1569262485360, platform.Message{Kind: platform.Image, MediaRef: cdn + "1002&signature=s2"}, ""),
			msg(at+"2", 1569262485361, platform.Message{Kind: platform.Video, MediaRef: cdn + "1003&signature=s3"}, ""),
			msg(at+"3", 1569262485362, platform.Message{Kind: platform.Audio, MediaRef: cdn + "1004&signature=s4"}, ""),
			msg(at+"4", 1569262485363, platform.Message{Kind: platform.Document, MediaRef: cdn + "1005&signature=s5"}, ""),
			msg(at+"5", 1569262485364, platform.Message{Kind: platform.Other, MediaRef: cdn + "1006&signature=s6"}, "share"),
			msg(at+"6", 1569262485365, platform.Message{Kind: platform.Other, MediaRef: cdn + "1007&signature=s7"}, "story_mention"),
			msg(at+"7", 1569262485366, platform.Message{Kind: platform.Video, Text: "Spring drop", MediaRef: cdn + "1008&signature=s8"}, "ig_reel"),
			msg(at+"8", 1569262485367, platform.Message{Kind: platform.Other, Text: "New arrivals", MediaRef: "https://www.instagram.com/p/C1a2b3c4d5e/"}, "ig_post"),
		},
		"deleted.json": []platform.Event{msg("unsend:"+mid1, 1569262485370, platform.Message{Kind: platform.Unsend, ReplyTo: mid1}, "")},
		"unsupported.json": []platform.Event{msg("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxUNS", 1569262485371,
			platform.Message{Kind: platform.Other}, "unsupported message")},
		"echo.json": []platform.Event{{Kind: platform.KindReceipt, ID: echoMID + ":status:echo", Contact: testIGSID,
			Timestamp: ms(1569262485380), Status: "echo", Detail: "echo"}},
		"reactions.json": []platform.Event{
			msg("reaction:"+mid1+":"+testIGSID+":❤️:1569262485390", 1569262485390, platform.Message{Kind: platform.Reaction, Text: "❤️", ReplyTo: mid1}, "reaction love"),
			msg("reaction:"+mid1+":"+testIGSID+":unreact:1569262485391", 1569262485391, platform.Message{Kind: platform.Reaction, ReplyTo: mid1}, "reaction removed"),
		},
		"postback.json": []platform.Event{msg("postback:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxPBK", 1569262485400,
			platform.Message{Kind: platform.Postback, Text: "Track my order"}, "payload ICEBREAKER_TRACK_ORDER")},
		"seen.json": []platform.Event{{Kind: platform.KindReceipt, ID: echoMID + ":status:read", Contact: testIGSID,
			Timestamp: ms(1569262485410), Status: "read"}},
		"edit.json": []platform.Event{msg("edit:"+mid1+":1", 1569262485420,
			platform.Message{Kind: platform.Edit, Text: "Hi! Is the navy jacket still available?", ReplyTo: mid1}, "edit 1")},
		"ignored.json": []platform.Event{
			{Kind: platform.KindIgnored, Detail: "referral"},
			// A customer's message while another app owns the conversation.
			{Kind: platform.KindMessage, ID: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxSTB", Contact: "1175734150341458",
				Timestamp: ms(1569262485431), Message: &platform.Message{Kind: platform.Text, Text: "hello?"},
				Detail: "standby: another app owns the conversation"},
			{Kind: platform.KindIgnored, Detail: "field comments"},
			{Kind: platform.KindIgnored, Detail: "field mentions"},
			// Raw is checked by CheckParse: it parses again into this event.
			{Kind: platform.KindUnusable, Detail: otherAccount, Reason: otherAccount},
		},
	})
}

func TestParseIDsAreDistinct(t *testing.T) {
	platformtest.CheckDistinctIDs(t, "*.json", parseFile)
}

func TestParseWithoutAccountIDReadsEveryEntry(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "ignored.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAdapter(t, func(c *Config) { c.AccountID = "" })
	events := platformtest.CheckParse(t, a, body)
	last := events[len(events)-1]
	if last.Kind != platform.KindMessage || last.ID != "aWdfOTHER" {
		t.Fatalf("last event = %+v, want the other account's message", last)
	}
	// The linked Page's id is accepted as the entry id too.
	b := newTestAdapter(t)
	events = platformtest.CheckParse(t, b, TextDelivery(testPageID, testIGSID, "m_1", "hi", time.Unix(1700000000, 0)))
	if len(events) != 1 || events[0].Kind != platform.KindMessage {
		t.Fatalf("entry named by the Page id: %+v", events)
	}
}

func TestParseLargeNumericIDs(t *testing.T) {
	body := []byte(`{"object":"instagram","entry":[{"id":17841405822304914,"time":1700000000000,"messaging":[` +
		`{"sender":{"id":9007199254740993},"recipient":{"id":17841405822304914},"timestamp":1700000000000,` +
		`"message":{"mid":"m_big","text":"hi"}}]}]}`)
	events := platformtest.CheckParse(t, newTestAdapter(t), body)
	if len(events) != 1 || events[0].Contact != "9007199254740993" || events[0].Kind != platform.KindMessage {
		t.Fatalf("events = %+v, want a message from 9007199254740993 intact", events)
	}
}

func TestParseMalformed(t *testing.T) {
	a := newTestAdapter(t)
	for name, body := range map[string]string{
		"not JSON":            `{"object":`,
		"messenger delivery":  `{"object":"page","entry":[]}`,
		"message without mid": `{"object":"instagram","entry":[{"id":"17841405822304914","messaging":[{"sender":{"id":"1"},"message":{"is_deleted":true}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			events, err := a.Parse(nil, []byte(body))
			if !errors.Is(err, platform.ErrMalformed) || events != nil {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", events, err)
			}
			if !strings.Contains(err.Error(), "instagram") {
				t.Fatalf("error does not name the platform: %v", err)
			}
		})
	}
}
