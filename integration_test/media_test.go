package integration_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/media"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/twilio"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/postgres"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// Credentials of the platforms' download endpoints.
const (
	telegramBotToken = "7000000000:integration-bot-token"
	lineAccessToken  = "integration-line-access-token"
	waAccessToken    = "integration-wa-access-token"
)

// servedMedia is one item the platforms' stand-in serves.
type servedMedia struct {
	data        []byte
	contentType string
	// held, when set, holds each download of the item until it is
	// closed (or the client goes away).
	held chan struct{}
}

// mediaPlatforms serves the download endpoints of WhatsApp (GET
// /{media-id} for the URL, then the download, both with the access
// token), Telegram (getFile, then the file path), LINE (the message content endpoint) and Twilio
// (MediaUrl with the account's basic auth), checking each platform's
// credentials, and counts the requests naming each item.
type mediaPlatforms struct {
	srv  *httptest.Server
	mu   sync.Mutex
	byID map[string]servedMedia // "wa:<media id>", "tg:<file_id>", "line:<message id>", "twilio:<media sid>"
	hits map[string]int
}

func newMediaPlatforms(t *testing.T) *mediaPlatforms {
	p := &mediaPlatforms{byID: map[string]servedMedia{}, hits: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *mediaPlatforms) add(id string, data []byte, contentType string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byID[id] = servedMedia{data: data, contentType: contentType}
}

// hold makes each download of the item wait until the returned channel
// is closed, or its client goes away.
func (p *mediaPlatforms) hold(id string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.byID[id]
	m.held = make(chan struct{})
	p.byID[id] = m
	return m.held
}

func (p *mediaPlatforms) hitsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[id]
}

func (p *mediaPlatforms) lookup(id string) (servedMedia, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hits[id]++
	m, ok := p.byID[id]
	return m, ok
}

func (p *mediaPlatforms) serve(w http.ResponseWriter, r *http.Request) {
	tgBot := "/telegram/bot" + telegramBotToken + "/"
	tgFile := "/telegram/file/bot" + telegramBotToken + "/"
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/graph/"):
		if r.Header.Get("Authorization") != "Bearer "+waAccessToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/graph/")
		m, ok := p.lookup("wa:" + id)
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100}}`)
			return
		}
		sum := sha256.Sum256(m.data)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","url":%q,"mime_type":%q,"sha256":%q,"file_size":%d,"id":%q}`,
			p.srv.URL+"/wa-media/"+id, m.contentType, hex.EncodeToString(sum[:]), len(m.data), id)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/wa-media/"):
		if r.Header.Get("Authorization") != "Bearer "+waAccessToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p.write(w, r, "wa:"+strings.TrimPrefix(r.URL.Path, "/wa-media/"), "")
	case r.Method == http.MethodPost && r.URL.Path == tgBot+"getFile":
		var req struct {
			FileID string `json:"file_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		m, ok := p.lookup("tg:" + req.FileID)
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"ok":true,"result":{"file_id":%q,"file_unique_id":"u1","file_size":%d,"file_path":"voice/%s.oga"}}`,
			req.FileID, len(m.data), req.FileID)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, tgFile+"voice/"):
		id := strings.TrimSuffix(path.Base(r.URL.Path), ".oga")
		p.write(w, r, "tg:"+id, "application/octet-stream")
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/line/v2/bot/message/") && strings.HasSuffix(r.URL.Path, "/content"):
		if r.Header.Get("Authorization") != "Bearer "+lineAccessToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Authentication failed"}`)
			return
		}
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/line/v2/bot/message/"), "/content")
		p.write(w, r, "line:"+id, "")
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/twilio/2010-04-01/Accounts/"+twilioSID+"/Messages/"):
		if u, pw, ok := r.BasicAuth(); !ok || u != twilioSID || pw != twilioToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":20003,"message":"Authenticate"}`)
			return
		}
		p.write(w, r, "twilio:"+path.Base(r.URL.Path), "")
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"not found"}`)
	}
}

// write answers an item's bytes, with its content type (or ct), once
// its hold (if any) is released.
func (p *mediaPlatforms) write(w http.ResponseWriter, r *http.Request, id, ct string) {
	m, ok := p.lookup(id)
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not found"}`)
		return
	}
	if m.held != nil {
		select {
		case <-m.held:
		case <-r.Context().Done():
			return
		}
	}
	if m.contentType != "" {
		ct = m.contentType
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	_, _ = w.Write(m.data)
}

