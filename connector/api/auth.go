package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/store"
)

// TokenPrefix starts every token the connector generates, so that a
// leaked one is easy to recognise (secret scanners, logs).
const TokenPrefix = "sfc_"

// NewToken returns a new bearer token: TokenPrefix and 32 random bytes,
// base64url without padding.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate a token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashToken is what the store keeps of a token: its hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// OperatorName is the actor name of the configuration's operator token
// (api.operator_token) in histories and logs.
const OperatorName = "operator"

// Principal is who a request acts for.
type Principal struct {
	// Name is the token's name: the actor in histories.
	Name string
	// Tenant is empty for an operator.
	Tenant string
	Role   store.Role
	// TokenID is the store's id of the token (0 for the configuration's
	// operator token).
	TokenID int64
}

var errUnauthorized = errors.New("unauthorized")

// bearer reads the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate finds the request's principal: the configuration's
// operator token (compared hashed, in constant time), else a valid store
// token looked up by its hash and compared in constant time.
func (a *API) authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	token, ok := bearer(r)
	if !ok {
		return Principal{}, errUnauthorized
	}
	sum := sha256.Sum256([]byte(token))
	if a.operatorHash != nil && subtle.ConstantTimeCompare(sum[:], a.operatorHash) == 1 {
		return Principal{Name: OperatorName, Role: store.RoleOperator}, nil
	}
	hash := hex.EncodeToString(sum[:])
	t, err := a.Store.TokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up the token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		return Principal{}, errUnauthorized
	}
	switch {
	case t.Tenant == "" && t.Role == store.RoleOperator,
		t.Tenant != "" && (t.Role == store.RoleAgent || t.Role == store.RoleAdmin):
	default:
		// A token the store holds in a shape the command never writes.
		return Principal{}, errUnauthorized
	}
	return Principal{Name: t.Name, Tenant: t.Tenant, Role: t.Role, TokenID: t.ID}, nil
}

// roles is a set of roles allowed on a route.
type roles uint8

const (
	agent roles = 1 << iota
	admin
	operator
)

func (rs roles) has(r store.Role) bool {
	switch r {
	case store.RoleAgent:
		return rs&agent != 0
	case store.RoleAdmin:
		return rs&admin != 0
	case store.RoleOperator:
		return rs&operator != 0
	}
	return false
}

// scope says what a route's path names.
type scope int

const (
	public      scope = iota // no token
	tenantScope              // /api/v1/tenants/{tenant}/...
	orgScope                 // /api/v1/orgs/{org_id}/...
	anyScope                 // no tenant or org in the path: roles decide
)

type principalKey struct{}

// principalOf returns the request's principal (set by guard).
func principalOf(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}

// guard authenticates the request and checks that its principal may use
// the route: a tenant token only on its own tenant (403 on any other,
// whether it exists or not), with a role the route allows; an operator
// only on the routes it is allowed. The request's logger gets the tenant,
// the conversation or contact and the actor; never the token.
func (a *API) guard(sc scope, allowed roles, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := zerolog.Ctx(r.Context())
		log.UpdateContext(func(c zerolog.Context) zerolog.Context {
			for _, name := range []string{"tenant", "conversation", "contact", "org_id"} {
				if v := r.PathValue(name); v != "" {
					c = c.Str(name, v)
				}
			}
			return c
		})
		if sc == public {
			h(w, r)
			return
		}
		p, err := a.authenticate(r.Context(), r)
		if errors.Is(err, errUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="connector"`)
			httpx.WriteError(w, r, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required (Authorization: Bearer <token>)")
			return
		}
		if err != nil {
			log.Error().Err(err).Msg("authentication failed")
			httpx.WriteError(w, r, http.StatusServiceUnavailable, "store_unavailable", "the token could not be checked; retry later")
			return
		}
		log.UpdateContext(func(c zerolog.Context) zerolog.Context {
			return c.Str("actor", p.Name).Str("role", string(p.Role))
		})
		if code, msg, ok := a.allow(sc, allowed, p, r); !ok {
			status := http.StatusForbidden
			if code == "unknown_tenant" {
				status = http.StatusNotFound
			}
			httpx.WriteError(w, r, status, code, msg)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// allow decides whether p may use the route; when not, it returns the
// error's code and message.
func (a *API) allow(sc scope, allowed roles, p Principal, r *http.Request) (string, string, bool) {
	if sc == anyScope {
		if !allowed.has(p.Role) {
			return "forbidden", "this route needs an operator token (the support team's)", false
		}
		return "", "", true
	}
	if sc == orgScope {
		if p.Role != store.RoleOperator {
			return "forbidden", "this route needs an operator token (the support team's)", false
		}
		return "", "", true
	}
	tenant := r.PathValue("tenant")
	if p.Role == store.RoleOperator {
		if !allowed.has(store.RoleOperator) {
			return "forbidden", "an operator token manages excluded states and dead letters, not a tenant's conversations, contacts or settings: use a token of tenant " + tenant, false
		}
	} else {
		if p.Tenant != tenant {
			return "forbidden", fmt.Sprintf("this token is not valid for tenant %q", tenant), false
		}
		if !allowed.has(p.Role) {
			return "forbidden", "this route needs the admin role", false
		}
	}
	if _, ok := a.Manager.Tenant(tenant); !ok {
		return "unknown_tenant", fmt.Sprintf("no tenant %q is configured", tenant), false
	}
	return "", "", true
}
