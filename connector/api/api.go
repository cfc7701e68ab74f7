// Package api serves the connector's own HTTP API under /api/v1, and its
// reference, the OpenAPI document, at /openapi.yaml.
//
// Callers authenticate with "Authorization: Bearer <token>". Tenant tokens
// (role agent or admin) are created with `connector token create` and
// stored as their SHA-256; the support team's operator token is
// api.operator_token in the configuration, or a store token without a
// tenant. The business rules live in connector/manage; the handlers here
// read requests, check who may do what, and write answers.
package api

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/store"
)

// OpenAPI is the API's OpenAPI 3.0 document, served at GET /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Store is what the API reads of the store itself (its changes go
// through the Manager): the conversations' views, the dead letters and the
// quarantine, the orgs' pacing, the tokens by hash, the media items and
// their replay.
type Store interface {
	GetConversation(ctx context.Context, id int64) (store.Conversation, error)
	ListMessages(ctx context.Context, conversationID int64) ([]store.Message, error)
	Stats(ctx context.Context, tenant string) (store.Stats, error)
	store.DeadLetters
	store.QuarantineList
	OrgGates(ctx context.Context) ([]store.OrgGate, error)
	TokenByHash(ctx context.Context, hash string) (store.APIToken, error)
	ListMedia(ctx context.Context, f store.MediaFilter) ([]store.MediaItem, error)
	ReplayMedia(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error)
}

// API serves the routes.
type API struct {
	Store   Store
	Manager *manage.Manager
	// OperatorToken is the configuration's operator token; empty leaves
	// operator store tokens only.
	OperatorToken string
	// Wake wakes the dispatcher: it is called after a replay put messages
	// back. Optional.
	Wake func()
	// MediaReplayed is called after a replay put failed media items back
	// to work (wakes the media worker). Optional.
	MediaReplayed func()
	// Pushed measures the messages pushed per minute, for the overview.
	Pushed *metrics.Rate
	// Metrics serves the Prometheus metrics at GET /metrics, to operator
	// tokens only (they name tenants, channels and orgs). Optional: without
	// it the route answers 404.
	Metrics http.Handler
	// Quarantine replays quarantined events. Optional: without it the
	// replay route answers 404.
	Quarantine Quarantine
	Now        func() time.Time

	operatorHash []byte
}

// Mux is where Register adds the routes (*http.ServeMux is one).
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// route is one pattern with who may use it.
type route struct {
	pattern string
	scope   scope
	roles   roles
	handler func(*API, http.ResponseWriter, *http.Request)
}

const (
	tenantBase = "/api/v1/tenants/{tenant}"
	convPath   = tenantBase + "/conversations/{conversation}"
	contPath   = tenantBase + "/contacts/{contact}"
)