// twilioMediaURL is the MediaUrl of a Twilio attachment on the stand-in.
func (p *mediaPlatforms) twilioMediaURL(messageSID, mediaSID string) string {
	return p.srv.URL + "/twilio/2010-04-01/Accounts/" + twilioSID + "/Messages/" + messageSID + "/Media/" + mediaSID
}

// mediaEnv is a connector whose WhatsApp, Telegram, LINE and Twilio channels
// download from the platforms' stand-in; tgbot is a Telegram channel
// with a bot (AUTO_BOT, excluded by default).
func mediaEnv(t *testing.T, sf *org, p *mediaPlatforms, dsn string, maxBytes int64) *env {
	t.Helper()
	// A short lease: an item in flight when the process is killed is
	// taken again 2s later.
	return mediaEnvWith(t, sf, p, dsn, maxBytes, map[string]any{"request_timeout": "3s", "lease_ttl": "2s"})
}

// mediaEnvWith is mediaEnv with the media settings of media.
func mediaEnvWith(t *testing.T, sf *org, p *mediaPlatforms, dsn string, maxBytes int64, media map[string]any) *env {
	t.Helper()
	e := newEnv(t, envOptions{PostgresDSN: dsn, Tenants: []tenantSpec{{ID: "acme", Org: sf, Channels: []channelSpec{
		{ID: "wa", Platform: "whatsapp", GraphURL: p.srv.URL + "/graph", AccessToken: waAccessToken},
		{ID: "tg", Platform: "telegram"}, {ID: "tgbot", Platform: "telegram", Bot: true},
		{ID: "line", Platform: "line"}, {ID: "sms", Platform: "twilio"},
	}}}})
	m := e.configMap()
	mediaCfg := map[string]any{"poll_interval": "100ms", "max_attempts": 3, "allow_private_addresses": true}
	maps.Copy(mediaCfg, media)
	m["media"] = mediaCfg
	tenant := m["tenants"].([]any)[0].(map[string]any)
	tenant["media_max_bytes"] = maxBytes
	for _, c := range tenant["channels"].([]any) {
		ch := c.(map[string]any)
		switch ch["platform"] {
		case "telegram":
			ch["telegram"] = map[string]any{"secret_token": telegramSecret, "bot_token": telegramBotToken, "api_url": p.srv.URL + "/telegram"}
		case "line":
			ch["line"] = map[string]any{"channel_secret": lineSecret, "channel_access_token": lineAccessToken,
				"api_url": p.srv.URL + "/line", "data_api_url": p.srv.URL + "/line"}
		case "twilio":
			ch["twilio"] = map[string]any{"account_sid": twilioSID, "auth_token": twilioToken, "from": twilioNumber, "api_url": p.srv.URL + "/twilio"}
		}
	}
	e.writeConfigMap(m)
	return e
}

