package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/store"
)

// Me answers GET /api/v1/me: who the token acts for.
type Me struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// Tenant is empty for an operator.
	Tenant string `json:"tenant"`
	// Channels are the tenant's channels (none for an operator).
	Channels []string `json:"channels"`
	// CannotSend names the channels on which no reply can be sent, each
	// with why (a platform without a send API, a channel that receives
	// only).
	CannotSend map[string]string `json:"cannot_send"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	out := Me{Name: p.Name, Role: string(p.Role), Tenant: p.Tenant, Channels: []string{}, CannotSend: map[string]string{}}
	if t, ok := a.Manager.Tenant(p.Tenant); ok {
		for id, ch := range t.Channels {
			out.Channels = append(out.Channels, id)
			if why := manage.CannotSend(ch); why != "" {
				out.CannotSend[id] = why
			}
		}
		slices.Sort(out.Channels)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// Overview answers GET /api/v1/overview: every org's state, for the
// support team.
type Overview struct {
	At   time.Time     `json:"at"`
	Orgs []OrgOverview `json:"orgs"`
}

// OrgOverview is one Salesforce org: its tenants' backlog, dead letters
// and push rate, and its pacing (paused, API usage).
type OrgOverview struct {
	// OrgID is the org id's first 15 characters.
	OrgID   string           `json:"org_id"`
	Tenants []TenantOverview `json:"tenants"`
	// Backlog, Dead and PushedPerMinute add up the tenants'.
	Backlog         int     `json:"backlog"`
	Dead            int     `json:"dead"`
	PushedPerMinute float64 `json:"pushed_per_minute"`
	// APIUsed and APIMax are the last Sforce-Limit-Info api-usage seen (0
	// before any).
	APIUsed     int        `json:"api_used"`
	APIMax      int        `json:"api_max"`
	Paused      bool       `json:"paused"`
	PausedUntil *time.Time `json:"paused_until,omitempty"`
	// PauseReason says why the org is (or was last) paused.
	PauseReason string `json:"pause_reason"`
	// Failures counts consecutive whole-call failures.
	Failures  int        `json:"failures"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// TenantOverview is one tenant of an org.
type TenantOverview struct {
	Tenant string `json:"tenant"`
	// Backlog counts the messages waiting for Salesforce (pending).
	Backlog int `json:"backlog"`
	Dead    int `json:"dead"`
	// PushedPerMinute is over the last minute, as this process counted.
	PushedPerMinute float64 `json:"pushed_per_minute"`
}

func (a *API) overview(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r); !ok {
		return
	}
	gates, err := a.Store.OrgGates(r.Context())
	if err != nil {
		fail(w, r, fmt.Errorf("read the orgs' gates: %w", err))
		return
	}
	now := a.now()
	byOrg := map[string]*OrgOverview{}
	out := Overview{At: now, Orgs: []OrgOverview{}}
	var order []string
	for _, t := range a.Manager.Tenants() {
		key := config.OrgKey(t.OrgID)
		o, ok := byOrg[key]
		if !ok {
			o = &OrgOverview{OrgID: key, Tenants: []TenantOverview{}}
			byOrg[key] = o
			order = append(order, key)
		}
		s, err := a.Store.Stats(r.Context(), t.ID)
		if err != nil {
			fail(w, r, fmt.Errorf("count tenant %s: %w", t.ID, err))
			return
		}
		to := TenantOverview{Tenant: t.ID, Backlog: s.Messages[store.Pending], Dead: s.Messages[store.Dead]}
		if a.Pushed != nil {
			to.PushedPerMinute = a.Pushed.PerMinute(t.ID)
		}
		o.Tenants = append(o.Tenants, to)
		o.Backlog += to.Backlog
		o.Dead += to.Dead
		o.PushedPerMinute += to.PushedPerMinute
	}
	for _, g := range gates {
		o, ok := byOrg[g.Org]
		if !ok {
			continue // an org no tenant uses any more
		}
		o.APIUsed, o.APIMax, o.Failures, o.PauseReason = g.APIUsed, g.APIMax, g.Failures, g.Reason
		o.UpdatedAt = timePtr(g.UpdatedAt)
		if g.PausedUntil.After(now) {
			o.Paused, o.PausedUntil = true, timePtr(g.PausedUntil)
		}
	}
	slices.Sort(order)
	for _, key := range order {
		out.Orgs = append(out.Orgs, *byOrg[key])
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func (a *API) listAllDead(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "tenant", "after", "limit")
	if !ok {
		return
	}
	after, limit, ok := paging(w, r, q)
	if !ok {
		return
	}
	tenant := q.Get("tenant")
	if _, known := a.Manager.Tenant(tenant); tenant != "" && !known {
		httpx.WriteError(w, r, http.StatusNotFound, "unknown_tenant", fmt.Sprintf("no tenant %q is configured", tenant))
		return
	}
	a.writeDead(w, r, store.DeadFilter{Tenant: tenant, AfterID: after, Limit: limit})
}

