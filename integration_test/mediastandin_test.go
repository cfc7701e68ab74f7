package integration_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/webchat"
)

// The media stand-in serves the downloads the connector makes for every
// platform, as each platform's API does, checking each platform's
// credentials. A test registers the items (their bytes and MIME type) a
// delivery will reference, points the configuration's channels at the
// stand-in (configure), sends the delivery, and checks what was fetched
// (downloads, requests).
//
//	m := newMediaStandin(t)
//	m.whatsapp("1225012345678901", jpeg, "image/jpeg")       // a WhatsApp media id
//	m.telegram("AwACAgIAAxkB-voice", "voice/file_7.oga", ogg) // a Telegram file_id and its file_path
//	m.line("468789577898262530", png, "image/png")          // a LINE message id
//	u := m.twilio("MM1", "ME1", gif, "image/gif")            // a Twilio MediaUrl
//	v := m.cdn("viber/p.jpg", jpeg, "image/jpeg")             // a Viber, Messenger or Instagram URL
//	cfg := e.configMap(); m.configure(cfg); e.writeConfigMap(cfg)
//
// The credentials the stand-in checks, which configure sets: WhatsApp's
// access_token graphToken (Bearer), Telegram's bot_token mediaBotToken (in
// the path), LINE's channel_access_token mediaLineToken (Bearer), Twilio's
// account (basic auth twilioSID, twilioToken). A wrong one gets the
// platform's 401. An item not registered gets the platform's answer for an
// unknown id (WhatsApp 400 error 100, Telegram 400 "invalid file_id", LINE
// 404, Twilio 404, a CDN 404): the connector records it as gone.

const (
	// mediaBotToken is the Telegram bot token configure sets.
	mediaBotToken = "7000000001:integration-telegram-bot-token"
	// mediaLineToken is the LINE channel access token configure sets.
	mediaLineToken = "integration-line-channel-access-token"
)

// mediaStandin is the platforms' media APIs, on one local server.
type mediaStandin struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// items are the registered items by key ("whatsapp:<id>",
	// "telegram:<file_id>", "line:<message id>", "twilio:<path>",
	// "cdn:<path>").
	items map[string]*mediaItem
	// log is every request received, in order.
	log []mediaRequest
}

// mediaItem is one registered item.
type mediaItem struct {
	data        []byte
	contentType string
	// filePath is a Telegram file's file_path.
	filePath string
	// status, when set, is answered instead of the item (a fault).
	status int
}

// mediaRequest is one request the stand-in received.
type mediaRequest struct {
	// Platform is "whatsapp", "telegram", "line", "twilio" or "cdn".
	Platform string
	// Key is the item's key, as registered.
	Key string
	// Download is true for a request of the bytes (false for a lookup:
	// WhatsApp's GET /{media-id}, Telegram's getFile).
	Download bool
	// Status is what the stand-in answered.
	Status int
}

// newMediaStandin starts a media stand-in, closed at the end of the test.
func newMediaStandin(t *testing.T) *mediaStandin {
	t.Helper()
	m := &mediaStandin{t: t, items: map[string]*mediaItem{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

// URL is the stand-in's base URL.
func (m *mediaStandin) URL() string { return m.srv.URL }

func (m *mediaStandin) add(key string, it *mediaItem) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[key] = it
}

// whatsapp registers a WhatsApp media id: GET /v21.0/{id} answers its
// download URL, MIME type, size and checksum, and the URL its bytes.
func (m *mediaStandin) whatsapp(id string, data []byte, mimeType string) {
	m.add("whatsapp:"+id, &mediaItem{data: data, contentType: mimeType})
}

// telegram registers a Telegram file_id whose getFile answers filePath
// (such as "voice/file_7.oga"; its extension gives the type of a photo or
// a sticker, the message's mime_type that of the others).
func (m *mediaStandin) telegram(fileID, filePath string, data []byte) {
	m.add("telegram:"+fileID, &mediaItem{data: data, filePath: filePath, contentType: "application/octet-stream"})
}

// line registers the content of a LINE message id.
func (m *mediaStandin) line(messageID string, data []byte, mimeType string) {
	m.add("line:"+messageID, &mediaItem{data: data, contentType: mimeType})
}

// twilio registers a Twilio media item of message messageSID and returns
// its MediaUrl, to put in the inbound body as MediaUrl0 (with its type as
// MediaContentType0).
func (m *mediaStandin) twilio(messageSID, mediaSID string, data []byte, mimeType string) string {
	path := "/2010-04-01/Accounts/" + twilioSID + "/Messages/" + messageSID + "/Media/" + mediaSID
	m.add("twilio:"+path, &mediaItem{data: data, contentType: mimeType})
	return m.srv.URL + path
}

// cdn registers a file served without credentials, as Viber's media URLs
// and Messenger's and Instagram's attachment URLs are, and returns its URL.
func (m *mediaStandin) cdn(name string, data []byte, mimeType string) string {
	path := "/cdn/" + strings.TrimPrefix(name, "/")
	m.add("cdn:"+path, &mediaItem{data: data, contentType: mimeType})
	return m.srv.URL + path
}

// fail makes the item registered under key ("whatsapp:<id>",
// "telegram:<file_id>", "line:<id>", "twilio:<path>", "cdn:<path>") answer
// status instead of its bytes (404: gone; 500: a temporary failure); 0
// serves it again.
func (m *mediaStandin) fail(key string, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		m.t.Fatalf("media stand-in: no item %q", key)
	}
	it.status = status
}

// requests returns every request received, in order.
func (m *mediaStandin) requests() []mediaRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mediaRequest(nil), m.log...)
}