// post sends a signed delivery of the channel's platform and fails the
// test unless it is answered 200.
func (e *env) postSigned(channel, platformName string, body []byte) {
	e.t.Helper()
	var header, sig string
	switch platformName {
	case "telegram":
		header, sig = telegram.SecretHeader, telegram.Sign(telegramSecret, body)
	case "line":
		header, sig = line.SignatureHeader, line.Sign(lineSecret, body)
	case "whatsapp":
		header, sig = whatsapp.SignatureHeader, whatsapp.Sign(appSecret, body)
	case "twilio":
		s, err := twilio.SignBody(twilioToken, e.base()+"/webhooks/acme/"+channel, body)
		if err != nil {
			e.t.Fatal(err)
		}
		header, sig = twilio.SignatureHeader, s
	}
	resp, err := e.sender().Post(e.t.Context(), "acme", channel, body, header, sig)
	if err != nil || resp.Status != http.StatusOK {
		e.t.Fatalf("%s delivery answered %d (%v): %s", channel, resp.Status, err, resp.Body)
	}
}

// filesByChannel waits for want Files in the stand-in and returns them by
// the channel their key names; it fails on a second File of one key.
func filesByChannel(t *testing.T, sf *standin.Server, want int) map[string]standin.File {
	t.Helper()
	var files []standin.File
	waitFor(t, waitTimeout, fmt.Sprintf("%d Files in Salesforce", want), func() (bool, string) {
		files = sf.Files()
		return len(files) >= want, fmt.Sprintf("%d Files", len(files))
	})
	out := map[string]standin.File{}
	for _, f := range files {
		parts := strings.SplitN(f.Key, ":", 3)
		if len(parts) != 3 || parts[0] != "acme" {
			t.Fatalf("a File with key %q", f.Key)
		}
		if _, dup := out[parts[1]]; dup {
			t.Fatalf("a second File for channel %s: %+v", parts[1], f)
		}
		out[parts[1]] = f
	}
	return out
}

// mediaStore opens the connector's store from the test process.
func (e *env) mediaStore() store.Store {
	e.t.Helper()
	if e.opts.PostgresDSN == "" {
		return e.openStore()
	}
	st, err := postgres.Open(context.Background(), e.opts.PostgresDSN, postgres.Options{})
	if err != nil {
		e.t.Fatalf("open the connector's store: %v", err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	return st
}

// mediaItems returns the store's media items by their message's
// platform id.
func mediaItems(t *testing.T, st store.Store) map[string]store.MediaItem {
	t.Helper()
	items, err := st.ListMedia(t.Context(), store.MediaFilter{Tenant: "acme", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.MediaItem{}
	for _, it := range items {
		out[it.Channel+"/"+it.MessagePlatformID] = it
	}
	return out
}

// itemOfKey returns the media item of the message whose key is key,
// waiting for it to be recorded uploaded.
func itemOfKey(t *testing.T, st store.Store, key string) store.MediaItem {
	t.Helper()
	var found store.MediaItem
	waitFor(t, waitTimeout, "the item of "+key+" recorded uploaded", func() (bool, string) {
		for _, it := range mediaItems(t, st) {
			if "acme:"+it.Channel+":"+it.MessagePlatformID == key {
				found = it
				return it.Status == store.MediaUploaded, it.StatusText()
			}
		}
		return false, "no item"
	})
	return found
}

// TestMediaBecomesSalesforceFiles sends a WhatsApp image, a Telegram
// voice note, a LINE image and a Twilio MMS through the running binary: each becomes one
// File in the Salesforce stand-in with the right bytes, type and name,
// shared with its message record, which names it. An item over the
// tenant's limit is refused with its reason, listed with the dead letters,
// and its text arrives; an excluded message's media and a blocked
// contact's are recorded skipped and never fetched. On SQLite (the spool
// directory) and PostgreSQL (the bytes in the database).
func TestMediaBecomesSalesforceFiles(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); mediaToFiles(t, "") })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); mediaToFiles(t, postgresSchema(t)) })
}