// ExclusionHistory answers GET .../excluded-states/history.
type ExclusionHistory struct {
	OrgID   string             `json:"org_id"`
	History []ExclusionChanged `json:"history"`
}

// ExclusionChanged is one change of an org's excluded states.
type ExclusionChanged struct {
	ExcludedStates []StateName `json:"excluded_states"`
	UpdatedBy      string      `json:"updated_by"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

func (a *API) excludedHistory(w http.ResponseWriter, r *http.Request) {
	key, h, err := a.Manager.ExcludedStatesHistory(r.Context(), r.PathValue("org_id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	out := ExclusionHistory{OrgID: key, History: []ExclusionChanged{}}
	for _, c := range h {
		out.History = append(out.History, ExclusionChanged{ExcludedStates: stateNames(c.States), UpdatedBy: c.UpdatedBy, UpdatedAt: c.UpdatedAt.UTC()})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// PushStatus answers GET .../push-status: where a conversation's messages
// stand with Salesforce, without their content.
type PushStatus struct {
	ConversationID int64               `json:"conversation_id"`
	Messages       []MessagePushStatus `json:"messages"`
}

// MessagePushStatus is one message's push status.
type MessagePushStatus struct {
	ID         int64      `json:"id"`
	PlatformID string     `json:"platform_id"`
	PushStatus string     `json:"push_status"`
	PushReason string     `json:"push_reason"`
	LastError  string     `json:"last_error"`
	Attempts   int        `json:"attempts"`
	PushedAt   *time.Time `json:"pushed_at,omitempty"`
}

func (a *API) pushStatus(w http.ResponseWriter, r *http.Request) {
	q, ok := query(w, r, "conversation")
	if !ok {
		return
	}
	tenant := r.PathValue("tenant")
	id, err := strconv.ParseInt(q.Get("conversation"), 10, 64)
	if err != nil || id < 1 {
		httpx.WriteError(w, r, http.StatusBadRequest, "bad_query", fmt.Sprintf("conversation %q must be a conversation id (a positive number)", q.Get("conversation")))
		return
	}
	c, err := a.Store.GetConversation(r.Context(), id)
	if err == nil && c.Tenant != tenant || errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", fmt.Sprintf("tenant %s has no conversation %d", tenant, id))
		return
	}
	if err != nil {
		fail(w, r, fmt.Errorf("read conversation %d: %w", id, err))
		return
	}
	msgs, err := a.Store.ListMessages(r.Context(), id)
	if err != nil {
		fail(w, r, fmt.Errorf("list the messages of conversation %d: %w", id, err))
		return
	}
	out := PushStatus{ConversationID: id, Messages: []MessagePushStatus{}}
	for _, m := range msgs {
		out.Messages = append(out.Messages, MessagePushStatus{ID: m.ID, PlatformID: m.PlatformID, PushStatus: string(m.PushStatus),
			PushReason: m.PushReason, LastError: m.LastError, Attempts: m.Attempts, PushedAt: timePtr(m.PushedAt)})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}
