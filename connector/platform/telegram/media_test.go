package telegram

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// mediaAPI serves routes and returns an adapter pointed at them.
func mediaAPI(t *testing.T, routes map[string]platformtest.Route, mutate ...func(*Config)) (*Adapter, *platformtest.Routes) {
	t.Helper()
	stub := &platformtest.Routes{Routes: routes}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, append([]func(*Config){func(c *Config) {
		c.APIURL = srv.URL
		c.HTTPClient = srv.Client()
	}}, mutate...)...)
	return a, stub
}

const (
	getFilePath = "POST /bot" + testBotToken + "/getFile"
	voiceBytes  = "OggS\x00\x02voice-note-bytes"
)

func getFileOK(path string, size int) platformtest.Route {
	body := `{"ok":true,"result":{"file_id":"AwACAgIAAxkB-voice","file_unique_id":"AgADxx","file_size":` +
		strconv.Itoa(size) + `,"file_path":"` + path + `"}}`
	return platformtest.Route{ContentType: "application/json", Body: body}
}

func TestFetchMediaSuccess(t *testing.T) {
	tests := []struct {
		name, ref, path, body string
		want                  platform.Media
	}{
		{"voice note: type from the message, name from the file path", "AwACAgIAAxkB-voice#type=audio%2Fogg", "voice/file_2.oga", voiceBytes,
			platform.Media{Data: []byte(voiceBytes), ContentType: "audio/ogg", FileName: "file_2.oga"}},
		{"document: name and type from the message", "BQACAgIAAxkB-doc#name=cv+2026.pdf&type=application%2Fpdf", "documents/file_5.pdf", "%PDF-1.7",
			platform.Media{Data: []byte("%PDF-1.7"), ContentType: "application/pdf", FileName: "cv 2026.pdf"}},
		{"photo: type from the extension", "AgACAgIAAxkB-photo", "photos/file_1.jpg", "\xff\xd8\xff\xe0jpeg",
			platform.Media{Data: []byte("\xff\xd8\xff\xe0jpeg"), ContentType: "image/jpeg", FileName: "file_1.jpg"}},
		{"stored before fragments: sniffed", "AgACAgIAAxkB-other", "other/file_9", "%PDF-1.4 x",
			platform.Media{Data: []byte("%PDF-1.4 x"), ContentType: "application/pdf", FileName: "file_9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stub := mediaAPI(t, map[string]platformtest.Route{
				getFilePath: getFileOK(tt.path, len(tt.body)),
				"GET /file/bot" + testBotToken + "/" + tt.path: {ContentType: "application/octet-stream", Body: tt.body},
			})
			got, err := a.FetchMedia(context.Background(), tt.ref, 1000)
			if err != nil {
				t.Fatalf("FetchMedia: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("FetchMedia = %+v, want %+v", got, tt.want)
			}
			reqs := stub.Requests()
			if len(reqs) != 2 {
				t.Fatalf("requests %v, want getFile and the download", stub.Paths())
			}
			fileID, _, _ := platform.SplitMediaRef(tt.ref)
			if want := `{"file_id":"` + fileID + `"}`; reqs[0].Body != want {
				t.Fatalf("getFile body %s, want %s", reqs[0].Body, want)
			}
		})
	}
}

func TestFetchMediaErrors(t *testing.T) {
	download := "GET /file/bot" + testBotToken + "/voice/file_2.oga"
	tests := []struct {
		name   string
		routes map[string]platformtest.Route
		max    int64
		class  string
		// downloaded says whether the download was requested.
		downloaded bool
	}{
		{"declared by getFile larger than the limit", map[string]platformtest.Route{getFilePath: getFileOK("voice/file_2.oga", 11)}, 10, "too large", false},
		{"Bot API refuses files over 20 MB", map[string]platformtest.Route{getFilePath: {Status: 400, ContentType: "application/json",
			Body: `{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}`}}, 1 << 30, "too large", false},
		{"declared by the download larger than the limit", map[string]platformtest.Route{getFilePath: getFileOK("voice/file_2.oga", 0),
			download: {Body: "0123456789A"}}, 10, "too large", true},
		{"streamed past the limit", map[string]platformtest.Route{getFilePath: getFileOK("voice/file_2.oga", 0),
			download: {Body: "0123456789A", Chunked: true}}, 10, "too large", true},
		{"unknown file_id", map[string]platformtest.Route{getFilePath: {Status: 400, ContentType: "application/json",
			Body: `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`}}, 100, "gone", false},
		{"file path no longer served", map[string]platformtest.Route{getFilePath: getFileOK("voice/file_2.oga", 5),
			download: {Status: 404, ContentType: "application/json", Body: `{"ok":false,"error_code":404,"description":"Not Found"}`}}, 100, "gone", true},
		{"rate limited", map[string]platformtest.Route{getFilePath: {Status: 429, ContentType: "application/json",
			Body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}`}}, 100, "temporary", false},
		{"file server down", map[string]platformtest.Route{getFilePath: getFileOK("voice/file_2.oga", 5),
			download: {Status: 502, Body: "bad gateway"}}, 100, "temporary", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stub := mediaAPI(t, tt.routes)
			_, err := a.FetchMedia(context.Background(), "AwACAgIAAxkB-voice#type=audio%2Fogg", tt.max)
			platformtest.CheckMediaError(t, err, tt.class, testBotToken, "AAHk3d")
			paths := stub.Paths()
			if got := len(paths) == 2 && paths[1] == download; got != tt.downloaded {
				t.Fatalf("requests %v: downloaded %t, want %t", paths, got, tt.downloaded)
			}
		})
	}
}

func TestFetchMediaNetworkErrorHidesToken(t *testing.T) {
	a := newTestAdapter(t, func(c *Config) { c.APIURL = "http://127.0.0.1:1" })
	_, err := a.FetchMedia(context.Background(), "AwACAgIAAxkB-voice", 100)
	platformtest.CheckMediaError(t, err, "temporary", testBotToken, "AAHk3d")
}

func TestFetchMediaWithoutBotToken(t *testing.T) {
	a, stub := mediaAPI(t, nil, func(c *Config) { c.BotToken = "" })
	_, err := a.FetchMedia(context.Background(), "AwACAgIAAxkB-voice", 100)
	platformtest.CheckMediaError(t, err, "receive only")
	if n := len(stub.Requests()); n != 0 {
		t.Fatalf("%d requests without a bot token, want none", n)
	}
}
