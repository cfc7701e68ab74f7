package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform/papi"
)

// A media reference (Message.MediaRef) is the platform's media id or URL.
// Where the platform names a file or gives its MIME type only in the
// message, and its download does not give them again (a Telegram
// document's file_name and mime_type, a LINE or Viber file's name, Twilio's
// MediaContentType), the adapter appends them to the reference as a
// fragment: "#" followed by the form-encoded keys "name" and "type" (see
// JoinMediaRef). A URL stays a URL that opens the item (a fragment is never
// sent to a server), an id stays readable, and a reference stored before
// fragments were added, or one without them, is fetched as before.

// mediaRefKeys are the keys a media reference's fragment may hold.
var mediaRefKeys = map[string]bool{"name": true, "type": true}

// JoinMediaRef returns ref followed by the fragment holding name and
// mimeType, the ones that are not empty; ref alone when both are.
func JoinMediaRef(ref, name, mimeType string) string {
	v := url.Values{}
	if name != "" {
		v.Set("name", name)
	}
	if mimeType != "" {
		v.Set("type", mimeType)
	}
	if len(v) == 0 {
		return ref
	}
	return ref + "#" + v.Encode()
}

// SplitMediaRef splits a media reference made by JoinMediaRef into the
// platform's id or URL, the file name and the MIME type. A reference
// without such a fragment (a plain id, a URL with a fragment of its own) is
// returned whole, with no name and no type.
func SplitMediaRef(ref string) (base, name, mimeType string) {
	i := strings.LastIndexByte(ref, '#')
	if i < 0 {
		return ref, "", ""
	}
	v, err := url.ParseQuery(ref[i+1:])
	if err != nil || len(v) == 0 {
		return ref, "", ""
	}
	for k, vals := range v {
		if !mediaRefKeys[k] || len(vals) != 1 {
			return ref, "", ""
		}
	}
	return ref[:i], v.Get("name"), v.Get("type")
}

// MediaHTTPError is a download's refusal by HTTP status. It wraps
// ErrMediaGone when the platform answers so for an item it no longer has
// (the statuses given to GetMedia); otherwise it is temporary.
type MediaHTTPError struct {
	// Status is the HTTP status of the answer.
	Status int
	// Detail is a short description of the answer (the platform's error
	// message, clipped), never a secret.
	Detail string
	gone   bool
}

