package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// DeadLetter is one dead message in the API.
type DeadLetter struct {
	ID             int64     `json:"id"`
	Tenant         string    `json:"tenant"`
	Channel        string    `json:"channel"`
	ConversationID int64     `json:"conversation_id"`
	PlatformID     string    `json:"platform_id"`
	Kind           string    `json:"kind"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error"`
	ReceivedAt     time.Time `json:"received_at"`
}

func (a *API) listDead(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "after", "limit")
	if !ok {
		return
	}
	after, limit, ok := paging(w, r, q)
	if !ok {
		return
	}
	a.writeDead(w, r, store.DeadFilter{Tenant: r.PathValue("tenant"), AfterID: after, Limit: limit})
}

// DeadLetterList answers the dead-letter lists.
type DeadLetterList struct {
	DeadLetters []DeadLetter `json:"dead_letters"`
	// NextAfter is the after of the next page; absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

func (a *API) writeDead(w http.ResponseWriter, r *http.Request, f store.DeadFilter) {
	msgs, err := a.Store.ListDead(r.Context(), f)
	if err != nil {
		fail(w, r, fmt.Errorf("list dead letters: %w", err))
		return
	}
	out := DeadLetterList{DeadLetters: make([]DeadLetter, len(msgs))}
	for i, m := range msgs {
		out.DeadLetters[i] = DeadLetter{ID: m.ID, Tenant: m.Tenant, Channel: m.Channel, ConversationID: m.ConversationID, PlatformID: m.PlatformID,
			Kind: m.Kind, Attempts: m.Attempts, Error: m.LastError, ReceivedAt: m.ReceivedAt.UTC()}
	}
	if len(msgs) > 0 {
		out.NextAfter = nextAfter(len(msgs), f.Limit, msgs[len(msgs)-1].ID)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// ReplayRequest names the messages to replay: ids, or all.
type ReplayRequest struct {
	IDs []int64 `json:"ids"`
	All bool    `json:"all"`
}

func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	if !decode(w, r, &req, `{"ids": [1, 2]} or {"all": true}`, false) {
		return
	}
	if req.All == (len(req.IDs) > 0) {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_request", "give either ids or all: true")
		return
	}
	tenant := r.PathValue("tenant")
	replayed, err := a.Store.Replay(r.Context(), tenant, req.IDs, a.now())
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		fail(w, r, fmt.Errorf("replay dead letters: %w", err))
		return
	}
	if len(replayed) > 0 && a.Wake != nil {
		a.Wake()
	}
	zerolog.Ctx(r.Context()).Info().Str("by", principalOf(r).Name).Int("messages", len(replayed)).Msg("dead letters replayed")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"replayed": ids(replayed)})
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	s, err := a.Store.Stats(r.Context(), r.PathValue("tenant"))
	if err != nil {
		fail(w, r, fmt.Errorf("stats: %w", err))
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

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	a.writeSettings(w, r, r.PathValue("tenant"))
}

// writeSettings answers the tenant's settings as they are in force.
func (a *API) writeSettings(w http.ResponseWriter, r *http.Request, tenant string) {
	b, err := a.Manager.BlockingEnabled(r.Context(), tenant)
	if err != nil {
		fail(w, r, err)
		return
	}
	o, err := a.Manager.OptOutKeywords(r.Context(), tenant)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, settingsBody(tenant, b, o))
}

// SettingsRequest is the body of PUT .../settings: the settings to
// change (at least one).
type SettingsRequest struct {
	BlockingEnabled *bool     `json:"blocking_enabled"`
	OptOutKeywords  *[]string `json:"opt_out_keywords"`
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request) {
	var req SettingsRequest
	if !decode(w, r, &req, `{"blocking_enabled": true, "opt_out_keywords": ["STOP"]}`, false) {
		return
	}
	if req.BlockingEnabled == nil && req.OptOutKeywords == nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_field", "give blocking_enabled (true or false), opt_out_keywords (a list of keywords), or both")
		return
	}
	// The keywords are checked before anything is changed.
	if req.OptOutKeywords != nil {
		if _, err := manage.CheckOptOutKeywords(*req.OptOutKeywords); err != nil {
			fail(w, r, err)
			return
		}
	}
	tenant, actor := r.PathValue("tenant"), principalOf(r).Name
	if req.BlockingEnabled != nil {
		if _, err := a.Manager.SetBlockingEnabled(r.Context(), actor, tenant, *req.BlockingEnabled); err != nil {
			fail(w, r, err)
			return
		}
	}
	if req.OptOutKeywords != nil {
		if _, err := a.Manager.SetOptOutKeywords(r.Context(), actor, tenant, *req.OptOutKeywords); err != nil {
			fail(w, r, err)
			return
		}
	}
	a.writeSettings(w, r, tenant)
}

func (a *API) getExcluded(w http.ResponseWriter, r *http.Request) {
	e, err := a.Manager.ExcludedStates(r.Context(), r.PathValue("org_id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, exclusionsBody(e))
}

// ExcludedRequest is the body of PUT /api/v1/orgs/{org_id}/excluded-states:
// states by number or name; [] excludes nothing.
type ExcludedRequest struct {
	ExcludedStates *[]json.RawMessage `json:"excluded_states"`
}

func (a *API) putExcluded(w http.ResponseWriter, r *http.Request) {
	// The org id first: a wrong one is the clearer error.
	if _, err := a.Manager.ExcludedStates(r.Context(), r.PathValue("org_id")); err != nil {
		fail(w, r, err)
		return
	}
	var req ExcludedRequest
	if !decode(w, r, &req, `{"excluded_states": [4, "AUTO_BOT"]}`, false) {
		return
	}
	if req.ExcludedStates == nil {
		httpx.WriteError(w, r, http.StatusBadRequest, "invalid_field", `excluded_states is required: a list of states by number or name ([] excludes nothing)`)
		return
	}
	var set statemachine.Set
	for i, raw := range *req.ExcludedStates {
		var s statemachine.State
		if err := json.Unmarshal(raw, &s); err != nil {
			httpx.WriteError(w, r, http.StatusBadRequest, "invalid_state", fmt.Sprintf("excluded_states[%d]: %v", i, err))
			return
		}
		set = set.With(s)
	}
	e, err := a.Manager.SetExcludedStates(r.Context(), principalOf(r).Name, r.PathValue("org_id"), set)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, exclusionsBody(e))
}
