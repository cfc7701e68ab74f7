package twilio

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

// FetchMedia downloads an attachment of an incoming message: ref is its
// MediaUrl{N}, followed by its MediaContentType{N} as a fragment (see
// platform.JoinMediaRef). The URL is fetched with the account's
// credentials (HTTP basic auth, AccountSid and auth token, which Twilio
// requires when HTTP basic authentication for media is on) when its host
// is the REST API's (api.twilio.com, or api_url's), and without them
// otherwise; Twilio redirects to its media store, and the redirect is not
// sent the credentials. The content type is MediaContentType, else
// Twilio's Content-Type; Twilio gives no file name. Media deleted from
// Twilio (404, 410) wraps platform.ErrMediaGone; rate limits, server and
// network errors, and a refused authentication (401, 403: the credentials
// may be fixed), are temporary. No error carries the auth token.
func (a *Adapter) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	mediaURL, name, typ := platform.SplitMediaRef(ref)
	u, ok := platform.HTTPURL(mediaURL)
	if !ok {
		return platform.Media{}, fmt.Errorf("twilio: media: %w: the reference is not a MediaUrl", platform.ErrMediaGone)
	}
	req := platform.MediaRequest{URL: mediaURL, Gone: []int{http.StatusNotFound, http.StatusGone}, Detail: errorMessage}
	if api, err := url.Parse(a.apiURL); err == nil && strings.EqualFold(api.Host, u.Host) {
		req.Auth = papi.Basic(a.accountSID, string(a.authToken))
	} else {
		req.PublicOnly = a.publicMedia // not the configured API: a URL the delivery gave
	}
	m, err := platform.GetMedia(ctx, a.api, max, req)
	if err != nil {
		return platform.Media{}, fmt.Errorf("twilio: media: %w", err)
	}
	return m.Named(name, typ), nil
}

// errorMessage is the message of a REST API error body
// ({"code": ..., "message": ...}), for a refused download.
func errorMessage(body []byte) string {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Message == "" {
		return ""
	}
	if e.Code != 0 {
		return fmt.Sprintf("error %d: %s", e.Code, e.Message)
	}
	return e.Message
}
