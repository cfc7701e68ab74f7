package messenger

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// ms is a Messenger timestamp as a time.
func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

// parseFile parses testdata/name through CheckParse, which also asserts
// the adapter contract.
// otherAccount is the reason of ignored.json's entry for another account.
const otherAccount = "other_account: entry for account 999999999999999 is not the channel's"

func parseFile(t *testing.T, name string) []platform.Event {
	t.Helper()
	a := newTestAdapter(t)
	body := readFile(t, name)
	if err := a.Verify(platformtest.NewRequest("POST", "/w", body, SignatureHeader, Sign(testAppSecret, body)), body); err != nil {
		t.Fatalf("Verify of a signed testdata file: %v", err)
	}
	return platformtest.ParseFile(t, a, name)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestParseDocumentedPayloads(t *testing.T) {
	const mid = "mid.1457764197618:41d102a3e1ae206a38"
	platformtest.CheckTestdata(t, "*.json", parseFile, platformtest.ExpectedEvents{
		"text.json": []platform.Event{{
			Kind: platform.KindMessage, ID: mid, Contact: testPSID, Timestamp: ms(1458692752478),
			Message: &platform.Message{Kind: platform.Text, Text: "hello, world!"},
		}},
		"quick_reply.json": []platform.Event{{
			Kind: platform.KindMessage, ID: "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0Q", Contact: testPSID, Timestamp: ms(1458692752478),
			Message: &platform.Message{Kind: platform.Button, Text: "Red"},
			Detail:  "quick_reply payload DEVELOPER_DEFINED_PAYLOAD_FOR_PICKING_RED",
		}},
		"reply.json": []platform.Event{{
			Kind: platform.KindMessage, ID: "m_1457764197618:41d102a3e1ae206a38", Contact: testPSID, Timestamp: ms(1458692752478),
			Message: &platform.Message{Kind: platform.Text, Text: "hello, world!", ReplyTo: "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU"},
		}},
		"attachments.json": []platform.Event{
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c", Contact: testPSID, Timestamp: ms(1518479195308),
				Message: &platform.Message{Kind: platform.Image, MediaRef: "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo1.jpg"}},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c:attachment:1", Contact: testPSID, Timestamp: ms(1518479195308),
				Message: &platform.Message{Kind: platform.Image, MediaRef: "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo2.jpg"}},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8Eshq4Xm5OWAAA", Contact: testPSID, Timestamp: ms(1518479196101),
				Message: &platform.Message{Kind: platform.Video, MediaRef: "https://video.xx.fbcdn.net/v/t42.3356-2/clip.mp4"}},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8Ett0rqKlvWBBB", Contact: testPSID, Timestamp: ms(1518479197002),
				Message: &platform.Message{Kind: platform.Audio, MediaRef: "https://cdn.fbsbx.com/v/t59.3654-21/audioclip.mp4"}},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8EuE2kQ9fJXCCC", Contact: testPSID, Timestamp: ms(1518479198003),
				Message: &platform.Message{Kind: platform.Document, MediaRef: "https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf"}},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8EvPZ3z1hKhDDD", Contact: testPSID, Timestamp: ms(1518479199004),
				Message: &platform.Message{Kind: platform.Sticker, MediaRef: "https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png"},
				Detail:  "sticker_id 369239263222822"},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8EwXq0Tg3MuEEE", Contact: testPSID, Timestamp: ms(1518479200005),
				Message: &platform.Message{Kind: platform.Location, Text: "Pinned Location (48.856614, 2.3522219)"}},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8ExkY7Ra4NVFFF", Contact: testPSID, Timestamp: ms(1518479201006),
				Message: &platform.Message{Kind: platform.Other, Text: "https://www.example.com/spring-sale", MediaRef: "https://www.example.com/spring-sale"},
				Detail:  "fallback"},
			{Kind: platform.KindMessage, ID: "mid.$cAAJdkrCd2ORnva8EyJ2q1b5OWGGG", Contact: testPSID, Timestamp: ms(1518479202007),
				Message: &platform.Message{Kind: platform.Video, Text: "Our new collection", MediaRef: "https://www.facebook.com/reel/1234567890123456"},
				Detail:  "reel"},
		},
		"echo.json": []platform.Event{{
			Kind: platform.KindReceipt, ID: mid + ":status:echo", Contact: testPSID, Timestamp: ms(1457764197627),
			Status: "echo", Detail: "echo from app_id 1517776481860111",
		}},
		"edit.json": []platform.Event{{
			Kind: platform.KindMessage, ID: "edit:" + mid + ":2", Contact: testPSID, Timestamp: ms(1458668856463),
			Message: &platform.Message{Kind: platform.Edit, Text: "hello, world! (edited)", ReplyTo: mid},
			Detail:  "edit 2",
		}},
		"reactions.json": []platform.Event{
			{Kind: platform.KindMessage, ID: "reaction:" + mid + ":" + testPSID + ":❤️:1458668856463", Contact: testPSID, Timestamp: ms(1458668856463),
				Message: &platform.Message{Kind: platform.Reaction, Text: "❤️", ReplyTo: mid}, Detail: "reaction love"},
			{Kind: platform.KindMessage, ID: "reaction:" + mid + ":" + testPSID + ":unreact:1458668859000", Contact: testPSID, Timestamp: ms(1458668859000),
				Message: &platform.Message{Kind: platform.Reaction, ReplyTo: mid}, Detail: "reaction removed"},
		},
		"postback.json": []platform.Event{
			{Kind: platform.KindMessage, ID: "postback:m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P",
				Contact: testPSID, Timestamp: ms(1527459824000),
				Message: &platform.Message{Kind: platform.Postback, Text: "Talk to an agent"}, Detail: "payload USER_DEFINED_PAYLOAD_AGENT"},
			{Kind: platform.KindMessage, ID: "postback:" + testPSID + ":1527459830000", Contact: testPSID, Timestamp: ms(1527459830000),
				Message: &platform.Message{Kind: platform.Postback, Text: "Get Started"}, Detail: "payload GET_STARTED"},
		},
		"delivery.json": []platform.Event{
			{Kind: platform.KindReceipt, ID: "mid.1458668856218:ed81099e15d3f4f233:status:delivered", Contact: testPSID,
				Timestamp: ms(1458668856253), Status: "delivered"},
			{Kind: platform.KindReceipt, ID: "mid.1458668856219:a1b2c3d4e5f60718:status:delivered", Contact: testPSID,
				Timestamp: ms(1458668856253), Status: "delivered"},
			{Kind: platform.KindReceipt, ID: "delivered:" + testPSID + ":1458668856260", Contact: testPSID,
				Timestamp: ms(1458668856260), Status: "delivered", Detail: "every message up to the watermark 1458668856260"},
			{Kind: platform.KindReceipt, ID: "read:" + testPSID + ":1458668856253", Contact: testPSID,
				Timestamp: ms(1458668856463), Status: "read", Detail: "every message up to the watermark 1458668856253"},
		},
		"ignored.json": []platform.Event{
			{Kind: platform.KindIgnored, Detail: "referral"},
			{Kind: platform.KindIgnored, Detail: "optin"},
			{Kind: platform.KindIgnored, Detail: "pass_thread_control"},
			// A customer's message while another app (the inbox) owns the
			// conversation.
			{Kind: platform.KindMessage, ID: "mid.1458692752481:standby01", Contact: "1254477777772919",
				Timestamp: ms(1458692752481), Message: &platform.Message{Kind: platform.Text, Text: "sent while the inbox owns the thread"},
				Detail: "standby: another app owns the conversation"},
			// Raw is checked by CheckParse: it parses again into this event.
			{Kind: platform.KindUnusable, Detail: otherAccount, Reason: otherAccount},
		},
	})
}

