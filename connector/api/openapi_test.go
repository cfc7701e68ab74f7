package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector"
	"github.com/chatsync/sfconnector/connector/api"
	"github.com/chatsync/sfconnector/connector/platform/webchat"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

const (
	operatorToken = "operator-token-for-tests"
	appSecret     = "app-secret"
	webSecret     = "web-secret"
	phoneID       = "1065"
)

// graph is a stand-in of the WhatsApp Graph API: sends get new message
// ids, block_users succeeds; failBlock and failSend make them fail with a
// server error.
type graph struct {
	mu                  sync.Mutex
	n                   int
	failBlock, failSend bool
	calls               []string
}

func (g *graph) set(block, send bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failBlock, g.failSend = block, send
}

func (g *graph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, r.Method+" "+r.URL.Path)
	w.Header().Set("Content-Type", "application/json")
	fail := func() {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"message":"temporarily unavailable","type":"OAuthException","code":2}}`)
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/messages"):
		if g.failSend {
			fail()
			return
		}
		g.n++
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.OUT%d"}]}`, g.n)
	case strings.HasSuffix(r.URL.Path, "/block_users"):
		if g.failBlock {
			fail()
			return
		}
		var req struct {
			BlockUsers []struct{ User string } `json:"block_users"`
		}
		_ = json.Unmarshal(body, &req)
		user := ""
		if len(req.BlockUsers) > 0 {
			user = req.BlockUsers[0].User
		}
		key := "added_users"
		if r.Method == http.MethodDelete {
			key = "removed_users"
		}
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","block_users":{%q:[{"input":%q,"wa_id":%q}]}}`, key, user, user)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"message":"unknown path","code":100}}`)
	}
}

// env is the connector running in-process, with the document's router.
type env struct {
	t      *testing.T
	svc    *connector.Service
	base   string
	graph  *graph
	doc    *openapi3.T
	router routers.Router
	tokens map[string]string
	mu     sync.Mutex
	called map[string]bool
}

func start(t *testing.T) *env { t.Helper(); return startWith(t, zerolog.Nop()) }

