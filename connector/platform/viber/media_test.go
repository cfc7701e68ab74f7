package viber

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// mediaServer serves routes as Viber's media server and returns an
// adapter, the stub and the server's URL.
func mediaServer(t *testing.T, routes map[string]platformtest.Route) (*Adapter, *platformtest.Routes, string) {
	t.Helper()
	stub := &platformtest.Routes{Routes: routes}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) { c.HTTPClient = srv.Client(); c.AllowPrivateMediaAddresses = true })
	return a, stub, srv.URL
}

// By default a media URL on a host that is not public is refused,
// unfetched.
func TestFetchMediaRefusesPrivateAddresses(t *testing.T) {
	stub := &platformtest.Routes{Routes: map[string]platformtest.Route{"GET /m.jpg": {ContentType: "image/jpeg", Body: "jpeg"}}}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, func(c *Config) { c.HTTPClient = srv.Client() })
	_, err := a.FetchMedia(context.Background(), srv.URL+"/m.jpg", 100)
	if platformtest.CheckMediaError(t, err, "gone"); !errors.Is(err, platform.ErrPrivateAddress) || len(stub.Requests()) != 0 {
		t.Fatalf("a media URL on a loopback host: %v, %d requests", err, len(stub.Requests()))
	}
}

func TestFetchMediaSuccess(t *testing.T) {
	a, stub, base := mediaServer(t, map[string]platformtest.Route{
		"GET /5/media/2/file/invoice-4411.pdf": {ContentType: "application/pdf", Body: "%PDF-1.7"},
		"GET /1/share/2/image/p.jpg":           {ContentType: "image/jpeg", Body: "\xff\xd8\xffjpeg"},
	})
	tests := []struct {
		ref  string
		want platform.Media
	}{
		{base + "/5/media/2/file/invoice-4411.pdf#name=invoice-4411.pdf",
			platform.Media{Data: []byte("%PDF-1.7"), ContentType: "application/pdf", FileName: "invoice-4411.pdf"}},
		{base + "/1/share/2/image/p.jpg", platform.Media{Data: []byte("\xff\xd8\xffjpeg"), ContentType: "image/jpeg"}},
	}
	for _, tt := range tests {
		got, err := a.FetchMedia(context.Background(), tt.ref, 100)
		if err != nil {
			t.Fatalf("FetchMedia(%s): %v", tt.ref, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("FetchMedia(%s) = %+v, want %+v", tt.ref, got, tt.want)
		}
	}
	for _, r := range stub.Requests() {
		if auth := r.Header.Get("Authorization") + r.Header.Get("X-Viber-Auth-Token"); auth != "" {
			t.Fatalf("the media server got credentials %q", auth)
		}
	}
}

func TestFetchMediaErrors(t *testing.T) {
	tests := []struct {
		name  string
		route platformtest.Route
		max   int64
		class string
	}{
		{"declared larger than the limit", platformtest.Route{ContentType: "video/mp4", Body: "0123456789A"}, 10, "too large"},
		{"streamed past the limit", platformtest.Route{ContentType: "video/mp4", Body: "0123456789A", Chunked: true}, 10, "too large"},
		{"expired link", platformtest.Route{Status: 403, ContentType: "application/xml", Body: "<Error><Code>AccessDenied</Code></Error>"}, 100, "gone"},
		{"unknown", platformtest.Route{Status: 404}, 100, "gone"},
		{"server error", platformtest.Route{Status: 500}, 100, "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stub, base := mediaServer(t, map[string]platformtest.Route{"GET /clip.mp4": tt.route})
			_, err := a.FetchMedia(context.Background(), base+"/clip.mp4", tt.max)
			platformtest.CheckMediaError(t, err, tt.class, testAuthToken)
			if n := len(stub.Requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
	a, _, _ := mediaServer(t, nil)
	_, err := a.FetchMedia(context.Background(), "", 100)
	platformtest.CheckMediaError(t, err, "gone")
}
