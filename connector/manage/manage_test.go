package manage_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/statemachine"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const (
	acmeOrg   = "00D000000000001AAA"
	globexOrg = "00D000000000002"
)

// plain is an adapter that can neither send nor block.
type plain struct{ name string }

func (p *plain) Platform() string                                      { return p.name }
func (p *plain) Verify(*http.Request, []byte) error                    { return nil }
func (p *plain) Parse(*http.Request, []byte) ([]platform.Event, error) { return nil, nil }

// full sends and blocks, recording the calls; errors are set by the test.
type full struct {
	plain
	mu                sync.Mutex
	blockErr, sendErr error
	unblockErr        error
	blocks, unblocks  []string
	sent              []string
	n                 int
	// hold, when set, keeps the next Block call waiting until it is
	// closed, once it said on entered that it runs.
	hold, entered chan struct{}
}

func (f *full) Block(_ context.Context, user string) error {
	f.mu.Lock()
	f.blocks = append(f.blocks, user)
	hold, entered, err := f.hold, f.entered, f.blockErr
	f.hold = nil // the next call only
	f.mu.Unlock()
	if hold != nil {
		entered <- struct{}{}
		<-hold
	}
	return err
}

func (f *full) Unblock(_ context.Context, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unblocks = append(f.unblocks, user)
	return f.unblockErr
}

func (f *full) Send(_ context.Context, to, text string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return "", f.sendErr
	}
	f.n++
	f.sent = append(f.sent, to+": "+text)
	return fmt.Sprintf("wamid.OUT%d", f.n), nil
}

func (f *full) calls() (blocks, unblocks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.blocks), len(f.unblocks)
}

// receiving is a channel of a platform that can send and block, configured
// without its access token: it receives only.
type receiving struct{ full }

func (r *receiving) MissingCredential() string { return "no access token configured" }

// door is the web chat: the connector is the platform.
type door struct{ plain }

func (d *door) RefusesBlocked() bool                  { return true }
func (d *door) Block(context.Context, string) error   { return nil }
func (d *door) Unblock(context.Context, string) error { return nil }

type fixture struct {
	t       *testing.T
	ctx     context.Context
	st      store.Store
	m       *manage.Manager
	in      *ingest.Ingester
	wa, bot *full
	ro      *receiving
	mu      sync.Mutex
	now     time.Time
	changed int
	seq     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "manage.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, ctx: ctx, st: st, now: t0,
		wa: &full{plain: plain{"whatsapp"}}, bot: &full{plain: plain{"whatsapp"}}, ro: &receiving{full{plain: plain{"whatsapp"}}}}
	tenants := []manage.Tenant{
		{ID: "acme", OrgID: acmeOrg, Excluded: statemachine.DefaultExcluded(), Blocking: true, Channels: map[string]manage.Channel{
			"wa":   {ID: "wa", Adapter: f.wa},
			"bot":  {ID: "bot", HasBot: true, Adapter: f.bot},
			"line": {ID: "line", Adapter: &plain{"line"}},
			"site": {ID: "site", Adapter: &door{plain{"webchat"}}},
			"ro":   {ID: "ro", Adapter: f.ro},
		}},
		{ID: "globex", OrgID: globexOrg, Excluded: statemachine.NewSet(statemachine.Blocked), ExcludedConfigured: true, Blocking: true,
			Channels: map[string]manage.Channel{"web": {ID: "web", Adapter: &plain{"webchat"}}}},
	}
	f.m = manage.New(manage.Config{Store: st, Tenants: tenants, Log: zerolog.Nop(), Now: f.clock,
		Wake: func() { f.mu.Lock(); f.changed++; f.mu.Unlock() }, RetryMin: time.Minute, RetryMax: time.Hour})
	f.in = &ingest.Ingester{Store: st, Now: f.clock}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(time.Millisecond)
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *fixture) channel(tenant, id string) ingest.Channel {
	switch tenant {
	case "globex":
		return ingest.Channel{Tenant: tenant, ID: id, OrgID: globexOrg, Excluded: statemachine.NewSet(statemachine.Blocked), ExcludedFromConfig: true}
	}
	return ingest.Channel{Tenant: tenant, ID: id, HasBot: id == "bot", OrgID: acmeOrg, Excluded: statemachine.DefaultExcluded()}
}

// inbound stores a text message from user and returns its conversation
// and contact ids.
func (f *fixture) inbound(tenant, channel, user, text string) (conv, contact int64) {
	f.t.Helper()
	f.seq++
	ev := platform.Event{Kind: platform.KindMessage, ID: fmt.Sprintf("in.%d", f.seq), Contact: user, ContactName: "Ann",
		Timestamp: f.clock(), Message: &platform.Message{Kind: platform.Text, Text: text}}
	res, err := f.in.Ingest(f.ctx, f.channel(tenant, channel), []platform.Event{ev})
	if err != nil || res.Stored != 1 {
		f.t.Fatalf("ingest: %v %+v", err, res)
	}
	c, err := f.st.GetConversation(f.ctx, res.Conversations[0])
	if err != nil {
		f.t.Fatal(err)
	}
	return c.ID, c.ContactID
}

