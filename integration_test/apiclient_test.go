package integration_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// apiResult is one answer of the connector's API.
type apiResult struct {
	Status int
	Body   []byte
	Header http.Header
}

// call calls the connector's API with token as the bearer token (none when
// empty). body, when not nil, is sent as it is when it is a string or
// []byte, else as JSON.
func (e *env) call(token, method, path string, body any) apiResult {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(body)
		if err != nil {
			e.t.Fatalf("marshal %s %s: %v", method, path, err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base()+path, rd)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	return apiResult{Status: resp.StatusCode, Body: b, Header: resp.Header}
}

// errorCode returns the code of an error answer, "" when the body is not
// one.
func (r apiResult) errorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e) // a body that is no error has no code
	return e.Error.Code
}

// errorMessage returns the message of an error answer.
func (r apiResult) errorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e) // a body that is no error has no message
	return e.Error.Message
}

func (r apiResult) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// createToken creates an API token with `connector token create`, as an
// operator would, against the env's configuration, and returns it.
// tenant is "" for an operator token.
func (e *env) createToken(tenant, name, role string) string {
	e.t.Helper()
	args := []string{"token", "create", "-config", e.cfgPath, "-name", name, "-role", role}
	if tenant != "" {
		args = append(args, "-tenant", tenant)
	}
	stdout, stderr, code := runConnector(e.t, args...)
	if code != 0 {
		e.t.Fatalf("connector %s: exit code %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	token := parseToken(stdout)
	if token == "" {
		e.t.Fatalf("connector %s printed no token\nstdout: %s\nstderr: %s", strings.Join(args, " "), stdout, stderr)
	}
	return token
}

// parseToken finds the token in the output of `connector token create`:
// the "token" field of a JSON answer, or the line that is the token alone.
func parseToken(out string) string {
	var j struct {
		Token string `json:"token"`
	}
	if json.Unmarshal([]byte(out), &j) == nil && j.Token != "" {
		return j.Token
	}
	var token string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "token:"); ok {
			return strings.TrimSpace(v)
		}
		if line != "" && !strings.ContainsAny(line, " \t") {
			token = line
		}
	}
	return token
}

