package integration_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/instagram"
	"github.com/chatsync/sfconnector/connector/platform/messenger"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/viber"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// TestMediaOfEveryPlatformBecomesAFile sends a media message on the
// platforms and kinds the other media tests leave out (a Viber file, a
// Messenger and an Instagram image, a web chat upload, a WhatsApp and a
// Telegram document with their file names) through the running binary,
// the media stand-in serving each platform's download, and finds each as
// one File in Salesforce, published to its message record, with the
// right bytes, type and name; and a Viber link that expired fails as gone
// while its message's text arrives.
func TestMediaOfEveryPlatformBecomesAFile(t *testing.T) {
	t.Parallel()
	sf := newOrg(t, "", nil)
	m := newMediaStandin(t)
	var chans []channelSpec
	for _, p := range []string{"whatsapp", "messenger", "instagram", "telegram", "viber", "webchat"} {
		chans = append(chans, channelSpec{ID: p, Platform: p})
	}
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: sf, Channels: chans}}})
	cfg := e.configMap()
	m.configure(cfg)
	cfg["media"] = map[string]any{"poll_interval": "100ms", "max_attempts": 3, "allow_private_addresses": true}
	e.writeConfigMap(cfg)
	e.start()
	now := time.Now().Add(-time.Minute)

	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("invoice 4411 "), 40)...)
	jpeg := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{0x7a}, 600)...)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x03, 0x04}, 300)...)
	doc := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0x11}, 500)...)

	type want struct {
		key, name, contentType string
		data                   []byte
	}
	var wants []want
	post := func(channel string, body []byte, header, sig string) {
		t.Helper()
		resp, err := e.sender().Post(t.Context(), "acme", channel, body, header, sig)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("%s delivery answered %d (%v): %s", channel, resp.Status, err, resp.Body)
		}
	}

	// Viber: a file, its name from the message; and an expired picture.
	fileURL := m.cdn("viber/5/media/2/file/invoice-4411.pdf", pdf, "application/pdf")
	b := viber.MessageCallback(viber.Inbound{Token: "5741311803571721901", UserID: "01234567890A=", Name: "Ann", Time: now,
		Type: "file", Media: fileURL, FileName: "invoice-4411.pdf", FileSize: int64(len(pdf))})
	post("viber", b, viber.SignatureHeader, viber.Sign(viberToken, b))
	wants = append(wants, want{"acme:viber:5741311803571721901", "invoice-4411.pdf", "application/pdf", pdf})
	b = viber.PictureCallback("5741311803571721902", "01234567890A=", "Ann", m.srv.URL+"/cdn/viber/expired.jpg", "the expired one", now)
	post("viber", b, viber.SignatureHeader, viber.Sign(viberToken, b))

	// Messenger and Instagram: the attachment's CDN URL.
	b = messenger.ImageDelivery(pageID, "6543210987654321", "m_MEDIA_1", m.cdn("fb/t39.1997-6/photo.jpg", jpeg, "image/jpeg"), now)
	post("messenger", b, meta.SignatureHeader, messenger.Sign(metaAppSecret, b))
	wants = append(wants, want{key: "acme:messenger:m_MEDIA_1", contentType: "image/jpeg", data: jpeg})
	b = instagram.ImageDelivery(igAccountID, "1234567890123456", "aWdfZAMEDIA1", m.cdn("ig/ig_messaging_cdn/asset.png", png, "image/png"), now)
	post("instagram", b, meta.SignatureHeader, instagram.Sign(metaAppSecret, b))
	wants = append(wants, want{key: "acme:instagram:aWdfZAMEDIA1", contentType: "image/png", data: png})

	// WhatsApp and Telegram documents: the name the message gives.
	m.whatsapp("1166401585283077", doc, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
	b = whatsapp.Delivery(defaultPhoneNumberID, whatsapp.Inbound{From: "31600000078", Name: "Bob", ID: "wamid.MEDIADOC", Time: now,
		Type: "document", MediaID: "1166401585283077", MimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		Filename: "order 1042.docx"})
	post("whatsapp", b, whatsapp.SignatureHeader, whatsapp.Sign(appSecret, b))
	wants = append(wants, want{"acme:whatsapp:wamid.MEDIADOC", "order 1042.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", doc})
	m.telegram("BQACAgIAAxkB-doc-1", "documents/file_12.pdf", pdf)
	b = telegram.MessageUpdate(telegram.Inbound{UpdateID: 91, From: telegram.User{ID: 7000000091, FirstName: "Cy"}, MessageID: 5, Time: now,
		Type: "document", FileID: "BQACAgIAAxkB-doc-1", MimeType: "application/pdf", FileName: "warranty.pdf"})
	post("telegram", b, telegram.SecretHeader, telegram.Sign(telegramSecret, b))
	wants = append(wants, want{"acme:telegram:7000000091:5", "warranty.pdf", "application/pdf", pdf})

	// The web chat: an upload, then the message naming it.
	ref := uploadWebChat(t, e, "acme", "webchat", png, "image/png")
	b = []byte(fmt.Sprintf(`{"events":[{"id":"web-MEDIA-1","type":"message","visitor":{"id":"v-9","name":"Di"},`+
		`"message":{"text":"the scratch","attachment":{"upload":%q,"type":"image/png","name":"scratch.png"}}}]}`, ref))
	post("webchat", b, webchat.SignatureHeader, webchat.Sign(webchatSecret, b))
	wants = append(wants, want{"acme:webchat:web-MEDIA-1", "scratch.png", "image/png", png})

	var files []standin.File
	waitFor(t, waitTimeout, fmt.Sprintf("%d Files in Salesforce", len(wants)), func() (bool, string) {
		files = sf.SF.Files()
		return len(files) >= len(wants), fmt.Sprintf("%d Files", len(files))
	})
	byKey := map[string]standin.File{}
	for _, f := range files {
		if _, dup := byKey[f.Key]; dup {
			t.Fatalf("a second File for %s", f.Key)
		}
		byKey[f.Key] = f
	}
	msgs := map[string]standin.Record{}
	for _, r := range sf.SF.Records(msgObject) {
		msgs[r.ID] = r
	}
	list, err := e.openStore().ListMedia(t.Context(), store.MediaFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]store.MediaItem{}
	for _, it := range list {
		items["acme:"+it.Channel+":"+it.MessagePlatformID] = it
	}
	for _, w := range wants {
		f, ok := byKey[w.key]
		if !ok {
			t.Errorf("%s: no File (Files: %d)", w.key, len(files))
			continue
		}
		// The File's content type is set on a multipart upload only; the
		// store's item has the type the platform gave.
		it := items[w.key]
		if !bytes.Equal(f.Data, w.data) || (f.ContentType != "" && f.ContentType != w.contentType) || it.ContentType != w.contentType {
			t.Errorf("%s: File of %d bytes, type %q (the item's %q); want %d bytes, %q", w.key, len(f.Data), f.ContentType, it.ContentType,
				len(w.data), w.contentType)
		}
		if w.name != "" && f.PathOnClient != w.name {
			t.Errorf("%s: File named %q, want %q", w.key, f.PathOnClient, w.name)
		}
		if rec, ok := msgs[f.FirstPublishLocationID]; !ok || rec.Fields["Message_Key__c"] != w.key {
			t.Errorf("%s: File published to %q, not its message record", w.key, f.FirstPublishLocationID)
		}
	}
	if len(files) != len(wants) {
		t.Errorf("%d Files, want %d: the expired Viber link makes none", len(files), len(wants))
	}
	// The web chat's upload is removed once the connector keeps its bytes.
	upload := filepath.Join(e.dbPath+"-uploads", "acme", "webchat", strings.TrimPrefix(ref, webchat.UploadPrefix))
	if _, err := os.Stat(upload); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the web chat upload %s is still there once its File is: %v", upload, err)
	}
	// The expired link's message arrived with its text; its media failed
	// as gone.
	waitForRecord(t, sf.SF, msgObject, "Message_Key__c", "acme:viber:5741311803571721902")
	waitFor(t, waitTimeout, "the expired link's media failed as gone", func() (bool, string) {
		list, err := e.openStore().ListMedia(t.Context(), store.MediaFilter{Tenant: "acme", Status: store.MediaFailed})
		if err != nil || len(list) != 1 {
			return false, fmt.Sprintf("%v %v", list, err)
		}
		it := list[0]
		return it.Channel == "viber" && it.MessagePlatformID == "5741311803571721902" && strings.Contains(it.StatusText(), "gone"), it.StatusText()
	})
	for _, r := range m.requests() {
		if r.Platform == "unknown" {
			t.Errorf("the media stand-in got a request it does not serve: %s", r.Key)
		}
		if strings.HasPrefix(r.Key, "cdn:/cdn/viber/expired") && r.Status != http.StatusNotFound {
			t.Errorf("the expired link answered %d", r.Status)
		}
	}
}

