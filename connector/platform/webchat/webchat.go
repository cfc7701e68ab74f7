// Package webchat is the adapter of the connector's own web chat channel:
// the site's backend posts its visitors' messages to the connector.
//
// # Request
//
// The backend posts a JSON body to the channel's webhook URL, signed with
// the channel secret:
//
//	POST /webhooks/{tenant}/{channel}
//	Content-Type: application/json
//	X-Webchat-Signature: sha256=<hex HMAC-SHA256(channel secret, raw body)>
//
//	{
//	  "events": [
//	    {
//	      "id": "evt-1",
//	      "type": "message",
//	      "visitor": {"id": "v-123", "name": "Ann"},
//	      "timestamp": "2026-11-21T10:00:00Z",
//	      "message": {
//	        "text": "hello",
//	        "attachment": {"url": "https://cdn.example.com/u/photo.png", "type": "image/png"},
//	        "reply_to": "evt-0"
//	      }
//	    },
//	    {"id": "evt-2", "type": "typing", "visitor": {"id": "v-123"}}
//	  ]
//	}
//
// Sign computes the header value. The body is the types Delivery, Event,
// Visitor, Message and Attachment marshalled to JSON; unknown fields are
// ignored.
//
// # Fields
//
//   - events: required, a list (it may be empty). Events are handled in
//     order.
//   - id: required, unique per channel: the deduplication key, so a retried
//     post is harmless.
//   - type: required. "message" is a visitor's message; "typing", "read" and
//     types this version does not know are accepted and ignored.
//   - visitor.id: required, the visitor's stable id (the contact);
//     visitor.name is optional.
//   - timestamp: optional, RFC 3339.
//   - message: required for type "message", with text, an attachment or
//     both. An attachment is either an upload (attachment.upload, the
//     reference an upload returned, see Media) or a file the site hosts
//     (attachment.url, an absolute http(s) URL the connector downloads
//     with no credentials); attachment.type is its MIME type and makes the
//     message an image, video or audio message (image/*, video/*,
//     audio/*) or a document (anything else); attachment.name is its file
//     name (optional). reply_to is the id of the event the message
//     answers.
//
// A body that breaks these rules is refused with an error wrapping
// platform.ErrMalformed that names the event and the field.
//
// # Media
//
// A visitor's file reaches Salesforce as a File. The site's backend
// uploads its bytes first, signed like a delivery (the HMAC of the raw
// bytes), with its MIME type:
//
//	POST /webhooks/{tenant}/{channel}/uploads
//	Content-Type: image/png
//	X-Webchat-Signature: sha256=<hex HMAC-SHA256(channel secret, raw bytes)>
//
//	<the file's bytes>
//
// and gets {"upload": "upload:<sha256>", "size": ..., "sha256": ...}
// (200), then posts the message that names it:
//
//	"message": {"text": "the scratch", "attachment":
//	  {"upload": "upload:<sha256>", "type": "image/png", "name": "scratch.png"}}
//
// The connector keeps the upload, synced to disk before it answers, in the
// channel's upload directory under its checksum (the same bytes give the
// same reference, so a retried upload is harmless), fetches it as the
// message's media once the message is stored, and removes it once the
// connector keeps the bytes (ReleaseMedia), as soon as the message is
// stored excluded or refused (its media is never fetched), or when it is
// older than UploadTTL (7 days) if no message fetched it. An upload is
// one message's: upload the bytes again for another message (the same
// reference comes back). An upload larger than the channel's limit
// (max_upload_bytes, default 25 MiB) gets 413, a wrong signature 401; a
// channel without an upload directory answers 405. A message whose upload
// has expired keeps its text; its media fails as gone.
//
// The web chat has no verification handshake and the connector does not
// send through it. Its native block is the connector's own: the adapter is
// a platform.Blocker whose Block and Unblock need no call (the connector is
// the platform), and a platform.BlockedRefuser, so that the messages of a
// visitor blocked for inbound are refused where they arrive, and named in
// the delivery's answer ("refused"), instead of being recorded.
package webchat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

const (
	// PlatformName is what Adapter.Platform returns.
	PlatformName = "webchat"
	// SignatureHeader carries "sha256=<hex HMAC-SHA256(secret, body)>".
	SignatureHeader = "X-Webchat-Signature"

	signaturePrefix = "sha256="
	// maxQuoted bounds the client-provided text quoted in errors and details.
	maxQuoted = 80
)

// ErrInvalidConfig is wrapped by Config.Validate and New when the
// configuration is incomplete.
var ErrInvalidConfig = errors.New("invalid webchat configuration")

