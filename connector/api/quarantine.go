package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/webhook"
)

// Quarantine replays quarantined events through ingestion (the webhook
// handler does).
type Quarantine interface {
	ReplayIDs(ctx context.Context, ids []int64) ([]webhook.ReplayOutcome, error)
	ReplayAll(ctx context.Context, f store.QuarantineFilter) ([]webhook.ReplayOutcome, error)
}

// QuarantinedEvent is one quarantined event in the API.
type QuarantinedEvent struct {
	ID       int64  `json:"id"`
	Tenant   string `json:"tenant"`
	Channel  string `json:"channel"`
	Platform string `json:"platform"`
	Reason   string `json:"reason"`
	// Raw is the event as the platform sent it, as text (bytes that are
	// not UTF-8 shown as U+FFFD).
	Raw        string    `json:"raw"`
	ReceivedAt time.Time `json:"received_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// QuarantineList answers GET /api/v1/quarantine.
type QuarantineList struct {
	Events []QuarantinedEvent `json:"events"`
	// NextAfter is the after of the next page; absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

func (a *API) listQuarantine(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "tenant", "channel", "after", "limit")
	if !ok {
		return
	}
	after, limit, ok := paging(w, r, q)
	if !ok {
		return
	}
	f := store.QuarantineFilter{Tenant: q.Get("tenant"), Channel: q.Get("channel"), AfterID: after, Limit: limit}
	qs, err := a.Store.ListQuarantine(r.Context(), f)
	if err != nil {
		fail(w, r, fmt.Errorf("list quarantine: %w", err))
		return
	}
	out := QuarantineList{Events: make([]QuarantinedEvent, len(qs))}
	for i, e := range qs {
		out.Events[i] = QuarantinedEvent{ID: e.ID, Tenant: e.Tenant, Channel: e.Channel, Platform: e.Platform, Reason: e.Reason,
			Raw: strings.ToValidUTF8(string(e.Raw), "\uFFFD"), ReceivedAt: e.ReceivedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
	}
	if len(qs) > 0 {
		out.NextAfter = nextAfter(len(qs), limit, qs[len(qs)-1].ID)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// QuarantineReplayRequest names the events to replay: ids, or all (of a
// tenant, or every tenant's).
type QuarantineReplayRequest struct {
	IDs    []int64 `json:"ids"`
	All    bool    `json:"all"`
	Tenant string  `json:"tenant"`
}

func (a *API) replayQuarantine(w http.ResponseWriter, r *http.Request) {
	var req QuarantineReplayRequest
	if !decode(w, r, &req, `{"ids": [1, 2]} or {"all": true}`, false) {
		return
	}
	if req.All == (len(req.IDs) > 0) || (req.Tenant != "" && !req.All) {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_request", "give either ids or all: true (with an optional tenant)")
		return
	}
	if a.Quarantine == nil {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
		return
	}
	var results []webhook.ReplayOutcome
	var err error
	if req.All {
		results, err = a.Quarantine.ReplayAll(r.Context(), store.QuarantineFilter{Tenant: req.Tenant})
	} else {
		results, err = a.Quarantine.ReplayIDs(r.Context(), req.IDs)
	}
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		fail(w, r, fmt.Errorf("replay quarantine: %w", err))
		return
	}
	replayed := 0
	for _, o := range results {
		if o.Replayed {
			replayed++
		}
	}
	zerolog.Ctx(r.Context()).Info().Str("by", principalOf(r).Name).Int("events", len(results)).Int("replayed", replayed).Msg("quarantined events replayed")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
}
