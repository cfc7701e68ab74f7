package integration_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// graphToken is the WhatsApp access token the Graph API stand-in accepts.
const graphToken = "integration-graph-access-token"

// graphCall is one request the Graph API stand-in received.
type graphCall struct {
	Method string
	// Path is the request path without the version prefix, such as
	// "/1065550001/block_users".
	Path string
	// Auth is the Authorization header as received.
	Auth string
	Body []byte
	// Status is the status the stand-in answered.
	Status int
}

// graphFault makes the stand-in refuse calls.
type graphFault int

const (
	graphOK graphFault = iota
	// graphDown answers 500 with a generic Graph error (code 131000), a
	// failure worth retrying.
	graphDown
	// graphRefuse answers 400 with error 131047 (the user has not written
	// in the last 24 hours), a permanent refusal.
	graphRefuse
)

// graphStandin is a stand-in for the WhatsApp Cloud API's Graph API: it
// records every request and answers POST /{phone-number-id}/messages and
// POST and DELETE /{phone-number-id}/block_users as the Graph API does.
type graphStandin struct {
	srv *httptest.Server
	mu  sync.Mutex
	// calls are the requests received, in order.
	calls []graphCall
	// fault applies to every call; faultFor to the calls about one user.
	fault    graphFault
	faultFor map[string]graphFault
	sent     int
	// held, when set, receives one value per send that arrived while
	// sends are held; the send waits for release (or for its client to go
	// away, and then gets no answer).
	held    chan struct{}
	release chan struct{}
}

// holdSends holds the sends (POST .../messages) from now on: each signals
// on the channel returned and waits, unanswered, until release is called
// or its client goes away.
func (g *graphStandin) holdSends() (held <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.release = make(chan struct{}, 16), make(chan struct{})
	ch, rel := g.held, g.release
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			g.mu.Lock()
			g.held, g.release = nil, nil
			g.mu.Unlock()
			close(rel)
		})
	}
}

// graphVersion is the version prefix of the stand-in's graph_url.
const graphVersion = "/v21.0"

// newGraphStandin starts a Graph API stand-in, closed at the end of the
// test.
func newGraphStandin(t *testing.T) *graphStandin {
	t.Helper()
	g := &graphStandin{faultFor: map[string]graphFault{}}
	g.srv = httptest.NewServer(g)
	t.Cleanup(g.srv.Close)
	return g
}

// URL is the graph_url to configure on a WhatsApp channel.
func (g *graphStandin) URL() string { return g.srv.URL + graphVersion }

// setFault sets the fault of every call.
func (g *graphStandin) setFault(f graphFault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fault = f
}

// setFaultFor sets the fault of the calls about one user (block_users'
// user or messages' to).
func (g *graphStandin) setFaultFor(user string, f graphFault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faultFor[user] = f
}

// callsTo returns the calls with method to the path ending in edge
// ("block_users" or "messages").
func (g *graphStandin) callsTo(method, edge string) []graphCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []graphCall
	for _, c := range g.calls {
		if c.Method == method && strings.HasSuffix(c.Path, "/"+edge) {
			out = append(out, c)
		}
	}
	return out
}

// allCalls describes every call received, for failure messages.
func (g *graphStandin) allCalls() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	parts := make([]string, len(g.calls))
	for i, c := range g.calls {
		parts[i] = fmt.Sprintf("%s %s %s -> %d", c.Method, c.Path, c.Body, c.Status)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// graphError writes a Graph API error.
func graphError(w http.ResponseWriter, status, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "code": code, "fbtrace_id": "AbCdEfGhIjK",
	}})
	_, _ = w.Write(b)
}

func (g *graphStandin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call := graphCall{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, graphVersion), Auth: r.Header.Get("Authorization"), Body: body}
	g.mu.Lock()
	held, release := g.held, g.release
	g.mu.Unlock()
	if held != nil && r.Method == http.MethodPost && strings.HasSuffix(call.Path, "/messages") {
		held <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			// The sender went away (killed): the send stays unanswered.
			g.mu.Lock()
			g.calls = append(g.calls, call)
			g.mu.Unlock()
			return
		}
	}
	status := g.answer(w, call)
	call.Status = status
	g.mu.Lock()
	g.calls = append(g.calls, call)
	g.mu.Unlock()
}

// answer writes the answer to call and returns its status.
func (g *graphStandin) answer(w http.ResponseWriter, call graphCall) int {
	if call.Auth != "Bearer "+graphToken {
		graphError(w, http.StatusUnauthorized, 190, "OAuthException", "Invalid OAuth access token - Cannot parse access token")
		return http.StatusUnauthorized
	}
	parts := strings.Split(strings.Trim(call.Path, "/"), "/")
	if len(parts) != 2 {
		graphError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported request: "+call.Path)
		return http.StatusBadRequest
	}
	edge := parts[1]
	// user is who the call is about.
	var user string
	switch {
	case edge == "messages" && call.Method == http.MethodPost:
		var req struct {
			MessagingProduct string `json:"messaging_product"`
			To               string `json:"to"`
			Type             string `json:"type"`
			Text             struct {
				Body string `json:"body"`
			} `json:"text"`
		}
		if json.Unmarshal(call.Body, &req) != nil || req.MessagingProduct != "whatsapp" || req.To == "" || req.Type != "text" || req.Text.Body == "" {
			graphError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter")
			return http.StatusBadRequest
		}
		user = req.To
	case edge == "block_users" && (call.Method == http.MethodPost || call.Method == http.MethodDelete):
		var req struct {
			MessagingProduct string `json:"messaging_product"`
			BlockUsers       []struct {
				User string `json:"user"`
			} `json:"block_users"`
		}
		if json.Unmarshal(call.Body, &req) != nil || req.MessagingProduct != "whatsapp" || len(req.BlockUsers) != 1 || req.BlockUsers[0].User == "" {
			graphError(w, http.StatusBadRequest, 100, "OAuthException", "(#100) Invalid parameter")
			return http.StatusBadRequest
		}
		user = req.BlockUsers[0].User
	default:
		graphError(w, http.StatusBadRequest, 100, "GraphMethodException", "Unsupported "+call.Method+" request")
		return http.StatusBadRequest
	}

	g.mu.Lock()
	fault := g.fault
	if f, ok := g.faultFor[user]; ok && fault == graphOK {
		fault = f
	}
	g.mu.Unlock()
	switch fault {
	case graphDown:
		graphError(w, http.StatusInternalServerError, 131000, "OAuthException", "Something went wrong")
		return http.StatusInternalServerError
	case graphRefuse:
		graphError(w, http.StatusBadRequest, 131047, "OAuthException", "Re-engagement message: more than 24 hours have passed since the customer last replied")
		return http.StatusBadRequest
	}

	var resp map[string]any
	if edge == "messages" {
		g.mu.Lock()
		g.sent++
		id := fmt.Sprintf("wamid.OUT%d", g.sent)
		g.mu.Unlock()
		resp = map[string]any{
			"messaging_product": "whatsapp",
			"contacts":          []any{map[string]any{"input": user, "wa_id": user}},
			"messages":          []any{map[string]any{"id": id}},
		}
	} else {
		key := "added_users"
		if call.Method == http.MethodDelete {
			key = "removed_users"
		}
		resp = map[string]any{
			"messaging_product": "whatsapp",
			"block_users":       map[string]any{key: []any{map[string]any{"input": user, "wa_id": user}}},
		}
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return http.StatusOK
}