// Error says the status and the detail.
func (e *MediaHTTPError) Error() string {
	s := "HTTP " + strconv.Itoa(e.Status)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns ErrMediaGone when the status means the item is gone.
func (e *MediaHTTPError) Unwrap() error {
	if e.gone {
		return ErrMediaGone
	}
	return nil
}

// maxErrorBody bounds how much of a refusal's body is read for its detail.
const maxErrorBody = 4 << 10

// MediaRequest is one download: a GET of URL with Header and Auth.
type MediaRequest struct {
	URL    string
	Header http.Header
	// Auth sets the request's credentials (papi.Bearer, papi.Basic); nil
	// for none. A redirect to another host is not sent the Authorization
	// header.
	Auth papi.Auth
	// Gone are the HTTP statuses that mean the platform no longer has the
	// item (or refuses it for good). Other non-2xx statuses are temporary.
	Gone []int
	// Detail, when set, turns a refusal's body into a short description;
	// nil keeps none. It must not return a secret.
	Detail func(body []byte) string
	// PublicOnly is for a URL a delivery gave (not one the platform's API
	// answered, nor the configured API's own): the download connects to
	// public addresses only, redirects included, and through no proxy; a
	// host that is not public fails it, wrapping ErrMediaGone and
	// ErrPrivateAddress. Such a download uses a client of its own, not the
	// one given (neither its transport nor its root certificates). Adapters
	// set it unless their configuration allows private addresses
	// (media.allow_private_addresses).
	PublicOnly bool
}

// GetMedia downloads req with client (one GET: the caller retries a
// temporary failure later, with its backoff) and reads at most max bytes of the body of a
// 200 answer (any other status is a *MediaHTTPError): an item whose
// declared length (Content-Length) is larger than max, or whose body goes
// past max (it stops reading at max+1 bytes), is an error wrapping
// ErrMediaTooLarge. The content type is the answer's Content-Type without
// parameters (sniffed from the bytes when it has none), the file name that
// of its Content-Disposition, if any. No error carries the URL, which may
// hold a token. The download is bounded by ctx alone, not by the HTTP
// client's Timeout (a large item on a slow link takes its time): the
// caller gives ctx its deadline (the media worker's request timeout).
func GetMedia(ctx context.Context, client *papi.Client, max int64, req MediaRequest) (Media, error) {
	if max < 0 {
		max = 0
	}
	header := req.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if header.Get("Accept") == "" {
		header.Set("Accept", "*/*")
	}
	if req.PublicOnly {
		client = publicAPI()
	}
	resp, err := client.Download(ctx, papi.Request{Method: http.MethodGet, URL: req.URL, Name: "download", Header: header, Auth: req.Auth})
	if errors.Is(err, ErrPrivateAddress) {
		return Media{}, fmt.Errorf("download: %w: %w", ErrMediaGone, ErrPrivateAddress)
	}
	if err != nil {
		return Media{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// 202 (LINE: still being prepared) and every other status but 200
		// are refusals.
		e := &MediaHTTPError{Status: resp.StatusCode}
		for _, s := range req.Gone {
			if s == resp.StatusCode {
				e.gone = true
			}
		}
		if req.Detail != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
			e.Detail = Clip(req.Detail(papi.Scrub(body, req.Auth)), 200)
		}
		return Media{}, fmt.Errorf("download: %w", e)
	}
	if resp.ContentLength > max {
		return Media{}, fmt.Errorf("%w: the platform declares %d bytes, the limit is %d", ErrMediaTooLarge, resp.ContentLength, max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return Media{}, fmt.Errorf("download: reading the body: %w", withoutURL(err))
	}
	if int64(len(data)) > max {
		return Media{}, fmt.Errorf("%w: more than %d bytes", ErrMediaTooLarge, max)
	}
	m := Media{Data: data, ContentType: mediaType(resp.Header.Get("Content-Type"))}
	if m.ContentType == "" && len(data) > 0 {
		m.ContentType = mediaType(http.DetectContentType(data))
	}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		m.FileName = params["filename"]
	}
	return m, nil
}

// TooLarge returns an error wrapping ErrMediaTooLarge for an item whose
// size the platform declares before the download.
func TooLarge(size, max int64) error {
	return fmt.Errorf("%w: the platform declares %d bytes, the limit is %d", ErrMediaTooLarge, size, max)
}

// mediaType returns a Content-Type's media type without its parameters,
// lower-cased; "" when it does not parse as one (type/subtype, tokens
// only): a value from a delivery or a download may carry anything, and it
// becomes a header of the File's upload to Salesforce.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	t, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(t, "/") {
		return ""
	}
	return mime.FormatMediaType(t, nil)
}

// withoutURL strips the request URL, which may hold a token, from a
// transport error: a *url.Error is replaced by the error it wraps.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Uploader is implemented by channels whose platform is the connector
// itself (the web chat): the site uploads a media item's bytes first, then
// posts the message that names the upload's reference.
type Uploader interface {
	// Upload verifies the request's signature over its body and keeps the
	// body durably; it returns the reference a message names it by. A
	// wrong signature wraps ErrBadSignature, a body over the channel's
	// limit ErrMediaTooLarge.
	Upload(r *http.Request) (Upload, error)
}

// ErrNoUploads is wrapped by Upload on a channel configured to take no
// uploads.
var ErrNoUploads = errors.New("the channel takes no uploads")

// ErrUploadsBusy is wrapped by Upload when the channel already takes as
// many uploads as it reads at once: the caller answers 503 and the site
// retries.
var ErrUploadsBusy = errors.New("the channel is taking as many uploads as it can")

// Upload is a kept upload.
type Upload struct {
	// Ref is the reference a message's attachment names it by.
	Ref string `json:"upload"`
	// Size is its length in bytes, SHA256 the hex SHA-256 of its bytes.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Named returns m with the file name and MIME type the message gave, where
// it gave them, instead of the download's; a MIME type that does not parse
// as one (type/subtype, tokens only) is not taken.
func (m Media) Named(name, mimeType string) Media {
	if name != "" {
		m.FileName = name
	}
	if t := mediaType(mimeType); t != "" {
		m.ContentType = t
	}
	return m
}

// HTTPURL parses s as an absolute http(s) URL; ok is false when it is not
// one.
func HTTPURL(s string) (u *url.URL, ok bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, false
	}
	return u, true
}