var routes = []route{
	{"GET /metrics", anyScope, operator, (*API).metrics},
	{"GET " + tenantBase + "/conversations", tenantScope, agent | admin, (*API).listConversations},
	{"GET " + convPath, tenantScope, agent | admin, (*API).getConversation},
	{"PUT " + convPath + "/details", tenantScope, agent | admin, (*API).updateDetails},
	{"PUT " + convPath + "/details/{$}", tenantScope, agent | admin, (*API).updateDetails},
	{"POST " + convPath + "/messages", tenantScope, agent | admin, (*API).reply},
	{"GET " + tenantBase + "/contacts", tenantScope, agent | admin, (*API).listContacts},
	{"GET " + contPath, tenantScope, agent | admin, (*API).getContact},
	{"PUT " + contPath + "/tags", tenantScope, agent | admin, (*API).setTags},
	{"POST " + contPath + "/notes", tenantScope, agent | admin, (*API).addNote},
	{"PUT " + contPath + "/notes/{note}", tenantScope, agent | admin, (*API).editNote},
	{"DELETE " + contPath + "/notes/{note}", tenantScope, agent | admin, (*API).deleteNote},
	{"PUT " + contPath + "/block", tenantScope, agent | admin, (*API).block},
	{"DELETE " + contPath + "/block", tenantScope, agent | admin, (*API).unblock},
	{"DELETE " + contPath + "/opt-out", tenantScope, agent | admin, (*API).liftOptOut},
	{"POST " + contPath + "/blocked-conversations/unblock-all", tenantScope, agent | admin, (*API).unblockAll},
	{"POST " + contPath + "/blocked-conversations/delete-all", tenantScope, admin, (*API).deleteAll},
	{"GET " + tenantBase + "/settings", tenantScope, agent | admin, (*API).getSettings},
	{"PUT " + tenantBase + "/settings", tenantScope, admin, (*API).putSettings},
	{"GET " + tenantBase + "/dead-letters", tenantScope, admin | operator, (*API).listDead},
	{"POST " + tenantBase + "/dead-letters/replay", tenantScope, admin | operator, (*API).replay},
	{"GET " + tenantBase + "/dead-letters/media", tenantScope, admin | operator, (*API).listDeadMedia},
	{"POST " + tenantBase + "/dead-letters/media/replay", tenantScope, admin | operator, (*API).replayMedia},
	{"GET " + tenantBase + "/stats", tenantScope, admin | operator, (*API).stats},
	{"GET /api/v1/orgs/{org_id}/excluded-states", orgScope, operator, (*API).getExcluded},
	{"PUT /api/v1/orgs/{org_id}/excluded-states", orgScope, operator, (*API).putExcluded},
	{"GET /api/v1/orgs/{org_id}/excluded-states/history", orgScope, operator, (*API).excludedHistory},
	{"GET " + tenantBase + "/push-status", tenantScope, admin | operator, (*API).pushStatus},
	{"GET /api/v1/me", anyScope, agent | admin | operator, (*API).me},
	{"GET /api/v1/overview", anyScope, operator, (*API).overview},
	{"GET /api/v1/dead-letters", anyScope, operator, (*API).listAllDead},
	{"GET /api/v1/quarantine", anyScope, operator, (*API).listQuarantine},
	{"POST /api/v1/quarantine/replay", anyScope, operator, (*API).replayQuarantine},
	{"GET /openapi.yaml", public, 0, (*API).openAPI},
}

// Patterns lists the patterns Register adds, in order.
func Patterns() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.pattern
	}
	return out
}

// Register adds the routes to mux.
func (a *API) Register(mux Mux) {
	if a.OperatorToken != "" {
		sum := sha256.Sum256([]byte(a.OperatorToken))
		a.operatorHash = sum[:]
	}
	for _, rt := range routes {
		h := rt.handler
		mux.Handle(rt.pattern, a.guard(rt.scope, rt.roles, func(w http.ResponseWriter, r *http.Request) { h(a, w, r) }))
	}
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	if a.Metrics == nil {
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", "no metrics are served")
		return
	}
	a.Metrics.ServeHTTP(w, r)
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(OpenAPI) // a client that left changes nothing
}

// fail answers an operation's error with its status and code.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var me *manage.Error
	msg := err.Error()
	if errors.As(err, &me) {
		msg = me.Msg
	}
	switch {
	case errors.Is(err, manage.ErrInvalid):
		code := manage.CodeInvalidField
		if me != nil && me.Code != "" {
			code = me.Code
		}
		httpx.WriteError(w, r, http.StatusBadRequest, code, msg)
	case errors.Is(err, manage.ErrUnknownTenant):
		httpx.WriteError(w, r, http.StatusNotFound, "unknown_tenant", msg)
	case errors.Is(err, manage.ErrNotFound):
		httpx.WriteError(w, r, http.StatusNotFound, "not_found", msg)
	case errors.Is(err, manage.ErrExpired):
		httpx.WriteError(w, r, http.StatusConflict, "conversation_expired", msg)
	case errors.Is(err, manage.ErrContactBlocked):
		httpx.WriteError(w, r, http.StatusConflict, "contact_blocked", msg)
	case errors.Is(err, manage.ErrUnreachable):
		httpx.WriteError(w, r, http.StatusConflict, "contact_unreachable", msg)
	case errors.Is(err, manage.ErrSendUnsupported):
		httpx.WriteError(w, r, http.StatusConflict, "send_unsupported", msg)
	case errors.Is(err, manage.ErrBlockingDisabled):
		httpx.WriteError(w, r, http.StatusForbidden, "blocking_disabled", msg)
	case errors.Is(err, manage.ErrPlatform):
		zerolog.Ctx(r.Context()).Warn().Err(err).Msg("the platform failed a request")
		httpx.WriteError(w, r, http.StatusBadGateway, "platform_error", msg)
	default:
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("request failed")
		httpx.WriteError(w, r, http.StatusInternalServerError, "store_error", "the request could not be completed; it is logged with its request id")
	}
}
