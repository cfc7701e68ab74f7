package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/api"
	"github.com/chatsync/sfconnector/connector/platform/telegram"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
)

// Step is one step of the walk through the flows: the line the demo
// printed, and what its claim is about, so that a test can check it
// against the store and the stand-in.
type Step struct {
	// Key names the step: "spam", "block-inbound", ...
	Key  string
	Line string
	// Contact and Conversations are the step's subjects; Messages the
	// messages its claim is about.
	Contact       int64
	Conversations []int64
	Messages      []int64
}

// The walk-through's actors and names.
const (
	adminName    = "demo"
	operatorName = "demo-operator"
	// The Telegram spammer: their private chat has their user id.
	spammerID   = 7000001
	spamNote    = "spam"
	abuseReason = "abusive"
	closeReason = "answered"
	// stepTimeout bounds how long a step waits for the dispatcher.
	stepTimeout = 60 * time.Second
)

// tour walks through the product's flows on the running connector, as its
// users would: deliveries through the webhooks, everything else through
// the API with tokens it creates.
type tour struct {
	o    Options
	d    *Demo
	sum  *Summary
	send *Sender
	// rule is the stand-in's validation rule that made a message dead.
	rule int
	// seq numbers the walk-through's platform message ids.
	seq int64
}

func (t *tour) run(ctx context.Context) error {
	if err := t.tokens(ctx); err != nil {
		return err
	}
	t.o.progress("walking through the flows, through the API at %s/api/v1 with the token %q", t.d.ConnectorURL, adminName)
	for _, step := range []func(context.Context) error{
		t.spam, t.blockInbound, t.blockBoth, t.excludeBlocked, t.spamWhileExcluded, t.includeBlocked,
		t.unblockAll, t.closeTwo, t.reopen, t.optOut, t.webBlock, t.deleteAll, t.blockBot, t.replay,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// step records and prints one step.
func (t *tour) step(s Step) {
	t.sum.Steps = append(t.sum.Steps, s)
	t.o.progress("%s", s.Line)
}

// tokens creates the walk-through's API tokens in the store, as
// `connector token create` does: an admin of the tenant and an operator.
func (t *tour) tokens(ctx context.Context) error {
	for _, tok := range []struct {
		into       *string
		name, role string
		tenant     string
	}{
		{&t.d.AdminToken, adminName, string(store.RoleAdmin), tenantID},
		{&t.d.OperatorToken, operatorName, string(store.RoleOperator), ""},
	} {
		secret, err := api.NewToken()
		if err != nil {
			return err
		}
		_, err = t.d.svc.Store.CreateToken(ctx, store.APIToken{Tenant: tok.tenant, Role: store.Role(tok.role), Name: tok.name,
			Hash: api.HashToken(secret), CreatedAt: time.Now().UTC()})
		if err != nil {
			return fmt.Errorf("create the %s token: %w", tok.role, err)
		}
		*tok.into = secret
	}
	t.o.progress("created API tokens in the store, as `connector token create` does: admin %q of tenant %s, operator %q", adminName, tenantID, operatorName)
	return nil
}

// apiError is the API's error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call makes an API request and decodes the answer into out (when not
// nil); an answer other than want is an error. A path not starting with
// /api is the tenant's.
func (t *tour) call(ctx context.Context, method, path, token string, body any, want int, out any) error {
	if !strings.HasPrefix(path, "/api/") {
		path = "/api/v1/tenants/" + tenantID + path
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.d.ConnectorURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d, not %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return nil
}

// refusedReply tries a reply in the conversation and expects 409 with
// code.
func (t *tour) refusedReply(ctx context.Context, conv int64, code string) error {
	var e apiError
	if err := t.call(ctx, http.MethodPost, fmt.Sprintf("/conversations/%d/messages", conv), t.d.AdminToken,
		map[string]string{"text": "Hello, can we help?"}, http.StatusConflict, &e); err != nil {
		return err
	}
	if e.Error.Code != code {
		return fmt.Errorf("a reply in conversation %d was refused with %q, not %q", conv, e.Error.Code, code)
	}
	return nil
}

// changeState sets a conversation's state through the API.
func (t *tour) changeState(ctx context.Context, conv int64, state, reason string) error {
	var out api.StateChanged
	err := t.call(ctx, http.MethodPut, fmt.Sprintf("/conversations/%d/details/", conv), t.d.AdminToken,
		map[string]any{"action": "change_state", "state": state, "reason": reason}, http.StatusOK, &out)
	if err == nil && out.StateName != state {
		err = fmt.Errorf("conversation %d is %s after change_state %s", conv, out.StateName, state)
	}
	return err
}

// conversation finds the live conversation of a contact on a channel.
func (t *tour) conversation(ctx context.Context, channel, contact string) (api.Conversation, error) {
	var l api.ConversationList
	if err := t.call(ctx, http.MethodGet, "/conversations?limit=1000&channel="+channel, t.d.AdminToken, nil, http.StatusOK, &l); err != nil {
		return api.Conversation{}, err
	}
	for _, c := range l.Conversations {
		if c.Contact == contact && c.StateName != "EXPIRED" {
			return c, nil
		}
	}
	return api.Conversation{}, fmt.Errorf("no live conversation of %s on %s", contact, channel)
}

// detail reads one conversation with its history and messages.
func (t *tour) detail(ctx context.Context, conv int64) (api.ConversationDetail, error) {
	var d api.ConversationDetail
	err := t.call(ctx, http.MethodGet, fmt.Sprintf("/conversations/%d", conv), t.d.AdminToken, nil, http.StatusOK, &d)
	return d, err
}

// settled waits until no message of the conversation is pending, and
// returns its messages.
func (t *tour) settled(ctx context.Context, conv int64) ([]store.Message, error) {
	var msgs []store.Message
	err := t.poll(ctx, fmt.Sprintf("conversation %d's messages to be pushed", conv), func() (bool, error) {
		var err error
		if msgs, err = t.d.svc.Store.ListMessages(ctx, conv); err != nil {
			return false, err
		}
		return !slices.ContainsFunc(msgs, func(m store.Message) bool { return m.PushStatus == store.Pending }), nil
	})
	return msgs, err
}

// recordState waits until the conversation's Salesforce record shows
// state.
func (t *tour) recordState(ctx context.Context, channel string, conv int64, state string) error {
	key := fmt.Sprintf("%s:%s:%d", tenantID, channel, conv)
	return t.poll(ctx, fmt.Sprintf("the record of conversation %d to show %s", conv, state), func() (bool, error) {
		for _, r := range t.d.Standin.Records("Chat_Conversation__c") {
			if r.Fields["Conversation_Key__c"] == key {
				return r.Fields["State__c"] == state, nil
			}
		}
		return false, nil
	})
}

// poll calls done until it reports true, every 50ms, for stepTimeout.
func (t *tour) poll(ctx context.Context, what string, done func() (bool, error)) error {
	deadline := time.Now().Add(stepTimeout)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s", stepTimeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ingestAnswer is a webhook's answer.
type ingestAnswer struct {
	Stored   int `json:"stored"`
	Excluded int `json:"excluded"`
	Refused  []struct {
		ID string `json:"id"`
	} `json:"refused"`
}

// deliver posts a signed delivery and counts it in the summary.
func (t *tour) deliver(ctx context.Context, channel string, body []byte) (ingestAnswer, error) {
	var resp Response
	var err error
	switch channel {
	case tgChannel:
		resp, err = t.send.Post(ctx, tenantID, channel, body, telegram.SecretHeader, telegram.Sign(tgSecret, body))
	case webChannel:
		resp, err = t.send.WebChat(ctx, tenantID, channel, webSecret, body)
	default:
		resp, err = t.send.WhatsApp(ctx, tenantID, channel, waSecret, body)
	}
	if err != nil {
		return ingestAnswer{}, err
	}
	t.sum.count(resp)
	if resp.Status != http.StatusOK {
		return ingestAnswer{}, fmt.Errorf("a delivery to %s answered %d: %s", channel, resp.Status, resp.Body)
	}
	var a ingestAnswer
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		return a, fmt.Errorf("a delivery to %s: %w", channel, err)
	}
	return a, nil
}

// spammer sends n Telegram messages from the spammer.
func (t *tour) spammer(ctx context.Context, n int, text string) ([]ingestAnswer, error) {
	var out []ingestAnswer
	for i := 0; i < n; i++ {
		t.seq++
		body := telegram.TextUpdate(t.seq, telegram.User{ID: spammerID, FirstName: "Cheap", LastName: "Deals"}, t.seq, text, time.Now().UTC())
		a, err := t.deliver(ctx, tgChannel, body)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// customer sends a WhatsApp text from the demo's contact c (0-based).
func (t *tour) customer(ctx context.Context, c int, text string) (ingestAnswer, error) {
	t.seq++
	return t.deliver(ctx, waChannel, whatsapp.TextDelivery(phoneNumberID, customerWaID(c), customerName(c),
		fmt.Sprintf("wamid.tour.%d", t.seq), text, time.Now().UTC()))
}

func customerWaID(c int) string   { return fmt.Sprintf("3161234%04d", c) }
func customerName(c int) string   { return fmt.Sprintf("Customer %d", c+1) }
func botVisitorWaID(c int) string { return fmt.Sprintf("3169876%04d", c) }
func webVisitorID(v int) string   { return fmt.Sprintf("visitor-%d", v) }

// spam: the spammer writes; their messages are pushed like anyone's.
func (t *tour) spam(ctx context.Context) error {
	if _, err := t.spammer(ctx, 2, "BIG SALE!!! cheap watches at example.com"); err != nil {
		return err
	}
	conv, err := t.conversation(ctx, tgChannel, fmt.Sprint(spammerID))
	if err != nil {
		return err
	}
	msgs, err := t.settled(ctx, conv.ID)
	if err != nil {
		return err
	}
	if len(msgs) != 2 || msgs[0].PushStatus != store.Pushed || msgs[1].PushStatus != store.Pushed || conv.StateName != "OPEN" {
		return fmt.Errorf("the spammer's conversation %d is %s with %d messages, not OPEN with 2 pushed", conv.ID, conv.StateName, len(msgs))
	}
	t.step(Step{Key: "spam", Contact: conv.ContactID, Conversations: []int64{conv.ID}, Messages: ids(msgs),
		Line: fmt.Sprintf("a spammer writes 2 messages on Telegram (contact %d): conversation %d is OPEN, both pushed to Salesforce", conv.ContactID, conv.ID)})
	return nil
}

// spamSubject is the spammer's contact and conversation.
func (t *tour) spamSubject() Step {
	return t.sum.Steps[slices.IndexFunc(t.sum.Steps, func(s Step) bool { return s.Key == "spam" })]
}

// blockInbound: an agent blocks the spammer for inbound only, with a note.
func (t *tour) blockInbound(ctx context.Context) error {
	s := t.spamSubject()
	var a api.BlockAnswer
	err := t.call(ctx, http.MethodPut, fmt.Sprintf("/contacts/%d/block", s.Contact), t.d.AdminToken,
		map[string]any{"inbound": true, "outbound": false, "note": spamNote}, http.StatusOK, &a)
	if err != nil {
		return err
	}
	if !slices.Equal(a.BlockedConversations, s.Conversations) || a.NativeBlock.Status != store.NativeUnsupported {
		return fmt.Errorf("blocking contact %d blocked conversations %v with native status %q", s.Contact, a.BlockedConversations, a.NativeBlock.Status)
	}
	t.step(Step{Key: "block-inbound", Contact: s.Contact, Conversations: s.Conversations,
		Line: fmt.Sprintf("agent %q blocks contact %d for inbound only, note %q: conversation %d → BLOCKED; Telegram has no native block (%s), the local block stands",
			adminName, s.Contact, spamNote, s.Conversations[0], a.NativeBlock.Status)})
	return nil
}

// blockBoth: the agent blocks both directions; replies are refused.
func (t *tour) blockBoth(ctx context.Context) error {
	s := t.spamSubject()
	var a api.BlockAnswer
	err := t.call(ctx, http.MethodPut, fmt.Sprintf("/contacts/%d/block", s.Contact), t.d.AdminToken,
		map[string]any{"inbound": true, "outbound": true, "note": spamNote}, http.StatusOK, &a)
	if err != nil {
		return err
	}
	if b := a.Contact.Blocked; b == nil || !b.Inbound || !b.Outbound {
		return fmt.Errorf("contact %d is not blocked both ways: %+v", s.Contact, b)
	}
	if err := t.refusedReply(ctx, s.Conversations[0], "contact_blocked"); err != nil {
		return err
	}
	t.step(Step{Key: "block-both", Contact: s.Contact, Conversations: s.Conversations,
		Line: fmt.Sprintf("the agent blocks contact %d both ways: a reply in conversation %d is refused with 409 contact_blocked", s.Contact, s.Conversations[0])})
	return nil
}

// excluded sets the org's excluded states as the support team.
func (t *tour) excluded(ctx context.Context, states ...string) error {
	var out struct {
		Source string `json:"source"`
		States []struct {
			Name string `json:"name"`
		} `json:"excluded_states"`
	}
	err := t.call(ctx, http.MethodPut, "/api/v1/orgs/"+t.sum.OrgID+"/excluded-states", t.d.OperatorToken,
		map[string]any{"excluded_states": states}, http.StatusOK, &out)
	if err != nil {
		return err
	}
	var got []string
	for _, s := range out.States {
		got = append(got, s.Name)
	}
	if out.Source != "api" || !slices.Equal(got, states) {
		return fmt.Errorf("the org's excluded states are %v (%s), not %v", got, out.Source, states)
	}
	return nil
}

// excludeBlocked: the support team excludes BLOCKED for the org.
func (t *tour) excludeBlocked(ctx context.Context) error {
	if err := t.excluded(ctx, "AUTO_BOT", "BLOCKED"); err != nil {
		return err
	}
	t.step(Step{Key: "exclude-blocked",
		Line: fmt.Sprintf("operator %q excludes BLOCKED for org %s: the states not pushed are now AUTO_BOT and BLOCKED", operatorName, t.sum.OrgID)})
	return nil
}

// spamWhileExcluded: the blocked spammer writes again; the messages are
// recorded on the BLOCKED conversation and not pushed.
func (t *tour) spamWhileExcluded(ctx context.Context) error {
	s := t.spamSubject()
	answers, err := t.spammer(ctx, 2, "LAST CHANCE: cheap watches")
	if err != nil {
		return err
	}
	for _, a := range answers {
		if a.Stored != 1 || a.Excluded != 1 {
			return fmt.Errorf("a blocked spammer's message was answered %+v, not stored and excluded", a)
		}
	}
	msgs, err := t.settled(ctx, s.Conversations[0])
	if err != nil {
		return err
	}
	d, err := t.detail(ctx, s.Conversations[0])
	if err != nil {
		return err
	}
	late := msgs[len(msgs)-2:]
	if len(msgs) != 4 || d.StateName != "BLOCKED" || late[0].PushStatus != store.Excluded || late[1].PushStatus != store.Excluded {
		return fmt.Errorf("conversation %d is %s with %d messages; the last two should be held back", d.ID, d.StateName, len(msgs))
	}
	t.step(Step{Key: "spam-excluded", Contact: s.Contact, Conversations: s.Conversations, Messages: ids(late),
		Line: fmt.Sprintf("the spammer writes 2 more: recorded on conversation %d, which stays BLOCKED (no new conversation); not pushed: %s",
			d.ID, late[0].PushReason)})
	return nil
}

// includeBlocked: the support team includes BLOCKED again; the next
// message of the blocked contact is pushed, the held-back ones are not.
func (t *tour) includeBlocked(ctx context.Context) error {
	s := t.spamSubject()
	if err := t.excluded(ctx, "AUTO_BOT"); err != nil {
		return err
	}
	if _, err := t.spammer(ctx, 1, "cheap watches, final offer"); err != nil {
		return err
	}
	msgs, err := t.settled(ctx, s.Conversations[0])
	if err != nil {
		return err
	}
	last := msgs[len(msgs)-1]
	if len(msgs) != 5 || last.PushStatus != store.Pushed || last.StateAtReceipt.String() != "BLOCKED" ||
		msgs[2].PushStatus != store.Excluded || msgs[3].PushStatus != store.Excluded {
		return fmt.Errorf("after BLOCKED was included again, conversation %d's messages are %v", s.Conversations[0], statuses(msgs))
	}
	t.step(Step{Key: "include-blocked", Contact: s.Contact, Conversations: s.Conversations, Messages: []int64{last.ID},
		Line: fmt.Sprintf("operator %q includes BLOCKED again (only AUTO_BOT excluded): the spammer's next message is pushed, with the state BLOCKED; the 2 held back stay held back", operatorName)})
	return nil
}

// unblockAll: an agent unblocks the spammer's conversations.
func (t *tour) unblockAll(ctx context.Context) error {
	s := t.spamSubject()
	var a api.BlockAnswer
	err := t.call(ctx, http.MethodPost, fmt.Sprintf("/contacts/%d/blocked-conversations/unblock-all", s.Contact), t.d.AdminToken, nil, http.StatusOK, &a)
	if err != nil {
		return err
	}
	d, err := t.detail(ctx, s.Conversations[0])
	if err != nil {
		return err
	}
	if !slices.Equal(a.UnblockedConversations, s.Conversations) || a.Contact.Blocked != nil || d.StateName != "OPEN" {
		return fmt.Errorf("unblock-all of contact %d: unblocked %v, block %+v, conversation %s", s.Contact, a.UnblockedConversations, a.Contact.Blocked, d.StateName)
	}
	t.step(Step{Key: "unblock-all", Contact: s.Contact, Conversations: s.Conversations,
		Line: fmt.Sprintf("the agent unblocks all of contact %d's conversations: conversation %d → OPEN; what arrived during the block is not pushed afterwards", s.Contact, d.ID)})
	return nil
}

// closeTwo: an agent closes two customers' conversations; the state is
// mirrored onto their Salesforce records.
func (t *tour) closeTwo(ctx context.Context) error {
	var convs []int64
	for _, c := range []int{1, 3} {
		conv, err := t.conversation(ctx, waChannel, customerWaID(c))
		if err != nil {
			return err
		}
		if err := t.changeState(ctx, conv.ID, "CLOSED", closeReason); err != nil {
			return err
		}
		convs = append(convs, conv.ID)
	}
	for _, id := range convs {
		if err := t.recordState(ctx, waChannel, id, "CLOSED"); err != nil {
			return err
		}
	}
	t.step(Step{Key: "close", Conversations: convs,
		Line: fmt.Sprintf("the agent closes %s's and %s's conversations %d and %d (change_state CLOSED, reason %q): their Salesforce records show State__c CLOSED",
			customerName(1), customerName(3), convs[0], convs[1], closeReason)})
	return nil
}

// reopen: the customer's next message reopens the closed conversation.
func (t *tour) reopen(ctx context.Context) error {
	closed := t.sum.Steps[len(t.sum.Steps)-1].Conversations
	if _, err := t.customer(ctx, 1, "Sorry, one more question about my order"); err != nil {
		return err
	}
	msgs, err := t.settled(ctx, closed[0])
	if err != nil {
		return err
	}
	d, err := t.detail(ctx, closed[0])
	if err != nil {
		return err
	}
	last := msgs[len(msgs)-1]
	if d.StateName != "OPEN" || last.PushStatus != store.Pushed {
		return fmt.Errorf("conversation %d is %s and its last message %s after the customer wrote", d.ID, d.StateName, last.PushStatus)
	}
	if err := t.recordState(ctx, waChannel, d.ID, "OPEN"); err != nil {
		return err
	}
	t.step(Step{Key: "reopen", Contact: d.ContactID, Conversations: closed, Messages: []int64{last.ID},
		Line: fmt.Sprintf("%s writes again: conversation %d reopens to OPEN, the message is pushed and the record shows OPEN; conversation %d stays CLOSED",
			customerName(1), d.ID, closed[1])})
	return nil
}

// optOut: a customer writes the opt-out keyword.
func (t *tour) optOut(ctx context.Context) error {
	if _, err := t.customer(ctx, 2, optOutKeyword); err != nil {
		return err
	}
	conv, err := t.conversation(ctx, waChannel, customerWaID(2))
	if err != nil {
		return err
	}
	msgs, err := t.settled(ctx, conv.ID)
	if err != nil {
		return err
	}
	var c api.ContactDetail
	if err := t.call(ctx, http.MethodGet, fmt.Sprintf("/contacts/%d", conv.ContactID), t.d.AdminToken, nil, http.StatusOK, &c); err != nil {
		return err
	}
	last := msgs[len(msgs)-1]
	if o := c.OptOut; o == nil || o.Keyword != optOutKeyword || c.Blocked != nil || conv.StateName != "OPEN" || last.PushStatus != store.Pushed {
		return fmt.Errorf("after %s, contact %d's opt-out is %+v, its block %+v, conversation %s, message %s", optOutKeyword, conv.ContactID, c.OptOut, c.Blocked, conv.StateName, last.PushStatus)
	}
	if err := t.refusedReply(ctx, conv.ID, "contact_blocked"); err != nil {
		return err
	}
	t.step(Step{Key: "opt-out", Contact: conv.ContactID, Conversations: []int64{conv.ID}, Messages: []int64{last.ID},
		Line: fmt.Sprintf("%s writes %q: opted out (nothing is sent to them until DELETE .../opt-out); conversation %d stays OPEN and the message is pushed; a reply is refused with 409 contact_blocked",
			customerName(2), optOutKeyword, conv.ID)})
	return nil
}

// webBlock: an agent blocks a web chat visitor; the web chat's own native
// block refuses their next message at the door.
func (t *tour) webBlock(ctx context.Context) error {
	visitor := webVisitorID(3)
	conv, err := t.conversation(ctx, webChannel, visitor)
	if err != nil {
		return err
	}
	var a api.BlockAnswer
	err = t.call(ctx, http.MethodPut, fmt.Sprintf("/contacts/%d/block", conv.ContactID), t.d.AdminToken,
		map[string]any{"note": abuseReason}, http.StatusOK, &a)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`{"events":[{"id":"web-tour-%d","type":"message","visitor":{"id":%q},"message":{"text":"let me in"}}]}`, t.seq, visitor)
	ans, err := t.deliver(ctx, webChannel, []byte(body))
	if err != nil {
		return err
	}
	if a.NativeBlock.Status != store.NativeApplied || ans.Stored != 0 || len(ans.Refused) != 1 {
		return fmt.Errorf("web visitor %s: native block %q, delivery answered %+v", visitor, a.NativeBlock.Status, ans)
	}
	t.step(Step{Key: "web-block", Contact: conv.ContactID, Conversations: []int64{conv.ID},
		Line: fmt.Sprintf("the agent blocks web chat %s (contact %d) both ways, note %q: conversation %d → BLOCKED; the web chat's own native block (%s) refuses the visitor's next message at the door",
			visitor, conv.ContactID, abuseReason, conv.ID, a.NativeBlock.Status)})
	return nil
}

// deleteAll: an admin deletes the blocked visitor's BLOCKED
// conversations; their Salesforce records stay.
func (t *tour) deleteAll(ctx context.Context) error {
	s := t.sum.Steps[len(t.sum.Steps)-1]
	d, err := t.detail(ctx, s.Conversations[0])
	if err != nil {
		return err
	}
	pushed := 0
	for _, m := range d.Messages {
		if m.PushStatus == string(store.Pushed) {
			pushed++
		}
	}
	var out struct {
		Conversations []int64 `json:"deleted_conversations"`
		Messages      int     `json:"deleted_messages"`
	}
	err = t.call(ctx, http.MethodPost, fmt.Sprintf("/contacts/%d/blocked-conversations/delete-all", s.Contact), t.d.AdminToken, nil, http.StatusOK, &out)
	if err != nil {
		return err
	}
	if !slices.Equal(out.Conversations, s.Conversations) || out.Messages != len(d.Messages) {
		return fmt.Errorf("delete-all of contact %d removed %v with %d messages", s.Contact, out.Conversations, out.Messages)
	}
	t.sum.Deleted = Deleted{Conversations: len(out.Conversations), Messages: out.Messages, Pushed: pushed}
	if d.InSalesforce {
		t.sum.Deleted.InSalesforce = 1
	}
	t.step(Step{Key: "delete-all", Contact: s.Contact, Conversations: out.Conversations,
		Line: fmt.Sprintf("an admin deletes all of contact %d's blocked conversations: conversation %d and its %d messages leave the store; the %d records pushed before stay in Salesforce",
			s.Contact, s.Conversations[0], out.Messages, pushed)})
	return nil
}

// blockBot: an agent sets a bot conversation BLOCKED with change_state.
func (t *tour) blockBot(ctx context.Context) error {
	conv, err := t.conversation(ctx, botChannel, botVisitorWaID(0))
	if err != nil {
		return err
	}
	if err := t.changeState(ctx, conv.ID, "BLOCKED", abuseReason); err != nil {
		return err
	}
	var c api.ContactDetail
	if err := t.call(ctx, http.MethodGet, fmt.Sprintf("/contacts/%d", conv.ContactID), t.d.AdminToken, nil, http.StatusOK, &c); err != nil {
		return err
	}
	if b := c.Blocked; b == nil || !b.Inbound || !b.Outbound || b.Note != abuseReason {
		return fmt.Errorf("contact %d's block after change_state BLOCKED: %+v", conv.ContactID, b)
	}
	t.step(Step{Key: "block-bot", Contact: conv.ContactID, Conversations: []int64{conv.ID},
		Line: fmt.Sprintf("the agent sets the bot channel's conversation %d to BLOCKED (change_state, reason %q): contact %d is blocked both ways, locally",
			conv.ID, abuseReason, conv.ContactID)})
	return nil
}

// replay: the org's validation rule is lifted and the support team
// replays the dead message.
func (t *tour) replay(ctx context.Context) error {
	var dead struct {
		Letters []struct {
			ID             int64  `json:"id"`
			ConversationID int64  `json:"conversation_id"`
			Error          string `json:"error"`
		} `json:"dead_letters"`
	}
	if err := t.call(ctx, http.MethodGet, "/dead-letters", t.d.OperatorToken, nil, http.StatusOK, &dead); err != nil {
		return err
	}
	if len(dead.Letters) != 1 {
		return fmt.Errorf("%d dead letters, not the 1 the validation rule made", len(dead.Letters))
	}
	m := dead.Letters[0]
	if !t.d.Standin.RemoveRejectRule(t.rule) {
		return errors.New("the stand-in's validation rule was gone")
	}
	var out struct {
		Replayed []int64 `json:"replayed"`
	}
	if err := t.call(ctx, http.MethodPost, "/dead-letters/replay", t.d.OperatorToken, map[string]any{"ids": []int64{m.ID}}, http.StatusOK, &out); err != nil {
		return err
	}
	msgs, err := t.settled(ctx, m.ConversationID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(msgs, func(x store.Message) bool { return x.ID == m.ID })
	if !slices.Equal(out.Replayed, []int64{m.ID}) || i < 0 || msgs[i].PushStatus != store.Pushed {
		return fmt.Errorf("dead message %d was replayed as %v and is not pushed", m.ID, out.Replayed)
	}
	t.sum.Replayed = 1
	t.sum.replayedKeys = map[string]bool{fmt.Sprintf("%s:%s:%s", tenantID, msgs[i].Channel, msgs[i].PlatformID): true}
	t.step(Step{Key: "replay", Conversations: []int64{m.ConversationID}, Messages: []int64{m.ID},
		Line: fmt.Sprintf("message %d was dead (%s); the org's validation rule is lifted and operator %q replays it: pushed",
			m.ID, m.Error, operatorName)})
	return nil
}

func ids(msgs []store.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func statuses(msgs []store.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Sprintf("%d:%s/%s", m.ID, m.StateAtReceipt, m.PushStatus)
	}
	return out
}
