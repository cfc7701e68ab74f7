package platform_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

func TestMediaRefRoundTrip(t *testing.T) {
	tests := []struct {
		ref, name, typ, joined string
	}{
		{"AgACAgIAAxkB-photo", "", "", "AgACAgIAAxkB-photo"},
		{"BQA", "cv 2026 #1.pdf", "application/pdf", "BQA#name=cv+2026+%231.pdf&type=application%2Fpdf"},
		{"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "", "image/jpeg",
			"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1#type=image%2Fjpeg"},
		{"468789577898262530", "報告.pdf", "", "468789577898262530#name=%E5%A0%B1%E5%91%8A.pdf"},
	}
	for _, tt := range tests {
		joined := platform.JoinMediaRef(tt.ref, tt.name, tt.typ)
		if joined != tt.joined {
			t.Errorf("JoinMediaRef(%q, %q, %q) = %q, want %q", tt.ref, tt.name, tt.typ, joined, tt.joined)
		}
		ref, name, typ := platform.SplitMediaRef(joined)
		if ref != tt.ref || name != tt.name || typ != tt.typ {
			t.Errorf("SplitMediaRef(%q) = %q, %q, %q, want %q, %q, %q", joined, ref, name, typ, tt.ref, tt.name, tt.typ)
		}
	}
}

func TestSplitMediaRefLeavesOtherFragments(t *testing.T) {
	for _, ref := range []string{
		"https://cdn.example.com/a.png#section",
		"https://cdn.example.com/a.png#page=2",
		"https://cdn.example.com/a.png#name=a&name=b",
		"https://cdn.example.com/a.png#name=%zz",
		"https://cdn.example.com/a.png#",
	} {
		if got, name, typ := platform.SplitMediaRef(ref); got != ref || name != "" || typ != "" {
			t.Errorf("SplitMediaRef(%q) = %q, %q, %q, want the reference whole", ref, got, name, typ)
		}
	}
}

func TestGetMedia(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Authorization") != "Bearer t0ken" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "image/png; charset=binary")
			w.Header().Set("Content-Disposition", `attachment; filename="a b.png"`)
			_, _ = w.Write([]byte("\x89PNG...."))
		case "/untyped":
			_, _ = w.Write([]byte("%PDF-1.5"))
		case "/gone":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"expired"}`))
		case "/busy":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	api := papi.New(papi.Config{HTTPClient: srv.Client()})
	ctx := context.Background()
	m, err := platform.GetMedia(ctx, api, 8, platform.MediaRequest{URL: srv.URL + "/ok", Header: http.Header{"Authorization": {"Bearer t0ken"}}})
	if err != nil || string(m.Data) != "\x89PNG...." || m.ContentType != "image/png" || m.FileName != "a b.png" {
		t.Fatalf("GetMedia = %+v, %v", m, err)
	}
	if _, err := platform.GetMedia(ctx, api, 7, platform.MediaRequest{URL: srv.URL + "/ok", Header: http.Header{"Authorization": {"Bearer t0ken"}}}); !errors.Is(err, platform.ErrMediaTooLarge) {
		t.Fatalf("GetMedia over the limit: %v, want ErrMediaTooLarge", err)
	}
	if m, err := platform.GetMedia(ctx, api, 100, platform.MediaRequest{URL: srv.URL + "/untyped"}); err != nil || m.ContentType != "application/pdf" {
		t.Fatalf("GetMedia untyped = %+v, %v, want sniffed application/pdf", m, err)
	}
	_, err = platform.GetMedia(ctx, api, 100, platform.MediaRequest{URL: srv.URL + "/gone", Gone: []int{404},
		Detail: func(b []byte) string { return string(b) }})
	var he *platform.MediaHTTPError
	if !errors.Is(err, platform.ErrMediaGone) || !errors.As(err, &he) || he.Status != 404 || he.Detail != `{"error":"expired"}` {
		t.Fatalf("GetMedia gone: %v, want ErrMediaGone with status and detail", err)
	}
	if _, err := platform.GetMedia(ctx, api, 100, platform.MediaRequest{URL: srv.URL + "/busy", Gone: []int{404}}); err == nil ||
		errors.Is(err, platform.ErrMediaGone) || errors.Is(err, platform.ErrMediaTooLarge) {
		t.Fatalf("GetMedia 503: %v, want a temporary error", err)
	}
}

// A download's refusal that quotes the credential it refused is
// described with the credential redacted.
func TestGetMediaRefusalQuotingTheTokenIsRedacted(t *testing.T) {
	const token = "EAAG-media-access-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"Malformed access token ` + token + `"}}`))
	}))
	defer srv.Close()
	api := papi.New(papi.Config{HTTPClient: srv.Client()})
	_, err := platform.GetMedia(context.Background(), api, 100, platform.MediaRequest{URL: srv.URL, Auth: papi.Bearer(token),
		Detail: func(body []byte) string { return string(body) }})
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "Malformed access token [redacted]") {
		t.Fatalf("GetMedia = %v, want the refusal with the token redacted", err)
	}
}
