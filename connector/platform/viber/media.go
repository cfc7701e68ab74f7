package viber

import (
	"context"
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/platform"
)

// FetchMedia downloads the media URL of a picture, video, file or sticker
// message (with a file's name as a fragment: see platform.JoinMediaRef).
// The URL needs no credentials (none is sent) and expires: Viber's
// refusal of an expired or unknown URL (403, 404, 410) wraps
// platform.ErrMediaGone; rate limits, server and network errors are
// temporary. The content type is Viber's Content-Type (sniffed when it
// gives none); the name is the file's, else the media server's
// Content-Disposition's, if any.
func (a *Adapter) FetchMedia(ctx context.Context, ref string, max int64) (platform.Media, error) {
	mediaURL, name, typ := platform.SplitMediaRef(ref)
	_, ok := platform.HTTPURL(mediaURL)
	if !ok {
		return platform.Media{}, fmt.Errorf("viber: media: %w: the reference is not a media URL", platform.ErrMediaGone)
	}
	m, err := platform.GetMedia(ctx, a.api, max, platform.MediaRequest{
		URL:        mediaURL,
		Gone:       []int{http.StatusForbidden, http.StatusNotFound, http.StatusGone},
		PublicOnly: a.publicMedia,
	})
	if err != nil {
		return platform.Media{}, fmt.Errorf("viber: media: %w", err)
	}
	return m.Named(name, typ), nil
}