func startWith(t *testing.T, log zerolog.Logger) *env {
	t.Helper()
	sf := standin.New(standin.Options{ClientID: "app", ClientSecret: "secret"})
	sfSrv := httptest.NewServer(sf)
	t.Cleanup(sfSrv.Close)
	g := &graph{}
	graphSrv := httptest.NewServer(g)
	t.Cleanup(graphSrv.Close)

	cfg := &config.Config{}
	cfg.Store = config.Store{Driver: "sqlite", DSN: config.NewSecret(filepath.Join(t.TempDir(), "c.db"))}
	cfg.API.OperatorToken = config.NewSecret(operatorToken)
	cfg.Dispatcher.PollInterval = 20 * time.Millisecond
	auth := config.Auth{Flow: "client_credentials", ClientID: "app", ClientSecret: config.NewSecret("secret")}
	cfg.Tenants = []config.Tenant{
		{ID: "acme", Salesforce: config.Salesforce{OrgID: sf.OrgID(), LoginURL: sfSrv.URL, Auth: auth},
			Channels: []config.Channel{
				{ID: "wa", Platform: "whatsapp", WhatsApp: &config.WhatsApp{PhoneNumberID: phoneID, AppSecret: config.NewSecret(appSecret),
					VerifyToken: config.NewSecret("verify-me"), AccessToken: config.NewSecret("graph-token"), GraphURL: graphSrv.URL}},
				{ID: "web", Platform: "webchat", WebChat: &config.WebChat{Secret: config.NewSecret(webSecret)}},
			}},
		{ID: "globex", Salesforce: config.Salesforce{OrgID: "00D000000000002AAA", LoginURL: sfSrv.URL, Auth: auth},
			Channels: []config.Channel{{ID: "web", Platform: "webchat", WebChat: &config.WebChat{Secret: config.NewSecret(webSecret)}}}},
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := connector.New(context.Background(), cfg, connector.Options{Logger: log, Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	e := &env{t: t, svc: svc, base: "http://" + svc.Addr(), graph: g, tokens: map[string]string{"operator": operatorToken},
		called: map[string]bool{}}
	for _, tk := range []store.APIToken{
		{Tenant: "acme", Name: "alice", Role: store.RoleAgent},
		{Tenant: "acme", Name: "boss", Role: store.RoleAdmin},
		{Tenant: "globex", Name: "gadmin", Role: store.RoleAdmin},
		{Name: "support", Role: store.RoleOperator},
	} {
		secret, err := api.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tk.Hash, tk.CreatedAt = api.HashToken(secret), time.Now().UTC()
		if _, err := svc.Store.CreateToken(context.Background(), tk); err != nil {
			t.Fatal(err)
		}
		e.tokens[tk.Name] = secret
	}
	e.doc, e.router = loadDoc(t, e.base)
	return e
}

func init() {
	// The console's page, script and style sheet are checked as text.
	for _, ct := range []string{"text/html", "text/javascript", "text/css"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

func loadDoc(t *testing.T, base string) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not a valid document: %v", err)
	}
	if base != "" {
		doc.Servers = openapi3.Servers{{URL: base}}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// req is one call.
type req struct {
	method, path, token string
	body                any               // marshalled to JSON; a string or []byte is sent as it is
	header              map[string]string // more header fields
	want                int
	// invalid: the request breaks the document on purpose (it tests the
	// connector's own 400): only the response is validated.
	invalid bool
}

// do makes the call, checks the status and validates the request and the
// response against the document; it returns the response body.
func (e *env) do(r req) []byte {
	e.t.Helper()
	var raw []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	build := func() *http.Request {
		hr, err := http.NewRequest(r.method, e.base+r.path, bytes.NewReader(raw))
		if err != nil {
			e.t.Fatal(err)
		}
		if r.body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		if r.token != "" {
			tok, ok := e.tokens[r.token]
			if !ok {
				tok = r.token
			}
			hr.Header.Set("Authorization", "Bearer "+tok)
		}
		for k, v := range r.header {
			hr.Header.Set(k, v)
		}
		return hr
	}
	ctx := context.Background()
	check := build()
	route, params, err := e.router.FindRoute(check)
	if err != nil {
		e.t.Fatalf("%s %s is not in openapi.yaml: %v", r.method, r.path, err)
	}
	e.mu.Lock()
	e.called[route.Method+" "+route.Path] = true
	e.mu.Unlock()
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && !r.invalid {
		e.t.Fatalf("%s %s: the request does not match openapi.yaml: %v", r.method, r.path, err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(build())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != r.want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, resp.StatusCode, r.want, body)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		e.t.Fatalf("%s %s: the %d response does not match openapi.yaml: %v\n%s", r.method, r.path, resp.StatusCode, err, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		e.t.Fatalf("%s %s: no X-Request-Id", r.method, r.path)
	}
	return body
}

func decodeAs[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

func errCode(t *testing.T, b []byte) string {
	t.Helper()
	return decodeAs[struct {
		Error struct{ Code, Message string }
	}](t, b).Error.Code
}

// deliverWhatsApp posts a signed WhatsApp text message.
func (e *env) deliverWhatsApp(from, id, text string) {
	e.t.Helper()
	body := whatsapp.TextDelivery(phoneID, from, "Ann", id, text, time.Now())
	e.do(req{method: "POST", path: "/webhooks/acme/wa", body: body,
		header: map[string]string{whatsapp.SignatureHeader: whatsapp.Sign(appSecret, body)}, want: 200})
}

func (e *env) deliverWebChat(tenant, visitor, id, text string) {
	e.t.Helper()
	body := []byte(fmt.Sprintf(`{"events":[{"id":%q,"type":"message","visitor":{"id":%q,"name":"V"},"message":{"text":%q}}]}`, id, visitor, text))
	e.do(req{method: "POST", path: "/webhooks/" + tenant + "/web", body: body,
		header: map[string]string{webchat.SignatureHeader: webchat.Sign(webSecret, body)}, want: 200})
}

type conversationList struct {
	Conversations []struct {
		ID        int64  `json:"id"`
		Channel   string `json:"channel"`
		ContactID int64  `json:"contact_id"`
		Contact   string `json:"contact"`
		State     int    `json:"state"`
	} `json:"conversations"`
	NextAfter int64 `json:"next_after"`
}

// find returns the conversation and contact ids of a contact's
// conversation on a channel of acme.
func (e *env) find(tenant, channel, contact string) (conv, cont int64) {
	e.t.Helper()
	token := "alice"
	if tenant == "globex" {
		token = "gadmin"
	}
	l := decodeAs[conversationList](e.t, e.do(req{method: "GET", path: "/api/v1/tenants/" + tenant + "/conversations?channel=" + channel, token: token, want: 200}))
	for _, c := range l.Conversations {
		if c.Contact == contact {
			return c.ID, c.ContactID
		}
	}
	e.t.Fatalf("no conversation of %s on %s/%s", contact, tenant, channel)
	return 0, 0
}

// TestEveryRouteMatchesTheDocument drives every route of the running
// connector, with its main errors, and validates each request and
// response against openapi.yaml.
func TestEveryRouteMatchesTheDocument(t *testing.T) {
	e := start(t)

	// Service routes.
	e.do(req{method: "GET", path: "/healthz", want: 200})
	e.do(req{method: "GET", path: "/readyz", want: 200})
	e.do(req{method: "GET", path: "/metrics", token: "operator", want: 200})
	e.do(req{method: "GET", path: "/metrics", want: 401})
	e.do(req{method: "GET", path: "/metrics", token: "alice", want: 403})
	if got := e.do(req{method: "GET", path: "/openapi.yaml", want: 200}); !bytes.Equal(got, api.OpenAPI) {
		t.Fatal("GET /openapi.yaml is not the embedded document")
	}

	// Webhooks.
	e.do(req{method: "GET", path: "/webhooks/acme/wa?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42", want: 200})
	e.do(req{method: "GET", path: "/webhooks/acme/wa?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42", want: 403})
	e.do(req{method: "GET", path: "/webhooks/acme/web", want: 405})
	e.do(req{method: "GET", path: "/webhooks/nope/wa", want: 404})
	e.deliverWhatsApp("31600000001", "wamid.A1", "hello")
	e.deliverWhatsApp("31600000002", "wamid.B1", "buy now!!!")
	e.deliverWebChat("acme", "v-1", "evt-1", "hi from the site")
	e.deliverWebChat("globex", "g-1", "evt-1", "globex's visitor")
	file := []byte("\x89PNG\r\n\x1a\na visitor's photo")
	up := decodeAs[struct{ Upload string }](e.t, e.do(req{method: "POST", path: "/webhooks/acme/web/uploads", body: file,
		header: map[string]string{"Content-Type": "application/octet-stream", webchat.SignatureHeader: webchat.Sign(webSecret, file)}, want: 200}))
	if !strings.HasPrefix(up.Upload, webchat.UploadPrefix) {
		t.Fatalf("upload answered %+v", up)
	}
	e.do(req{method: "POST", path: "/webhooks/acme/web/uploads", body: file,
		header: map[string]string{"Content-Type": "application/octet-stream", webchat.SignatureHeader: "sha256=00"}, want: 401})
	e.do(req{method: "POST", path: "/webhooks/acme/wa/uploads", body: file,
		header: map[string]string{"Content-Type": "application/octet-stream"}, want: 405})
	bad := whatsapp.TextDelivery(phoneID, "31600000001", "Ann", "wamid.X", "forged", time.Now())
	e.do(req{method: "POST", path: "/webhooks/acme/wa", body: bad, header: map[string]string{whatsapp.SignatureHeader: "sha256=00"}, want: 401})

	annConv, ann := e.find("acme", "wa", "31600000001")
	spamConv, spammer := e.find("acme", "wa", "31600000002")
	webConv, _ := e.find("acme", "web", "v-1")
	globexConv, globexContact := e.find("globex", "web", "g-1")
	acmeConvs := "/api/v1/tenants/acme/conversations"
	conv := func(id int64) string { return fmt.Sprintf("%s/%d", acmeConvs, id) }
	contact := func(id int64) string { return fmt.Sprintf("/api/v1/tenants/acme/contacts/%d", id) }

	// Authentication and roles.
	for _, c := range []struct {
		token string
		want  int
		code  string
	}{
		{"", 401, "unauthorized"},
		{"not-a-token", 401, "unauthorized"},
		{"gadmin", 403, "forbidden"},
		{"operator", 403, "forbidden"},
		{"support", 403, "forbidden"},
	} {
		b := e.do(req{method: "GET", path: acmeConvs, token: c.token, want: c.want})
		if errCode(t, b) != c.code || strings.Contains(string(b), "3160000") {
			t.Fatalf("token %q: %s", c.token, b)
		}
	}
	e.do(req{method: "GET", path: "/api/v1/tenants/nope/conversations", token: "alice", want: 403})
	if b := e.do(req{method: "GET", path: "/api/v1/tenants/nope/stats", token: "operator", want: 404}); errCode(t, b) != "unknown_tenant" {
		t.Fatalf("unknown tenant: %s", b)
	}

	// Conversations.
	l := decodeAs[conversationList](t, e.do(req{method: "GET", path: acmeConvs + "?state=OPEN&channel=wa&limit=1", token: "alice", want: 200}))
	if len(l.Conversations) != 1 || l.NextAfter != l.Conversations[0].ID {
		t.Fatalf("page %+v", l)
	}
	l = decodeAs[conversationList](t, e.do(req{method: "GET", path: fmt.Sprintf("%s?state=0,3&contact=%d&updated_since=2000-01-01T00:00:00Z&after=0", acmeConvs, ann), token: "boss", want: 200}))
	if len(l.Conversations) != 1 || l.NextAfter != 0 || l.Conversations[0].ID != annConv {
		t.Fatalf("filtered %+v", l)
	}
	if b := e.do(req{method: "GET", path: acmeConvs + "?state=9", token: "alice", want: 400}); errCode(t, b) != "invalid_state" ||
		!strings.Contains(string(b), "0 OPEN, 1 EXPIRED, 2 AUTO_BOT, 3 CLOSED, 4 BLOCKED") {
		t.Fatalf("bad state: %s", b)
	}
	e.do(req{method: "GET", path: acmeConvs + "?limit=0", token: "alice", want: 400, invalid: true})
	e.do(req{method: "GET", path: acmeConvs + "?colour=red", token: "alice", want: 400})
	if b := e.do(req{method: "GET", path: acmeConvs + "?channel=whatsapp", token: "alice", want: 400}); errCode(t, b) != "bad_query" ||
		!strings.Contains(string(b), `channel \"whatsapp\" is not a channel of tenant acme; its channels: `) {
		t.Fatalf("unknown channel: %s", b)
	}
	e.do(req{method: "GET", path: acmeConvs + "?updated_since=yesterday", token: "alice", want: 400, invalid: true})
	e.do(req{method: "GET", path: conv(annConv), token: "alice", want: 200})
	e.do(req{method: "GET", path: fmt.Sprintf("%s/%d", acmeConvs, globexConv), token: "alice", want: 404})
	e.do(req{method: "GET", path: acmeConvs + "/abc", token: "alice", want: 400, invalid: true})

	// change_state, with and without the trailing slash.
	type changed struct {
		State   int  `json:"state"`
		Changed bool `json:"changed"`
	}
	ch := decodeAs[changed](t, e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice",
		body: map[string]any{"action": "change_state", "state": 3, "reason": "answered"}, want: 200}))
	if ch.State != 3 || !ch.Changed {
		t.Fatalf("change_state: %+v", ch)
	}
	ch = decodeAs[changed](t, e.do(req{method: "PUT", path: conv(annConv) + "/details", token: "alice",
		body: map[string]any{"action": "change_state", "state": "CLOSED"}, want: 200}))
	if ch.Changed {
		t.Fatal("the same state again changed something")
	}
	e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: map[string]any{"action": "change_state", "state": "OPEN"}, want: 200})
	if b := e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: map[string]any{"action": "close", "state": 3}, want: 400, invalid: true}); errCode(t, b) != "unknown_action" {
		t.Fatalf("unknown action: %s", b)
	}
	if b := e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: map[string]any{"action": "change_state", "state": 9}, want: 400}); errCode(t, b) != "invalid_state" {
		t.Fatalf("state 9: %s", b)
	}
	if b := e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: `{"action": "change_state", "state": 4,`, want: 400, invalid: true}); errCode(t, b) != "malformed_body" {
		t.Fatalf("malformed: %s", b)
	}
	if b := e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: `{"action": "change_state", "state": 1, "colour": "red"}`, want: 400, invalid: true}); !strings.Contains(string(b), `unknown field \"colour\"`) {
		t.Fatalf("unknown field: %s", b)
	}

	// Replies.
	type reply struct {
		Message struct {
			SentID         string `json:"sent_id"`
			DeliveryStatus string `json:"delivery_status"`
			Direction      string `json:"direction"`
			Sender         string `json:"sender"`
		} `json:"message"`
	}
	rp := decodeAs[reply](t, e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": "hello Ann"}, want: 201}))
	if rp.Message.Direction != "outbound" || rp.Message.Sender != "alice" || !strings.HasPrefix(rp.Message.SentID, "wamid.OUT") || rp.Message.DeliveryStatus != "sent" {
		t.Fatalf("reply %+v", rp)
	}
	e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": ""}, want: 400, invalid: true})
	if b := e.do(req{method: "POST", path: conv(webConv) + "/messages", token: "alice", body: map[string]any{"text": "hi"}, want: 409}); errCode(t, b) != "send_unsupported" {
		t.Fatalf("web chat reply: %s", b)
	}
	// A transient platform failure: stored, still sending, to be retried.
	e.graph.set(false, true)
	if rp := decodeAs[reply](t, e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": "again"}, want: 201})); rp.Message.DeliveryStatus != "sending" {
		t.Fatalf("send failure: %+v", rp)
	}
	e.graph.set(false, false)

	// Contacts, tags and notes.
	type contactBody struct {
		ID      int64    `json:"id"`
		Tags    []string `json:"tags"`
		Blocked *struct {
			Inbound, Outbound bool
			Note, By          string
		} `json:"blocked"`
		NativeBlock struct {
			Status string `json:"status"`
		} `json:"native_block"`
		Notes []struct {
			ID int64 `json:"id"`
		} `json:"notes"`
	}
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/contacts?channel=wa&limit=10", token: "alice", want: 200})
	found := decodeAs[struct{ Contacts []contactBody }](t, e.do(req{method: "GET", path: "/api/v1/tenants/acme/contacts?search=0001", token: "alice", want: 200}))
	if len(found.Contacts) != 1 || found.Contacts[0].ID != ann {
		t.Fatalf("search 0001: %+v", found)
	}
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/contacts?blocked=maybe", token: "alice", want: 400, invalid: true})
	if b := e.do(req{method: "GET", path: "/api/v1/tenants/acme/contacts?channel=wa2", token: "alice", want: 400}); errCode(t, b) != "bad_query" ||
		!strings.Contains(string(b), "wa2") {
		t.Fatalf("unknown channel: %s", b)
	}
	e.do(req{method: "GET", path: contact(ann), token: "alice", want: 200})
	e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/tenants/acme/contacts/%d", globexContact), token: "alice", want: 404})
	cb := decodeAs[contactBody](t, e.do(req{method: "PUT", path: contact(ann) + "/tags", token: "alice", body: map[string]any{"tags": []string{"vip", " b2b", "vip"}}, want: 200}))
	if strings.Join(cb.Tags, ",") != "b2b,vip" {
		t.Fatalf("tags %v", cb.Tags)
	}
	if b := e.do(req{method: "PUT", path: contact(ann) + "/tags", token: "alice", body: map[string]any{"tags": []string{"ok", ""}}, want: 400}); !strings.Contains(string(b), "tags[1]") {
		t.Fatalf("empty tag: %s", b)
	}
	e.do(req{method: "PUT", path: contact(ann) + "/tags", token: "alice", body: `{"tags": ["` + strings.Repeat("x", 1<<20) + `"]}`, want: 413, invalid: true})
	vip := decodeAs[struct{ Contacts []contactBody }](t, e.do(req{method: "GET", path: "/api/v1/tenants/acme/contacts?tag=vip", token: "alice", want: 200}))
	if len(vip.Contacts) != 1 || vip.Contacts[0].ID != ann {
		t.Fatalf("by tag %+v", vip)
	}
	note := decodeAs[struct{ Note struct{ ID int64 } }](t, e.do(req{method: "POST", path: contact(ann) + "/notes", token: "alice", body: map[string]any{"text": "prefers English"}, want: 201}))
	notePath := fmt.Sprintf("%s/notes/%d", contact(ann), note.Note.ID)
	edited := decodeAs[struct {
		Note struct {
			Text     string `json:"text"`
			Author   string `json:"author"`
			EditedBy string `json:"edited_by"`
		} `json:"note"`
	}](t, e.do(req{method: "PUT", path: notePath, token: "boss", body: map[string]any{"text": " prefers English or Dutch "}, want: 200}))
	if edited.Note.Text != "prefers English or Dutch" || edited.Note.Author != "alice" || edited.Note.EditedBy != "boss" {
		t.Fatalf("edited note %+v", edited)
	}
	e.do(req{method: "PUT", path: notePath, token: "alice", body: map[string]any{"text": ""}, want: 400, invalid: true})
	e.do(req{method: "PUT", path: fmt.Sprintf("%s/notes/%d", contact(ann), note.Note.ID+100), token: "alice", body: map[string]any{"text": "x"}, want: 404})
	e.do(req{method: "DELETE", path: fmt.Sprintf("%s/notes/%d", contact(ann), note.Note.ID), token: "alice", want: 204})
	e.do(req{method: "DELETE", path: fmt.Sprintf("%s/notes/%d", contact(ann), note.Note.ID), token: "alice", want: 404})

	// Blocking.
	type blockAnswer struct {
		Contact     contactBody `json:"contact"`
		NativeBlock struct {
			Status string `json:"status"`
		} `json:"native_block"`
		Blocked []int64 `json:"blocked_conversations"`
	}
	ba := decodeAs[blockAnswer](t, e.do(req{method: "PUT", path: contact(spammer) + "/block", token: "alice",
		body: map[string]any{"inbound": true, "outbound": true, "note": "spam"}, want: 200}))
	if ba.NativeBlock.Status != "applied" || ba.Contact.Blocked == nil || ba.Contact.Blocked.Note != "spam" || len(ba.Blocked) != 1 || ba.Blocked[0] != spamConv {
		t.Fatalf("block %+v", ba)
	}
	if b := e.do(req{method: "POST", path: conv(spamConv) + "/messages", token: "alice", body: map[string]any{"text": "hi"}, want: 409}); errCode(t, b) != "contact_blocked" {
		t.Fatalf("reply to a blocked contact: %s", b)
	}
	blocked := decodeAs[struct{ Contacts []contactBody }](t, e.do(req{method: "GET", path: "/api/v1/tenants/acme/contacts?blocked=true", token: "alice", want: 200}))
	if len(blocked.Contacts) != 1 || blocked.Contacts[0].ID != spammer {
		t.Fatalf("blocked list %+v", blocked)
	}
	e.do(req{method: "PUT", path: contact(spammer) + "/block", token: "alice", body: map[string]any{"inbound": false, "outbound": false}, want: 400})
	e.do(req{method: "DELETE", path: contact(spammer) + "/block", token: "alice", want: 200})
	e.do(req{method: "PUT", path: contact(spammer) + "/block", token: "alice", want: 200}) // empty body: both directions
	un := decodeAs[struct {
		Unblocked []int64 `json:"unblocked_conversations"`
	}](t, e.do(req{method: "POST", path: contact(spammer) + "/blocked-conversations/unblock-all", token: "alice", want: 200}))
	if len(un.Unblocked) != 1 {
		t.Fatalf("unblock-all %+v", un)
	}
	e.do(req{method: "PUT", path: contact(spammer) + "/block", token: "alice", body: map[string]any{"note": "spam again"}, want: 200})
	if b := e.do(req{method: "POST", path: contact(spammer) + "/blocked-conversations/delete-all", token: "alice", want: 403}); !strings.Contains(string(b), "admin role") {
		t.Fatalf("agent delete-all: %s", b)
	}
	del := decodeAs[struct {
		Conversations []int64 `json:"deleted_conversations"`
		Messages      int     `json:"deleted_messages"`
	}](t, e.do(req{method: "POST", path: contact(spammer) + "/blocked-conversations/delete-all", token: "boss", want: 200}))
	if len(del.Conversations) != 1 || del.Messages != 1 {
		t.Fatalf("delete-all %+v", del)
	}
	e.do(req{method: "GET", path: conv(spamConv), token: "alice", want: 404})

	// A native block that fails for now stays pending; the local block holds.
	e.graph.set(true, false)
	ba = decodeAs[blockAnswer](t, e.do(req{method: "PUT", path: contact(ann) + "/block", token: "alice", body: map[string]any{"inbound": true}, want: 200}))
	if ba.NativeBlock.Status != "pending" || ba.Contact.Blocked == nil || !ba.Contact.Blocked.Inbound {
		t.Fatalf("pending block %+v", ba)
	}
	e.graph.set(false, false)
	e.do(req{method: "DELETE", path: contact(ann) + "/block", token: "alice", want: 200})

	// Settings.
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/settings", token: "alice", want: 200})
	e.do(req{method: "PUT", path: "/api/v1/tenants/acme/settings", token: "alice", body: map[string]any{"blocking_enabled": false}, want: 403})
	e.do(req{method: "PUT", path: "/api/v1/tenants/acme/settings", token: "boss", body: map[string]any{}, want: 400, invalid: true})
	e.do(req{method: "PUT", path: "/api/v1/tenants/acme/settings", token: "boss", body: map[string]any{"blocking_enabled": false}, want: 200})
	if b := e.do(req{method: "PUT", path: contact(ann) + "/block", token: "alice", want: 403}); errCode(t, b) != "blocking_disabled" {
		t.Fatalf("blocking disabled: %s", b)
	}
	e.do(req{method: "PUT", path: "/api/v1/tenants/acme/settings", token: "boss", body: map[string]any{"blocking_enabled": true}, want: 200})
	type settings struct {
		Blocking bool     `json:"blocking_enabled"`
		Keywords []string `json:"opt_out_keywords"`
		Source   string   `json:"opt_out_source"`
		By       string   `json:"opt_out_updated_by"`
	}
	st := decodeAs[settings](t, e.do(req{method: "PUT", path: "/api/v1/tenants/acme/settings", token: "boss", body: map[string]any{"opt_out_keywords": []string{"STOP", "Unsubscribe"}}, want: 200}))
	if !st.Blocking || strings.Join(st.Keywords, ",") != "STOP,Unsubscribe" || st.Source != "api" || st.By != "boss" {
		t.Fatalf("opt-out keywords set: %+v", st)
	}
	if b := e.do(req{method: "PUT", path: "/api/v1/tenants/acme/settings", token: "boss", body: map[string]any{"blocking_enabled": false, "opt_out_keywords": []string{"STOP", "stop"}}, want: 400}); !strings.Contains(string(b), "opt_out_keywords[1]") {
		t.Fatalf("a repeated keyword: %s", b)
	}
	if st := decodeAs[settings](t, e.do(req{method: "GET", path: "/api/v1/tenants/acme/settings", token: "alice", want: 200})); !st.Blocking || len(st.Keywords) != 2 {
		t.Fatalf("a refused change changed the settings: %+v", st)
	}

	// An opt-out: replies are refused until the opt-out is lifted; an
	// unblock does not lift it.
	type optOutBody struct {
		Contact struct {
			OptOut *struct{ Keyword string } `json:"opt_out"`
		} `json:"contact"`
	}
	e.deliverWhatsApp("31600000001", "wamid.A-stop", " stop ")
	if c := decodeAs[optOutBody](t, []byte(`{"contact":`+string(e.do(req{method: "GET", path: contact(ann), token: "alice", want: 200}))+`}`)); c.Contact.OptOut == nil || c.Contact.OptOut.Keyword != "STOP" {
		t.Fatalf("after STOP, contact %+v", c)
	}
	if b := e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": "promo"}, want: 409}); errCode(t, b) != "contact_blocked" || !strings.Contains(string(b), "opted out") {
		t.Fatalf("reply to a contact who opted out: %s", b)
	}
	e.do(req{method: "DELETE", path: contact(ann) + "/block", token: "alice", want: 200})
	e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": "promo"}, want: 409})
	if c := decodeAs[optOutBody](t, e.do(req{method: "DELETE", path: contact(ann) + "/opt-out", token: "alice", want: 200})); c.Contact.OptOut != nil {
		t.Fatalf("opt-out lifted: %+v", c)
	}
	e.do(req{method: "DELETE", path: contact(ann) + "/opt-out", token: "alice", want: 200})
	e.do(req{method: "DELETE", path: fmt.Sprintf("/api/v1/tenants/acme/contacts/%d/opt-out", globexContact), token: "alice", want: 404})
	e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": "welcome back"}, want: 201})

	// EXPIRED is terminal.
	e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: map[string]any{"action": "change_state", "state": 1}, want: 200})
	if b := e.do(req{method: "PUT", path: conv(annConv) + "/details/", token: "alice", body: map[string]any{"action": "change_state", "state": 0}, want: 409}); errCode(t, b) != "conversation_expired" {
		t.Fatalf("expired: %s", b)
	}
	if b := e.do(req{method: "POST", path: conv(annConv) + "/messages", token: "alice", body: map[string]any{"text": "late"}, want: 409}); errCode(t, b) != "conversation_expired" {
		t.Fatalf("reply in expired: %s", b)
	}

	// Excluded states (operator).
	org := "/api/v1/orgs/00D000000000002AAA/excluded-states"
	ex := decodeAs[struct {
		OrgID  string `json:"org_id"`
		Source string `json:"source"`
		States []struct {
			State int
			Name  string
		} `json:"excluded_states"`
	}](t, e.do(req{method: "GET", path: org, token: "operator", want: 200}))
	if ex.OrgID != "00D000000000002" || ex.Source != "default" || len(ex.States) != 1 || ex.States[0].Name != "AUTO_BOT" {
		t.Fatalf("default exclusions %+v", ex)
	}
	e.do(req{method: "PUT", path: org, token: "support", body: map[string]any{"excluded_states": []any{4, "AUTO_BOT"}}, want: 200})
	e.do(req{method: "PUT", path: "/api/v1/orgs/00D000000000002/excluded-states", token: "operator", body: map[string]any{"excluded_states": []any{}}, want: 200})
	if b := e.do(req{method: "PUT", path: org, token: "operator", body: map[string]any{"excluded_states": []any{"SLEEPING"}}, want: 400}); errCode(t, b) != "invalid_state" {
		t.Fatalf("bad excluded state: %s", b)
	}
	if b := e.do(req{method: "GET", path: "/api/v1/orgs/00X123/excluded-states", token: "operator", want: 400}); errCode(t, b) != "invalid_org_id" {
		t.Fatalf("bad org: %s", b)
	}
	e.do(req{method: "GET", path: org, token: "boss", want: 403})
	e.do(req{method: "GET", path: org, want: 401})

	// Dead letters and counts (admin and operator).
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/dead-letters?limit=10", token: "boss", want: 200})
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/dead-letters", token: "operator", want: 200})
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/dead-letters", token: "alice", want: 403})
	e.do(req{method: "POST", path: "/api/v1/tenants/acme/dead-letters/replay", token: "support", body: map[string]any{"all": true}, want: 200})
	e.do(req{method: "POST", path: "/api/v1/tenants/acme/dead-letters/replay", token: "boss", body: map[string]any{}, want: 400})
	if b := e.do(req{method: "POST", path: "/api/v1/tenants/acme/dead-letters/replay", token: "boss", body: map[string]any{"ids": []int64{987654, -4}}, want: 404}); !strings.Contains(string(b), "tenant acme has no message 987654, -4: nothing replayed") {
		t.Fatalf("replay of unknown ids: %s", b)
	}
	if b := e.do(req{method: "GET", path: "/api/v1/tenants/acme/dead-letters/media?limit=10", token: "boss", want: 200}); string(b) != `{"media":[]}`+"\n" {
		t.Fatalf("failed media: %s", b)
	}
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/dead-letters/media", token: "alice", want: 403})
	e.do(req{method: "POST", path: "/api/v1/tenants/acme/dead-letters/media/replay", token: "support", body: map[string]any{"all": true}, want: 200})
	e.do(req{method: "POST", path: "/api/v1/tenants/acme/dead-letters/media/replay", token: "boss", body: map[string]any{"ids": []int64{1}, "all": true}, want: 400})
	if b := e.do(req{method: "POST", path: "/api/v1/tenants/acme/dead-letters/media/replay", token: "boss", body: map[string]any{"ids": []int64{987654}}, want: 404}); !strings.Contains(string(b), "tenant acme has no media item 987654: nothing replayed") {
		t.Fatalf("media replay of an unknown id: %s", b)
	}
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/stats", token: "boss", want: 200})
	e.do(req{method: "GET", path: "/api/v1/tenants/globex/stats", token: "boss", want: 403})

	// The excluded states' history, newest last.
	hist := decodeAs[struct {
		OrgID   string `json:"org_id"`
		History []struct {
			States []struct{ Name string } `json:"excluded_states"`
			By     string                  `json:"updated_by"`
		} `json:"history"`
	}](t, e.do(req{method: "GET", path: org + "/history", token: "operator", want: 200}))
	if hist.OrgID != "00D000000000002" || len(hist.History) != 2 || len(hist.History[0].States) != 2 || hist.History[0].By != "support" ||
		len(hist.History[1].States) != 0 || hist.History[1].By != "operator" {
		t.Fatalf("history %+v", hist)
	}
	e.do(req{method: "GET", path: "/api/v1/orgs/00X1/excluded-states/history", token: "operator", want: 400})
	e.do(req{method: "GET", path: org + "/history", token: "boss", want: 403})

	// Who a token is.
	me := decodeAs[api.Me](t, e.do(req{method: "GET", path: "/api/v1/me", token: "alice", want: 200}))
	if me.Name != "alice" || me.Role != "agent" || me.Tenant != "acme" || strings.Join(me.Channels, ",") != "wa,web" ||
		len(me.CannotSend) != 1 || me.CannotSend["web"] != "can not send messages" {
		t.Fatalf("me %+v", me)
	}
	if me := decodeAs[api.Me](t, e.do(req{method: "GET", path: "/api/v1/me", token: "operator", want: 200})); me.Role != "operator" || me.Tenant != "" {
		t.Fatalf("operator me %+v", me)
	}
	e.do(req{method: "GET", path: "/api/v1/me", want: 401})

	// The overview and every tenant's dead letters (operator).
	ov := decodeAs[api.Overview](t, e.do(req{method: "GET", path: "/api/v1/overview", token: "support", want: 200}))
	if len(ov.Orgs) != 2 || len(ov.Orgs[0].Tenants) != 1 || ov.Orgs[0].Tenants[0].Tenant != "acme" || ov.Orgs[1].Tenants[0].Tenant != "globex" ||
		ov.Orgs[1].OrgID != "00D000000000002" {
		t.Fatalf("overview %+v", ov)
	}
	e.do(req{method: "GET", path: "/api/v1/overview", token: "boss", want: 403})
	e.do(req{method: "GET", path: "/api/v1/overview?x=1", token: "operator", want: 400})
	e.do(req{method: "GET", path: "/api/v1/dead-letters?tenant=globex&limit=5", token: "operator", want: 200})
	e.do(req{method: "GET", path: "/api/v1/dead-letters?tenant=nope", token: "operator", want: 404})
	e.do(req{method: "GET", path: "/api/v1/dead-letters", token: "boss", want: 403})

	// The quarantine (operator): an event for a phone number id no channel
	// has is answered 200 and kept; replayed as configured, it stays.
	other := whatsapp.TextDelivery("9999999999", "31600000009", "Zed", "wamid.Q1", "to a number no channel has", time.Now())
	b := e.do(req{method: "POST", path: "/webhooks/acme/wa", body: other,
		header: map[string]string{whatsapp.SignatureHeader: whatsapp.Sign(appSecret, other)}, want: 200})
	if !strings.Contains(string(b), `"quarantined":1`) {
		t.Fatalf("delivery answer %s", b)
	}
	ql := decodeAs[api.QuarantineList](t, e.do(req{method: "GET", path: "/api/v1/quarantine?tenant=acme&channel=wa&limit=10", token: "operator", want: 200}))
	if len(ql.Events) != 1 || !strings.HasPrefix(ql.Events[0].Reason, "other_account: phone_number_id 9999999999") ||
		!strings.Contains(ql.Events[0].Raw, "wamid.Q1") || ql.Events[0].Platform != "whatsapp" {
		t.Fatalf("quarantine %+v", ql)
	}
	e.do(req{method: "GET", path: "/api/v1/quarantine?limit=0", token: "operator", want: 400, invalid: true})
	e.do(req{method: "GET", path: "/api/v1/quarantine", token: "boss", want: 403})
	e.do(req{method: "GET", path: "/api/v1/quarantine", want: 401})
	qr := e.do(req{method: "POST", path: "/api/v1/quarantine/replay", token: "operator", body: map[string]any{"ids": []int64{ql.Events[0].ID}}, want: 200})
	if !strings.Contains(string(qr), `"replayed":false`) || !strings.Contains(string(qr), "other_account") {
		t.Fatalf("replay answer %s", qr)
	}
	e.do(req{method: "POST", path: "/api/v1/quarantine/replay", token: "operator", body: map[string]any{"all": true, "tenant": "acme"}, want: 200})
	e.do(req{method: "POST", path: "/api/v1/quarantine/replay", token: "operator", body: map[string]any{"ids": []int64{ql.Events[0].ID + 1000}}, want: 404})
	e.do(req{method: "POST", path: "/api/v1/quarantine/replay", token: "operator", body: map[string]any{}, want: 400})
	e.do(req{method: "POST", path: "/api/v1/quarantine/replay", token: "boss", body: map[string]any{"all": true}, want: 403})

	// A conversation's push status (admin and operator), without content.
	ps := decodeAs[api.PushStatus](t, e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/tenants/acme/push-status?conversation=%d", annConv), token: "operator", want: 200}))
	if ps.ConversationID != annConv || len(ps.Messages) == 0 {
		t.Fatalf("push status %+v", ps)
	}
	e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/tenants/acme/push-status?conversation=%d", globexConv), token: "boss", want: 404})
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/push-status?conversation=x", token: "boss", want: 400, invalid: true})
	e.do(req{method: "GET", path: fmt.Sprintf("/api/v1/tenants/acme/push-status?conversation=%d", annConv), token: "alice", want: 403})

	// The console's files.
	e.do(req{method: "GET", path: "/console", want: 301})
	e.do(req{method: "GET", path: "/console/", want: 200})
	e.do(req{method: "GET", path: "/console/assets/app.js", want: 200})
	e.do(req{method: "GET", path: "/console/assets/nope.js", want: 404})

	// Every operation of the document was called.
	var missing []string
	for path, item := range e.doc.Paths.Map() {
		for method := range item.Operations() {
			if !e.called[method+" "+path] {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("operations the test did not call: %v", missing)
	}
}

// TestEveryRouteIsDocumented compares the routes the server registers
// with the document's paths and operations, both ways.
func TestEveryRouteIsDocumented(t *testing.T) {
	e := start(t)
	registered := map[string]bool{}
	for _, p := range e.svc.Routes() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Fatalf("route %q has no method", p)
		}
		registered[method+" "+strings.TrimSuffix(path, "{$}")] = true
	}
	documented := map[string]bool{}
	for path, item := range e.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range registered {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for d := range documented {
		if !registered[d] {
			t.Errorf("openapi.yaml documents %s, which the server does not serve", d)
		}
	}
	// The API's own list is part of it.
	for _, p := range api.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		if !registered[method+" "+strings.TrimSuffix(path, "{$}")] {
			t.Errorf("api pattern %s is not registered", p)
		}
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The request's log line names the tenant, the conversation and the
// actor, and never carries a token.
func TestRequestLogNamesTenantAndNeverAToken(t *testing.T) {
	var logs syncBuffer
	e := startWith(t, zerolog.New(&logs))
	e.deliverWhatsApp("31600000001", "wamid.A1", "hello")
	convID, _ := e.find("acme", "wa", "31600000001")
	e.do(req{method: "PUT", path: fmt.Sprintf("/api/v1/tenants/acme/conversations/%d/details/", convID), token: "alice",
		body: map[string]any{"action": "change_state", "state": 3}, want: 200})
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/stats", token: "gadmin", want: 403})
	e.do(req{method: "GET", path: "/api/v1/tenants/acme/stats", token: "sfc_wrong", want: 401})
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"message":"http request"`) && strings.Contains(line, `"method":"PUT"`) {
			found = strings.Contains(line, `"tenant":"acme"`) && strings.Contains(line, fmt.Sprintf(`"conversation":"%d"`, convID)) &&
				strings.Contains(line, `"actor":"alice"`)
		}
	}
	if !found {
		t.Fatalf("no request line with tenant, conversation and actor:\n%s", logs.String())
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Count(line, `"tenant":`) > 1 || strings.Count(line, `"conversation":`) > 1 {
			t.Fatalf("a log line repeats a field: %s", line)
		}
	}
	if !strings.Contains(logs.String(), `"message":"conversation state changed"`) {
		t.Fatalf("the state change is not logged:\n%s", logs.String())
	}
	for name, tok := range e.tokens {
		if strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), api.HashToken(tok)) {
			t.Fatalf("token %s is in the log", name)
		}
	}
	if strings.Contains(logs.String(), "sfc_wrong") {
		t.Fatal("a wrong token is in the log")
	}
}