func TestParseIDsAreDistinct(t *testing.T) {
	platformtest.CheckDistinctIDs(t, "*.json", parseFile)
}

func TestParseBatchKeepsOrder(t *testing.T) {
	ts := time.UnixMilli(1700000000000)
	body := Delivery(testPageID,
		Inbound{From: testPSID, ID: "m_1", Time: ts, Text: "first"},
		Inbound{From: "2", ID: "m_2", Time: ts.Add(time.Second), Type: "image", URL: "https://x.test/2.jpg"},
		Inbound{From: testPSID, ID: "m_3", Time: ts.Add(2 * time.Second), Text: "third", ReplyTo: "m_1"},
	)
	events := platformtest.CheckParse(t, newTestAdapter(t), body)
	var got []string
	for _, ev := range events {
		got = append(got, ev.ID+"/"+ev.Contact+"/"+ev.Message.Kind)
	}
	want := []string{"m_1/" + testPSID + "/text", "m_2/2/image", "m_3/" + testPSID + "/text"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	if events[2].Message.ReplyTo != "m_1" {
		t.Fatalf("ReplyTo = %q", events[2].Message.ReplyTo)
	}
}

func TestParseLargeNumericIDs(t *testing.T) {
	// 2^53+1 would come out of a float64 as ...992.
	body := []byte(`{"object":"page","entry":[{"id":682498302938465,"time":1700000000000,"messaging":[` +
		`{"sender":{"id":9007199254740993},"recipient":{"id":682498302938465},"timestamp":1700000000000,` +
		`"message":{"mid":"m_big","text":"hi"}}]}]}`)
	events := platformtest.CheckParse(t, newTestAdapter(t), body)
	if len(events) != 1 || events[0].Contact != "9007199254740993" {
		t.Fatalf("events = %+v, want the sender 9007199254740993 intact", events)
	}
}

func TestParseMalformed(t *testing.T) {
	a := newTestAdapter(t)
	for name, body := range map[string]string{
		"not JSON":            `not json`,
		"instagram delivery":  `{"object":"instagram","entry":[]}`,
		"whatsapp delivery":   `{"object":"whatsapp_business_account","entry":[]}`,
		"message without mid": `{"object":"page","entry":[{"id":"682498302938465","messaging":[{"sender":{"id":"1"},"message":{"text":"x"}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			events, err := a.Parse(nil, []byte(body))
			if !errors.Is(err, platform.ErrMalformed) || events != nil {
				t.Fatalf("Parse = %v, %v; want ErrMalformed", events, err)
			}
			if !strings.Contains(err.Error(), "messenger") {
				t.Fatalf("error does not name the platform: %v", err)
			}
		})
	}
	events, err := a.Parse(nil, []byte(`{"object":"page","entry":[]}`))
	if err != nil || len(events) != 0 {
		t.Fatalf("Parse of an empty delivery = %v, %v", events, err)
	}
}
