package sfsync_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/sfsync"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/connector/store/storetest"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

const agent = "005000000000077AAA"

type fixture struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlite.Store
	sf     *standin.Server
	client *sfclient.Client
	m      *manage.Manager
	p      *sfsync.Poller
	mp     config.ConversationMapping
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, standin.Options{})
}

func newFixtureWith(t *testing.T, opts standin.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sync.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sf := standin.New(opts)
	ts := httptest.NewServer(sf)
	t.Cleanup(ts.Close)
	c, err := sfclient.New(sfclient.Config{OrgID: standin.DefaultOrgID, LoginURL: ts.URL, Flow: sfclient.FlowClientCredentials,
		ClientID: "id", ClientSecret: "secret", HTTPClient: ts.Client(), RetryMax: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := manage.New(manage.Config{Store: st, Log: zerolog.Nop(), Tenants: []manage.Tenant{{ID: "t1", OrgID: standin.DefaultOrgID, Blocking: true,
		Excluded: statemachine.DefaultExcluded(), Channels: map[string]manage.Channel{"wa": {ID: "wa"}}}}})
	mp := config.DefaultMapping().Conversation
	p := &sfsync.Poller{Store: st, Manager: m, Log: zerolog.Nop(),
		Orgs: []sfsync.Org{{Key: standin.DefaultOrgID[:15], Client: c, Mapping: mp, Tenants: []string{"t1"}}}}
	return &fixture{t: t, ctx: ctx, st: st, sf: sf, client: c, m: m, p: p, mp: mp}
}

// conversation stores an OPEN conversation with one message, writes its
// record as the connector would and records it as synced.
func (f *fixture) conversation(user string) (store.Conversation, string) {
	f.t.Helper()
	now := time.Now().UTC()
	var conv store.Conversation
	err := f.st.WithTx(f.ctx, func(tx store.Tx) error {
		c, err := tx.UpsertContact(f.ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: user}, "", now)
		if err != nil {
			return err
		}
		conv, err = tx.CreateConversation(f.ctx, store.Conversation{Tenant: "t1", Channel: "wa", ContactID: c.ID, State: statemachine.Open,
			CreatedAt: now, UpdatedAt: now, LastActivityAt: now}, "system", "")
		if err != nil {
			return err
		}
		_, _, err = tx.InsertMessage(f.ctx, store.Message{Tenant: "t1", Channel: "wa", ConversationID: conv.ID, ContactID: c.ID,
			PlatformID: "m-" + user, Direction: store.Inbound, Kind: "text", Body: "hi", SentAt: now, ReceivedAt: now,
			StateAtReceipt: statemachine.Open, PushStatus: store.Pending})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	key := "t1:wa:" + strconv.FormatInt(conv.ID, 10)
	f.upsert(key, "OPEN", false)
	works, err := f.st.Claim(f.ctx, store.ClaimParams{Owner: "test", Now: now, LeaseTTL: time.Minute, MaxConversations: 10, MaxMessages: 10})
	if err != nil || len(works) != 1 {
		f.t.Fatalf("claim: %d, %v", len(works), err)
	}
	var outs []store.Outcome
	for _, m := range works[0].Messages {
		outs = append(outs, store.Outcome{MessageID: m.ID, Status: store.Pushed, SalesforceID: "x"})
	}
	if err := storetest.SettleOne(f.ctx, f.st, works[0].Lease, store.Settlement{Now: now, Outcomes: outs, SyncedVersion: works[0].Conversation.Version}); err != nil {
		f.t.Fatal(err)
	}
	conv, _ = f.st.GetConversation(f.ctx, conv.ID)
	return conv, key
}

// mirror writes the conversation's state on its record and records it as
// synced, as the dispatcher does.
func (f *fixture) mirror(id int64, key string) {
	f.t.Helper()
	works, err := f.st.Claim(f.ctx, store.ClaimParams{Owner: "test", Now: time.Now().UTC(), LeaseTTL: time.Minute, MaxConversations: 10, MaxMessages: 10})
	if err != nil || len(works) != 1 || works[0].Conversation.ID != id {
		f.t.Fatalf("claim the mirror: %+v, %v", works, err)
	}
	c := works[0].Conversation
	f.upsert(key, c.State.String(), c.State == statemachine.Blocked)
	if err := storetest.SettleOne(f.ctx, f.st, works[0].Lease, store.Settlement{Now: time.Now().UTC(), SyncedVersion: c.Version}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) upsert(key, state string, blocked bool) {
	f.t.Helper()
	res, err := f.client.UpsertCollection(f.ctx, f.mp.Object, f.mp.ExternalID, []sfclient.Record{{f.mp.ExternalID: key, f.mp.State: state, f.mp.Blocked: blocked}})
	if err != nil || !res[0].Success {
		f.t.Fatalf("upsert %s: %+v %v", key, res, err)
	}
}

func (f *fixture) agentEdit(key string, fields map[string]any) {
	f.t.Helper()
	if _, err := f.sf.EditAsAgent(standin.AgentEdit{Object: f.mp.Object, ExternalID: key, Fields: fields, UserID: agent, UserName: "Cy"}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) poll() {
	f.t.Helper()
	if err := f.p.Poll(f.ctx); err != nil {
		f.t.Fatalf("Poll: %v", err)
	}
}

func (f *fixture) state(id int64) statemachine.State {
	f.t.Helper()
	c, err := f.st.GetConversation(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.State
}

// TestOneQueryPerPollWhenNothingChanged: the first poll sets the
// watermark; later polls with nothing changed make one query each and
// change nothing.
func TestOneQueryPerPollWhenNothingChanged(t *testing.T) {
	f := newFixture(t)
	conv, _ := f.conversation("u1")
	f.poll()
	wm, err := f.st.SyncWatermark(f.ctx, standin.DefaultOrgID[:15], f.mp.Object)
	if err != nil || wm.Modstamp.IsZero() {
		t.Fatalf("watermark after the first poll: %+v, %v", wm, err)
	}
	for range 3 {
		before := f.sf.Stats()
		f.poll()
		after := f.sf.Stats()
		if q := after.QueryCalls - before.QueryCalls; q != 1 || after.APICalls-before.APICalls != 1 {
			t.Errorf("a poll with nothing changed made %d queries and %d calls, want 1 and 1", q, after.APICalls-before.APICalls)
		}
	}
	if h, _ := f.st.History(f.ctx, conv.ID); len(h) != 1 {
		t.Errorf("history %+v, want the creation only", h)
	}
}

// TestStaleRecordIsNoChange: while the connector's own change is not yet
// on the record, an agent's edit of another field leaves the record's old
// state, which is not read as the agent's wish.
func TestStaleRecordIsNoChange(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	if _, err := f.m.ChangeState(f.ctx, "api-user", "t1", conv.ID, statemachine.Closed, "done"); err != nil {
		t.Fatal(err)
	}
	f.agentEdit(key, map[string]any{"Channel__c": "renamed"})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Closed {
		t.Errorf("the stale OPEN on the record moved the conversation to %s", s)
	}
	// An explicit change by the agent is applied.
	f.agentEdit(key, map[string]any{"State__c": "AUTO_BOT"})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.AutoBot {
		t.Errorf("the agent's AUTO_BOT left the conversation %s", s)
	}
}

// TestAnAgentsEditCarriedByTheIntegrationUserIsApplied: an update by the
// integration user that leaves the state alone (a roll-up summary
// recalculated when the connector pushed a message) after an agent's
// CLOSED, and before the poll, does not hide the agent's change.
func TestAnAgentsEditCarriedByTheIntegrationUserIsApplied(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	f.agentEdit(key, map[string]any{"State__c": "CLOSED"})
	res, err := f.client.UpsertCollection(f.ctx, f.mp.Object, f.mp.ExternalID, []sfclient.Record{{f.mp.ExternalID: key, "Channel__c": "wa"}})
	if err != nil || !res[0].Success {
		t.Fatalf("the integration user's update: %+v %v", res, err)
	}
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Closed {
		t.Errorf("the agent's CLOSED, last modified by the integration user, left the conversation %s", s)
	}
}

// TestTheConnectorsWriteBeingSettledIsNoChange: the record holds a state
// the connector wrote (by the integration user) whose settlement has not
// recorded it yet, while the conversation moved on: no change.
func TestTheConnectorsWriteBeingSettledIsNoChange(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	if _, err := f.m.ChangeState(f.ctx, "api-user", "t1", conv.ID, statemachine.Closed, "done"); err != nil {
		t.Fatal(err)
	}
	f.upsert(key, "CLOSED", false) // written; the settlement is not recorded
	if _, err := f.m.ChangeState(f.ctx, "api-user", "t1", conv.ID, statemachine.AutoBot, "to the bot"); err != nil {
		t.Fatal(err)
	}
	f.poll()
	if s := f.state(conv.ID); s != statemachine.AutoBot {
		t.Errorf("the connector's own CLOSED, read back before its settlement, moved the conversation to %s", s)
	}
}

// TestBlockedCheckboxAloneBlocksAndUnblocks: the agent ticks Blocked only
// (the state field says OPEN): the conversation is BLOCKED and the contact
// blocked; unticking it returns the conversation to OPEN.
func TestBlockedCheckboxAloneBlocksAndUnblocks(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	f.agentEdit(key, map[string]any{"Blocked__c": true})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Blocked {
		t.Fatalf("after Blocked ticked: %s", s)
	}
	c, _ := f.st.GetContact(f.ctx, conv.ContactID)
	if !c.BlockedInbound || !c.BlockedOutbound || c.Block.By != "Cy (Salesforce user "+agent+")" || c.Block.Note != sfsync.Reason {
		t.Errorf("contact %+v", c)
	}
	f.mirror(conv.ID, key)
	f.agentEdit(key, map[string]any{"Blocked__c": false})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Open {
		t.Errorf("after Blocked unticked: %s", s)
	}
}

// TestRecordsOfOthersAreIgnored: records of another tenant, or with a key
// the connector does not write, change nothing.
func TestRecordsOfOthersAreIgnored(t *testing.T) {
	f := newFixture(t)
	conv, _ := f.conversation("u1")
	f.poll()
	f.upsert("other:wa:"+strconv.FormatInt(conv.ID, 10), "OPEN", false)
	f.upsert("not-a-key", "OPEN", false)
	f.agentEdit("other:wa:"+strconv.FormatInt(conv.ID, 10), map[string]any{"State__c": "CLOSED"})
	f.agentEdit("not-a-key", map[string]any{"State__c": "CLOSED"})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Open {
		t.Errorf("another tenant's record changed the conversation to %s", s)
	}
}

// TestFailedWriteBackIsRetried: when the write-back of a refused change
// fails, the next poll writes it back again, without recording the
// refusal again.
func TestFailedWriteBackIsRetried(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	rule := f.sf.AddRejectRule(standin.RejectRule{Object: f.mp.Object, Field: f.mp.State, Contains: "OPEN", StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "no"})
	f.agentEdit(key, map[string]any{"State__c": "NOPE"})
	if err := f.p.Poll(f.ctx); err == nil || !strings.Contains(err.Error(), "write back") {
		t.Fatalf("Poll with a failing write-back: %v", err)
	}
	f.sf.RemoveRejectRule(rule)
	f.poll()
	recs := f.sf.Records(f.mp.Object)
	if recs[0].Fields[f.mp.State] != "OPEN" || recs[0].LastModifiedByID != standin.DefaultUserID {
		t.Errorf("after the retry the record is %+v", recs[0])
	}
	if n := refusals(t, f, conv.ID); n != 1 {
		t.Errorf("%d refusals recorded, want 1", n)
	}
	noWriteBackLeft(t, f)
}

// TestWriteBackThatKeepsFailingIsAbandoned: a write-back Salesforce
// always refuses (a validation rule) is tried at each poll, the refusal
// recorded once, until MaxWriteBackAttempts; the watermark moves on
// meanwhile, so later changes are read once.
func TestWriteBackThatKeepsFailingIsAbandoned(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	other, otherKey := f.conversation("u2")
	f.poll()
	f.sf.AddRejectRule(standin.RejectRule{Object: f.mp.Object, Field: f.mp.ExternalID, Contains: key, StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "read-only"})
	f.agentEdit(key, map[string]any{"State__c": "NOPE"})
	for i := range sfsync.MaxWriteBackAttempts {
		if err := f.p.Poll(f.ctx); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("poll %d: %v, want the write-back's failure", i+1, err)
		}
		if i == 0 {
			// A later change of another record is applied once, though
			// the first one's write-back keeps failing.
			f.agentEdit(otherKey, map[string]any{"State__c": "CLOSED"})
		}
	}
	f.poll() // nothing left to write back
	if n := refusals(t, f, conv.ID); n != 1 {
		t.Errorf("%d refusals recorded, want 1", n)
	}
	if s := f.state(other.ID); s != statemachine.Closed {
		t.Errorf("the other record's change left its conversation %s", s)
	}
	if _, err := f.m.ChangeState(f.ctx, "alice", "t1", other.ID, statemachine.Open, "reopened"); err != nil {
		t.Fatal(err)
	}
	f.poll()
	if s := f.state(other.ID); s != statemachine.Open {
		t.Errorf("the agent's CLOSED, read already, was applied again: %s", s)
	}
	noWriteBackLeft(t, f)
}

// noWriteBackLeft checks that the org's watermark holds no write-back to
// try again.
func noWriteBackLeft(t *testing.T, f *fixture) {
	t.Helper()
	wm, err := f.st.SyncWatermark(f.ctx, standin.DefaultOrgID[:15], f.mp.Object)
	if err != nil || len(wm.WriteBack) != 0 {
		t.Errorf("the watermark %+v, %v still holds a write-back", wm, err)
	}
}

// TestAnAgentsChangeIsAppliedOnce: an agent's CLOSED, applied, is not
// applied again by later polls while the record still shows it (the
// connector has not written the record since), after an API call
// reopened the conversation.
func TestAnAgentsChangeIsAppliedOnce(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	f.agentEdit(key, map[string]any{"State__c": "CLOSED"})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Closed {
		t.Fatalf("after the agent's edit: %s", s)
	}
	if _, err := f.m.ChangeState(f.ctx, "alice", "t1", conv.ID, statemachine.Open, "the customer called"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.poll()
	}
	if s := f.state(conv.ID); s != statemachine.Open {
		t.Errorf("the agent's CLOSED, read already, was applied again: %s", s)
	}
}

// TestFirstPollReplaysNothing: the first poll of an org starts at its
// newest record, whose second's changes count as read: an agent's change
// made before it is not applied.
func TestFirstPollReplaysNothing(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.agentEdit(key, map[string]any{"State__c": "CLOSED"})
	f.poll() // the first
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Open {
		t.Errorf("a change made before the first poll was applied: %s", s)
	}
	f.agentEdit(key, map[string]any{"State__c": "AUTO_BOT"})
	f.poll()
	if s := f.state(conv.ID); s != statemachine.AutoBot {
		t.Errorf("a change after the first poll: %s, want AUTO_BOT", s)
	}
}

func refusals(t *testing.T, f *fixture, id int64) int {
	t.Helper()
	h, err := f.st.History(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tr := range h {
		if tr.Event == manage.EventRefused {
			n++
		}
	}
	return n
}

// TestChangesAcrossPages: with query answers of two records, five agents'
// changes are read in one poll of three calls (nextRecordsUrl), all
// applied, and the watermark moves to the last one.
func TestChangesAcrossPages(t *testing.T) {
	f := newFixtureWith(t, standin.Options{QueryBatchSize: 2})
	var convs []store.Conversation
	var keys []string
	for i := range 5 {
		c, k := f.conversation("u" + strconv.Itoa(i))
		convs, keys = append(convs, c), append(keys, k)
	}
	f.poll()
	for _, k := range keys {
		f.agentEdit(k, map[string]any{"State__c": "CLOSED"})
	}
	before := f.sf.Stats().QueryCalls
	f.poll()
	if q := f.sf.Stats().QueryCalls - before; q != 3 {
		t.Errorf("%d query calls for 5 records in pages of 2, want 3", q)
	}
	for _, c := range convs {
		if s := f.state(c.ID); s != statemachine.Closed {
			t.Errorf("conversation %d is %s, want CLOSED", c.ID, s)
		}
	}
	recs := f.sf.Records(f.mp.Object)
	wm, _ := f.st.SyncWatermark(f.ctx, standin.DefaultOrgID[:15], f.mp.Object)
	if last := recs[len(recs)-1].SystemModstamp; !wm.Modstamp.Equal(last) {
		t.Errorf("watermark %s, want the last change's %s", wm.Modstamp, last)
	}
}

// TestALateOwnWriteIsNoChange: the integration user's write of a state
// the conversation had before (a write-back landing after the
// dispatcher's newer write) is the connector's own, not an agent's edit.
func TestALateOwnWriteIsNoChange(t *testing.T) {
	f := newFixture(t)
	conv, key := f.conversation("u1")
	f.poll()
	if _, err := f.m.ChangeState(f.ctx, "api-user", "t1", conv.ID, statemachine.Closed, "done"); err != nil {
		t.Fatal(err)
	}
	f.mirror(conv.ID, key)
	f.upsert(key, "OPEN", false) // the late write
	f.poll()
	if s := f.state(conv.ID); s != statemachine.Closed {
		t.Errorf("the connector's late own write moved the conversation to %s", s)
	}
}

// failingStore fails GetConversation of one conversation while failID
// names it.
type failingStore struct {
	sfsync.Store
	failID int64
}

func (s *failingStore) GetConversation(ctx context.Context, id int64) (store.Conversation, error) {
	if id == s.failID {
		return store.Conversation{}, errors.New("the store is unreachable")
	}
	return s.Store.GetConversation(ctx, id)
}

// TestARetryThatCanNotBeReadKeepsThisPollsWriteBacks: when an earlier
// refusal's write-back to try again can not be prepared (its
// conversation can not be read), this poll's refusals are written back
// all the same, and the earlier one is tried at the next poll.
func TestARetryThatCanNotBeReadKeepsThisPollsWriteBacks(t *testing.T) {
	f := newFixture(t)
	a, keyA := f.conversation("u1")
	_, keyB := f.conversation("u2")
	f.poll()
	rule := f.sf.AddRejectRule(standin.RejectRule{Object: f.mp.Object, Field: f.mp.ExternalID, Contains: keyA, StatusCode: "UNABLE_TO_LOCK_ROW", Message: "locked"})
	f.agentEdit(keyA, map[string]any{"State__c": "NOPE"})
	if err := f.p.Poll(f.ctx); err == nil {
		t.Fatal("the write-back of A succeeded through the rule")
	}
	f.sf.RemoveRejectRule(rule)
	failing := &failingStore{Store: f.p.Store, failID: a.ID}
	f.p.Store = failing
	f.agentEdit(keyB, map[string]any{"State__c": "NOPE"})
	if err := f.p.Poll(f.ctx); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Poll while A can not be read: %v", err)
	}
	shows := func(key string) any {
		for _, r := range f.sf.Records(f.mp.Object) {
			if r.Fields[f.mp.ExternalID] == key {
				return r.Fields[f.mp.State]
			}
		}
		return nil
	}
	if got := shows(keyB); got != "OPEN" {
		t.Errorf("B's refused change was not written back: the record shows %v", got)
	}
	failing.failID = 0
	f.poll()
	if got := shows(keyA); got != "OPEN" {
		t.Errorf("A's write-back was not tried again: the record shows %v", got)
	}
	noWriteBackLeft(t, f)
}