func (f *fixture) conv(id int64) store.Conversation {
	f.t.Helper()
	c, err := f.st.GetConversation(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) contact(id int64) store.Contact {
	f.t.Helper()
	c, err := f.st.GetContact(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) history(id int64) []store.Transition {
	f.t.Helper()
	h, err := f.st.History(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) messages(id int64) []store.Message {
	f.t.Helper()
	ms, err := f.st.ListMessages(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	var me *manage.Error
	if !errors.Is(err, kind) || !errors.As(err, &me) || me.Msg == "" {
		t.Fatalf("error %v, want %v as a *manage.Error", err, kind)
	}
}

func TestChangeStateBlockedAndBackIsRecordedAndIdempotent(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")

	res, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Blocked, "spam")
	if err != nil || !res.Changed || res.Conversation.State != statemachine.Blocked {
		t.Fatalf("to BLOCKED: %+v %v", res, err)
	}
	h := f.history(convID)
	last := h[len(h)-1]
	if len(h) != 2 || last.Event != "set_state" || last.Actor != "alice" || last.Reason != "spam" || last.From != statemachine.Open || last.To != statemachine.Blocked {
		t.Fatalf("history %+v", h)
	}
	c := f.contact(contactID)
	if !c.BlockedInbound || !c.BlockedOutbound || c.Block.Note != "spam" || c.Block.By != "alice" {
		t.Fatalf("contact %+v", c)
	}
	if b, _ := f.wa.calls(); b != 0 {
		t.Fatalf("a state change asked the platform for %d native blocks; it is local only", b)
	}

	// The same state again: a no-op that succeeds.
	again, err := f.m.ChangeState(f.ctx, "bob", "acme", convID, statemachine.Blocked, "")
	if err != nil || again.Changed || len(f.history(convID)) != 2 || f.contact(contactID).Block.By != "alice" {
		t.Fatalf("same state: %+v %v", again, err)
	}

	back, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Open, "false alarm")
	if err != nil || !back.Changed || back.Conversation.State != statemachine.Open {
		t.Fatalf("to OPEN: %+v %v", back, err)
	}
	if c := f.contact(contactID); c.BlockedInbound || c.BlockedOutbound || c.Block.Note != "" {
		t.Fatalf("contact still blocked: %+v", c)
	}
	if f.changed != 2 {
		t.Fatalf("dispatcher woken %d times, want 2", f.changed)
	}
}

func TestChangeStateExpiredIsTerminal(t *testing.T) {
	f := newFixture(t)
	convID, _ := f.inbound("acme", "wa", "316001", "hi")
	if _, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Expired, ""); err != nil {
		t.Fatal(err)
	}
	_, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Open, "")
	wantKind(t, err, manage.ErrExpired)
	if !strings.Contains(err.Error(), "terminal") {
		t.Fatalf("message %q", err)
	}
	if res, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Expired, ""); err != nil || res.Changed {
		t.Fatalf("EXPIRED to EXPIRED: %+v %v", res, err)
	}
}

func TestChangeStateRefusesInvalidStateAndOtherTenants(t *testing.T) {
	f := newFixture(t)
	convID, _ := f.inbound("acme", "wa", "316001", "hi")
	_, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.State(9), "")
	wantKind(t, err, manage.ErrInvalid)
	var me *manage.Error
	if errors.As(err, &me); me.Code != manage.CodeInvalidState || !strings.Contains(me.Msg, "0 OPEN, 1 EXPIRED, 2 AUTO_BOT, 3 CLOSED, 4 BLOCKED") {
		t.Fatalf("invalid state error %+v", me)
	}
	otherConv, otherContact := f.inbound("globex", "web", "visitor", "hello")
	_, err = f.m.ChangeState(f.ctx, "alice", "acme", otherConv, statemachine.Closed, "")
	wantKind(t, err, manage.ErrNotFound)
	if f.conv(otherConv).State != statemachine.Open {
		t.Fatal("another tenant's conversation changed")
	}
	_, err = f.m.Block(f.ctx, "alice", "acme", otherContact, manage.BlockRequest{Inbound: true, Outbound: true})
	wantKind(t, err, manage.ErrNotFound)
	_, err = f.m.Conversation(f.ctx, "acme", otherConv)
	wantKind(t, err, manage.ErrNotFound)
	_, err = f.m.Contact(f.ctx, "acme", otherContact)
	wantKind(t, err, manage.ErrNotFound)
	_, err = f.m.ChangeState(f.ctx, "alice", "nope", convID, statemachine.Closed, "")
	wantKind(t, err, manage.ErrUnknownTenant)
}

func TestBlockBothDirectionsAppliesNativeBlockOnce(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "buy now!!!")
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true, Note: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Blocked) != 1 || res.Blocked[0] != convID || f.conv(convID).State != statemachine.Blocked {
		t.Fatalf("blocked %v, state %v", res.Blocked, f.conv(convID).State)
	}
	c := res.Contact
	if !c.BlockedInbound || !c.BlockedOutbound || c.Block.Note != "spam" || c.Block.By != "alice" || c.Block.At.IsZero() {
		t.Fatalf("contact %+v", c)
	}
	if c.Native.Status != store.NativeApplied || c.Native.Want != manage.WantBlock || c.Native.Attempts != 1 {
		t.Fatalf("native %+v", c.Native)
	}
	h := f.history(convID)
	if last := h[len(h)-1]; last.Event != "block" || last.Actor != "alice" || last.Reason != "spam" {
		t.Fatalf("history %+v", h)
	}

	// A retry changes nothing and never undoes the block.
	again, err := f.m.Block(f.ctx, "bob", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	if err != nil || len(again.Blocked) != 0 || !again.Contact.BlockedInbound || again.Contact.Block.Note != "spam" || again.Contact.Block.By != "alice" {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if b, _ := f.wa.calls(); b != 1 || len(f.history(convID)) != len(h) {
		t.Fatalf("retry called the platform again (%d) or moved the conversation", b)
	}

	// While blocked: messages are recorded on the conversation, which stays
	// BLOCKED.
	conv2, _ := f.inbound("acme", "wa", "316001", "let me in")
	if conv2 != convID || f.conv(convID).State != statemachine.Blocked {
		t.Fatalf("message while blocked went to %d (%v)", conv2, f.conv(conv2).State)
	}
	ms := f.messages(convID)
	if ms[1].StateAtReceipt != statemachine.Blocked {
		t.Fatalf("message while blocked: %+v", ms[1])
	}
}

func TestInboundOnlyBlockStillAllowsReplies(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true})
	if err != nil || !res.Contact.BlockedInbound || res.Contact.BlockedOutbound || f.conv(convID).State != statemachine.Blocked {
		t.Fatalf("inbound block: %+v %v", res, err)
	}
	msg, err := f.m.Reply(f.ctx, "alice", "acme", convID, "we have noted your request")
	if err != nil || msg.Direction != store.Outbound || msg.StateAtReceipt != statemachine.Blocked {
		t.Fatalf("reply to an inbound-only block: %+v %v", msg, err)
	}
}

