// Package storetest is the conformance suite of the store drivers: every
// driver runs Run, and RunProcesses (several processes on one store), from
// its own tests, so that all drivers keep the same documented behaviour
// (store.Store is the specification). RunClaimBenchmark measures a
// driver's claims on a large outbox, from its benchmarks.
//
// Times in the suite carry microseconds but no nanoseconds: drivers store
// microseconds, and must keep them.
package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Run runs every conformance test against the driver. open returns a fresh,
// migrated, empty store for one test and arranges for it to be closed when
// that test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(e env)
	}{
		{"MigrateIsIdempotent", testMigrateIdempotent},
		{"UpsertContact", testUpsertContact},
		{"SetContactBlock", testSetContactBlock},
		{"ContactPlatformStatus", testContactPlatformStatus},
		{"ContactPlatformStatusErrorsAndRollback", testContactPlatformStatusErrors},
		{"CreateAndGetConversation", testCreateConversation},
		{"OneLiveConversationPerContact", testOneLiveConversation},
		{"ApplyTransition", testApplyTransition},
		{"Inbound", testInbound},
		{"TouchConversation", testTouchConversation},
		{"AddMessage", testAddMessage},
		{"InsertMessageAndDedup", testInsertMessage},
		{"HostileText", testHostileText},
		{"WithTxRollsBack", testWithTxRollback},
		{"ListMessagesAndHistory", testListMessagesAndHistory},
		{"Stats", testStats},
		{"ClaimReadyWorkOnly", testClaimReadyWork},
		{"ClaimMessagesInOrderAndBounded", testClaimMessages},
		{"ClaimSkipTenants", testClaimSkipTenants},
		{"ClaimMaxConversationsOldestFirst", testClaimOldestFirst},
		{"ClaimOrderFollowsOutbox", testClaimOrderFollowsOutbox},
		{"ClaimOrderRecordBehind", testClaimOrderRecordBehind},
		{"ClaimLease", testClaimLease},
		{"SettleOutcomes", testSettleOutcomes},
		{"SettleRetryAt", testSettleRetryAt},
		{"SettleRejectsForeignMessage", testSettleForeignMessage},
		{"RescueLeases", testRescueLeases},
		{"RetryHold", testRetryHold},
		{"LeaseTokens", testLeaseTokens},
		{"ListDead", testListDead},
		{"Replay", testReplay},
		{"IdleConversations", testIdleConversations},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ConcurrentInsertMessage", testConcurrentInsertMessage},
		{"OrgGates", testOrgGates},
		{"ConcurrentOrgGate", testConcurrentOrgGate},
		{"TryLease", testTryLease},
		{"ConcurrentTryLease", testConcurrentTryLease},
		{"ContactBlockInfo", testContactBlockInfo},
		{"ContactOptOut", testContactOptOut},
		{"NativeBlock", testNativeBlock},
		{"DueNativeBlocks", testDueNativeBlocks},
		{"GetContact", testGetContact},
		{"SetTags", testSetTags},
		{"Notes", testNotes},
		{"ListContacts", testListContacts},
		{"ListContactsLimits", testListContactsLimits},
		{"ContactConversations", testContactConversations},
		{"ListConversations", testListConversations},
		{"ListConversationsLimit", testListConversationsLimit},
		{"DeleteConversations", testDeleteConversations},
		{"DeliveryStatus", testDeliveryStatus},
		{"DeliveryStatusRoundTrip", testDeliveryStatusRoundTrip},
		{"Sends", testSends},
		{"StatusChangeRepushes", testStatusChangeRepushes},
		{"Settings", testSettings},
		{"Tokens", testTokens},
		{"SyncedHash", testSyncedHash},
		{"ClaimMaxRecords", testClaimMaxRecords},
		{"SettleBatch", testSettleBatch},
		{"RenewLeases", testRenewLeases},
		{"WithTxBatch", testWithTxBatch},
		{"SyncWatermarks", testSyncWatermarks},
		{"Quarantine", testQuarantine},
		{"Media", testMedia},
		{"MediaHolds", testMediaHolds},
		{"MediaUpdateHeld", testMediaUpdateHeld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(env{t: t, s: open(t), ctx: t.Context()})
		})
	}
}

