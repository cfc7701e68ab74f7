package messenger

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

func TestFetchMedia(t *testing.T) {
	stub := &platformtest.Routes{Routes: map[string]platformtest.Route{
		"GET /v/t1.15752-9/photo.jpg": {ContentType: "image/jpeg", Body: "\xff\xd8\xffphoto"},
		"GET /v/expired.jpg":          {Status: 403, Body: "URL signature expired"},
		"GET /v/busy.jpg":             {Status: 503},
		"GET /l.php":                  {ContentType: "text/html; charset=utf-8", Body: "<html>a shared page</html>"},
	}}
	srv := platformtest.Start(t, stub)
	// By default an attachment link to a host that is not public is
	// refused, unfetched.
	public := newTestAdapter(t, func(c *Config) { c.HTTPClient = srv.Client() })
	_, err := public.FetchMedia(context.Background(), srv.URL+"/v/t1.15752-9/photo.jpg", 100)
	if platformtest.CheckMediaError(t, err, "gone"); !errors.Is(err, platform.ErrPrivateAddress) || len(stub.Requests()) != 0 {
		t.Fatalf("a link to a loopback host: %v, %d requests", err, len(stub.Requests()))
	}
	a := newTestAdapter(t, func(c *Config) { c.HTTPClient = srv.Client(); c.AllowPrivateMediaAddresses = true })
	got, err := a.FetchMedia(context.Background(), srv.URL+"/v/t1.15752-9/photo.jpg", 100)
	if err != nil {
		t.Fatalf("FetchMedia: %v", err)
	}
	if want := (platform.Media{Data: []byte("\xff\xd8\xffphoto"), ContentType: "image/jpeg"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("FetchMedia = %+v, want %+v", got, want)
	}
	if auth := stub.Requests()[0].Header.Get("Authorization"); auth != "" {
		t.Fatalf("the CDN got Authorization %q", auth)
	}
	_, err = a.FetchMedia(context.Background(), srv.URL+"/v/t1.15752-9/photo.jpg", 5)
	platformtest.CheckMediaError(t, err, "too large", testAccessToken)
	_, err = a.FetchMedia(context.Background(), srv.URL+"/v/expired.jpg", 100)
	platformtest.CheckMediaError(t, err, "gone", testAccessToken)
	_, err = a.FetchMedia(context.Background(), srv.URL+"/v/busy.jpg", 100)
	platformtest.CheckMediaError(t, err, "temporary", testAccessToken)
	_, err = a.FetchMedia(context.Background(), srv.URL+"/l.php", 100)
	platformtest.CheckMediaError(t, err, "gone", testAccessToken)
	_, err = a.FetchMedia(context.Background(), "not a URL", 100)
	platformtest.CheckMediaError(t, err, "gone", testAccessToken)
}