func TestOutboundOnlyBlockKeepsStatesAndRefusesReplies(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Outbound: true, Note: "asked not to be contacted"})
	if err != nil || res.Contact.BlockedInbound || !res.Contact.BlockedOutbound || len(res.Blocked) != 0 {
		t.Fatalf("outbound block: %+v %v", res, err)
	}
	if f.conv(convID).State != statemachine.Open {
		t.Fatalf("state %v, want OPEN", f.conv(convID).State)
	}
	if b, _ := f.wa.calls(); b != 0 || res.Contact.Native.Status != store.NativeNone {
		t.Fatalf("an outbound-only block asked the platform (%d calls, native %+v)", b, res.Contact.Native)
	}
	_, err = f.m.Reply(f.ctx, "alice", "acme", convID, "hello?")
	wantKind(t, err, manage.ErrContactBlocked)
	if len(f.wa.sent) != 0 {
		t.Fatal("a reply reached the platform")
	}
	// Inbound messages still flow normally.
	f.inbound("acme", "wa", "316001", "me again")
	if f.conv(convID).State != statemachine.Open {
		t.Fatal("an inbound message of an outbound-blocked contact changed the state")
	}

	// A channel without a native block reports it.
	_, lineContact := f.inbound("acme", "line", "U1", "hi")
	res, err = f.m.Block(f.ctx, "alice", "acme", lineContact, manage.BlockRequest{Outbound: true})
	if err != nil || res.Contact.Native.Status != store.NativeUnsupported {
		t.Fatalf("line outbound block: %+v %v", res.Contact.Native, err)
	}
}

func TestNarrowingABlockToOutboundReleasesConversations(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Outbound: true})
	if err != nil || len(res.Unblocked) != 1 || f.conv(convID).State != statemachine.Open || res.Contact.BlockedInbound {
		t.Fatalf("narrowed: %+v %v", res, err)
	}
	if _, u := f.wa.calls(); u != 1 || res.Contact.Native.Want != manage.WantUnblock || res.Contact.Native.Status != store.NativeApplied {
		t.Fatalf("native unblock calls %d, native %+v", u, res.Contact.Native)
	}
}

func TestUnblockReturnsToOpenOrAutoBotAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	waConv, waContact := f.inbound("acme", "wa", "316001", "hi")
	botConv, botContact := f.inbound("acme", "bot", "316002", "menu")
	for _, id := range []int64{waContact, botContact} {
		if _, err := f.m.Block(f.ctx, "alice", "acme", id, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.m.Unblock(f.ctx, "bob", "acme", waContact)
	if err != nil || len(res.Unblocked) != 1 || f.conv(waConv).State != statemachine.Open {
		t.Fatalf("unblock wa: %+v %v", res, err)
	}
	if c := res.Contact; c.BlockedInbound || c.BlockedOutbound || c.Block.By != "" || c.Native.Want != manage.WantUnblock || c.Native.Status != store.NativeApplied {
		t.Fatalf("contact after unblock %+v", c)
	}
	h := f.history(waConv)
	if last := h[len(h)-1]; last.Event != "unblock" || last.Actor != "bob" || last.To != statemachine.Open {
		t.Fatalf("history %+v", last)
	}
	all, err := f.m.UnblockAll(f.ctx, "bob", "acme", botContact)
	if err != nil || len(all.Unblocked) != 1 || all.Unblocked[0] != botConv || f.conv(botConv).State != statemachine.AutoBot {
		t.Fatalf("unblock-all bot: %+v %v (state %v)", all, err, f.conv(botConv).State)
	}
	// Again: nothing changes, the platform is not called again.
	again, err := f.m.Unblock(f.ctx, "bob", "acme", waContact)
	if _, u := f.wa.calls(); err != nil || len(again.Unblocked) != 0 || u != 1 {
		t.Fatalf("second unblock: %+v %v, %d unblock calls", again, err, u)
	}
	if f.conv(waConv).State != statemachine.Open {
		t.Fatal("a second unblock moved the conversation")
	}
}

func TestMessagesDuringABlockAreNotPushedOrReprocessedAfterTheUnblock(t *testing.T) {
	f := newFixture(t)
	if _, err := f.m.SetExcludedStates(f.ctx, "support", acmeOrg, statemachine.NewSet(statemachine.AutoBot, statemachine.Blocked)); err != nil {
		t.Fatal(err)
	}
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	f.inbound("acme", "wa", "316001", "during the block")
	if _, err := f.m.Unblock(f.ctx, "alice", "acme", contactID); err != nil {
		t.Fatal(err)
	}
	f.inbound("acme", "wa", "316001", "after the unblock")
	ms := f.messages(convID)
	if len(ms) != 3 {
		t.Fatalf("%d messages", len(ms))
	}
	if ms[0].PushStatus != store.Pending || ms[1].PushStatus != store.Excluded || ms[2].PushStatus != store.Pending {
		t.Fatalf("push statuses %s %s %s", ms[0].PushStatus, ms[1].PushStatus, ms[2].PushStatus)
	}
	if ms[1].StateAtReceipt != statemachine.Blocked || !strings.Contains(ms[1].PushReason, "BLOCKED is excluded") {
		t.Fatalf("message during the block %+v", ms[1])
	}
}

func TestDeleteAllRemovesBlockedConversationsAndReports(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "spam 1")
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	f.inbound("acme", "wa", "316001", "spam 2")
	f.inbound("acme", "wa", "316001", "spam 3")
	otherConv, _ := f.inbound("acme", "wa", "316009", "a normal customer")

	res, err := f.m.DeleteAll(f.ctx, "admin", "acme", contactID)
	if err != nil || len(res.Conversations) != 1 || res.Conversations[0] != convID || res.Messages != 3 {
		t.Fatalf("delete-all: %+v %v", res, err)
	}
	if _, err := f.st.GetConversation(f.ctx, convID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conversation still there: %v", err)
	}
	if c := f.contact(contactID); !c.BlockedInbound {
		t.Fatal("the contact lost its block")
	}
	if len(f.messages(otherConv)) != 1 {
		t.Fatal("another contact's conversation was touched")
	}
	again, err := f.m.DeleteAll(f.ctx, "admin", "acme", contactID)
	if err != nil || len(again.Conversations) != 0 || again.Messages != 0 {
		t.Fatalf("second delete-all: %+v %v", again, err)
	}
}

