package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
)

const (
	// SignatureHeader carries "sha256=<hex HMAC-SHA256(app secret, body)>"
	// on every webhook POST.
	SignatureHeader = "X-Hub-Signature-256"
	signaturePrefix = "sha256="
)

// VerifyRequest checks the X-Hub-Signature-256 header of r against body, as
// CheckSignature does. A nil request has no signature.
func VerifyRequest(appSecret []byte, r *http.Request, body []byte) error {
	var header string
	if r != nil {
		header = r.Header.Get(SignatureHeader)
	}
	return CheckSignature(appSecret, header, body)
}

// CheckSignature checks header, a "sha256=<hex>" X-Hub-Signature-256 value,
// against the HMAC-SHA256 of body keyed with appSecret, in constant time. A
// missing, ill-formed or wrong signature is an error wrapping
// platform.ErrBadSignature that says which, without showing the secret or
// the expected value.
func CheckSignature(appSecret []byte, header string, body []byte) error {
	if header == "" {
		return fmt.Errorf("%w: missing %s header", platform.ErrBadSignature, SignatureHeader)
	}
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: %s does not start with %q", platform.ErrBadSignature, SignatureHeader, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not %q followed by %d hex digits", platform.ErrBadSignature, SignatureHeader, signaturePrefix, 2*sha256.Size)
	}
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", platform.ErrBadSignature, SignatureHeader)
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value Meta sends for body:
// "sha256=" + hex(HMAC-SHA256(appSecret, body)). For tests, the demo
// traffic generator and anyone replaying deliveries.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifyToken answers Meta's webhook verification GET for one verify
// token. It keeps only the token's SHA-256, compared in constant time. The
// zero VerifyToken refuses every request.
type VerifyToken struct {
	sum [sha256.Size]byte
	set bool
}

// NewVerifyToken returns the VerifyToken for token; an empty token refuses
// every request.
func NewVerifyToken(token string) VerifyToken {
	if token == "" {
		return VerifyToken{}
	}
	return VerifyToken{sum: sha256.Sum256([]byte(token)), set: true}
}

// String hides the token, so that printing a VerifyToken leaks nothing.
func (VerifyToken) String() string { return "meta.VerifyToken{redacted}" }

// GoString is String, for the %#v verb.
func (v VerifyToken) GoString() string { return v.String() }

// Answer answers the verification GET: with hub.mode=subscribe and a
// hub.verify_token equal to the token it returns hub.challenge, the body to
// write with status 200; otherwise an error wrapping platform.ErrHandshake
// that never repeats the token.
func (v VerifyToken) Answer(r *http.Request) ([]byte, error) {
	if r == nil || r.URL == nil {
		return nil, fmt.Errorf("%w: no request", platform.ErrHandshake)
	}
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" {
		return nil, fmt.Errorf("%w: hub.mode is not \"subscribe\"", platform.ErrHandshake)
	}
	token := q.Get("hub.verify_token")
	if token == "" {
		return nil, fmt.Errorf("%w: missing hub.verify_token", platform.ErrHandshake)
	}
	sum := sha256.Sum256([]byte(token))
	if !v.set || subtle.ConstantTimeCompare(sum[:], v.sum[:]) != 1 {
		return nil, fmt.Errorf("%w: hub.verify_token does not match the channel's verify token", platform.ErrHandshake)
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" {
		return nil, fmt.Errorf("%w: missing hub.challenge", platform.ErrHandshake)
	}
	return []byte(challenge), nil
}
