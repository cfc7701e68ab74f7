package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/store"
)

// DeadMedia is one failed media item in the API: its message was pushed
// (or is on its way) with its text; the media did not become a File.
type DeadMedia struct {
	ID             int64  `json:"id"`
	MessageID      int64  `json:"message_id"`
	Tenant         string `json:"tenant"`
	Channel        string `json:"channel"`
	ConversationID int64  `json:"conversation_id"`
	PlatformID     string `json:"platform_id"`
	// Status is "failed: <reason>".
	Status      string    `json:"status"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	FileName    string    `json:"file_name"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// DeadMediaList answers the failed media list.
type DeadMediaList struct {
	Media []DeadMedia `json:"media"`
	// NextAfter is the after of the next page; absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

func (a *API) listDeadMedia(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "after", "limit")
	if !ok {
		return
	}
	after, limit, ok := paging(w, r, q)
	if !ok {
		return
	}
	f := store.MediaFilter{Tenant: r.PathValue("tenant"), Status: store.MediaFailed, AfterID: after, Limit: limit}
	items, err := a.Store.ListMedia(r.Context(), f)
	if err != nil {
		fail(w, r, fmt.Errorf("list failed media: %w", err))
		return
	}
	out := DeadMediaList{Media: make([]DeadMedia, len(items))}
	for i, it := range items {
		out.Media[i] = DeadMedia{ID: it.ID, MessageID: it.MessageID, Tenant: it.Tenant, Channel: it.Channel, ConversationID: it.ConversationID,
			PlatformID: it.MessagePlatformID, Status: it.StatusText(), Size: it.Size, ContentType: it.ContentType, FileName: it.FileName,
			UpdatedAt: it.UpdatedAt.UTC()}
	}
	if len(items) > 0 {
		out.NextAfter = nextAfter(len(items), f.Limit, items[len(items)-1].ID)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) replayMedia(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	if !decode(w, r, &req, `{"ids": [1, 2]} or {"all": true}`, false) {
		return
	}
	if req.All == (len(req.IDs) > 0) {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_request", "give either ids or all: true")
		return
	}
	replayed, err := a.Store.ReplayMedia(r.Context(), r.PathValue("tenant"), req.IDs, a.now())
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		fail(w, r, fmt.Errorf("replay failed media: %w", err))
		return
	}
	if len(replayed) > 0 && a.MediaReplayed != nil {
		a.MediaReplayed()
	}
	zerolog.Ctx(r.Context()).Info().Str("by", principalOf(r).Name).Int("media", len(replayed)).Msg("failed media replayed")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"replayed": ids(replayed)})
}