func TestNativeFailureKeepsLocalBlockPendingUntilARetryApplies(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	f.wa.blockErr = errors.New("graph api: 503 service unavailable")
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	if err != nil {
		t.Fatal(err)
	}
	nb := res.Contact.Native
	if !res.Contact.BlockedInbound || f.conv(convID).State != statemachine.Blocked {
		t.Fatal("the local block is not in force")
	}
	if nb.Status != store.NativePending || nb.Attempts != 1 || !strings.Contains(nb.Error, "503") || nb.NextAttemptAt.IsZero() {
		t.Fatalf("native %+v", nb)
	}
	// Not due yet: nothing is called.
	if n, err := f.m.RetryNativeBlocks(f.ctx); err != nil || n != 0 {
		t.Fatalf("early retry: %d %v", n, err)
	}
	f.advance(2 * time.Minute)
	f.wa.mu.Lock()
	f.wa.blockErr = nil
	f.wa.mu.Unlock()
	if n, err := f.m.RetryNativeBlocks(f.ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	c := f.contact(contactID)
	if c.Native.Status != store.NativeApplied || c.Native.Attempts != 2 || c.Native.Error != "" {
		t.Fatalf("native after the retry %+v", c.Native)
	}
	if n, err := f.m.RetryNativeBlocks(f.ctx); err != nil || n != 0 {
		t.Fatalf("nothing left to retry: %d %v", n, err)
	}
}

func TestNativeRefusalIsFailedAndGivingUpAfterTheLastAttempt(t *testing.T) {
	f := newFixture(t)
	_, contactID := f.inbound("acme", "wa", "316001", "hi")
	f.wa.blockErr = fmt.Errorf("whatsapp: block: (#131047) more than 24 hours have passed: %w", platform.ErrSendRejected)
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	if err != nil || res.Contact.Native.Status != store.NativeFailed || !strings.Contains(res.Contact.Native.Error, "131047") {
		t.Fatalf("refused: %+v %v", res.Contact.Native, err)
	}
	if !res.Contact.BlockedInbound {
		t.Fatal("the local block is not in force")
	}
	// Unblocking clears a native block that never held.
	un, err := f.m.Unblock(f.ctx, "alice", "acme", contactID)
	if _, u := f.wa.calls(); err != nil || un.Contact.Native.Status != store.NativeNone || u != 0 {
		t.Fatalf("unblock of a failed native block: %+v %v, %d calls", un.Contact.Native, err, u)
	}

	_, other := f.inbound("acme", "wa", "316002", "hi")
	f.wa.mu.Lock()
	f.wa.blockErr = errors.New("connection reset")
	f.wa.mu.Unlock()
	if _, err := f.m.Block(f.ctx, "alice", "acme", other, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		f.advance(2 * time.Hour)
		if _, err := f.m.RetryNativeBlocks(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	c := f.contact(other)
	if c.Native.Status != store.NativeFailed || c.Native.Attempts != manage.DefaultMaxNativeAttempts || !strings.Contains(c.Native.Error, "gave up after 10 attempts") {
		t.Fatalf("native after the last attempt %+v", c.Native)
	}
}

func TestRetryBackoffGrows(t *testing.T) {
	f := newFixture(t)
	_, contactID := f.inbound("acme", "wa", "316001", "hi")
	f.wa.blockErr = errors.New("timeout")
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for i := 0; i < 4; i++ {
		c := f.contact(contactID)
		waits = append(waits, c.Native.NextAttemptAt.Sub(c.Native.UpdatedAt).Round(time.Second))
		f.advance(2 * time.Hour)
		if _, err := f.m.RetryNativeBlocks(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
}

func TestBlockingDisabledRefusesBlocksButNotUnblocks(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	b, err := f.m.SetBlockingEnabled(f.ctx, "admin", "acme", false)
	if err != nil || b.Enabled || b.Source != ingest.SourceAPI || b.UpdatedBy != "admin" {
		t.Fatalf("switch off: %+v %v", b, err)
	}
	_, err = f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	wantKind(t, err, manage.ErrBlockingDisabled)
	if !strings.Contains(err.Error(), "blocking is disabled for tenant acme") {
		t.Fatalf("message %q", err)
	}
	if _, err := f.m.Unblock(f.ctx, "alice", "acme", contactID); err != nil {
		t.Fatalf("unblock while disabled: %v", err)
	}
	_, err = f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Blocked, "")
	wantKind(t, err, manage.ErrBlockingDisabled)
	if f.conv(convID).State != statemachine.Open || f.contact(contactID).BlockedInbound {
		t.Fatal("a refused block changed something")
	}
	if _, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Closed, ""); err != nil {
		t.Fatalf("other states while blocking is off: %v", err)
	}
	on, err := f.m.BlockingEnabled(f.ctx, "globex")
	if err != nil || !on.Enabled || on.Source != ingest.SourceConfig {
		t.Fatalf("default switch: %+v %v", on, err)
	}
}

func TestBlockNeedsADirection(t *testing.T) {
	f := newFixture(t)
	_, contactID := f.inbound("acme", "wa", "316001", "hi")
	_, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Note: "x"})
	wantKind(t, err, manage.ErrInvalid)
}

func TestReplySendsStoresAndRefuses(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	msg, err := f.m.Reply(f.ctx, "alice", "acme", convID, "hello Ann")
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID == 0 || !strings.HasPrefix(msg.PlatformID, manage.OutboundIDPrefix) || msg.SentID != "wamid.OUT1" ||
		msg.DeliveryStatus != store.DeliverySent || msg.SendAttempts != 1 || msg.Direction != store.Outbound || msg.Kind != "text" || msg.Sender != "alice" ||
		msg.PushStatus != store.Pending || msg.StateAtReceipt != statemachine.Open || msg.ContactID != contactID {
		t.Fatalf("reply %+v", msg)
	}
	if ms := f.messages(convID); len(ms) != 2 || ms[1].DeliveryStatus != store.DeliverySent || ms[1].SentID != "wamid.OUT1" {
		t.Fatalf("stored %+v", ms)
	}
	if f.wa.sent[0] != "316001: hello Ann" || len(f.messages(convID)) != 2 {
		t.Fatalf("sent %v", f.wa.sent)
	}

	// Excluded state: stored, not pushed.
	botConv, _ := f.inbound("acme", "bot", "316002", "menu")
	bm, err := f.m.Reply(f.ctx, "bot-flow", "acme", botConv, "pick 1 or 2")
	if err != nil || bm.PushStatus != store.Excluded || !strings.Contains(bm.PushReason, "AUTO_BOT is excluded") {
		t.Fatalf("reply in AUTO_BOT: %+v %v", bm, err)
	}

	for _, blank := range []string{"", "   ", "\n\t"} {
		_, err = f.m.Reply(f.ctx, "alice", "acme", convID, blank)
		wantKind(t, err, manage.ErrInvalid)
	}
	_, err = f.m.Reply(f.ctx, "alice", "acme", convID, strings.Repeat("x", manage.MaxTextLen+1))
	wantKind(t, err, manage.ErrInvalid)
	if ms := f.messages(convID); len(ms) != 2 || len(f.wa.sent) != 1 {
		t.Fatalf("a refused reply was stored or sent: %d messages, sent %v", len(ms), f.wa.sent)
	}

	// A transient failure: stored, still sending, retried by RetrySends
	// once due.
	f.wa.mu.Lock()
	f.wa.sendErr = errors.New("graph api: 500")
	f.wa.mu.Unlock()
	again, err := f.m.Reply(f.ctx, "alice", "acme", convID, "again")
	if err != nil || again.DeliveryStatus != store.DeliverySending || again.SendError != "graph api: 500" || again.SendAttempts != 1 {
		t.Fatalf("reply on a transient failure: %+v %v", again, err)
	}
	if n, err := f.m.RetrySends(f.ctx); n != 0 || err != nil {
		t.Fatalf("RetrySends before the retry is due: %d %v", n, err)
	}
	f.wa.mu.Lock()
	f.wa.sendErr = nil
	f.now = f.now.Add(time.Minute) // RetryMin
	f.wa.mu.Unlock()
	if n, err := f.m.RetrySends(f.ctx); n != 1 || err != nil {
		t.Fatalf("RetrySends when due: %d %v", n, err)
	}
	ms := f.messages(convID)
	if len(ms) != 3 || ms[2].ID != again.ID || ms[2].DeliveryStatus != store.DeliverySent || ms[2].SendAttempts != 2 || ms[2].SentID == "" {
		t.Fatalf("after the retry: %+v", ms)
	}

	// A permanent refusal: stored, failed with the reason, ErrPlatform.
	f.wa.mu.Lock()
	f.wa.sendErr = fmt.Errorf("graph api: error 131026: %w", platform.ErrSendRejected)
	f.wa.mu.Unlock()
	refused, err := f.m.Reply(f.ctx, "alice", "acme", convID, "refused")
	wantKind(t, err, manage.ErrPlatform)
	if refused.DeliveryStatus != store.DeliveryFailed || !strings.Contains(refused.SendError, "131026") {
		t.Fatalf("refused reply %+v", refused)
	}
	f.wa.mu.Lock()
	f.wa.sendErr = nil
	f.wa.mu.Unlock()

	lineConv, _ := f.inbound("acme", "line", "U1", "hi")
	_, err = f.m.Reply(f.ctx, "alice", "acme", lineConv, "hello")
	wantKind(t, err, manage.ErrSendUnsupported)

	_, unreachable := f.inbound("acme", "wa", "316003", "hi")
	err = f.st.WithTx(f.ctx, func(tx store.Tx) error {
		_, err := tx.SetContactPlatformStatus(f.ctx, unreachable, "blocked", t0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	urConv, _ := f.inbound("acme", "wa", "316003", "hi again")
	_, err = f.m.Reply(f.ctx, "alice", "acme", urConv, "hello")
	wantKind(t, err, manage.ErrUnreachable)

	if _, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Expired, ""); err != nil {
		t.Fatal(err)
	}
	_, err = f.m.Reply(f.ctx, "alice", "acme", convID, "too late")
	wantKind(t, err, manage.ErrExpired)
}

func TestExcludedStatesDefaultConfigAndAPI(t *testing.T) {
	f := newFixture(t)
	ex, err := f.m.ExcludedStates(f.ctx, acmeOrg)
	if err != nil || ex.OrgID != "00D000000000001" || ex.States != statemachine.DefaultExcluded() || ex.Source != ingest.SourceDefault {
		t.Fatalf("default: %+v %v", ex, err)
	}
	ex, err = f.m.ExcludedStates(f.ctx, globexOrg+"XYZ")
	if err != nil || ex.States != statemachine.NewSet(statemachine.Blocked) || ex.Source != ingest.SourceConfig {
		t.Fatalf("config: %+v %v", ex, err)
	}
	set, err := f.m.SetExcludedStates(f.ctx, "support", acmeOrg, statemachine.NewSet(statemachine.Blocked, statemachine.AutoBot))
	if err != nil || set.States.String() != "AUTO_BOT,BLOCKED" || set.Source != ingest.SourceAPI || set.UpdatedBy != "support" || set.UpdatedAt.IsZero() {
		t.Fatalf("set: %+v %v", set, err)
	}
	// The 15-character form names the same org.
	ex, err = f.m.ExcludedStates(f.ctx, "00D000000000001")
	if err != nil || ex != set {
		t.Fatalf("15-char read %+v, want %+v (%v)", ex, set, err)
	}
	none, err := f.m.SetExcludedStates(f.ctx, "support", "00D000000000001", 0)
	if err != nil || none.States != 0 || none.Source != ingest.SourceAPI {
		t.Fatalf("set none: %+v %v", none, err)
	}
	// Messages follow the stored setting.
	convID, _ := f.inbound("acme", "bot", "316002", "menu")
	if ms := f.messages(convID); ms[0].PushStatus != store.Pending {
		t.Fatalf("AUTO_BOT message with nothing excluded: %s", ms[0].PushStatus)
	}
	hist, err := f.st.SettingHistory(f.ctx, ingest.OrgScope(acmeOrg), ingest.SettingExcludedStates)
	if err != nil || len(hist) != 2 || hist[0].Value != "AUTO_BOT,BLOCKED" || hist[1].Value != "" {
		t.Fatalf("history %+v %v", hist, err)
	}
	for _, bad := range []string{"", "00X000000000001", "00D00000000000", "00D0000000000011", "00D000000000001-AB"} {
		_, err := f.m.ExcludedStates(f.ctx, bad)
		wantKind(t, err, manage.ErrInvalid)
		var me *manage.Error
		if errors.As(err, &me); me.Code != manage.CodeInvalidOrgID {
			t.Fatalf("%q: code %q", bad, me.Code)
		}
	}
}

func TestTagsAndNotes(t *testing.T) {
	f := newFixture(t)
	_, contactID := f.inbound("acme", "wa", "316001", "hi")
	d, err := f.m.SetTags(f.ctx, "alice", "acme", contactID, []string{" vip", "b2b", "vip"})
	if err != nil || strings.Join(d.Contact.Tags, ",") != "b2b,vip" {
		t.Fatalf("tags: %+v %v", d.Contact.Tags, err)
	}
	_, err = f.m.SetTags(f.ctx, "alice", "acme", contactID, []string{"ok", " "})
	wantKind(t, err, manage.ErrInvalid)
	var me *manage.Error
	if errors.As(err, &me); me.Field != "tags[1]" {
		t.Fatalf("field %q", me.Field)
	}
	n, err := f.m.AddNote(f.ctx, "alice", "acme", contactID, "prefers English")
	if err != nil || n.ID == 0 || n.Author != "alice" || n.Text != "prefers English" {
		t.Fatalf("note: %+v %v", n, err)
	}
	d, err = f.m.Contact(f.ctx, "acme", contactID)
	if err != nil || len(d.Notes) != 1 {
		t.Fatalf("contact: %+v %v", d, err)
	}
	vip, err := f.m.Contacts(f.ctx, "acme", store.ContactFilter{Tag: "vip"})
	if err != nil || len(vip) != 1 || vip[0].ID != contactID {
		t.Fatalf("by tag: %+v %v", vip, err)
	}
	e, err := f.m.EditNote(f.ctx, "bob", "acme", contactID, n.ID, " prefers English or Dutch ")
	if err != nil || e.Text != "prefers English or Dutch" || e.Author != "alice" || e.EditedBy != "bob" || e.EditedAt.IsZero() || !e.CreatedAt.Equal(n.CreatedAt) {
		t.Fatalf("edited note: %+v %v", e, err)
	}
	_, err = f.m.EditNote(f.ctx, "bob", "acme", contactID, n.ID, " ")
	wantKind(t, err, manage.ErrInvalid)
	_, err = f.m.EditNote(f.ctx, "bob", "globex", contactID, n.ID, "x")
	wantKind(t, err, manage.ErrNotFound)
	if d, _ := f.m.Contact(f.ctx, "acme", contactID); d.Notes[0].Text != "prefers English or Dutch" {
		t.Fatalf("notes after the edits: %+v", d.Notes)
	}
	if err := f.m.DeleteNote(f.ctx, "alice", "acme", contactID, n.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.m.DeleteNote(f.ctx, "alice", "acme", contactID, n.ID), manage.ErrNotFound)
	_, err = f.m.EditNote(f.ctx, "bob", "acme", contactID, n.ID, "x")
	wantKind(t, err, manage.ErrNotFound)
	_, err = f.m.AddNote(f.ctx, "alice", "acme", contactID, "  ")
	wantKind(t, err, manage.ErrInvalid)
}

func TestWebChatNativeBlockIsTheConnectorsOwn(t *testing.T) {
	f := newFixture(t)
	_, contactID := f.inbound("acme", "site", "v-1", "hi")
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	if err != nil || res.Contact.Native.Status != store.NativeApplied || res.Contact.Native.Want != manage.WantBlock {
		t.Fatalf("block: %+v %v", res.Contact.Native, err)
	}
	un, err := f.m.Unblock(f.ctx, "alice", "acme", contactID)
	if err != nil || un.Contact.Native.Status != store.NativeApplied || un.Contact.Native.Want != manage.WantUnblock {
		t.Fatalf("unblock: %+v %v", un.Contact.Native, err)
	}
	if n, err := f.m.RetryNativeBlocks(f.ctx); err != nil || n != 0 {
		t.Fatalf("retry: %d %v", n, err)
	}
}

// TestReplyRefusedBecauseTheUserBlockedTheBusinessIsRecorded: a send the
// platform refuses because the user blocked the business (Twilio's 21610
// after STOP) is recorded on the contact, and the next reply is refused
// without calling the platform.
func TestReplyRefusedBecauseTheUserBlockedTheBusinessIsRecorded(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316009", "STOPALL")
	f.wa.mu.Lock()
	f.wa.sendErr = fmt.Errorf("twilio: error 21610: %w: %w", platform.ErrSendRejected, platform.ErrRecipientBlocked)
	f.wa.mu.Unlock()
	_, err := f.m.Reply(f.ctx, "alice", "acme", convID, "are you there?")
	wantKind(t, err, manage.ErrUnreachable)
	if c := f.contact(contactID); c.PlatformStatus != "blocked" || !c.UnreachableOnPlatform() {
		t.Fatalf("contact after the refusal: status %q, want blocked", c.PlatformStatus)
	}
	f.wa.mu.Lock()
	f.wa.sendErr = nil
	f.wa.mu.Unlock()
	_, err = f.m.Reply(f.ctx, "alice", "acme", convID, "hello?")
	wantKind(t, err, manage.ErrUnreachable)
	if len(f.wa.sent) != 0 {
		t.Errorf("the platform was called for a contact known to have blocked the business: %v", f.wa.sent)
	}
	// The refused reply stays, failed with the reason; the second one was
	// refused before anything was stored.
	ms := f.messages(convID)
	if len(ms) != 2 || ms[1].DeliveryStatus != store.DeliveryFailed || !strings.Contains(ms[1].SendError, "21610") {
		t.Errorf("messages %+v, want the inbound one and the failed reply", ms)
	}
}

func TestOptOutKeywordsSetByAnAdmin(t *testing.T) {
	f := newFixture(t)
	o, err := f.m.OptOutKeywords(f.ctx, "acme")
	if err != nil || o.Source != ingest.SourceConfig {
		t.Fatalf("before: %+v %v", o, err)
	}
	o, err = f.m.SetOptOutKeywords(f.ctx, "boss", "acme", []string{" Unsubscribe ", "do  not   disturb"})
	if err != nil || strings.Join(o.Keywords, "|") != "Unsubscribe|do not disturb" || o.Source != ingest.SourceAPI || o.UpdatedBy != "boss" || o.UpdatedAt.IsZero() {
		t.Fatalf("set: %+v %v", o, err)
	}
	for _, bad := range [][]string{{"STOP", " "}, {"STOP", "stop"}, {strings.Repeat("x", manage.MaxKeywordLen+1)}} {
		_, err := f.m.SetOptOutKeywords(f.ctx, "boss", "acme", bad)
		wantKind(t, err, manage.ErrInvalid)
		if !strings.Contains(err.Error(), "opt_out_keywords[") {
			t.Fatalf("%q: %v does not name the keyword", bad, err)
		}
	}
	if o, _ := f.m.OptOutKeywords(f.ctx, "acme"); strings.Join(o.Keywords, "|") != "Unsubscribe|do not disturb" {
		t.Fatalf("a refused change changed the keywords: %+v", o)
	}
	if o, err := f.m.SetOptOutKeywords(f.ctx, "boss", "acme", nil); err != nil || o.Keywords == nil || len(o.Keywords) != 0 {
		t.Fatalf("none: %#v %v", o, err)
	}
	_, err = f.m.SetOptOutKeywords(f.ctx, "boss", "nope", nil)
	wantKind(t, err, manage.ErrUnknownTenant)
}

// optOut records an opt-out of contact as ingestion does.
func (f *fixture) optOut(contact int64, keyword string) {
	f.t.Helper()
	if err := f.st.WithTx(f.ctx, func(tx store.Tx) error {
		_, err := tx.SetContactOptOut(f.ctx, contact, store.OptOut{Keyword: keyword, At: f.clock()}, f.clock())
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
}

// TestAReplyWaitingForItsRetryIsNotSentAfterABlockOrAnOptOut: a reply
// stored before the contact was blocked for outbound, or opted out, is
// never sent afterwards: its retry fails it without calling the platform.
// The opt-out's own last reply is the one message sent after an opt-out.
func TestAReplyWaitingForItsRetryIsNotSentAfterABlockOrAnOptOut(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stop   func(f *fixture, contact int64)
		reason string
	}{
		{"outbound block", func(f *fixture, contact int64) {
			if _, err := f.m.Block(f.ctx, "alice", "acme", contact, manage.BlockRequest{Outbound: true}); err != nil {
				f.t.Fatal(err)
			}
		}, "blocked for outbound"},
		{"opt-out", func(f *fixture, contact int64) { f.optOut(contact, "STOP") }, "opted out (opt-out keyword STOP)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			convID, contactID := f.inbound("acme", "wa", "316001", "hi")
			f.wa.mu.Lock()
			f.wa.sendErr = errors.New("graph api: 503")
			f.wa.mu.Unlock()
			queued, err := f.m.Reply(f.ctx, "alice", "acme", convID, "our offer")
			if err != nil || queued.DeliveryStatus != store.DeliverySending {
				t.Fatalf("reply on a transient failure: %+v %v", queued, err)
			}
			tc.stop(f, contactID)
			f.wa.mu.Lock()
			f.wa.sendErr = nil
			f.wa.mu.Unlock()
			f.advance(2 * time.Hour)
			if n, err := f.m.RetrySends(f.ctx); n != 1 || err != nil {
				t.Fatalf("RetrySends: %d %v", n, err)
			}
			if len(f.wa.sent) != 0 {
				t.Fatalf("the platform was sent %q", f.wa.sent)
			}
			ms := f.messages(convID)
			if m := ms[len(ms)-1]; m.ID != queued.ID || m.DeliveryStatus != store.DeliveryFailed || !strings.Contains(m.SendError, tc.reason) {
				t.Fatalf("the queued reply: %+v, want failed: %s", m, tc.reason)
			}
			// Failed for good: the timers never take it again.
			f.advance(2 * time.Hour)
			if n, err := f.m.RetrySends(f.ctx); n != 0 || err != nil {
				t.Fatalf("RetrySends after the failure: %d %v", n, err)
			}
		})
	}

	// The opt-out's last reply goes out after the opt-out, but not after
	// an agent's outbound block.
	f := newFixture(t)
	_, contactID := f.inbound("acme", "wa", "316002", "STOP")
	f.optOut(contactID, "STOP")
	last, err := f.m.QueueLastReply(f.ctx, "acme", contactID, "You will not hear from us again.")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.m.Send(f.ctx, last); err != nil || m.DeliveryStatus != store.DeliverySent {
		t.Fatalf("the last reply: %+v %v", m, err)
	}
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Outbound: true}); err != nil {
		t.Fatal(err)
	}
	again, err := f.m.QueueLastReply(f.ctx, "acme", contactID, "You will not hear from us again.")
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.m.Send(f.ctx, again)
	wantKind(t, err, manage.ErrContactBlocked)
	if m.DeliveryStatus != store.DeliveryFailed || len(f.wa.sent) != 1 {
		t.Fatalf("a last reply after an outbound block: %+v, sent %q", m, f.wa.sent)
	}
}

// TestOnlyLiftingAnOptOutEndsIt: blocking and unblocking a contact who
// opted out (by the API or by a state change) leave its opt-out; replies
// stay refused until LiftOptOut, which is idempotent.
func TestOnlyLiftingAnOptOutEndsIt(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "STOP")
	f.optOut(contactID, "STOP")
	refused := func(step string) {
		t.Helper()
		_, err := f.m.Reply(f.ctx, "alice", "acme", convID, "promo")
		wantKind(t, err, manage.ErrContactBlocked)
		if !strings.Contains(err.Error(), "opted out (opt-out keyword STOP)") {
			t.Fatalf("%s: the refusal %q does not say the contact opted out", step, err)
		}
	}
	refused("opted out")
	if _, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Blocked, "rude"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Open, ""); err != nil {
		t.Fatal(err)
	}
	refused("after BLOCKED and back to OPEN")
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Unblock(f.ctx, "alice", "acme", contactID); err != nil {
		t.Fatal(err)
	}
	refused("after a block and an unblock")
	if c := f.contact(contactID); c.OptOut.Keyword != "STOP" || c.BlockedInbound || c.BlockedOutbound {
		t.Fatalf("contact %+v, want opted out and not blocked", c)
	}

	for range 2 {
		c, err := f.m.LiftOptOut(f.ctx, "alice", "acme", contactID)
		if err != nil || c.OptedOut() {
			t.Fatalf("LiftOptOut: %+v %v", c.OptOut, err)
		}
	}
	if _, err := f.m.Reply(f.ctx, "alice", "acme", convID, "welcome back"); err != nil {
		t.Fatalf("a reply after the opt-out was lifted: %v", err)
	}
	_, err := f.m.LiftOptOut(f.ctx, "alice", "globex", contactID)
	wantKind(t, err, manage.ErrNotFound)
	_, err = f.m.LiftOptOut(f.ctx, "alice", "nope", contactID)
	wantKind(t, err, manage.ErrUnknownTenant)
}