// Config is one web chat channel.
type Config struct {
	// Secret keys the HMAC of every delivery and upload.
	Secret string
	// UploadDir is where the channel keeps uploads (see Adapter.Upload);
	// empty for a channel that takes none (its messages may still name
	// attachments by URL).
	UploadDir string
	// MaxUploadBytes bounds an upload. Default DefaultMaxUploadBytes.
	MaxUploadBytes int64
	// HTTPClient downloads attachments the site hosts. Default: a client
	// with a 30 s timeout.
	HTTPClient *http.Client
	// AllowPrivateMediaAddresses lets media downloads from URLs a delivery
	// gives reach hosts that are not public (loopback, private networks):
	// for tests and stand-ins. Default false: see
	// platform.MediaRequest.PublicOnly.
	AllowPrivateMediaAddresses bool
}

// Validate reports a missing secret, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Secret == "":
		return fmt.Errorf("%w: secret is required", ErrInvalidConfig)
	case c.MaxUploadBytes < 0:
		return fmt.Errorf("%w: max_upload_bytes is negative", ErrInvalidConfig)
	}
	return nil
}

// String describes the configuration without its secret.
func (c Config) String() string {
	return fmt.Sprintf("webchat.Config{UploadDir: %q, MaxUploadBytes: %d, secret redacted}", c.UploadDir, c.MaxUploadBytes)
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string { return c.String() }

// Delivery is the body the site's backend posts.
type Delivery struct {
	Events []Event `json:"events"`
}

// Event is one thing that happened in the web chat.
type Event struct {
	// ID identifies the event; the deduplication key.
	ID string `json:"id"`
	// Type is "message", "typing" or "read".
	Type    string  `json:"type"`
	Visitor Visitor `json:"visitor"`
	// Timestamp is RFC 3339; optional.
	Timestamp string `json:"timestamp,omitempty"`
	// Message is set for type "message".
	Message *Message `json:"message,omitempty"`
}

// Visitor is the person chatting on the site.
type Visitor struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Message is what a visitor wrote or attached.
type Message struct {
	Text       string      `json:"text,omitempty"`
	Attachment *Attachment `json:"attachment,omitempty"`
	// ReplyTo is the id of the event this message answers.
	ReplyTo string `json:"reply_to,omitempty"`
}

// Attachment is a file the visitor sent: uploaded to the connector first
// (Upload), or hosted by the site (URL).
type Attachment struct {
	// Upload is the reference an upload to the channel returned
	// ("upload:<sha256>"). Exactly one of Upload and URL is set.
	Upload string `json:"upload,omitempty"`
	// URL is an absolute http(s) URL to the file, which the connector
	// downloads with no credentials.
	URL string `json:"url,omitempty"`
	// Type is the file's MIME type, such as "image/png".
	Type string `json:"type,omitempty"`
	// Name is the file's name, such as "receipt.pdf"; optional.
	Name string `json:"name,omitempty"`
}

// Adapter is the web chat adapter for one channel. It implements
// platform.Adapter, platform.Blocker, platform.BlockedRefuser,
// platform.MediaFetcher and platform.Uploader, and is safe for concurrent
// use.
type Adapter struct {
	secret  []byte
	uploads *uploads     // nil: no uploads
	api     *papi.Client // downloads of attachments the site hosts
	// publicMedia: attachment downloads reach public addresses only.
	publicMedia bool
}

var _ platform.Adapter = (*Adapter)(nil)

// New validates cfg and builds an Adapter.
func New(cfg Config) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	a := &Adapter{secret: []byte(cfg.Secret), api: papi.New(papi.Config{HTTPClient: client}), publicMedia: !cfg.AllowPrivateMediaAddresses}
	if cfg.UploadDir != "" {
		a.uploads = &uploads{dir: cfg.UploadDir, max: cfg.MaxUploadBytes, now: time.Now, slots: make(chan struct{}, MaxUploadsInFlight)}
		if a.uploads.max == 0 {
			a.uploads.max = DefaultMaxUploadBytes
		}
	}
	return a, nil
}

// Platform returns "webchat".
func (a *Adapter) Platform() string { return PlatformName }

// Block blocks a visitor natively: the connector is the web chat's
// platform, so the block takes effect at once, at the door (RefusesBlocked),
// with no call to make.
func (a *Adapter) Block(context.Context, string) error { return nil }

// Unblock lifts a native block: the door opens again with the local block.
func (a *Adapter) Unblock(context.Context, string) error { return nil }