func mediaToFiles(t *testing.T, dsn string) {
	sf := newOrg(t, "", nil)
	p := newMediaPlatforms(t)
	e := mediaEnv(t, sf, p, dsn, 4096)
	e.start()
	now := time.Now().Add(-time.Minute)

	voice := append([]byte("OggS\x00\x02"), bytes.Repeat([]byte{0x4f, 0x00, 0xff}, 300)...)
	jpeg := append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), bytes.Repeat([]byte{0xab}, 700)...)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x01, 0x02}, 400)...)
	big := bytes.Repeat([]byte{0xee}, 10000)
	photo := append([]byte("\xff\xd8\xff\xe1 WhatsApp"), bytes.Repeat([]byte{0x5a, 0x00}, 500)...)
	p.add("wa:1166401585283001", photo, "image/jpeg")
	p.add("tg:VOICE-1", voice, "")
	p.add("line:468789577898262531", jpeg, "image/jpeg")
	p.add("twilio:ME00000000000000000000000000000001", png, "image/png")
	p.add("twilio:ME00000000000000000000000000000002", big, "image/png")
	p.add("tg:EXCLUDED-1", jpeg, "")
	p.add("tg:BLOCKED-1", jpeg, "")

	// A contact blocked for inbound before it writes.
	st := e.mediaStore()
	err := st.WithTx(t.Context(), func(tx store.Tx) error {
		c, err := tx.UpsertContact(t.Context(), store.ContactKey{Tenant: "acme", Channel: "tg", ExternalID: "7000000003"}, "", now)
		if err != nil {
			return err
		}
		return tx.SetContactBlock(t.Context(), c.ID, store.Block{Inbound: true, Outbound: true, Note: "spam", By: "test"}, now)
	})
	if err != nil {
		t.Fatal(err)
	}

	e.postSigned("wa", "whatsapp", whatsapp.ImageDelivery(defaultPhoneNumberID, "31600000001", "Ann", "wamid.MEDIA1", "1166401585283001",
		"image/jpeg", "the broken kettle", now))
	e.postSigned("tg", "telegram", telegram.MessageUpdate(telegram.Inbound{UpdateID: 1, From: telegram.User{ID: 7000000001, FirstName: "Ann"},
		MessageID: 11, Time: now, Type: "voice", FileID: "VOICE-1", MimeType: "audio/ogg"}))
	e.postSigned("line", "line", line.ImageDelivery(lineDestination, "U4af4980629e1b2c3d4e5f6a7b8c9d0e1", "468789577898262531", now))
	mms := func(sid, media, text string) []byte {
		return twilio.InboundBody(twilio.Inbound{AccountSID: twilioSID, MessageSID: sid, From: "+14155550123", To: twilioNumber, Body: text,
			Media: []twilio.Media{{URL: p.twilioMediaURL(sid, media), ContentType: "image/png"}}})
	}
	e.postSigned("sms", "twilio", mms("MM00000000000000000000000000000001", "ME00000000000000000000000000000001", "the label"))
	e.postSigned("sms", "twilio", mms("MM00000000000000000000000000000002", "ME00000000000000000000000000000002", "a photo too big"))
	e.postSigned("tgbot", "telegram", telegram.PhotoUpdate(2, telegram.User{ID: 7000000002, FirstName: "Bo"}, 12, "EXCLUDED-1", "excluded", now))
	e.postSigned("tg", "telegram", telegram.PhotoUpdate(3, telegram.User{ID: 7000000003, FirstName: "Spam"}, 13, "BLOCKED-1", "blocked", now))

	files := filesByChannel(t, sf.SF, 4)
	msgs := map[string]standin.Record{}
	for _, r := range sf.SF.Records(msgObject) {
		msgs[r.ID] = r
	}
	for _, c := range []struct {
		channel, contentType, ext string
		data                      []byte
	}{
		{"wa", "image/jpeg", ".jpg", photo},
		{"tg", "audio/ogg", ".oga", voice},
		{"line", "image/jpeg", ".jpg", jpeg},
		{"sms", "image/png", ".png", png},
	} {
		f, ok := files[c.channel]
		if !ok {
			t.Errorf("%s: no File", c.channel)
			continue
		}
		// The File's type is its extension, as Salesforce reads it; the
		// content type is the store's (and the multipart part's, when the
		// upload is one).
		if !bytes.Equal(f.Data, c.data) || path.Ext(f.PathOnClient) != c.ext || f.Title == "" ||
			(f.ContentType != "" && f.ContentType != c.contentType) {
			t.Errorf("%s: File %s %q (%q, %d bytes), want %d bytes named *%s", c.channel, f.ContentVersionID, f.PathOnClient,
				f.ContentType, len(f.Data), len(c.data), c.ext)
		}
		if it := itemOfKey(t, st, f.Key); it.ContentType != c.contentType || it.Status != store.MediaUploaded ||
			it.ContentDocumentID != f.ContentDocumentID || it.Size != int64(len(c.data)) {
			t.Errorf("%s: the store's item %+v, want uploaded, %s, %d bytes", c.channel, it, c.contentType, len(c.data))
		}
		rec, ok := msgs[f.FirstPublishLocationID]
		if !ok || field(rec, "Message_Key__c") != f.Key {
			t.Errorf("%s: the File is published to %s, not to the record of message %s", c.channel, f.FirstPublishLocationID, f.Key)
		}
		if len(f.LinkedEntities) != 1 || f.LinkedEntities[0] != rec.ID {
			t.Errorf("%s: the File is linked to %v, want [%s]", c.channel, f.LinkedEntities, rec.ID)
		}
		waitForField(t, sf.SF, msgObject, "Message_Key__c", f.Key, "Media_File_Id__c", f.ContentDocumentID)
	}

	// Too large: refused with its reason, listed, its text in Salesforce.
	var dead []struct {
		PlatformID string `json:"platform_id"`
		Status     string `json:"status"`
	}
	waitFor(t, waitTimeout, "the too large item among the dead letters", func() (bool, string) {
		code, body := e.api(http.MethodGet, "/api/v1/tenants/acme/dead-letters/media", nil)
		var out struct {
			Media json.RawMessage `json:"media"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &out) != nil || json.Unmarshal(out.Media, &dead) != nil {
			return false, string(body)
		}
		return len(dead) == 1, string(body)
	})
	if dead[0].PlatformID != "MM00000000000000000000000000000002" || !strings.HasPrefix(dead[0].Status, "failed: too large") {
		t.Errorf("the dead media: %+v", dead)
	}
	waitForField(t, sf.SF, msgObject, "Message_Key__c", "acme:sms:MM00000000000000000000000000000002", "Body__c", "a photo too big")
	// The command lists it too, with its reason.
	out, err := exec.Command(connectorBin, "dead", "list", "-media", "-config", e.cfgPath, "-tenant", "acme").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "MM00000000000000000000000000000002") || !strings.Contains(string(out), "failed: too large") {
		t.Errorf("connector dead list -media: %v\n%s", err, out)
	}

	// Excluded and blocked: recorded, skipped, never fetched.
	items := mediaItems(t, st)
	for _, ref := range []string{"EXCLUDED-1", "BLOCKED-1"} {
		var found bool
		for key, it := range items {
			if strings.HasPrefix(it.Ref, ref) {
				found = true
				if it.Status != store.MediaSkipped {
					t.Errorf("%s: %+v, want skipped", key, it)
				}
			}
		}
		if !found {
			t.Errorf("no item of %s among %v", ref, items)
		}
	}
	if n := p.hitsOf("tg:EXCLUDED-1") + p.hitsOf("tg:BLOCKED-1"); n != 0 {
		t.Errorf("the excluded and blocked media were asked of the platform %d times", n)
	}
	if n := len(sf.SF.Files()); n != 4 {
		t.Errorf("%d Files, want 4", n)
	}
}

// TestMediaSurvivesSIGKILL kills the connector (the fault hook of
// media.FaultEnv) between a download and its upload, and between an
// upload and the store's update: after a restart each item is one File.
// The media lease (10 minutes) is far longer than the test waits: the item
// in flight at the second kill is uploaded because the restarted process
// takes back its previous run's work at once.
func TestMediaSurvivesSIGKILL(t *testing.T) {
	t.Parallel()
	sf := newOrg(t, "", nil)
	p := newMediaPlatforms(t)
	e := mediaEnvWith(t, sf, p, "", 1<<20, map[string]any{"request_timeout": "3s", "lease_ttl": "10m"})
	voice := []byte("OggS voice note bytes")
	jpeg := []byte("\xff\xd8\xff\xe0 a photo")
	p.add("tg:VOICE-K", voice, "")
	p.add("line:468789577898262599", jpeg, "image/jpeg")
	now := time.Now().Add(-time.Minute)

	// Killed once the voice note is kept, before its upload.
	e.extraEnv = []string{media.FaultEnv + "=after-fetch"}
	e.start()
	e.postSigned("tg", "telegram", telegram.MessageUpdate(telegram.Inbound{UpdateID: 1, From: telegram.User{ID: 7000000001, FirstName: "Ann"},
		MessageID: 21, Time: now, Type: "voice", FileID: "VOICE-K", MimeType: "audio/ogg"}))
	if code := e.waitExit(); code != -1 {
		t.Fatalf("the connector exited with %d, want killed by the fault hook", code)
	}
	if n := len(sf.SF.Files()); n != 0 {
		t.Fatalf("%d Files before the restart, want 0", n)
	}
	e.extraEnv = nil
	e.start()
	files := filesByChannel(t, sf.SF, 1)
	if f := files["tg"]; !bytes.Equal(f.Data, voice) {
		t.Fatalf("the voice note's File: %+v", f)
	}
	if n := p.hitsOf("tg:VOICE-K"); n != 2 { // getFile and the download, once
		t.Errorf("the voice note was asked of Telegram %d times, want 2 (fetched once, kept across the crash)", n)
	}
	// Recorded uploaded (its message record names the File) before the
	// stop: otherwise the next run would finish it first, and its fault
	// hook would kill that run before the photo arrives.
	st := e.openStore()
	itemOfKey(t, st, files["tg"].Key)

	// Killed once Salesforce has the File, before the store knows.
	e.stop(syscall.SIGTERM)
	e.extraEnv = []string{media.FaultEnv + "=after-upload"}
	e.start()
	e.postSigned("line", "line", line.ImageDelivery(lineDestination, "U4af4980629e1b2c3d4e5f6a7b8c9d0e1", "468789577898262599", now))
	if code := e.waitExit(); code != -1 {
		t.Fatalf("the connector exited with %d, want killed by the fault hook", code)
	}
	if n := len(sf.SF.Files()); n != 2 {
		t.Fatalf("%d Files after the kill, want 2 (the photo's made before it)", n)
	}
	e.extraEnv = nil
	e.start()
	key := "acme:line:468789577898262599"
	var lineFile standin.File
	for _, f := range sf.SF.Files() {
		if f.Key == key {
			lineFile = f
		}
	}
	waitForField(t, sf.SF, msgObject, "Message_Key__c", key, "Media_File_Id__c", lineFile.ContentDocumentID)
	waitFor(t, waitTimeout, "the photo recorded uploaded", func() (bool, string) {
		for _, it := range mediaItems(t, st) {
			if it.Channel == "line" {
				return it.Status == store.MediaUploaded, it.StatusText()
			}
		}
		return false, "no item"
	})
	files = filesByChannel(t, sf.SF, 2)
	if f := files["line"]; !bytes.Equal(f.Data, jpeg) || f.ContentVersionID != lineFile.ContentVersionID {
		t.Fatalf("the photo's File: %+v, want the one made before the kill", f)
	}
	if n := len(sf.SF.Files()); n != 2 {
		t.Fatalf("%d Files, want 2", n)
	}
}

// TestMediaHeartbeatAndRescueOnPostgres runs two replicas on PostgreSQL
// with a media lease of 3s and a request timeout of 10 minutes. A
// download slower than the lease keeps its item: the heartbeat renews its
// hold past the lease, the other replica never takes it (one download,
// one File). Then the replica with a download in flight dies, and the
// other one takes the item once its 3s hold passes, not after the request
// timeout.
func TestMediaHeartbeatAndRescueOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	sf := newOrg(t, "", nil)
	p := newMediaPlatforms(t)
	const lease = 3 * time.Second
	settings := map[string]any{"request_timeout": "10m", "lease_ttl": lease.String()}
	a, b := mediaEnvWith(t, sf, p, dsn, 1<<20, settings), mediaEnvWith(t, sf, p, dsn, 1<<20, settings)
	st := a.mediaStore()
	slowData, rescueData := []byte("\xff\xd8\xff\xe0 a slow photo"), []byte("\xff\xd8\xff\xe0 a rescued photo")
	const slowID, rescueID = "468789577898262601", "468789577898262602"
	p.add("line:"+slowID, slowData, "image/jpeg")
	p.add("line:"+rescueID, rescueData, "image/jpeg")
	itemOf := func(id string) store.MediaItem {
		t.Helper()
		return mediaItems(t, st)["line/"+id]
	}

	// Phase 1: a download slower than the lease, both replicas running.
	slow := p.hold("line:" + slowID)
	a.start()
	b.start()
	a.postSigned("line", "line", line.ImageDelivery(lineDestination, "U4af4980629e1b2c3d4e5f6a7b8c9d0e1", slowID, time.Now()))
	var first store.MediaItem
	waitFor(t, waitTimeout, "the slow download to start", func() (bool, string) {
		first = itemOf(slowID)
		return p.hitsOf("line:"+slowID) == 1 && first.HeldBy != "", fmt.Sprintf("%+v", first)
	})
	waitFor(t, waitTimeout, "the hold renewed past the lease", func() (bool, string) {
		it := itemOf(slowID)
		return it.NextAttemptAt.After(first.NextAttemptAt.Add(lease)), fmt.Sprintf("%+v", it)
	})
	if it := itemOf(slowID); it.HeldBy != first.HeldBy || p.hitsOf("line:"+slowID) != 1 {
		t.Fatalf("the slow item: %+v after %d downloads; want it held by %s, downloaded once", it, p.hitsOf("line:"+slowID), first.HeldBy)
	}
	close(slow)
	slowKey := "acme:line:" + slowID
	if it := itemOfKey(t, st, slowKey); it.HeldBy != "" {
		t.Errorf("the uploaded item is still held: %+v", it)
	}
	if n := p.hitsOf("line:" + slowID); n != 1 {
		t.Errorf("the slow item was downloaded %d times, want once", n)
	}

	// Phase 2: b stops; a takes a download that never answers, and dies.
	b.stop(syscall.SIGTERM)
	rescue := p.hold("line:" + rescueID)
	a.postSigned("line", "line", line.ImageDelivery(lineDestination, "U4af4980629e1b2c3d4e5f6a7b8c9d0e2", rescueID, time.Now()))
	waitFor(t, waitTimeout, "a's download to start", func() (bool, string) {
		return p.hitsOf("line:"+rescueID) == 1, ""
	})
	a.stop(syscall.SIGKILL)
	close(rescue)
	b.start()
	it := itemOfKey(t, st, "acme:line:"+rescueID)
	var files int
	for _, f := range sf.SF.Files() {
		if f.Key == "acme:line:"+rescueID {
			files++
			if !bytes.Equal(f.Data, rescueData) || f.ContentDocumentID != it.ContentDocumentID {
				t.Errorf("the rescued File: %+v, item %+v", f, it)
			}
		}
	}
	if files != 1 || p.hitsOf("line:"+rescueID) != 2 {
		t.Errorf("%d Files of the rescued item after %d downloads, want 1 after 2", files, p.hitsOf("line:"+rescueID))
	}
}
