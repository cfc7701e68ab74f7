// Package api serves the connector's own HTTP API under /api/v1. This part
// holds the operator routes: the dead-letter list, replay and per-tenant
// counts, for the support team's bearer token.
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
)

// API serves the routes.
type API struct {
	Store    store.Store
	Registry *registry.Registry
	// OperatorToken is the support team's token; empty disables the routes.
	OperatorToken string
	// Replayed is called after a replay put messages back (wakes the
	// dispatcher). Optional.
	Replayed func()
	Now      func() time.Time
}

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/tenants/{tenant}/dead-letters", a.operator(a.listDead))
	mux.Handle("POST /api/v1/tenants/{tenant}/dead-letters/replay", a.operator(a.replay))
	mux.Handle("GET /api/v1/tenants/{tenant}/stats", a.operator(a.stats))
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// operator checks the bearer token in constant time and the tenant.
func (a *API) operator(next http.HandlerFunc) http.Handler {
	want := sha256.Sum256([]byte(a.OperatorToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.OperatorToken == "" {
			httpx.WriteError(w, r, http.StatusForbidden, "operator_api_disabled", "the operator API is disabled: set api.operator_token")
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="connector"`)
			httpx.WriteError(w, r, http.StatusUnauthorized, "unauthorized", "a valid operator bearer token is required")
			return
		}
		if _, ok := a.Registry.Tenant(r.PathValue("tenant")); !ok {
			httpx.WriteError(w, r, http.StatusNotFound, "unknown_tenant", fmt.Sprintf("no tenant %q is configured", r.PathValue("tenant")))
			return
		}
		next(w, r)
	})
}

// DeadLetter is one dead message in the API.
type DeadLetter struct {
	ID             int64     `json:"id"`
	Channel        string    `json:"channel"`
	ConversationID int64     `json:"conversation_id"`
	PlatformID     string    `json:"platform_id"`
	Kind           string    `json:"kind"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error"`
	ReceivedAt     time.Time `json:"received_at"`
}

func (a *API) listDead(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err1 := intParam(q.Get("after"), 0)
	limit, err2 := intParam(q.Get("limit"), 100)
	if err := errors.Join(err1, err2); err != nil || limit < 1 || limit > 1000 {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", "after must be a message id and limit a number from 1 to 1000")
		return
	}
	msgs, err := a.Store.ListDead(r.Context(), store.DeadFilter{Tenant: r.PathValue("tenant"), AfterID: after, Limit: int(limit)})
	if err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("list dead letters")
		httpx.WriteError(w, r, http.StatusInternalServerError, "store_error", "the dead letters could not be read")
		return
	}
	out := make([]DeadLetter, len(msgs))
	for i, m := range msgs {
		out[i] = DeadLetter{ID: m.ID, Channel: m.Channel, ConversationID: m.ConversationID, PlatformID: m.PlatformID,
			Kind: m.Kind, Attempts: m.Attempts, Error: m.LastError, ReceivedAt: m.ReceivedAt}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"dead_letters": out})
}

// ReplayRequest names the messages to replay: ids, or all.
type ReplayRequest struct {
	IDs []int64 `json:"ids"`
	All bool    `json:"all"`
}

func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "malformed_body", "want {\"ids\": [1, 2]} or {\"all\": true}: "+err.Error())
		return
	}
	if req.All == (len(req.IDs) > 0) {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_request", "give either ids or all: true")
		return
	}
	ids, err := a.Store.Replay(r.Context(), r.PathValue("tenant"), req.IDs, a.now())
	if err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("replay dead letters")
		httpx.WriteError(w, r, http.StatusInternalServerError, "store_error", "the replay could not be stored")
		return
	}
	if len(ids) > 0 && a.Replayed != nil {
		a.Replayed()
	}
	zerolog.Ctx(r.Context()).Info().Str("tenant", r.PathValue("tenant")).Int("messages", len(ids)).Msg("dead letters replayed")
	if ids == nil {
		ids = []int64{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"replayed": ids})
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	s, err := a.Store.Stats(r.Context(), r.PathValue("tenant"))
	if err != nil {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("stats")
		httpx.WriteError(w, r, http.StatusInternalServerError, "store_error", "the counts could not be read")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, StatsBody(s))
}

// Stats is the JSON of a tenant's counts.
type Stats struct {
	Messages      map[string]int `json:"messages"`
	Conversations map[string]int `json:"conversations"`
}

// StatsBody converts store counts to their JSON form, with names for keys.
func StatsBody(s store.Stats) Stats {
	out := Stats{Messages: map[string]int{}, Conversations: map[string]int{}}
	for k, v := range s.Messages {
		out.Messages[string(k)] = v
	}
	for k, v := range s.Conversations {
		out.Conversations[k.String()] = v
	}
	return out
}

func intParam(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}