// Bodies of the API, as the plan writes them.
type (
	apiConversation struct {
		ID             int64           `json:"id"`
		Tenant         string          `json:"tenant"`
		Channel        string          `json:"channel"`
		ContactID      int64           `json:"contact_id"`
		Contact        string          `json:"contact"`
		State          int             `json:"state"`
		StateName      string          `json:"state_name"`
		CreatedAt      time.Time       `json:"created_at"`
		UpdatedAt      time.Time       `json:"updated_at"`
		LastActivityAt time.Time       `json:"last_activity_at"`
		InSalesforce   bool            `json:"in_salesforce"`
		Changed        *bool           `json:"changed"`
		History        []apiTransition `json:"history"`
		Messages       []apiMessage    `json:"messages"`
	}
	apiTransition struct {
		From     *int      `json:"from"`
		FromName string    `json:"from_name"`
		To       int       `json:"to"`
		ToName   string    `json:"to_name"`
		Event    string    `json:"event"`
		Actor    string    `json:"actor"`
		Reason   string    `json:"reason"`
		At       time.Time `json:"at"`
	}
	apiMessage struct {
		ID             int64  `json:"id"`
		PlatformID     string `json:"platform_id"`
		Direction      string `json:"direction"`
		Kind           string `json:"kind"`
		Body           string `json:"body"`
		Sender         string `json:"sender"`
		StateAtReceipt int    `json:"state_at_receipt"`
		PushStatus     string `json:"push_status"`
		PushReason     string `json:"push_reason"`
		LastError      string `json:"last_error"`
		DeliveryStatus string `json:"delivery_status"`
		SentID         string `json:"sent_id"`
		SendAttempts   int    `json:"send_attempts"`
		SendError      string `json:"send_error"`
		MediaURL       string `json:"media_url"`
		Media          *struct {
			Status      string `json:"status"`
			Size        int64  `json:"size"`
			ContentType string `json:"content_type"`
			FileName    string `json:"file_name"`
			FileID      string `json:"file_id"`
		} `json:"media"`
	}
	apiContact struct {
		ID          int64      `json:"id"`
		Tenant      string     `json:"tenant"`
		Channel     string     `json:"channel"`
		ExternalID  string     `json:"external_id"`
		DisplayName string     `json:"display_name"`
		Blocked     *apiBlock  `json:"blocked"`
		OptOut      *apiOptOut `json:"opt_out"`
		NativeBlock *apiNative `json:"native_block"`
		Reachable   *bool      `json:"reachable"`
		Tags        []string   `json:"tags"`
		Notes       []apiNote  `json:"notes"`
	}
	apiOptOut struct {
		Keyword string    `json:"keyword"`
		At      time.Time `json:"at"`
	}
	apiBlock struct {
		Inbound  bool      `json:"inbound"`
		Outbound bool      `json:"outbound"`
		Note     string    `json:"note"`
		By       string    `json:"by"`
		At       time.Time `json:"at"`
	}
	apiNative struct {
		Status    string    `json:"status"`
		Want      string    `json:"want"`
		Error     string    `json:"error"`
		Attempts  int       `json:"attempts"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	apiNote struct {
		ID        int64     `json:"id"`
		Text      string    `json:"text"`
		Author    string    `json:"author"`
		CreatedAt time.Time `json:"created_at"`
	}
	// apiBlockAnswer is the answer of PUT .../block.
	apiBlockAnswer struct {
		Contact     apiContact `json:"contact"`
		NativeBlock apiNative  `json:"native_block"`
	}
)

// nativeStatus is the contact's native block status ("" without one).
func (c apiContact) nativeStatus() string {
	if c.NativeBlock == nil {
		return ""
	}
	return c.NativeBlock.Status
}

// caller is an API caller of one tenant: its token and its name.
type caller struct {
	e      *env
	tenant string
	name   string
	token  string
}

// newCaller creates a token of role for tenant and returns its caller.
func (e *env) newCaller(tenant, name, role string) *caller {
	e.t.Helper()
	return &caller{e: e, tenant: tenant, name: name, token: e.createToken(tenant, name, role)}
}

// tenantPath is /api/v1/tenants/{tenant} followed by rest.
func (c *caller) tenantPath(rest string) string {
	return "/api/v1/tenants/" + url.PathEscape(c.tenant) + rest
}

// do calls the API as the caller on the tenant's path rest.
func (c *caller) do(method, rest string, body any) apiResult {
	c.e.t.Helper()
	return c.e.call(c.token, method, c.tenantPath(rest), body)
}

// must calls the API and requires the status, then decodes the body into
// out (when not nil).
func (c *caller) must(method, rest string, body any, want int, out any) apiResult {
	c.e.t.Helper()
	r := c.do(method, rest, body)
	if r.Status != want {
		c.e.t.Fatalf("%s %s %s as %s: %s, want %d", method, c.tenantPath(rest), jsonText(body), c.name, r, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.e.t.Fatalf("%s %s as %s: answer %s: %v", method, c.tenantPath(rest), c.name, r.Body, err)
		}
	}
	return r
}

// jsonText writes a request body for failure messages.
func jsonText(body any) string {
	switch b := body.(type) {
	case nil:
		return ""
	case string:
		return b
	case []byte:
		return string(b)
	}
	j, err := json.Marshal(body)
	if err != nil {
		return fmt.Sprint(body)
	}
	return string(j)
}

// conversations lists the tenant's conversations matching query (such as
// "contact=3"), following next_after.
func (c *caller) conversations(query string) []apiConversation {
	c.e.t.Helper()
	var all []apiConversation
	after := int64(0)
	for range 100 {
		q := query
		if after > 0 {
			q += "&after=" + fmt.Sprint(after)
		}
		var page struct {
			Conversations []apiConversation `json:"conversations"`
			NextAfter     int64             `json:"next_after"`
		}
		c.must(http.MethodGet, "/conversations?"+strings.TrimPrefix(q, "&"), nil, http.StatusOK, &page)
		all = append(all, page.Conversations...)
		if page.NextAfter == 0 || len(page.Conversations) == 0 {
			return all
		}
		after = page.NextAfter
	}
	c.e.t.Fatalf("GET conversations?%s: more than 100 pages", query)
	return nil
}

// conversationOf returns the contact's live conversation on channel, by
// the contact's external id, failing when there is not exactly one.
func (c *caller) conversationOf(channel, externalID string) apiConversation {
	c.e.t.Helper()
	var live []apiConversation
	for _, conv := range c.conversations("channel=" + url.QueryEscape(channel)) {
		if conv.Contact == externalID && conv.StateName != "EXPIRED" {
			live = append(live, conv)
		}
	}
	if len(live) != 1 {
		c.e.t.Fatalf("contact %s on %s/%s has %d live conversations in the API, want 1: %+v", externalID, c.tenant, channel, len(live), live)
	}
	return live[0]
}

// conversation reads one conversation with its history and messages.
func (c *caller) conversation(id int64) apiConversation {
	c.e.t.Helper()
	var conv apiConversation
	c.must(http.MethodGet, fmt.Sprintf("/conversations/%d", id), nil, http.StatusOK, &conv)
	return conv
}

// changeState sets a conversation's state with change_state.
func (c *caller) changeState(id int64, state any, reason string) apiResult {
	c.e.t.Helper()
	body := map[string]any{"action": "change_state", "state": state}
	if reason != "" {
		body["reason"] = reason
	}
	return c.do(http.MethodPut, fmt.Sprintf("/conversations/%d/details/", id), body)
}

// mustChangeState sets the state and requires a 200, returning the
// conversation answered.
func (c *caller) mustChangeState(id int64, state any, reason string) apiConversation {
	c.e.t.Helper()
	r := c.changeState(id, state, reason)
	if r.Status != http.StatusOK {
		c.e.t.Fatalf("change_state of conversation %d to %v as %s: %s, want 200", id, state, c.name, r)
	}
	var conv apiConversation
	if err := json.Unmarshal(r.Body, &conv); err != nil {
		c.e.t.Fatalf("change_state answer %s: %v", r.Body, err)
	}
	return conv
}

// contact reads one contact.
func (c *caller) contact(id int64) apiContact {
	c.e.t.Helper()
	var ct apiContact
	c.must(http.MethodGet, fmt.Sprintf("/contacts/%d", id), nil, http.StatusOK, &ct)
	return ct
}

// contacts lists the tenant's contacts matching query, following
// next_after.
func (c *caller) contacts(query string) []apiContact {
	c.e.t.Helper()
	var all []apiContact
	after := int64(0)
	for range 100 {
		q := query
		if after > 0 {
			q += "&after=" + fmt.Sprint(after)
		}
		var page struct {
			Contacts  []apiContact `json:"contacts"`
			NextAfter int64        `json:"next_after"`
		}
		c.must(http.MethodGet, "/contacts?"+strings.TrimPrefix(q, "&"), nil, http.StatusOK, &page)
		all = append(all, page.Contacts...)
		if page.NextAfter == 0 || len(page.Contacts) == 0 {
			return all
		}
		after = page.NextAfter
	}
	c.e.t.Fatalf("GET contacts?%s: more than 100 pages", query)
	return nil
}

// block blocks a contact (PUT .../block) and requires a 200.
func (c *caller) block(contactID int64, body any) apiBlockAnswer {
	c.e.t.Helper()
	var a apiBlockAnswer
	c.must(http.MethodPut, fmt.Sprintf("/contacts/%d/block", contactID), body, http.StatusOK, &a)
	return a
}

// unblock unblocks a contact (DELETE .../block) and requires a 200.
func (c *caller) unblock(contactID int64) apiResult {
	c.e.t.Helper()
	return c.must(http.MethodDelete, fmt.Sprintf("/contacts/%d/block", contactID), nil, http.StatusOK, nil)
}

// reply sends a reply in a conversation.
func (c *caller) reply(conversationID int64, text string) apiResult {
	c.e.t.Helper()
	return c.do(http.MethodPost, fmt.Sprintf("/conversations/%d/messages", conversationID), map[string]any{"text": text})
}

// messageByPlatformID finds a message of a conversation body.
func messageByPlatformID(conv apiConversation, platformID string) (apiMessage, bool) {
	for _, m := range conv.Messages {
		if m.PlatformID == platformID {
			return m, true
		}
	}
	return apiMessage{}, false
}

// requireMessage finds a message of a conversation body, failing the test
// when it is not there.
func requireMessage(t *testing.T, conv apiConversation, platformID string) apiMessage {
	t.Helper()
	m, ok := messageByPlatformID(conv, platformID)
	if !ok {
		ids := make([]string, len(conv.Messages))
		for i, m := range conv.Messages {
			ids[i] = m.PlatformID
		}
		t.Fatalf("conversation %d has no message %s; it has %v", conv.ID, platformID, ids)
	}
	return m
}

// contactByExternalID finds a contact in a list.
func contactByExternalID(list []apiContact, externalID string) (apiContact, bool) {
	for _, c := range list {
		if c.ExternalID == externalID {
			return c, true
		}
	}
	return apiContact{}, false
}

// waChannel is a WhatsApp channel against the Graph API stand-in g.
func waChannel(id, phoneNumberID string, bot bool, g *graphStandin) channelSpec {
	return channelSpec{ID: id, Platform: "whatsapp", PhoneNumberID: phoneNumberID, Bot: bot, GraphURL: g.URL(), AccessToken: graphToken}
}

// recent reports whether at is set, not before since and not in the
// future (with a second of slack for the clocks).
func recent(at time.Time, since time.Time) bool {
	return !at.IsZero() && !at.Before(since.Add(-time.Second)) && !at.After(time.Now().Add(time.Second))
}
