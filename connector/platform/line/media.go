package line

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

// FetchMedia downloads the content of a user's image, video, audio or file
// message. ref is the message id (with the file's name as a fragment for a
// file message: see platform.JoinMediaRef), fetched from
// {data_api_url}/v2/bot/message/{id}/content with the channel access
// token; or, for content the user's app hosts elsewhere
// (contentProvider.type "external"), its absolute URL, fetched without the
// token, from a public address only unless the channel allows private
// ones. The content type is LINE's Content-Type. An unknown or expired
// message id (400, 404, 410) wraps platform.ErrMediaGone; a channel
// without an access token, platform.ErrMediaNoCredential; a sticker (LINE serves no sticker
// content) wraps platform.ErrNoContent; 202 (a video or audio still being prepared), rate limits, server
// and network errors are temporary. No error carries the token.
func (a *Adapter) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	id, name, typ := platform.SplitMediaRef(ref)
	req := platform.MediaRequest{Gone: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusGone}, Detail: errorMessage}
	switch {
	case strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://"):
		if u, err := url.Parse(id); err != nil || u.Host == "" {
			return platform.Media{}, fmt.Errorf("line: media: %w: the external content's URL does not parse", platform.ErrMediaGone)
		}
		req.URL = id
		req.Gone = append(req.Gone, http.StatusForbidden)
		req.PublicOnly = a.publicMedia // external content: a URL the event gave
	case isSticker(id):
		return platform.Media{}, fmt.Errorf("line: media: %w: %q is a sticker", platform.ErrNoContent, platform.Clip(id, 60))
	case !isMessageID(id):
		return platform.Media{}, fmt.Errorf("line: media: %w: %q is not a message id", platform.ErrMediaGone, platform.Clip(id, 60))
	case a.accessToken == "":
		return platform.Media{}, fmt.Errorf("line: media: %w (no channel access token configured)", platform.ErrMediaNoCredential)
	default:
		req.URL = a.dataURL + "/v2/bot/message/" + id + "/content"
		req.Auth = papi.Bearer(a.accessToken)
	}
	m, err := platform.GetMedia(ctx, a.api, max, req)
	if err != nil {
		return platform.Media{}, fmt.Errorf("line: media: %w", err)
	}
	return m.Named(name, typ), nil
}

// isMessageID reports whether s is a LINE message id: decimal digits.
// isSticker reports whether s is a sticker's reference, "<package
// id>/<sticker id>".
func isSticker(s string) bool {
	pkg, sticker, ok := strings.Cut(s, "/")
	return ok && isMessageID(pkg) && isMessageID(sticker)
}

func isMessageID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// errorMessage is the message of a Messaging API error body
// ({"message": ...}), for a refused download.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Message
}
