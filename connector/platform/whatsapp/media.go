package whatsapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/meta"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

var _ platform.MediaFetcher = (*Adapter)(nil)

// mediaInfo is the Cloud API's answer to GET /{media-id}.
type mediaInfo struct {
	URL      string          `json:"url"`
	MimeType string          `json:"mime_type"`
	SHA256   string          `json:"sha256"`
	FileSize json.RawMessage `json:"file_size"`
	ID       string          `json:"id"`
}

// FetchMedia downloads a media item of an incoming message: ref is its
// media id (with a document's file name as a fragment: see
// platform.JoinMediaRef). GET {graph_url}/{media-id}?phone_number_id=...
// with the access token gives the item's download URL (valid for five
// minutes, so it is never stored), MIME type, size and checksum; an item
// whose size is above max is refused before the download, which is a GET
// of that URL with the access token. An id the Graph API does not know
// (404, or error 100: expired after 30 days, deleted, another number's)
// and a download URL answered 404 or 410 wrap platform.ErrMediaGone, as
// does a channel without an access token; rate limits, server and network
// errors, a refused token and a checksum that does not match are
// temporary (the next try resolves a fresh URL). No error carries the
// token or the download URL.
func (a *Adapter) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	id, name, typ := platform.SplitMediaRef(ref)
	if id == "" || strings.ContainsAny(id, "/?#") {
		return platform.Media{}, fmt.Errorf("whatsapp: media: %w: %q is not a media id", platform.ErrMediaGone, platform.Clip(id, 60))
	}
	if a.Graph.AccessToken == "" {
		return platform.Media{}, fmt.Errorf("whatsapp: media: %w (no access token configured)", platform.ErrMediaNoCredential)
	}
	status, body, err := a.Graph.Call(ctx, http.MethodGet, url.PathEscape(id), url.Values{"phone_number_id": {a.ID()}}, nil)
	if err != nil {
		return platform.Media{}, fmt.Errorf("whatsapp: media: GET the media id: %w", err)
	}
	if ge := meta.ResponseError(status, body, rules); ge != nil {
		if status == http.StatusNotFound || status == http.StatusGone || (status == http.StatusBadRequest && ge.Code == 100) {
			return platform.Media{}, fmt.Errorf("whatsapp: media: GET the media id: %w: %w", platform.ErrMediaGone, ge)
		}
		return platform.Media{}, fmt.Errorf("whatsapp: media: GET the media id: %w", ge)
	}
	var info mediaInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return platform.Media{}, fmt.Errorf("whatsapp: media: unreadable answer to GET the media id (HTTP %d): %w", status, err)
	}
	if u, err := url.Parse(info.URL); info.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return platform.Media{}, fmt.Errorf("whatsapp: media: the answer to GET the media id (HTTP %d) has no download url", status)
	}
	if size, ok := fileSize(info.FileSize); ok && size > max {
		return platform.Media{}, fmt.Errorf("whatsapp: media: %w", platform.TooLarge(size, max))
	}
	m, err := platform.GetMedia(ctx, a.Graph.API(), max, platform.MediaRequest{
		URL:  info.URL,
		Auth: papi.Bearer(a.Graph.AccessToken),
		Gone: []int{http.StatusNotFound, http.StatusGone},
		Detail: func(b []byte) string {
			if ge := meta.ParseGraphError(http.StatusBadRequest, b, rules); ge != nil {
				return ge.Message
			}
			return ""
		},
	})
	if err != nil {
		return platform.Media{}, fmt.Errorf("whatsapp: media: %w", err)
	}
	if want, ok := checksum(info.SHA256); ok {
		if got := sha256.Sum256(m.Data); !bytes.Equal(got[:], want) {
			return platform.Media{}, fmt.Errorf("whatsapp: media: the download does not match the sha256 the Graph API gives")
		}
	}
	switch {
	case typ != "":
		m.ContentType = typ
	case info.MimeType != "":
		m.ContentType = mimeType(info.MimeType)
	}
	if name != "" {
		m.FileName = name
	}
	return m, nil
}

// fileSize reads file_size, a number or a string of digits.
func fileSize(raw json.RawMessage) (int64, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checksum decodes sha256, which the Cloud API gives in hex or in base64;
// false when it is neither (then it is not checked).
func checksum(s string) ([]byte, bool) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b, true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

// mimeType drops the parameters of a MIME type ("audio/ogg; codecs=opus"
// is audio/ogg).
func mimeType(s string) string {
	t, _, _ := strings.Cut(s, ";")
	return strings.TrimSpace(t)
}