// t0 is the suite's clock origin; its microseconds catch a driver that
// stores seconds.
var t0 = time.Date(2025, 6, 1, 9, 30, 0, 123456000, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// env bundles what every test uses.
type env struct {
	t   *testing.T
	s   store.Store
	ctx context.Context
}

// tx runs fn in a transaction and fails the test on error.
func (e env) tx(fn func(store.Tx) error) {
	e.t.Helper()
	if err := e.s.WithTx(e.ctx, fn); err != nil {
		e.t.Fatalf("WithTx: %v", err)
	}
}

// contact creates (or returns) a contact.
func (e env) contact(tenant, channel, ext string) store.Contact {
	e.t.Helper()
	var c store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		c, err = tx.UpsertContact(e.ctx, store.ContactKey{Tenant: tenant, Channel: channel, ExternalID: ext}, "", t0)
		return err
	})
	return c
}

// conversation creates a contact and a conversation of it in state.
func (e env) conversation(tenant, channel, ext string, state statemachine.State, created time.Time) store.Conversation {
	e.t.Helper()
	ct := e.contact(tenant, channel, ext)
	var c store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		c, err = tx.CreateConversation(e.ctx, store.Conversation{
			Tenant: tenant, Channel: channel, ContactID: ct.ID, State: state, CreatedAt: created,
		}, "system", "test")
		return err
	})
	return c
}

// transition applies from -> to on a conversation.
func (e env) transition(c store.Conversation, from, to statemachine.State, when time.Time) store.Conversation {
	e.t.Helper()
	var out store.Conversation
	e.tx(func(tx store.Tx) error {
		var err error
		out, err = tx.ApplyTransition(e.ctx, store.Transition{
			ConversationID: c.ID, From: from, To: to, Event: "set_state", Actor: "tester", Reason: "test", At: when,
		})
		return err
	})
	return out
}

// newMessage builds a message of c.
func newMessage(c store.Conversation, platformID string, status store.PushStatus, received time.Time) store.Message {
	return store.Message{
		Tenant: c.Tenant, Channel: c.Channel, ConversationID: c.ID, ContactID: c.ContactID,
		PlatformID: platformID, Direction: store.Inbound, Kind: "text", Body: "body of " + platformID,
		Sender: c.ContactExternalID, SentAt: received.Add(-time.Second), ReceivedAt: received,
		StateAtReceipt: c.State, PushStatus: status,
	}
}

// message stores a new message of c.
func (e env) message(c store.Conversation, platformID string, status store.PushStatus, received time.Time) store.Message {
	e.t.Helper()
	var m store.Message
	e.tx(func(tx store.Tx) error {
		var inserted bool
		var err error
		m, inserted, err = tx.InsertMessage(e.ctx, newMessage(c, platformID, status, received))
		if err == nil && !inserted {
			e.t.Errorf("message %s: not inserted", platformID)
		}
		return err
	})
	return m
}

// params are claim parameters with room for everything.
func params(owner string, now time.Time) store.ClaimParams {
	return store.ClaimParams{Owner: owner, Now: now, LeaseTTL: time.Minute, MaxConversations: 100, MaxMessages: 100}
}

// SettleOne ends one claim through SettleBatch, the stores' way to
// settle, and returns the item's error, or the transaction's.
func SettleOne(ctx context.Context, s store.Outbox, l store.Lease, st store.Settlement) error {
	errs, err := s.SettleBatch(ctx, []store.SettleItem{{Lease: l, Settlement: st}})
	if err != nil {
		return err
	}
	return errs[0]
}

// claim claims and fails the test on error.
func (e env) claim(p store.ClaimParams) []store.Work {
	e.t.Helper()
	ws, err := e.s.Claim(e.ctx, p)
	if err != nil {
		e.t.Fatalf("Claim: %v", err)
	}
	return ws
}