// downloads counts the requests of an item's bytes answered 200, by key.
func (m *mediaStandin) downloads(key string) int {
	n := 0
	for _, r := range m.requests() {
		if r.Key == key && r.Download && r.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// configure points every channel of a configuration map (env.configMap)
// at the stand-in, with the credentials it checks: WhatsApp's graph_url
// and access_token, Telegram's api_url and bot_token, LINE's api_url,
// data_api_url and channel_access_token, Twilio's api_url. Viber,
// Messenger, Instagram and the web chat need nothing: their media URLs
// are the stand-in's (cdn).
func (m *mediaStandin) configure(cfg map[string]any) {
	tenants, _ := cfg["tenants"].([]any)
	for _, tv := range tenants {
		tenant, _ := tv.(map[string]any)
		chans, _ := tenant["channels"].([]any)
		for _, cv := range chans {
			ch, _ := cv.(map[string]any)
			p, _ := ch["platform"].(string)
			sec, _ := ch[p].(map[string]any)
			sec = maps.Clone(sec) // the harness shares its sections between tests
			if sec == nil {
				sec = map[string]any{}
			}
			switch p {
			case "whatsapp":
				sec["graph_url"], sec["access_token"] = m.srv.URL+graphVersion, graphToken
			case "telegram":
				sec["api_url"], sec["bot_token"] = m.srv.URL, mediaBotToken
			case "line":
				sec["api_url"], sec["data_api_url"], sec["channel_access_token"] = m.srv.URL, m.srv.URL, mediaLineToken
			case "twilio":
				sec["api_url"] = m.srv.URL
			}
			ch[p] = sec
		}
	}
}

// uploadWebChat uploads data to a web chat channel of the running
// connector, signed as the site does, and returns the reference its
// message names (message.attachment.upload).
func uploadWebChat(t *testing.T, e *env, tenant, channel string, data []byte, mimeType string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.base()+"/webhooks/"+tenant+"/"+channel+"/uploads", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mimeType)
	req.Header.Set(webchat.SignatureHeader, webchat.Sign(webchatSecret, data))
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("web chat upload: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var up struct {
		Upload string `json:"upload"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &up) != nil || up.Upload == "" {
		t.Fatalf("web chat upload answered %d: %s", resp.StatusCode, body)
	}
	return up.Upload
}

func (m *mediaStandin) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
	req := m.route(r)
	status := m.answer(w, r, &req)
	req.Status = status
	m.mu.Lock()
	m.log = append(m.log, req)
	m.mu.Unlock()
}

// route says which platform and item a request is about.
func (m *mediaStandin) route(r *http.Request) mediaRequest {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, graphVersion+"/"):
		return mediaRequest{Platform: "whatsapp", Key: "whatsapp:" + strings.TrimPrefix(p, graphVersion+"/")}
	case strings.HasPrefix(p, "/whatsapp/download/"):
		return mediaRequest{Platform: "whatsapp", Key: "whatsapp:" + strings.TrimPrefix(p, "/whatsapp/download/"), Download: true}
	case strings.HasPrefix(p, "/bot") && strings.HasSuffix(p, "/getFile"):
		return mediaRequest{Platform: "telegram"}
	case strings.HasPrefix(p, "/file/bot"):
		return mediaRequest{Platform: "telegram", Download: true}
	case strings.HasPrefix(p, "/v2/bot/message/") && strings.HasSuffix(p, "/content"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v2/bot/message/"), "/content")
		return mediaRequest{Platform: "line", Key: "line:" + id, Download: true}
	case strings.HasPrefix(p, "/2010-04-01/"):
		return mediaRequest{Platform: "twilio", Key: "twilio:" + p, Download: true}
	case strings.HasPrefix(p, "/cdn/"):
		return mediaRequest{Platform: "cdn", Key: "cdn:" + p, Download: true}
	}
	return mediaRequest{Platform: "unknown", Key: p}
}

// answer writes the platform's answer to r and returns its status.
func (m *mediaStandin) answer(w http.ResponseWriter, r *http.Request, req *mediaRequest) int {
	switch req.Platform {
	case "whatsapp":
		if r.Header.Get("Authorization") != "Bearer "+graphToken {
			graphError(w, http.StatusUnauthorized, 190, "OAuthException", "Invalid OAuth access token - Cannot parse access token")
			return http.StatusUnauthorized
		}
		it, status := m.item(req.Key)
		if it == nil {
			graphError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported get request. Object with ID '"+strings.TrimPrefix(req.Key, "whatsapp:")+"' does not exist")
			return http.StatusBadRequest
		}
		if !req.Download {
			id := strings.TrimPrefix(req.Key, "whatsapp:")
			sum := sha256.Sum256(it.data)
			return mediaJSON(w, http.StatusOK, map[string]any{
				"messaging_product": "whatsapp", "id": id, "url": m.srv.URL + "/whatsapp/download/" + id,
				"mime_type": it.contentType, "sha256": hex.EncodeToString(sum[:]), "file_size": len(it.data),
			})
		}
		return writeItem(w, it, status)
	case "telegram":
		if !strings.HasPrefix(r.URL.Path, "/bot"+mediaBotToken+"/") && !strings.HasPrefix(r.URL.Path, "/file/bot"+mediaBotToken+"/") {
			return mediaJSON(w, http.StatusUnauthorized, map[string]any{"ok": false, "error_code": 401, "description": "Unauthorized"})
		}
		if !req.Download {
			return m.getFile(w, r, req)
		}
		path := strings.TrimPrefix(r.URL.Path, "/file/bot"+mediaBotToken+"/")
		m.mu.Lock()
		for key, it := range m.items {
			if strings.HasPrefix(key, "telegram:") && it.filePath == path {
				req.Key = key
			}
		}
		m.mu.Unlock()
		it, status := m.item(req.Key)
		if it == nil {
			return mediaJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error_code": 404, "description": "Not Found"})
		}
		return writeItem(w, it, status)
	case "line":
		if r.Header.Get("Authorization") != "Bearer "+mediaLineToken {
			return mediaJSON(w, http.StatusUnauthorized, map[string]any{"message": "Authentication failed due to the following reason: invalid token."})
		}
		it, status := m.item(req.Key)
		if it == nil {
			return mediaJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
		}
		return writeItem(w, it, status)
	case "twilio":
		if user, pass, ok := r.BasicAuth(); !ok || user != twilioSID || pass != twilioToken {
			return mediaJSON(w, http.StatusUnauthorized, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		}
		it, status := m.item(req.Key)
		if it == nil {
			return mediaJSON(w, http.StatusNotFound, map[string]any{"code": 20404, "message": "The requested resource was not found", "status": 404})
		}
		return writeItem(w, it, status)
	case "cdn":
		it, status := m.item(req.Key)
		if it == nil {
			http.Error(w, "URL signature expired", http.StatusNotFound)
			return http.StatusNotFound
		}
		return writeItem(w, it, status)
	}
	http.Error(w, "media stand-in: no route for "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	return http.StatusNotFound
}

// getFile answers Telegram's getFile for the file_id of the query or of
// the JSON body (the Bot API accepts both).
func (m *mediaStandin) getFile(w http.ResponseWriter, r *http.Request, req *mediaRequest) int {
	fileID := r.URL.Query().Get("file_id")
	if fileID == "" {
		fileID = bodyFileID(r)
	}
	req.Key = "telegram:" + fileID
	it, status := m.item(req.Key)
	switch {
	case it == nil:
		return mediaJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"})
	case status != 0:
		return mediaJSON(w, status, map[string]any{"ok": false, "error_code": status, "description": http.StatusText(status)})
	}
	return mediaJSON(w, http.StatusOK, map[string]any{"ok": true, "result": map[string]any{
		"file_id": fileID, "file_unique_id": "AgAD" + fmt.Sprint(len(fileID)), "file_size": len(it.data), "file_path": it.filePath,
	}})
}

// bodyFileID reads file_id from a getFile request's JSON body, which serve
// keeps in the request's context.
func bodyFileID(r *http.Request) string {
	var body struct {
		FileID string `json:"file_id"`
	}
	if b, ok := r.Context().Value(bodyKey{}).([]byte); ok {
		_ = json.Unmarshal(b, &body)
	}
	return body.FileID
}

// bodyKey keys a request's body in its context.
type bodyKey struct{}

// item returns the registered item of key and its fault status (0 for
// none); nil when none is registered.
func (m *mediaStandin) item(key string) (*mediaItem, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[key]
	if !ok {
		return nil, 0
	}
	cp := *it
	return &cp, it.status
}

// writeItem writes an item's bytes, or its fault status.
func writeItem(w http.ResponseWriter, it *mediaItem, status int) int {
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return status
	}
	w.Header().Set("Content-Type", it.contentType)
	w.Header().Set("Content-Length", fmt.Sprint(len(it.data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(it.data)
	return http.StatusOK
}

// mediaJSON writes v as JSON with status.
func mediaJSON(w http.ResponseWriter, status int, v any) int {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}