// TestLineRepliesCarryOneRetryKeyPerMessage: every attempt to send one
// reply on LINE carries the same X-Line-Retry-Key, derived from the
// message's id, so that LINE delivers it once however often it is sent.
func TestLineRepliesCarryOneRetryKeyPerMessage(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(line.RetryKeyHeader))
		first := len(keys) == 1
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if first {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"message":"An error occurred in the backend"}`))
			return
		}
		_, _ = w.Write([]byte(`{"sentMessages":[{"id":"461230966842064897"}]}`))
	}))
	defer srv.Close()
	la, err := line.New(line.Config{ChannelSecret: "s", ChannelAccessToken: "t", APIURL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	m := manage.New(manage.Config{Store: f.st, Log: zerolog.Nop(), Now: f.clock, RetryMin: time.Minute, RetryMax: time.Hour,
		Tenants: []manage.Tenant{{ID: "acme", OrgID: acmeOrg, Excluded: statemachine.DefaultExcluded(),
			Channels: map[string]manage.Channel{"line": {ID: "line", Adapter: la}}}}})
	convID, _ := f.inbound("acme", "line", "U4af4980629", "hello")
	msg, err := m.Reply(f.ctx, "alice", "acme", convID, "hello from the shop")
	if err != nil || msg.DeliveryStatus != store.DeliverySending {
		t.Fatalf("reply on LINE's 500: %+v %v", msg, err)
	}
	f.mu.Lock()
	f.now = f.now.Add(time.Minute)
	f.mu.Unlock()
	if n, err := m.RetrySends(f.ctx); n != 1 || err != nil {
		t.Fatalf("RetrySends: %d %v", n, err)
	}
	ms := f.messages(convID)
	if last := ms[len(ms)-1]; last.ID != msg.ID || last.DeliveryStatus != store.DeliverySent || last.SentID != "461230966842064897" {
		t.Fatalf("after the retry: %+v", last)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := line.RetryKeyFrom(msg.PlatformID); len(keys) != 2 || keys[0] != want || keys[1] != want {
		t.Fatalf("retry keys %q, want twice %q", keys, want)
	}
}

// TestAReceiveOnlyChannelSendsAndBlocksNothing: a channel configured
// without its platform's credential refuses replies as a channel that
// can not send, and its contacts' blocks are local only: the platform is
// never called.
func TestAReceiveOnlyChannelSendsAndBlocksNothing(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "ro", "316009", "hi")
	_, err := f.m.Reply(f.ctx, "alice", "acme", convID, "hello")
	wantKind(t, err, manage.ErrSendUnsupported)
	if !strings.Contains(err.Error(), "receives only (no access token configured)") {
		t.Errorf("the refusal %q does not say why", err)
	}
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contact.Native.Status != store.NativeUnsupported {
		t.Errorf("native block %+v, want unsupported", res.Contact.Native)
	}
	if blocks, _ := f.ro.calls(); blocks != 0 || len(f.ro.sent) != 0 || len(f.messages(convID)) != 1 {
		t.Errorf("the platform was called: %d blocks, sent %q; messages %d", blocks, f.ro.sent, len(f.messages(convID)))
	}
}

// TestAStateChangeBySomeoneIsActivity: an agent's reopen and an unblock
// count as the conversation's activity, so the timers measure the
// silence from them, not from the customer's last message days before.
func TestAStateChangeBySomeoneIsActivity(t *testing.T) {
	f := newFixture(t)
	convID, contactID := f.inbound("acme", "wa", "316001", "hi")
	activity := func() time.Time {
		t.Helper()
		c, err := f.st.GetConversation(f.ctx, convID)
		if err != nil {
			t.Fatal(err)
		}
		return c.LastActivityAt
	}
	f.advance(48 * time.Hour)
	sc, err := f.m.ChangeState(f.ctx, "alice", "acme", convID, statemachine.Closed, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := activity(); !got.Equal(sc.Conversation.LastActivityAt) || got.Before(t0.Add(48*time.Hour)) {
		t.Fatalf("after the agent's change the activity is %s (answer %s), want the change's time", got, sc.Conversation.LastActivityAt)
	}
	if _, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true}); err != nil {
		t.Fatal(err)
	}
	f.advance(72 * time.Hour)
	before := activity()
	if _, err := f.m.Unblock(f.ctx, "alice", "acme", contactID); err != nil {
		t.Fatal(err)
	}
	if got := activity(); !got.After(before.Add(71 * time.Hour)) {
		t.Fatalf("after the unblock the activity is %s, want the unblock's time (was %s)", got, before)
	}
}

// TestARetriedBlockWhileItsCallRunsCallsThePlatformOnce: a block request
// retried while the first one's native call is still running asks the
// platform nothing more; both answer the block.
func TestARetriedBlockWhileItsCallRunsCallsThePlatformOnce(t *testing.T) {
	f := newFixture(t)
	_, contactID := f.inbound("acme", "wa", "316001", "hi")
	hold, entered := make(chan struct{}), make(chan struct{}, 4)
	f.wa.mu.Lock()
	f.wa.hold, f.wa.entered = hold, entered
	f.wa.mu.Unlock()
	first := make(chan error, 1)
	go func() {
		_, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
		first <- err
	}()
	select {
	case <-entered: // the first block's call runs
	case <-time.After(10 * time.Second):
		t.Fatal("the first block never called the platform")
	}
	res, err := f.m.Block(f.ctx, "alice", "acme", contactID, manage.BlockRequest{Inbound: true, Outbound: true})
	if err != nil || res.Contact.Native.Status != store.NativePending {
		t.Fatalf("the retried block: %+v, %v; want the native block pending", res.Contact.Native, err)
	}
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if blocks, _ := f.wa.calls(); blocks != 1 {
		t.Errorf("the platform was asked %d times, want once", blocks)
	}
}
