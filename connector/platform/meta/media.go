package meta

import (
	"context"
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/papi"
)

var _ platform.MediaFetcher = (*Channel)(nil)

// API returns the platform HTTP client the channel's Graph API calls go
// through, for calls Call does not make (a download).
func (c *Client) API() *papi.Client {
	c.once.Do(func() { c.api = papi.New(papi.Config{HTTPClient: c.HTTP, Transient: ErrTransient}) })
	return c.api
}

// FetchMedia downloads a Messenger or Instagram attachment: ref is its
// payload.url, a signed link to Meta's CDN that expires (fetched at once,
// with no credentials: the link is the grant). An expired or unknown link
// (403, 404, 410) wraps platform.ErrMediaGone; rate limits, server and
// network errors are temporary; a link to a web page (a fallback or share
// attachment: text/html) is no media item and wraps platform.ErrMediaGone
// too. The content type is the CDN's, the name its Content-Disposition's
// when it gives one. The WhatsApp adapter has
// its own (media ids, resolved with the Graph API).
func (c *Channel) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	p := c.product.Platform
	link, name, typ := platform.SplitMediaRef(ref)
	_, ok := platform.HTTPURL(link)
	if !ok {
		return platform.Media{}, fmt.Errorf("%s: media: %w: the reference is not an attachment URL", p, platform.ErrMediaGone)
	}
	m, err := platform.GetMedia(ctx, c.Graph.API(), max, platform.MediaRequest{
		URL: link, Gone: []int{http.StatusForbidden, http.StatusNotFound, http.StatusGone}, PublicOnly: c.publicMedia})
	if err != nil {
		return platform.Media{}, fmt.Errorf("%s: media: %w", p, err)
	}
	if m.ContentType == "text/html" {
		// A fallback or share attachment links a web page, not a file.
		return platform.Media{}, fmt.Errorf("%s: media: %w: the link is a web page, not a media item", p, platform.ErrMediaGone)
	}
	return m.Named(name, typ), nil
}