// RefusesBlocked reports that visitors blocked for inbound are refused
// where their messages arrive.
func (a *Adapter) RefusesBlocked() bool { return true }

// Sign returns the X-Webchat-Signature value for body:
// "sha256=" + hex(HMAC-SHA256(secret, body)).
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks X-Webchat-Signature against the HMAC-SHA256 of body keyed
// with the channel secret, in constant time. A missing, ill-formed or wrong
// signature is an error wrapping platform.ErrBadSignature that says which.
func (a *Adapter) Verify(r *http.Request, body []byte) error {
	var header string
	if r != nil {
		header = r.Header.Get(SignatureHeader)
	}
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
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the body", platform.ErrBadSignature, SignatureHeader)
	}
	return nil
}

// Parse turns a verified body into events, in order. The request is not
// used.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	var d struct {
		Events *[]Event `json:"events"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("%w: webchat: body is not a delivery: %w", platform.ErrMalformed, err)
	}
	if d.Events == nil {
		return nil, fmt.Errorf("%w: webchat: missing events", platform.ErrMalformed)
	}
	events := make([]platform.Event, 0, len(*d.Events))
	for i, e := range *d.Events {
		ev, err := toEvent(&e)
		if err != nil {
			return nil, fmt.Errorf("%w: webchat: events[%d]%s: %w", platform.ErrMalformed, i, idSuffix(e.ID), err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// toEvent checks and maps one event; the error names the bad field.
func toEvent(e *Event) (platform.Event, error) {
	switch {
	case e.ID == "":
		return platform.Event{}, errors.New("id is required")
	case e.Visitor.ID == "":
		return platform.Event{}, errors.New("visitor.id is required")
	case e.Type == "":
		return platform.Event{}, errors.New("type is required")
	}
	ev := platform.Event{ID: e.ID, Contact: e.Visitor.ID, ContactName: e.Visitor.Name}
	if e.Timestamp != "" {
		ts, err := time.Parse(time.RFC3339, e.Timestamp)
		if err != nil {
			return platform.Event{}, fmt.Errorf("timestamp %q is not RFC 3339", clip(e.Timestamp))
		}
		ev.Timestamp = ts.UTC()
	}
	switch e.Type {
	case "message":
		msg, err := toMessage(e.Message)
		if err != nil {
			return platform.Event{}, err
		}
		ev.Kind, ev.Message = platform.KindMessage, msg
	case "typing", "read":
		ev.Kind, ev.Detail = platform.KindIgnored, e.Type
	default:
		ev.Kind, ev.Detail = platform.KindIgnored, "unknown type "+clip(e.Type)
	}
	return ev, nil
}

// toMessage checks and maps the content of a "message" event.
func toMessage(m *Message) (*platform.Message, error) {
	if m == nil {
		return nil, errors.New("message is required for type \"message\"")
	}
	if m.Text == "" && m.Attachment == nil {
		return nil, errors.New("message has neither text nor attachment")
	}
	msg := &platform.Message{Kind: platform.Text, Text: m.Text, ReplyTo: m.ReplyTo}
	if at := m.Attachment; at != nil {
		switch {
		case at.Upload != "" && at.URL != "":
			return nil, errors.New("message.attachment has both upload and url; give one")
		case at.Upload != "":
			digest, ok := strings.CutPrefix(at.Upload, UploadPrefix)
			if b, err := hex.DecodeString(digest); !ok || err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("message.attachment.upload %q is not the reference an upload returned (%s<sha256>)", clip(at.Upload), UploadPrefix)
			}
			msg.MediaRef = platform.JoinMediaRef(UploadPrefix+strings.ToLower(digest), at.Name, at.Type)
		default:
			u, err := url.Parse(at.URL)
			if at.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, fmt.Errorf("message.attachment.url %q is not an absolute http(s) URL", clip(at.URL))
			}
			msg.MediaRef = at.URL
			if at.Name != "" {
				msg.MediaRef = platform.JoinMediaRef(at.URL, at.Name, at.Type)
			}
		}
		msg.Kind, msg.MediaType = kindOf(at.Type), at.Type
	}
	return msg, nil
}

// kindOf maps a MIME type to a message kind.
func kindOf(mimeType string) string {
	major, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mimeType)), "/")
	switch major {
	case "image":
		return platform.Image
	case "video":
		return platform.Video
	case "audio":
		return platform.Audio
	}
	return platform.Document
}

// idSuffix names an event in an error when it has an id.
func idSuffix(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf(" (id %q)", clip(id))
}

// clip shortens client-provided text quoted in errors.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
