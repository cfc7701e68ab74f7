package webhook

import (
	"errors"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/platform"
)

// upload keeps a media item's bytes for a channel whose platform is the
// connector (platform.Uploader: the web chat), before the message that
// names it: 200 with the upload's reference once it is synced to disk;
// 401 for a wrong signature, 413 over the channel's limit, 405 for a
// channel that takes no uploads, 503 (Retry-After: 1) when the channel
// is reading as many uploads as it takes at once.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	ch, ok := h.channel(w, r)
	if !ok {
		return
	}
	up, ok := ch.Adapter.(platform.Uploader)
	if !ok {
		httpx.WriteError(w, r, http.StatusMethodNotAllowed, "no_uploads", "platform "+ch.Adapter.Platform()+" takes no uploads: its media are fetched from the platform")
		return
	}
	res, err := up.Upload(r)
	switch {
	case errors.Is(err, platform.ErrBadSignature):
		h.count(ch, "bad_signature")
		httpx.WriteError(w, r, http.StatusUnauthorized, "bad_signature", err.Error())
		return
	case errors.Is(err, platform.ErrMediaTooLarge):
		h.count(ch, "too_large")
		httpx.WriteError(w, r, http.StatusRequestEntityTooLarge, "upload_too_large", err.Error())
		return
	case errors.Is(err, platform.ErrNoUploads):
		httpx.WriteError(w, r, http.StatusMethodNotAllowed, "no_uploads", err.Error())
		return
	case errors.Is(err, platform.ErrUploadsBusy):
		h.count(ch, "busy")
		w.Header().Set("Retry-After", "1")
		httpx.WriteError(w, r, http.StatusServiceUnavailable, "uploads_busy", err.Error())
		return
	case err != nil:
		h.count(ch, "store_error")
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("upload not kept")
		httpx.WriteError(w, r, http.StatusServiceUnavailable, "not_stored", "the upload could not be kept; retry it")
		return
	}
	h.count(ch, "upload")
	zerolog.Ctx(r.Context()).Debug().Int64("size", res.Size).Str("sha256", res.SHA256).Msg("upload kept")
	httpx.WriteJSON(w, http.StatusOK, res)
}
