package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

const (
	mediaID     = "1225012345678901"
	infoPath    = "GET /v21.0/" + mediaID
	downloadTo  = "/whatsapp_business/attachments/"
	jpegContent = "\xff\xd8\xff\xe0a photo of the broken kettle"
)

// mediaAPI starts a Graph API stand-in and returns an adapter pointed at
// it, the stub (whose Routes the test fills) and its URL.
func mediaAPI(t *testing.T, mutate ...func(*Config)) (*Adapter, *platformtest.Routes, string) {
	t.Helper()
	stub := &platformtest.Routes{Routes: map[string]platformtest.Route{}}
	srv := platformtest.Start(t, stub)
	a := newTestAdapter(t, append([]func(*Config){func(c *Config) {
		c.GraphURL = srv.URL + "/v21.0"
		c.HTTPClient = srv.Client()
	}}, mutate...)...)
	return a, stub, srv.URL
}

func info(base, sha string, size any) platformtest.Route {
	return platformtest.Route{ContentType: "application/json", Body: fmt.Sprintf(
		`{"messaging_product":"whatsapp","url":"%s%s?mid=%s&ext=1764921600&hash=ATtx","mime_type":"image/jpeg","sha256":"%s","file_size":%v,"id":"%s"}`,
		base, downloadTo, mediaID, sha, size, mediaID)}
}

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestFetchMediaSuccess(t *testing.T) {
	s := sum(jpegContent)
	for name, sha := range map[string]string{"hex checksum": hex.EncodeToString(s[:]), "base64 checksum": base64.StdEncoding.EncodeToString(s[:])} {
		t.Run(name, func(t *testing.T) {
			a, stub, base := mediaAPI(t)
			stub.Routes[infoPath] = info(base, sha, len(jpegContent))
			stub.Routes["GET "+downloadTo] = platformtest.Route{ContentType: "image/jpeg", Body: jpegContent}
			got, err := a.FetchMedia(context.Background(), mediaID, 1000)
			if err != nil {
				t.Fatalf("FetchMedia: %v", err)
			}
			if want := (platform.Media{Data: []byte(jpegContent), ContentType: "image/jpeg"}); !reflect.DeepEqual(got, want) {
				t.Fatalf("FetchMedia = %+v, want %+v", got, want)
			}
			reqs := stub.Requests()
			if len(reqs) != 2 {
				t.Fatalf("requests %v, want the media id and the download", stub.Paths())
			}
			if reqs[0].Query != "phone_number_id="+testPhoneNumberID {
				t.Errorf("media id query %q", reqs[0].Query)
			}
			for _, r := range reqs {
				if auth := r.Header.Get("Authorization"); auth != "Bearer "+testAccessToken {
					t.Errorf("%s %s: Authorization %q, want the access token", r.Method, r.Path, auth)
				}
			}
		})
	}
}

func TestFetchMediaDocumentNameAndVoiceType(t *testing.T) {
	a, stub, base := mediaAPI(t)
	body := "%PDF-1.7 invoice"
	s := sum(body)
	r := info(base, hex.EncodeToString(s[:]), `"16"`)
	r.Body = `{"url":"` + base + downloadTo + `","mime_type":"audio/ogg; codecs=opus","sha256":"` + hex.EncodeToString(s[:]) + `","file_size":"16","id":"` + mediaID + `"}`
	stub.Routes[infoPath] = r
	stub.Routes["GET "+downloadTo] = platformtest.Route{ContentType: "application/octet-stream", Body: body}
	got, err := a.FetchMedia(context.Background(), mediaID, 100)
	if err != nil || got.ContentType != "audio/ogg" {
		t.Fatalf("FetchMedia = %+v, %v, want the Graph API's MIME type without parameters", got, err)
	}
	got, err = a.FetchMedia(context.Background(), platform.JoinMediaRef(mediaID, "invoice-4411.pdf", ""), 100)
	if err != nil || got.FileName != "invoice-4411.pdf" {
		t.Fatalf("FetchMedia = %+v, %v, want the document's file name", got, err)
	}
}

func TestFetchMediaErrors(t *testing.T) {
	s := sum(jpegContent)
	sha := hex.EncodeToString(s[:])
	download := platformtest.Route{ContentType: "image/jpeg", Body: jpegContent}
	tests := []struct {
		name       string
		info       func(base string) platformtest.Route
		download   platformtest.Route
		max        int64
		class      string
		downloaded bool
	}{
		{"declared larger than the limit", func(b string) platformtest.Route { return info(b, sha, len(jpegContent)) }, download, 10, "too large", false},
		{"streamed past the limit", func(b string) platformtest.Route { return info(b, sha, 0) },
			platformtest.Route{ContentType: "image/jpeg", Body: jpegContent, Chunked: true}, 10, "too large", true},
		{"unknown or expired id", func(string) platformtest.Route {
			return platformtest.Route{Status: 400, ContentType: "application/json", Body: `{"error":{"message":"Unsupported get request. Object with ID '1225012345678901' does not exist, cannot be loaded due to missing permissions, or does not support this operation.","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"Ax"}}`}
		}, download, 1000, "gone", false},
		{"download gone", func(b string) platformtest.Route { return info(b, sha, len(jpegContent)) }, platformtest.Route{Status: 404}, 1000, "gone", true},
		{"token refused", func(string) platformtest.Route {
			return platformtest.Route{Status: 401, ContentType: "application/json", Body: `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"Ax"}}`}
		}, download, 1000, "temporary", false},
		{"rate limited", func(string) platformtest.Route {
			return platformtest.Route{Status: 429, ContentType: "application/json", Body: `{"error":{"message":"Too many calls","type":"OAuthException","code":80007,"fbtrace_id":"Ax"}}`}
		}, download, 1000, "temporary", false},
		{"download URL expired", func(b string) platformtest.Route { return info(b, sha, len(jpegContent)) }, platformtest.Route{Status: 403}, 1000, "temporary", true},
		{"checksum mismatch", func(b string) platformtest.Route {
			return info(b, hex.EncodeToString(make([]byte, 32)), len(jpegContent))
		}, download, 1000, "temporary", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stub, base := mediaAPI(t)
			stub.Routes[infoPath] = tt.info(base)
			stub.Routes["GET "+downloadTo] = tt.download
			_, err := a.FetchMedia(context.Background(), mediaID, tt.max)
			platformtest.CheckMediaError(t, err, tt.class, testAccessToken, "hash=ATtx")
			paths := stub.Paths()
			if got := len(paths) == 2; got != tt.downloaded {
				t.Fatalf("requests %v: downloaded %t, want %t", paths, got, tt.downloaded)
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
		"no access token": {mediaID, func(c *Config) { c.AccessToken = "" }, "receive only"},
		"not an id":       {"../" + testPhoneNumberID + "/messages", func(*Config) {}, "gone"},
		"empty":           {"", func(*Config) {}, "gone"},
	} {
		a, stub, _ := mediaAPI(t, tt.mutate)
		_, err := a.FetchMedia(context.Background(), tt.ref, 100)
		platformtest.CheckMediaError(t, err, tt.class, testAccessToken)
		if n := len(stub.Requests()); n != 0 {
			t.Fatalf("%s: %d requests, want none", name, n)
		}
	}
}