// claimOne claims and expects exactly the conversation id.
func (e env) claimOne(p store.ClaimParams, id int64) store.Work {
	e.t.Helper()
	ws := e.claim(p)
	if got := workIDs(ws); len(got) != 1 || got[0] != id {
		e.t.Fatalf("Claim returned conversations %v, want [%d]", got, id)
	}
	return ws[0]
}

// settle settles and fails the test on error.
func (e env) settle(l store.Lease, s store.Settlement) {
	e.t.Helper()
	if err := SettleOne(e.ctx, e.s, l, s); err != nil {
		e.t.Fatalf("Settle: %v", err)
	}
}

// outcomes gives every message of w the same status.
func outcomes(w store.Work, status store.PushStatus, errText string) []store.Outcome {
	var out []store.Outcome
	for _, m := range w.Messages {
		o := store.Outcome{MessageID: m.ID, Status: status, Error: errText}
		if status == store.Pushed {
			o.SalesforceID, o.Error = "a0X"+m.PlatformID, ""
		}
		out = append(out, o)
	}
	return out
}

// get reads a conversation through the store.
func (e env) get(id int64) store.Conversation {
	e.t.Helper()
	c, err := e.s.GetConversation(e.ctx, id)
	if err != nil {
		e.t.Fatalf("GetConversation(%d): %v", id, err)
	}
	return c
}

// messages lists a conversation's messages.
func (e env) messages(id int64) []store.Message {
	e.t.Helper()
	ms, err := e.s.ListMessages(e.ctx, id)
	if err != nil {
		e.t.Fatalf("ListMessages(%d): %v", id, err)
	}
	return ms
}

// messageByID finds one message of a conversation.
func (e env) messageByID(convID, id int64) store.Message {
	e.t.Helper()
	for _, m := range e.messages(convID) {
		if m.ID == id {
			return m
		}
	}
	e.t.Fatalf("message %d not in conversation %d", id, convID)
	return store.Message{}
}

func workIDs(ws []store.Work) []int64 {
	ids := []int64{}
	for _, w := range ws {
		ids = append(ids, w.Conversation.ID)
	}
	return ids
}

func messageIDs(ms []store.Message) []int64 {
	ids := []int64{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func conversationIDs(cs []store.Conversation) []int64 {
	ids := []int64{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// The normalisers make times comparable with ==, whatever location a
// driver returns them in.

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func normContact(c store.Contact) store.Contact {
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	c.PlatformStatusAt = utc(c.PlatformStatusAt)
	c.Block.At, c.OptOut.At = utc(c.Block.At), utc(c.OptOut.At)
	c.Native.NextAttemptAt, c.Native.UpdatedAt = utc(c.Native.NextAttemptAt), utc(c.Native.UpdatedAt)
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return c
}

// sameContact reports whether two normalised contacts are equal (a
// Contact is not comparable with == because of its tags).
func sameContact(a, b store.Contact) bool {
	return reflect.DeepEqual(a, b)
}

func normConversation(c store.Conversation) store.Conversation {
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	c.LastActivityAt, c.NotBefore = utc(c.LastActivityAt), utc(c.NotBefore)
	return c
}

func normMessage(m store.Message) store.Message {
	m.SentAt, m.ReceivedAt, m.PushedAt = utc(m.SentAt), utc(m.ReceivedAt), utc(m.PushedAt)
	m.DeliveryStatusAt = utc(m.DeliveryStatusAt)
	return m
}

// claimed is what store.Work holds of a pending message m.
func claimed(m store.Message) store.Message {
	return store.Message{ID: m.ID, Tenant: m.Tenant, Channel: m.Channel, ConversationID: m.ConversationID,
		PlatformID: m.PlatformID, Direction: m.Direction, Kind: m.Kind, Body: m.Body, MediaURL: m.MediaURL,
		MediaType: m.MediaType, Sender: m.Sender, SentAt: m.SentAt, StateAtReceipt: m.StateAtReceipt,
		PushStatus: m.PushStatus, Attempts: m.Attempts, DeliveryStatus: m.DeliveryStatus, SendError: m.SendError}
}

func normTransition(t store.Transition) store.Transition {
	t.At = utc(t.At)
	return t
}
