package meta

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/platformtest"
)

// The X-Hub-Signature-256 scheme (sha256= and the hex HMAC-SHA256 of the raw
// body) is also GitHub's, whose documentation publishes this vector:
// secret "It's a Secret to Everybody", payload "Hello, World!".
const (
	publishedSecret = "It's a Secret to Everybody"
	publishedBody   = "Hello, World!"
	publishedHex    = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestSignPublishedVector(t *testing.T) {
	if got := Sign(publishedSecret, []byte(publishedBody)); got != "sha256="+publishedHex {
		t.Fatalf("Sign = %s, want sha256=%s", got, publishedHex)
	}
	if err := CheckSignature([]byte(publishedSecret), "sha256="+publishedHex, []byte(publishedBody)); err != nil {
		t.Fatalf("CheckSignature of the published vector: %v", err)
	}
}

func TestCheckSignature(t *testing.T) {
	secret := []byte(publishedSecret)
	body := []byte(publishedBody)
	tests := []struct {
		name   string
		header string
		body   []byte
		want   string // substring of the error; "" for a valid signature
	}{
		{"valid", "sha256=" + publishedHex, body, ""},
		{"upper-case hex", "sha256=" + strings.ToUpper(publishedHex), body, ""},
		{"missing", "", body, "missing X-Hub-Signature-256"},
		{"sha1 prefix", "sha1=" + publishedHex, body, "does not start with"},
		{"no prefix", publishedHex, body, "does not start with"},
		{"not hex", "sha256=" + strings.Repeat("zz", 32), body, "hex digits"},
		{"too short", "sha256=" + publishedHex[:62], body, "hex digits"},
		{"too long", "sha256=" + publishedHex + "00", body, "hex digits"},
		{"other key", Sign("another secret", body), body, "does not match"},
		{"altered body", "sha256=" + publishedHex, []byte(publishedBody + " "), "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSignature(secret, tt.header, tt.body)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckSignature: %v", err)
				}
				return
			}
			if !errors.Is(err, platform.ErrBadSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckSignature = %v, want ErrBadSignature containing %q", err, tt.want)
			}
			if msg := err.Error(); strings.Contains(msg, publishedSecret) || strings.Contains(msg, publishedHex) {
				t.Fatalf("error shows the secret or the expected signature: %s", msg)
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	secret := []byte(publishedSecret)
	body := []byte(publishedBody)
	r := platformtest.NewRequest(http.MethodPost, "/webhooks/t/c", body, "x-hub-signature-256", "sha256="+publishedHex)
	if err := VerifyRequest(secret, r, body); err != nil {
		t.Fatalf("VerifyRequest with a lower-case header name: %v", err)
	}
	if err := VerifyRequest(secret, nil, body); !errors.Is(err, platform.ErrBadSignature) {
		t.Fatalf("VerifyRequest(nil) = %v, want ErrBadSignature", err)
	}
}

func TestVerifyTokenAnswer(t *testing.T) {
	const token = "hub-token-7c1d9e"
	v := NewVerifyToken(token)
	tests := []struct {
		name  string
		query url.Values
		want  string // the challenge on success, or a substring of the error
		ok    bool
	}{
		{"accepted", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1158201444"}}, "1158201444", true},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1"}}, "does not match", false},
		{"token prefix", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token[:5]}, "hub.challenge": {"1"}}, "does not match", false},
		{"token longer", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token + "x"}, "hub.challenge": {"1"}}, "does not match", false},
		{"missing token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, "missing hub.verify_token", false},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {token}, "hub.challenge": {"1"}}, "hub.mode", false},
		{"missing mode", url.Values{"hub.verify_token": {token}, "hub.challenge": {"1"}}, "hub.mode", false},
		{"missing challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {token}}, "missing hub.challenge", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := platformtest.NewRequest(http.MethodGet, "/webhooks/t/c?"+tt.query.Encode(), nil)
			got, err := v.Answer(r)
			if tt.ok {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Answer = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, platform.ErrHandshake) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Answer = %q, %v; want ErrHandshake containing %q", got, err, tt.want)
			}
			if got != nil {
				t.Fatalf("Answer returned a body with its error: %q", got)
			}
			if strings.Contains(err.Error(), "7c1d9e") {
				t.Fatalf("error shows (part of) the token: %v", err)
			}
		})
	}
	if _, err := v.Answer(nil); !errors.Is(err, platform.ErrHandshake) {
		t.Fatalf("Answer(nil) = %v, want ErrHandshake", err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, v); strings.Contains(out, token) {
			t.Errorf("%s of a VerifyToken shows the token: %s", verb, out)
		}
	}
}

func TestZeroVerifyTokenRefusesEverything(t *testing.T) {
	for _, v := range []VerifyToken{{}, NewVerifyToken("")} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"anything"}, "hub.challenge": {"1"}}
		r := platformtest.NewRequest(http.MethodGet, "/w?"+q.Encode(), nil)
		if got, err := v.Answer(r); !errors.Is(err, platform.ErrHandshake) {
			t.Fatalf("Answer of an unset token = %q, %v; want ErrHandshake", got, err)
		}
	}
}
