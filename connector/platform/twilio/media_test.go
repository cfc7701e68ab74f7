package twilio

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const mediaPath = "/2010-04-01/Accounts/" + testAccountSID + "/Messages/MM0a1b2c3d4e5f60718293a4b5c6d7e8f9/Media/ME11d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6"

// mediaAPI serves routes as the REST API and returns an adapter pointed at
// them, and the API's URL.
func mediaAPI(t *testing.T, routes map[string]platformtest.Route) (*Adapter, *platformtest.Routes, string) {
	t.Helper()
	stub := &platformtest.Routes{Routes: routes}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) {
		c.APIURL = srv.URL
		c.HTTPClient = srv.Client()
		c.AllowPrivateMediaAddresses = true
	})
	return a, stub, srv.URL
}

func TestFetchMediaSuccess(t *testing.T) {
	jpeg := "\xff\xd8\xff\xe0mms"
	a, stub, base := mediaAPI(t, map[string]platformtest.Route{
		"GET " + mediaPath: {ContentType: "image/jpeg", Body: jpeg},
	})
	got, err := a.FetchMedia(context.Background(), platform.JoinMediaRef(base+mediaPath, "", "image/jpeg"), 100)
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	if want := (platform.Media{Data: []byte(jpeg), ContentType: "image/jpeg"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("FetchMedia = %+v, want %+v", got, want)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testAccountSID+":"+testAuthToken))
	if auth := stub.Requests()[0].Header.Get("Authorization"); auth != want {
		t.Fatalf("Authorization %q, want the account's basic auth", auth)
	}
}

func TestFetchMediaTypeFromTheMessage(t *testing.T) {
	a, _, base := mediaAPI(t, map[string]platformtest.Route{"GET " + mediaPath: {ContentType: "application/octet-stream", Body: "OggS"}})
	m, err := a.FetchMedia(context.Background(), base+mediaPath+"#type=audio%2Fogg", 100)
	if err != nil || m.ContentType != "audio/ogg" {
		t.Fatalf("FetchMedia = %+v, %v, want the MediaContentType audio/ogg", m, err)
	}
	// A reference stored before the type was added keeps Twilio's.
	m, err = a.FetchMedia(context.Background(), base+mediaPath, 100)
	if err != nil || m.ContentType != "application/octet-stream" {
		t.Fatalf("FetchMedia = %+v, %v, want Twilio's Content-Type", m, err)
	}
}

func TestFetchMediaSendsNoCredentialsElsewhere(t *testing.T) {
	other := &platformtest.Routes{Routes: map[string]platformtest.Route{"GET /m.png": {ContentType: "image/png", Body: "png"}}}
	srv := platformtest.Start(t, other)
	a, _, _ := mediaAPI(t, nil)
	if _, err := a.FetchMedia(context.Background(), "http://localhost:"+srv.URL[len("http://127.0.0.1:"):]+"/m.png", 100); err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	if auth := other.Requests()[0].Header.Get("Authorization"); auth != "" {
		t.Fatalf("a host other than the API's got Authorization %q", auth)
	}
	// By default a host other than the API's must be a public one; the
	// API's own (configured) is fetched wherever it is.
	b := newTestAdapter(t, func(c *Config) { c.APIURL = "http://127.0.0.1:1"; c.HTTPClient = srv.Client() })
	_, err := b.FetchMedia(context.Background(), "http://localhost:"+srv.URL[len("http://127.0.0.1:"):]+"/m.png", 100)
	if platformtest.CheckMediaError(t, err, "gone"); !errors.Is(err, platform.ErrPrivateAddress) || len(other.Requests()) != 1 {
		t.Fatalf("a MediaUrl on a loopback host other than the API's: %v, %d requests", err, len(other.Requests()))
	}
	api := newTestAdapter(t, func(c *Config) { c.APIURL = srv.URL; c.HTTPClient = srv.Client() })
	if _, err := api.FetchMedia(context.Background(), srv.URL+"/m.png", 100); err != nil {
		t.Fatalf("a MediaUrl on the configured API's host: %v", err)
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
		{"deleted", platformtest.Route{Status: 404, ContentType: "application/json",
			Body: `{"code": 20404, "message": "The requested resource was not found", "status": 404}`}, 100, "gone"},
		{"authentication refused", platformtest.Route{Status: 401, ContentType: "application/json",
			Body: `{"code": 20003, "message": "Authenticate", "status": 401}`}, 100, "temporary"},
		{"rate limited", platformtest.Route{Status: 429}, 100, "temporary"},
		{"server error", platformtest.Route{Status: 503}, 100, "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stub, base := mediaAPI(t, map[string]platformtest.Route{"GET " + mediaPath: tt.route})
			_, err := a.FetchMedia(context.Background(), base+mediaPath+"#type=image%2Fjpeg", tt.max)
			platformtest.CheckMediaError(t, err, tt.class, testAuthToken, base64.StdEncoding.EncodeToString([]byte(testAccountSID+":"+testAuthToken)))
			if n := len(stub.Requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
	a, _, _ := mediaAPI(t, nil)
	_, err := a.FetchMedia(context.Background(), "not a URL", 100)
	platformtest.CheckMediaError(t, err, "gone")
}

func TestFetchMediaFollowsTheRedirectWithoutCredentials(t *testing.T) {
	store := &platformtest.Routes{Routes: map[string]platformtest.Route{"GET /media/abc": {ContentType: "image/gif", Body: "GIF89a"}}}
	storeSrv := platformtest.Start(t, store)
	storeURL := "http://localhost:" + storeSrv.URL[len("http://127.0.0.1:"):]
	a, api, base := mediaAPI(t, map[string]platformtest.Route{"GET " + mediaPath: {Status: 307, Header: http.Header{"Location": {storeURL + "/media/abc"}}}})
	m, err := a.FetchMedia(context.Background(), base+mediaPath+"#type=image%2Fgif", 100)
	if err != nil || string(m.Data) != "GIF89a" || m.ContentType != "image/gif" {
		t.Fatalf("FetchMedia = %+v, %v", m, err)
	}
	if api.Requests()[0].Header.Get("Authorization") == "" {
		t.Fatal("the API got no credentials")
	}
	if auth := store.Requests()[0].Header.Get("Authorization"); auth != "" {
		t.Fatalf("the media store got Authorization %q", auth)
	}
}
