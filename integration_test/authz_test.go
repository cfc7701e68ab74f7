package integration_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// authzRoute is one route of the API and who may call it.
type authzRoute struct {
	method string
	// path may hold {tenant}, {conv}, {contact}, {note}, {blockme} and
	// {org}, replaced by the fixtures' values.
	path string
	body any
	// Who may call it; public routes answer everyone.
	agent, admin, operator, public bool
	// ok is the status of a successful call; 0 accepts any 2xx.
	ok int
}

// authzRoutes is the plan's table of routes and roles.
var authzRoutes = []authzRoute{
	{method: "GET", path: "/api/v1/tenants/{tenant}/conversations", agent: true, admin: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/conversations?state=OPEN&channel=wa", agent: true, admin: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/conversations/{conv}", agent: true, admin: true, ok: 200},
	{method: "PUT", path: "/api/v1/tenants/{tenant}/conversations/{conv}/details/", body: map[string]any{"action": "change_state", "state": 0}, agent: true, admin: true, ok: 200},
	{method: "PUT", path: "/api/v1/tenants/{tenant}/conversations/{conv}/details", body: map[string]any{"action": "change_state", "state": "OPEN"}, agent: true, admin: true, ok: 200},
	{method: "POST", path: "/api/v1/tenants/{tenant}/conversations/{conv}/messages", body: map[string]any{"text": "a reply"}, agent: true, admin: true, ok: 201},
	{method: "GET", path: "/api/v1/tenants/{tenant}/contacts", agent: true, admin: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/contacts?blocked=false", agent: true, admin: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/contacts/{contact}", agent: true, admin: true, ok: 200},
	{method: "PUT", path: "/api/v1/tenants/{tenant}/contacts/{contact}/tags", body: map[string]any{"tags": []string{"vip"}}, agent: true, admin: true, ok: 200},
	{method: "POST", path: "/api/v1/tenants/{tenant}/contacts/{contact}/notes", body: map[string]any{"text": "matrix note"}, agent: true, admin: true},
	{method: "DELETE", path: "/api/v1/tenants/{tenant}/contacts/{contact}/notes/{note}", agent: true, admin: true},
	{method: "PUT", path: "/api/v1/tenants/{tenant}/contacts/{blockme}/block", body: map[string]any{"note": "matrix"}, agent: true, admin: true, ok: 200},
	{method: "DELETE", path: "/api/v1/tenants/{tenant}/contacts/{blockme}/block", agent: true, admin: true, ok: 200},
	{method: "POST", path: "/api/v1/tenants/{tenant}/contacts/{blockme}/blocked-conversations/unblock-all", agent: true, admin: true, ok: 200},
	{method: "POST", path: "/api/v1/tenants/{tenant}/contacts/{blockme}/blocked-conversations/delete-all", admin: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/settings", agent: true, admin: true, ok: 200},
	{method: "PUT", path: "/api/v1/tenants/{tenant}/settings", body: map[string]any{"blocking_enabled": true}, admin: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/dead-letters", admin: true, operator: true, ok: 200},
	{method: "POST", path: "/api/v1/tenants/{tenant}/dead-letters/replay", body: map[string]any{"all": true}, admin: true, operator: true, ok: 200},
	{method: "GET", path: "/api/v1/tenants/{tenant}/stats", admin: true, operator: true, ok: 200},
	{method: "GET", path: "/api/v1/orgs/{org}/excluded-states", operator: true, ok: 200},
	{method: "PUT", path: "/api/v1/orgs/{org}/excluded-states", body: map[string]any{"excluded_states": []string{"AUTO_BOT"}}, operator: true, ok: 200},
	{method: "GET", path: "/openapi.yaml", public: true, ok: 200},
}

// authzFixture is one tenant's data in the matrix test.
type authzFixture struct {
	tenant, org         string
	conv, contact, note int64
	blockme             int64
	// markers are texts of the tenant's data that must not leak.
	markers  []string
	noteText string
	admin    *caller
}

// replace fills a route's path with the fixture's values.
func (f authzFixture) replace(path string) string {
	return strings.NewReplacer(
		"{tenant}", f.tenant, "{org}", f.org,
		"{conv}", fmt.Sprint(f.conv), "{contact}", fmt.Sprint(f.contact),
		"{note}", fmt.Sprint(f.note), "{blockme}", fmt.Sprint(f.blockme),
	).Replace(path)
}

// addNote adds a note to the fixture's contact as its admin and returns
// its id, found by its text in GET contact.
func (f authzFixture) addNote(t *testing.T, text string) int64 {
	t.Helper()
	r := f.admin.do(http.MethodPost, fmt.Sprintf("/contacts/%d/notes", f.contact), map[string]any{"text": text})
	if r.Status < 200 || r.Status > 299 {
		t.Fatalf("POST note on %s: %s, want 2xx", f.tenant, r)
	}
	for _, n := range f.admin.contact(f.contact).Notes {
		if n.Text == text {
			return n.ID
		}
	}
	t.Fatalf("the note %q added on %s is not in GET contact", text, f.tenant)
	return 0
}

// leaks returns the markers found in body.
func leaks(body []byte, markers []string) []string {
	var found []string
	for _, m := range markers {
		if strings.Contains(string(body), m) {
			found = append(found, m)
		}
	}
	return found
}

// TestAuthorizationMatrix calls every route of the API as {no token, a
// token of another tenant, an agent, an admin, the operator} and checks
// each status: 401 without a token (with a WWW-Authenticate challenge),
// 403 for another tenant's token or a role the route does not allow, the
// route's success status otherwise. No refused call's answer holds any
// tenant's data, and no answer to one tenant holds the other's. A tenant's
// own token on the other tenant's conversation, contact or note ids gets
// 404; bad input gets the 4xx the plan gives.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	orgA := newOrg(t, "00D000000000191EAA", nil)
	orgB := newOrg(t, "00D000000000192EAA", nil)
	g := newGraphStandin(t)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{
		{ID: "acme", Org: orgA, Channels: []channelSpec{waChannel("wa", "1065551901", false, g)}},
		{ID: "globex", Org: orgB, Channels: []channelSpec{waChannel("wa", "1065551902", false, g)}},
	}})
	e.start()
	alice := e.newCaller("acme", "alice", "agent")
	root := e.newCaller("acme", "root", "admin")
	gadmin := e.newCaller("globex", "gadmin", "admin")

	fixture := func(tenant, org, phone string, admin *caller, contact, name, blockme, text string) authzFixture {
		t.Helper()
		f := authzFixture{tenant: tenant, org: org, admin: admin, noteText: tenant + "-secret-note"}
		e.postWhatsApp(tenant, "wa", whatsapp.TextDelivery(phone, contact, name, "wamid.Z1."+tenant, text, time.Now()))
		e.postWhatsApp(tenant, "wa", whatsapp.TextDelivery(phone, blockme, name+"Spam", "wamid.Z2."+tenant, text+"-spam", time.Now()))
		conv := admin.conversationOf("wa", contact)
		f.conv, f.contact = conv.ID, conv.ContactID
		f.blockme = admin.conversationOf("wa", blockme).ContactID
		f.note = f.addNote(t, f.noteText)
		f.markers = []string{contact, name, text, f.noteText, blockme}
		return f
	}
	acme := fixture("acme", "00D000000000191EAA", "1065551901", root, "31600001901", "AcmeAnn", "31600001911", "acme-secret-message")
	globex := fixture("globex", "00D000000000192EAA", "1065551902", gadmin, "31600001902", "GlobexGus", "31600001912", "globex-secret-message")
	everyMarker := append(append([]string{}, acme.markers...), globex.markers...)

	type who struct {
		name  string
		token string
	}
	callers := []who{
		{"no token", ""},
		{"globex's admin (wrong tenant)", gadmin.token},
		{"the operator", operatorToken},
		{"acme's agent", alice.token},
		{"acme's admin", root.token},
	}
	for _, rt := range authzRoutes {
		// delete-all: give blockme a BLOCKED conversation, so that a
		// refused call has something to delete.
		if strings.HasSuffix(rt.path, "/delete-all") {
			root.block(acme.blockme, map[string]any{"note": "matrix"})
		}
		for _, c := range callers {
			var allowed bool
			switch c.token {
			case "":
				allowed = rt.public
			case gadmin.token:
				allowed = rt.public
			case operatorToken:
				allowed = rt.public || rt.operator
			case alice.token:
				allowed = rt.public || rt.agent
			case root.token:
				allowed = rt.public || rt.admin
			}
			f := acme
			if allowed && rt.method == http.MethodDelete && strings.Contains(rt.path, "{note}") {
				f.note = acme.addNote(t, fmt.Sprintf("to delete by %s", c.name))
			}
			path := f.replace(rt.path)
			r := e.call(c.token, rt.method, path, rt.body)
			what := fmt.Sprintf("%s %s %s as %s", rt.method, path, jsonText(rt.body), c.name)
			switch {
			case allowed && rt.ok != 0 && r.Status != rt.ok:
				t.Errorf("%s: %s, want %d", what, r, rt.ok)
			case allowed && (r.Status < 200 || r.Status > 299):
				t.Errorf("%s: %s, want 2xx", what, r)
			case !allowed && c.token == "":
				if r.Status != http.StatusUnauthorized || r.errorCode() != "unauthorized" {
					t.Errorf("%s: %s, want 401 unauthorized", what, r)
				}
				if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="connector"` {
					t.Errorf("%s: WWW-Authenticate %q, want Bearer realm=\"connector\"", what, got)
				}
			case !allowed && (r.Status != http.StatusForbidden || r.errorCode() != "forbidden"):
				t.Errorf("%s: %s, want 403 forbidden", what, r)
			}
			if !allowed {
				if l := leaks(r.Body, everyMarker); len(l) > 0 {
					t.Errorf("%s: the refused call's answer holds %v: %s", what, l, r.Body)
				}
			} else if l := leaks(r.Body, globex.markers); len(l) > 0 {
				t.Errorf("%s: the answer to acme holds globex's %v: %s", what, l, r.Body)
			}
		}
	}

	// The refused calls changed nothing they were refused: the note they
	// tried to delete is there; the admin's delete-all, the last caller,
	// removed blockme's conversation.
	var noteThere bool
	for _, n := range root.contact(acme.contact).Notes {
		noteThere = noteThere || n.ID == acme.note
	}
	if !noteThere {
		t.Errorf("acme's note %d is gone, though only refused callers and other notes' deletions touched it", acme.note)
	}

	// A token of one tenant on the other's ids: 404, without the data.
	for _, rt := range authzRoutes {
		if !strings.Contains(rt.path, "{conv}") && !strings.Contains(rt.path, "{contact}") && !strings.Contains(rt.path, "{note}") {
			continue
		}
		f := globex
		f.tenant = "acme" // acme's URL with globex's ids
		path := f.replace(rt.path)
		r := e.call(root.token, rt.method, path, rt.body)
		what := fmt.Sprintf("%s %s as acme's admin (globex's ids)", rt.method, path)
		if r.Status != http.StatusNotFound {
			t.Errorf("%s: %s, want 404", what, r)
		}
		if l := leaks(r.Body, everyMarker); len(l) > 0 {
			t.Errorf("%s: the answer holds %v: %s", what, l, r.Body)
		}
	}
	for _, rt := range authzRoutes {
		if !strings.Contains(rt.path, "{blockme}") {
			continue
		}
		f := globex
		f.tenant = "acme"
		path := f.replace(rt.path)
		r := e.call(root.token, rt.method, path, rt.body)
		if r.Status != http.StatusNotFound {
			t.Errorf("%s %s as acme's admin (globex's contact): %s, want 404", rt.method, path, r)
		}
	}
	if c := gadmin.contact(globex.blockme); c.Blocked != nil {
		t.Errorf("acme's admin blocked globex's contact through acme's URL: %+v", c.Blocked)
	}
	var globexNote bool
	for _, n := range gadmin.contact(globex.contact).Notes {
		globexNote = globexNote || n.ID == globex.note
	}
	if !globexNote {
		t.Errorf("acme's admin deleted globex's note through acme's URL")
	}

	// Unknown tenants: a tenant token gets 403 whether or not the tenant
	// exists; the operator gets 404 unknown_tenant.
	if r := e.call(alice.token, http.MethodGet, "/api/v1/tenants/nosuch/conversations", nil); r.Status != http.StatusForbidden {
		t.Errorf("acme's agent on an unknown tenant: %s, want 403", r)
	}
	if r := e.call(operatorToken, http.MethodGet, "/api/v1/tenants/nosuch/stats", nil); r.Status != http.StatusNotFound || r.errorCode() != "unknown_tenant" {
		t.Errorf("the operator on an unknown tenant: %s, want 404 unknown_tenant", r)
	}
	for _, tok := range []string{"not-a-token", alice.token + "x", "Bearer"} {
		r := e.call(tok, http.MethodGet, "/api/v1/tenants/acme/conversations", nil)
		if r.Status != http.StatusUnauthorized || r.errorCode() != "unauthorized" {
			t.Errorf("an invalid token %q: %s, want 401 unauthorized", tok, r)
		}
	}

	// Bad input: the 4xx of the plan, with a message.
	detail := fmt.Sprintf("/conversations/%d/details/", acme.conv)
	for _, b := range []struct {
		what, method, path string
		body               any
		status             int
		code, mentions     string
	}{
		{"malformed JSON", "PUT", detail, `{"action":`, 400, "malformed_body", ""},
		{"unknown action", "PUT", detail, map[string]any{"action": "close"}, 400, "unknown_action", "change_state"},
		{"state 9", "PUT", detail, map[string]any{"action": "change_state", "state": 9}, 400, "invalid_state", "4 BLOCKED"},
		{"state NOPE", "PUT", detail, map[string]any{"action": "change_state", "state": "NOPE"}, 400, "invalid_state", "0 OPEN"},
		{"no such conversation", "GET", "/conversations/987654321", nil, 404, "", ""},
		{"no such contact", "GET", "/contacts/987654321", nil, 404, "", ""},
		{"block with neither direction", "PUT", fmt.Sprintf("/contacts/%d/block", acme.blockme), map[string]any{"inbound": false, "outbound": false}, 400, "", ""},
		{"empty reply", "POST", fmt.Sprintf("/conversations/%d/messages", acme.conv), map[string]any{"text": ""}, 400, "", ""},
		{"reply over 4096 characters", "POST", fmt.Sprintf("/conversations/%d/messages", acme.conv), map[string]any{"text": strings.Repeat("x", 4097)}, 400, "", ""},
	} {
		r := root.do(b.method, b.path, b.body)
		if r.Status != b.status || b.code != "" && r.errorCode() != b.code || r.errorMessage() == "" || !strings.Contains(r.errorMessage(), b.mentions) {
			t.Errorf("%s: %s %s: %s, want %d %s with a message mentioning %q", b.what, b.method, b.path, r, b.status, b.code, b.mentions)
		}
	}
}