// TestWebChatUploadsNeverFetchedAreRemoved: a web chat upload that the
// connector will never fetch is removed once the delivery naming it
// commits, not after the uploads' 7 days: that of a message excluded (a
// bot's conversation: its media item is skipped) and that of a message
// refused (a visitor blocked for inbound). (That another message waiting
// for the same upload keeps it is media.Worker's unit test.)
func TestWebChatUploadsNeverFetchedAreRemoved(t *testing.T) {
	t.Parallel()
	sf := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: sf,
		Channels: []channelSpec{{ID: "webchat", Platform: "webchat", Bot: true}}}}})
	e.start()
	uploaded := func(data []byte) (ref, path string) {
		t.Helper()
		ref = uploadWebChat(t, e, "acme", "webchat", data, "image/png")
		path = filepath.Join(e.dbPath+"-uploads", "acme", "webchat", strings.TrimPrefix(ref, webchat.UploadPrefix))
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the upload %s is not kept: %v", ref, err)
		}
		return ref, path
	}
	photo := func(id, visitor, ref string) []byte {
		return []byte(fmt.Sprintf(`{"events":[{"id":%q,"type":"message","visitor":{"id":%q,"name":"Vi"},`+
			`"message":{"text":"look","attachment":{"upload":%q,"type":"image/png","name":"look.png"}}}]}`, id, visitor, ref))
	}
	gone := func(what, path string) {
		t.Helper()
		waitFor(t, waitTimeout, what+"'s upload removed", func() (bool, string) {
			_, err := os.Stat(path)
			return errors.Is(err, os.ErrNotExist), fmt.Sprint(err)
		})
	}

	// Excluded: the bot's conversation is AUTO_BOT, excluded by default.
	ref, path := uploaded(append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x01}, 300)...))
	if a := e.postWebChat("acme", "webchat", photo("web-EX-1", "v-1", ref)); a.Stored != 1 || a.Excluded != 1 {
		t.Fatalf("the excluded photo: answer %+v, want 1 stored, excluded", a)
	}
	gone("the excluded message", path)
	items, err := e.openStore().ListMedia(t.Context(), store.MediaFilter{Tenant: "acme", Channel: "webchat"})
	if err != nil || len(items) != 1 || items[0].Status != store.MediaSkipped {
		t.Fatalf("media items %+v (%v), want the excluded message's, skipped", items, err)
	}

	// Refused: a visitor blocked for inbound.
	if a := e.postWebChat("acme", "webchat", []byte(`{"events":[{"id":"web-V2-1","type":"message","visitor":{"id":"v-2"},"message":{"text":"buy now"}}]}`)); a.Stored != 1 {
		t.Fatalf("v-2's first message: answer %+v", a)
	}
	alice := e.newCaller("acme", "alice", "agent")
	alice.block(alice.conversationOf("webchat", "v-2").ContactID, map[string]any{"note": "spam"})
	ref, path = uploaded(append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x02}, 300)...))
	resp, err := e.sender().WebChat(t.Context(), "acme", "webchat", webchatSecret, photo("web-V2-2", "v-2", ref))
	if err != nil || !strings.Contains(resp.Body, `"refused"`) || !strings.Contains(resp.Body, "web-V2-2") {
		t.Fatalf("the blocked visitor's photo: %d %s (%v), want it refused", resp.Status, resp.Body, err)
	}
	gone("the refused message", path)
}
