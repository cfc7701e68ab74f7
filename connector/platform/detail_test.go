package platform

import (
	"strings"
	"testing"
)

func TestIgnoredAndJoinDetail(t *testing.T) {
	ev := Ignored(strings.Repeat("é", MaxDetail))
	if ev.Kind != KindIgnored || len(ev.Detail) > MaxDetail+len("…") || !strings.HasSuffix(ev.Detail, "…") {
		t.Fatalf("Ignored of a long detail = %+v", ev)
	}
	for _, tt := range [][3]string{{"", "b", "b"}, {"a", "", "a"}, {"a", "b", "a; b"}, {"", "", ""}} {
		if got := JoinDetail(tt[0], tt[1]); got != tt[2] {
			t.Errorf("JoinDetail(%q, %q) = %q, want %q", tt[0], tt[1], got, tt[2])
		}
	}
}

func TestErrorText(t *testing.T) {
	long := strings.Repeat("x", MaxDetail+10)
	got := NewErrorText("twilio REST API", Code(21610)).HTTP(400).Text("Attempt to send to unsubscribed recipient").
		Text("", "x").Text("same", "same").Note("retry after 3 s").Tag("fbtrace_id", "AbC").Tag("empty", "").String()
	want := "twilio REST API: error 21610 (HTTP 400): Attempt to send to unsubscribed recipient (retry after 3 s) [fbtrace_id AbC]"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := NewErrorText("telegram bot API", Code(0)).HTTP(403, 403).HTTP(0).Text(long).String(); got != "telegram bot API: error: "+Clip(long, MaxDetail) {
		t.Errorf("skipped status, clipped text: %q", got)
	}
	for s, want := range map[int]bool{408: true, 429: true, 500: true, 503: true, 400: false, 404: false, 200: false} {
		if TransientStatus(s) != want {
			t.Errorf("TransientStatus(%d) = %v", s, !want)
		}
	}
}

func TestMediaNamedAndHTTPURL(t *testing.T) {
	m := Media{Data: []byte("x"), ContentType: "application/octet-stream", FileName: "download"}
	if got := m.Named("", ""); got.FileName != "download" || got.ContentType != "application/octet-stream" {
		t.Errorf("Named with nothing known changed %+v", got)
	}
	if got := m.Named("photo.jpg", "image/jpeg"); got.FileName != "photo.jpg" || got.ContentType != "image/jpeg" || m.FileName != "download" {
		t.Errorf("Named = %+v (m now %+v)", got, m)
	}
	// A MIME type from a delivery becomes a header of the File's upload:
	// only a well-formed type/subtype is taken, without its parameters.
	for given, want := range map[string]string{
		"Image/PNG; charset=x":                   "image/png",
		"image/png\r\nX-Injected: yes":           "application/octet-stream",
		"image/png\r\n\r\n--boundary":            "application/octet-stream",
		"png":                                    "application/octet-stream",
		"text/plain\x00":                         "application/octet-stream",
		"application/vnd.ms-excel; name=\"a b\"": "application/vnd.ms-excel",
	} {
		if got := m.Named("", given).ContentType; got != want {
			t.Errorf("Named(%q) content type = %q, want %q", given, got, want)
		}
	}
	for s, want := range map[string]bool{"https://cdn.test/a": true, "http://127.0.0.1:8/x": true, "ftp://x/y": false, "cdn.test/a": false, "https://": false, "::": false} {
		if _, ok := HTTPURL(s); ok != want {
			t.Errorf("HTTPURL(%q) ok = %v, want %v", s, ok, want)
		}
	}
}
