package line

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const contentPath = "GET /v2/bot/message/468789577898262530/content"

// mediaAPI serves routes as the data API and returns an adapter pointed at
// them (the Messaging API itself at a URL that answers nothing).
func mediaAPI(t *testing.T, routes map[string]platformtest.Route, mutate ...func(*Config)) (*Adapter, *platformtest.Routes, string) {
	t.Helper()
	stub := &platformtest.Routes{Routes: routes}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, append([]func(*Config){func(c *Config) {
		c.APIURL = "http://127.0.0.1:1"
		c.DataAPIURL = srv.URL
		c.HTTPClient = srv.Client()
		c.AllowPrivateMediaAddresses = true
	}}, mutate...)...)
	return a, stub, srv.URL
}

func TestFetchMediaSuccess(t *testing.T) {
	jpeg := "\xff\xd8\xff\xe0photo"
	a, stub, base := mediaAPI(t, map[string]platformtest.Route{
		contentPath:                          {ContentType: "image/jpeg", Body: jpeg},
		"GET /v2/bot/message/325710/content": {ContentType: "text/plain", Body: "hello file"},
		"GET /external/movie.mp4":            {ContentType: "video/mp4", Body: "mp4"},
	})
	tests := []struct {
		name, ref, auth string
		want            platform.Media
	}{
		{"image", "468789577898262530", "Bearer " + testAccessToken, platform.Media{Data: []byte(jpeg), ContentType: "image/jpeg"}},
		{"file with its name", "325710#name=file.txt", "Bearer " + testAccessToken,
			platform.Media{Data: []byte("hello file"), ContentType: "text/plain", FileName: "file.txt"}},
		{"external content, without the token", base + "/external/movie.mp4", "", platform.Media{Data: []byte("mp4"), ContentType: "video/mp4"}},
	}
	for i, tt := range tests {
		got, err := a.FetchMedia(context.Background(), tt.ref, 100)
		if err != nil {
			t.Fatalf("%s: FetchMedia: %v", tt.name, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%s: FetchMedia = %+v, want %+v", tt.name, got, tt.want)
		}
		if auth := stub.Requests()[i].Header.Get("Authorization"); auth != tt.auth {
			t.Fatalf("%s: Authorization %q, want %q", tt.name, auth, tt.auth)
		}
	}
}

func TestFetchMediaDefaultsToAPIURL(t *testing.T) {
	stub := &platformtest.Routes{Routes: map[string]platformtest.Route{contentPath: {ContentType: "image/png", Body: "png"},
		"GET /external/movie.mp4": {ContentType: "video/mp4", Body: "mp4"}}}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) { c.APIURL, c.HTTPClient = srv.URL, srv.Client() })
	if m, err := a.FetchMedia(context.Background(), "468789577898262530", 10); err != nil || string(m.Data) != "png" {
		t.Fatalf("FetchMedia = %+v, %v; want the content from api_url when data_api_url is not set", m, err)
	}
	// The configured API is fetched wherever it is; external content, a
	// URL the event gave, only from a public address by default.
	_, err := a.FetchMedia(context.Background(), srv.URL+"/external/movie.mp4", 10)
	if platformtest.CheckMediaError(t, err, "gone"); !errors.Is(err, platform.ErrPrivateAddress) || len(stub.Requests()) != 1 {
		t.Fatalf("external content on a loopback host: %v, %d requests", err, len(stub.Requests()))
	}
}

func TestFetchMediaErrors(t *testing.T) {
	tests := []struct {
		name  string
		route platformtest.Route
		max   int64
		class string
	}{
		{"declared larger than the limit", platformtest.Route{ContentType: "image/jpeg", Body: "0123456789A"}, 10, "too large"},
		{"streamed past the limit", platformtest.Route{ContentType: "image/jpeg", Body: "0123456789A", Chunked: true}, 10, "too large"},
		{"expired", platformtest.Route{Status: 404, ContentType: "application/json", Body: `{"message":"Not found"}`}, 100, "gone"},
		{"still being prepared", platformtest.Route{Status: 202}, 100, "temporary"},
		{"rate limited", platformtest.Route{Status: 429, ContentType: "application/json", Body: `{"message":"The API rate limit has been exceeded. Try again later."}`}, 100, "temporary"},
		{"server error", platformtest.Route{Status: 500, ContentType: "application/json", Body: `{"message":"Internal error"}`}, 100, "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stub, _ := mediaAPI(t, map[string]platformtest.Route{contentPath: tt.route})
			_, err := a.FetchMedia(context.Background(), "468789577898262530", tt.max)
			platformtest.CheckMediaError(t, err, tt.class, testAccessToken)
			if n := len(stub.Requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
}

func TestFetchMediaRefusedWithoutCall(t *testing.T) {
	for name, tt := range map[string]struct {
		ref    string
		mutate func(*Config)
		class  string
	}{
		"sticker":          {"11537/52002734", func(*Config) {}, "no content"},
		"no access token":  {"468789577898262530", func(c *Config) { c.ChannelAccessToken = "" }, "receive only"},
		"empty reference":  {"", func(*Config) {}, "gone"},
		"not a message id": {"../../v2/bot/info", func(*Config) {}, "gone"},
	} {
		a, stub, _ := mediaAPI(t, nil, tt.mutate)
		_, err := a.FetchMedia(context.Background(), tt.ref, 100)
		platformtest.CheckMediaError(t, err, tt.class, testAccessToken)
		if n := len(stub.Requests()); n != 0 {
			t.Fatalf("%s: %d requests, want none", name, n)
		}
	}
}
