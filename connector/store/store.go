// Package store defines the connector's storage: one narrow interface, with
// a driver per database (sqlite, the embedded default, and postgres for
// several replicas) and one conformance suite (storetest) that every driver
// must pass.
//
// The business rules (which state a conversation takes, whether a message is
// pushed) live in the connector, not in the drivers: a driver offers the
// primitives inside a transaction (Tx) and the few atomic operations of the
// outbox (Claim, SettleBatch), and keeps nothing but data.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/chatsync/sfconnector/statemachine"
)

// Sentinel errors that callers branch on.
var (
	// ErrNotFound is returned when the asked-for row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost is returned by SettleBatch when the lease is no longer held by
	// the caller (it expired and another worker claimed the conversation).
	ErrLeaseLost = errors.New("lease lost")
	// ErrConflict is returned by ApplyTransition when the conversation is no
	// longer in the state the transition starts from.
	ErrConflict = errors.New("conflicting change")
	// ErrLockWait is a call of WithTxBatch that waited too long for a row
	// another transaction held (PostgreSQL): the call was rolled back, and
	// may run again in a transaction of its own.
	ErrLockWait = errors.New("waited too long for a row lock")
)

// Direction of a message.
type Direction string

// Directions.
const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// PushStatus says where a message stands with Salesforce.
type PushStatus string

// Push statuses.
const (
	// Pending messages wait in the conversation's outbox.
	Pending PushStatus = "pending"
	// Pushed messages are in Salesforce.
	Pushed PushStatus = "pushed"
	// Excluded messages were never to be pushed: their conversation's state
	// was excluded for the org when they arrived (PushReason says which).
	Excluded PushStatus = "excluded"
	// Dead messages failed permanently or too often; LastError says why.
	// They can be replayed.
	Dead PushStatus = "dead"
)

// ContactKey names a contact: one end user on one channel of one tenant.
type ContactKey struct {
	Tenant     string
	Channel    string
	ExternalID string // the platform's user id (wa_id, PSID, chat id, ...)
}

// Contact is one end user on one channel.
type Contact struct {
	ID int64
	ContactKey
	DisplayName string
	// BlockedInbound and BlockedOutbound are the contact's local block.
	BlockedInbound  bool
	BlockedOutbound bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// PlatformStatus is the last thing the platform said about the contact:
	// "follow", "unfollow", "blocked" (the user blocked the business) or
	// "unblocked"; empty when it said nothing. PlatformStatusAt is when.
	PlatformStatus   string
	PlatformStatusAt time.Time
	// Block holds who blocked the contact, when and why; zero while the
	// contact is not blocked (neither inbound nor outbound).
	Block BlockInfo
	// Native is where the platform's own block of the user stands.
	Native NativeBlock
	// OptOut is the contact's own request to receive nothing more (an
	// opt-out keyword), apart from the block an agent sets: zero when the
	// contact has not opted out. Sends are refused while either stands.
	OptOut OptOut
	// Tags are the contact's tags, sorted. Only GetContact and ListContacts
	// fill them (empty, not nil, when the contact has none); a Tx's contact
	// leaves them nil.
	Tags []string
}

// OptOut is a contact's opt-out: the keyword it wrote and when. An
// empty Keyword means no opt-out.
type OptOut struct {
	Keyword string
	At      time.Time
}

// OptedOut reports whether the contact asked to receive nothing more.
func (c Contact) OptedOut() bool { return c.OptOut.Keyword != "" }

// BlockInfo describes a contact's local block.
type BlockInfo struct {
	// Note is the reason given (optional).
	Note string
	// By names who blocked the contact: an API caller's token name,
	// "opt-out" for an opt-out keyword, "system".
	By string
	// At is when the block was set (or last changed).
	At time.Time
}

// Native block statuses, reported by the API.
const (
	// NativeNone: nothing was asked of the platform.
	NativeNone = ""
	// NativeApplied: the platform confirmed the block (or unblock).
	NativeApplied = "applied"
	// NativePending: the call failed for now; the timers retry it.
	NativePending = "pending"
	// NativeFailed: the platform refused it for good (Error says why).
	NativeFailed = "failed"
	// NativeUnsupported: the platform has no native block.
	NativeUnsupported = "unsupported"
)

// NativeBlock is the state of the platform's own block of a contact.
type NativeBlock struct {
	// Want is what was asked of the platform: "block", "unblock", or ""
	// when nothing was.
	Want string
	// Status is one of the Native* constants.
	Status string
	// Error is the platform's last error (pending or failed).
	Error string
	// Attempts counts the calls made for Want.
	Attempts int
	// NextAttemptAt is when the timers retry a pending call.
	NextAttemptAt time.Time
	// UpdatedAt is when the status was last written.
	UpdatedAt time.Time
}

// Note is an agent's note on a contact.
type Note struct {
	ID        int64
	ContactID int64
	Text      string
	Author    string
	CreatedAt time.Time
	// EditedBy and EditedAt say who changed the text last, and when;
	// empty and zero for a note never edited.
	EditedBy string
	EditedAt time.Time
}

// Setting is one value of the connector's runtime settings, changed
// through the API and shared by every replica: an org's excluded states
// (scope "org:<15-char org id>", key "excluded_states"), a tenant's
// switches (scope "tenant:<id>", key "blocking_enabled").
type Setting struct {
	Scope     string
	Key       string
	Value     string
	UpdatedBy string
	UpdatedAt time.Time
}

// SettingKey names a setting.
type SettingKey struct{ Scope, Key string }

// MaxSettingKeys is the most keys one GetSettings reads.
const MaxSettingKeys = 16

// Role of an API token.
type Role string

// Roles, from least to most trusted within a tenant; the operator is the
// support team's, across tenants.
const (
	RoleAgent    Role = "agent"
	RoleAdmin    Role = "admin"
	RoleOperator Role = "operator"
)

// APIToken is a bearer token of the API. The token itself is never
// stored: Hash is the hex SHA-256 of it.
type APIToken struct {
	ID int64
	// Tenant is the tenant the token acts for; empty for an operator token.
	Tenant string
	// Name identifies the holder; it is the actor in history entries.
	// Unique among a tenant's tokens that are not revoked.
	Name      string
	Role      Role
	Hash      string
	CreatedAt time.Time
	// RevokedAt is zero while the token is valid.
	RevokedAt time.Time
}

// Block is a contact's local block as set by SetContactBlock.
type Block struct {
	Inbound, Outbound bool
	// Note and By are kept while either direction is blocked and cleared
	// when both are lifted.
	Note, By string
}

// UnreachableOnPlatform reports whether the platform said the user blocked
// the business or stopped following it: sends to them are refused.
func (c Contact) UnreachableOnPlatform() bool {
	return c.PlatformStatus == "blocked" || c.PlatformStatus == "unfollow"
}

// Conversation is a thread between a contact and the tenant on a channel.
type Conversation struct {
	ID        int64
	Tenant    string
	Channel   string
	ContactID int64
	// ContactExternalID is the contact's platform id (read-only, joined).
	ContactExternalID string
	State             statemachine.State
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// LastActivityAt is the time of the last message, for the timers.
	LastActivityAt time.Time
	// Version grows by one at every state change.
	Version int64
	// SyncedVersion is the Version last written to the conversation's
	// Salesforce record; 0 means the record does not exist yet.
	SyncedVersion int64
	// NotBefore holds the conversation's outbox back until then (backoff).
	NotBefore time.Time
	// SyncedHash fingerprints the conversation record as last written to
	// Salesforce (the dispatcher's choice of hash over the mapped fields);
	// empty when nothing was recorded. The dispatcher skips the record's
	// upsert while the record it would write has the same fingerprint.
	SyncedHash string
}

// InSalesforce reports whether the conversation's record exists in Salesforce.
func (c Conversation) InSalesforce() bool { return c.SyncedVersion > 0 }

// Transition is one entry of a conversation's history.
type Transition struct {
	ID             int64
	ConversationID int64
	// From is nil-like (-1) for the creation entry.
	From   statemachine.State
	To     statemachine.State
	Event  string // "created", "inbound", "set_state", "block", ...
	Actor  string // "system", "timer", an API caller's name
	Reason string
	At     time.Time
}

// NoState marks the From of a conversation's creation entry.
const NoState statemachine.State = -1

// Message is one inbound or outbound message. Its ID is the store's
// sequence: within a conversation, messages are ordered by ID.
type Message struct {
	ID             int64
	Tenant         string
	Channel        string
	ConversationID int64
	ContactID      int64
	// PlatformID is the platform's own message id; (Tenant, Channel,
	// PlatformID) is unique.
	PlatformID string
	Direction  Direction
	Kind       string // text, image, video, audio, document, sticker, location, reaction, edit, ...
	Body       string
	MediaURL   string // or the platform's media id
	MediaType  string
	ReplyTo    string // platform id of the message this one answers, reacts to or edits
	Sender     string
	SentAt     time.Time // the platform's timestamp
	ReceivedAt time.Time // when the connector stored it
	// StateAtReceipt is the conversation's state after the transition the
	// message caused: the state the push decision was taken with.
	StateAtReceipt statemachine.State
	PushStatus     PushStatus
	// PushReason says why a message is excluded ("state AUTO_BOT is
	// excluded for org 00D...").
	PushReason string
	Attempts   int
	LastError  string
	PushedAt   time.Time
	// SalesforceID is the record id Salesforce gave the message.
	SalesforceID string
	// DeliveryStatus is, for an outbound message, what the platform last
	// reported: "sent", "delivered", "read" or "failed" ("" before any).
	DeliveryStatus   string
	DeliveryStatusAt time.Time
	// SentID is, for an outbound message the connector sent from its
	// store (DeliverySending first), the id the platform gave it: receipts
	// name the message by it. PlatformID stays the connector's own id, the
	// message's key in Salesforce.
	SentID string
	// SendAttempts counts the sends tried; SendError is the last failure
	// (the reason of a "failed" DeliveryStatus, or of the retry to come).
	SendAttempts int
	SendError    string
	// SendAfter is, for InsertMessage of a DeliverySending message, when
	// ClaimSends may first take it (zero: at once); a sender that makes
	// the first attempt itself sets it past that attempt. It is not read
	// back.
	SendAfter time.Time
}

// InboundLookup is what Tx.Inbound reads for an inbound message: what
// ingestion needs, and no more (on SQLite every column read costs).
type InboundLookup struct {
	// Contact is the message's contact, created when it was new. Its key,
	// ID, DisplayName, BlockedInbound, BlockedOutbound and OptOut.Keyword
	// are set; its
	// other fields may be zero (GetContact reads them all).
	Contact Contact
	// Stored says the message is stored already: a redelivery.
	Stored bool
	// Live is the contact's non-EXPIRED conversation when HasLive. Its ID,
	// State, Tenant, Channel, ContactID and ContactExternalID are set; its
	// other fields may be zero (GetConversation reads them all).
	Live    Conversation
	HasLive bool
}

// DeliverySending is the DeliveryStatus of an outbound message stored and
// not yet taken by the platform: the sender (ClaimSends) sends it.
// DeliveryFailed is the status of one the platform refused for good, or
// that failed too often; SendError says why.
const (
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// SendOutcome is the result of one send of a DeliverySending message.
type SendOutcome struct {
	// SentID is the platform's id of the message; set when it was sent.
	SentID string
	// Error is why the send failed; empty when it was sent.
	Error string
	// RetryAt, when set on a failure, is when to try again; zero fails the
	// message for good.
	RetryAt time.Time
	// At is when the outcome was reached.
	At time.Time
}

// Tx is the set of primitives the connector combines inside one
// transaction, grouped by what they touch. Everything done through a Tx
// commits or rolls back together.
type Tx interface {
	ContactTx
	ConversationTx
	MessageTx
	SettingTx
	QuarantineTx
	// MediaTx records media items (media.go).
	MediaTx
}

// ContactTx writes contacts: ingestion (the contact of a delivery, its
// platform status, an opt-out's block) and the management API.
type ContactTx interface {
	// UpsertContact returns the contact for key, creating it when it is new
	// (and updating DisplayName when a non-empty one is given). It also
	// serialises the transaction with any other one touching the same
	// contact until commit (PostgreSQL locks the row; SQLite has one writer).
	UpsertContact(ctx context.Context, key ContactKey, displayName string, now time.Time) (Contact, error)
	// LockContact returns one contact (without tags), serialising the
	// transaction with others touching it, as UpsertContact does; or
	// ErrNotFound.
	LockContact(ctx context.Context, id int64) (Contact, error)
	// SetContactBlock sets the contact's local inbound and outbound block.
	// Block.At becomes now when the block changes; both directions false
	// clear the note, who and when. An unknown contact is ErrNotFound.
	SetContactBlock(ctx context.Context, contactID int64, b Block, now time.Time) error
	// SetNativeBlock records where the platform's block of the contact
	// stands (UpdatedAt is taken from nb). An unknown contact is ErrNotFound.
	SetNativeBlock(ctx context.Context, contactID int64, nb NativeBlock) error
	// SetContactOptOut records the contact's opt-out (a zero OptOut lifts
	// it), leaving its block as it is. It reports whether it changed the
	// contact: recording an opt-out over one in force keeps the first
	// (its keyword and time) and reports false, as does lifting none. A
	// keyword without a time is an error; an unknown contact is
	// ErrNotFound. UpdatedAt becomes o.At (now, when lifting) on a change.
	SetContactOptOut(ctx context.Context, contactID int64, o OptOut, now time.Time) (bool, error)
	// SetContactPlatformStatus records status on the contact, as of at,
	// unless the contact already holds a status as of a later time (a
	// platform's retry of an older event never overrides a newer one). It
	// reports whether it changed the contact. An empty status is an error.
	//
	// On a tie (at equal to the stored PlatformStatusAt, to the
	// microsecond) the status given wins: the event delivered last is taken
	// as the latest. Recording the status and time already stored changes
	// nothing and reports false. A zero at is an error; an unknown contact
	// is ErrNotFound. UpdatedAt is left as it is: PlatformStatusAt says when
	// the status changed.
	SetContactPlatformStatus(ctx context.Context, contactID int64, status string, at time.Time) (bool, error)
	// SetTags replaces the contact's tags (deduplicated; empty tags are an
	// error).
	SetTags(ctx context.Context, contactID int64, tags []string) error
	// AddNote stores a note (ID set by the store) and returns it.
	AddNote(ctx context.Context, n Note) (Note, error)
	// EditNote replaces the text of the contact's note, recording who and
	// when, and returns the note; ErrNotFound when the contact has no such
	// note. Text and at are required.
	EditNote(ctx context.Context, contactID, noteID int64, text, by string, at time.Time) (Note, error)
	// DeleteNote removes the contact's note; ErrNotFound when the contact
	// has no such note.
	DeleteNote(ctx context.Context, contactID, noteID int64) error
}

// ConversationTx reads and moves conversations: ingestion, the
// management API, the timers and the flow-back from Salesforce.
type ConversationTx interface {
	// Conversation returns one conversation as the transaction sees it, or
	// ErrNotFound.
	Conversation(ctx context.Context, id int64) (Conversation, error)
	// LiveConversation returns the contact's conversation that is not
	// EXPIRED, or ErrNotFound.
	LiveConversation(ctx context.Context, contactID int64) (Conversation, error)
	// LatestConversation returns the contact's most recent conversation in
	// any state, or ErrNotFound.
	LatestConversation(ctx context.Context, contactID int64) (Conversation, error)
	// ContactConversations lists the contact's conversations, oldest first.
	ContactConversations(ctx context.Context, contactID int64) ([]Conversation, error)
	// CreateConversation stores a new conversation (ID, Version 1 and
	// SyncedVersion 0 are set by the store) with a "created" history entry
	// by actor, and returns it.
	CreateConversation(ctx context.Context, c Conversation, actor, reason string) (Conversation, error)
	// ApplyTransition moves the conversation from t.From to t.To, bumps its
	// Version when the state changes and appends t to its history. It
	// returns ErrConflict when the conversation is not in t.From.
	ApplyTransition(ctx context.Context, t Transition) (Conversation, error)
	// Inbound returns in one call what storing an inbound message needs:
	// the contact, as UpsertContact(key, displayName, now) writes it (and
	// serialises the transaction as UpsertContact does); whether
	// MessageExists(key.Tenant, key.Channel, platformID); and the
	// contact's LiveConversation, if it has one; each with the fields
	// InboundLookup names. A store may read all three in one statement.
	Inbound(ctx context.Context, key ContactKey, displayName string, now time.Time, platformID string) (InboundLookup, error)
	// TouchConversation sets the conversation's LastActivityAt.
	TouchConversation(ctx context.Context, id int64, at time.Time) error
	// DeleteConversations removes the conversations with their history,
	// messages and outbox, and returns how many messages went with them.
	// Ids that do not exist are passed over.
	DeleteConversations(ctx context.Context, ids []int64) (messages int, err error)
}

// MessageTx stores messages and their platform receipts (ingestion), and
// the outbound messages to send (the management API's sender).
type MessageTx interface {
	// MessageExists reports whether (tenant, channel, platformID) is stored.
	MessageExists(ctx context.Context, tenant, channel, platformID string) (bool, error)
	// InsertMessage stores m (ID is set by the store). If (Tenant, Channel,
	// PlatformID) exists already, it changes nothing and returns the stored
	// message with inserted false.
	InsertMessage(ctx context.Context, m Message) (stored Message, inserted bool, err error)
	// AddMessage is InsertMessage, then, when m is inserted,
	// TouchConversation of its conversation at its ReceivedAt: what a
	// message that arrives or is sent does. A store may do both in fewer
	// statements.
	AddMessage(ctx context.Context, m Message) (stored Message, inserted bool, err error)
	// SetDeliveryStatus records a platform receipt on the outbound message
	// (tenant, channel, platformID) (platformID matches its PlatformID or
	// its SentID), unless the message holds a status as
	// of a later time. It reports whether the message changed; an unknown
	// or inbound message changes nothing and reports false.
	SetDeliveryStatus(ctx context.Context, tenant, channel, platformID, status string, at time.Time) (bool, error)
	// ClaimSends returns up to limit outbound messages in DeliverySending
	// whose next attempt is due at now, oldest first, and holds each back
	// from other claims until until (a lease: a sender that dies before
	// settling is replaced once it passes). On PostgreSQL rows another
	// transaction holds are skipped.
	ClaimSends(ctx context.Context, now, until time.Time, limit int) ([]Message, error)
	// SettleSend records the outcome of one send of message id: sent
	// (DeliveryStatus "sent", SentID), to retry at RetryAt (SendAttempts
	// and SendError), or failed (DeliveryStatus "failed", SendError). A
	// message no longer in DeliverySending is left alone (false).
	SettleSend(ctx context.Context, id int64, o SendOutcome) (bool, error)
}

// SettingTx reads and writes the runtime settings (ingestion reads them
// in the transaction that stores a delivery).
type SettingTx interface {
	// GetSetting returns a setting, or ErrNotFound.
	GetSetting(ctx context.Context, scope, key string) (Setting, error)
	// GetSettings reads the settings of keys (at most MaxSettingKeys) in
	// one statement and returns those that are set, by key.
	GetSettings(ctx context.Context, keys []SettingKey) (map[SettingKey]Setting, error)
	// PutSetting writes a setting and appends it to the setting's history.
	PutSetting(ctx context.Context, s Setting) error
}

// QuarantineTx keeps the events the connector could not use (ingestion)
// and takes them back (their replay).
type QuarantineTx interface {
	// Quarantine keeps an event the connector could not use. Tenant,
	// Channel, Platform, Reason, Raw and ReceivedAt are required (ID and
	// UpdatedAt are set by the store). When the same tenant and channel
	// hold an event with the same Raw already (a platform's retry, a
	// replay that failed again), that one is kept, with Reason and
	// UpdatedAt (q.ReceivedAt) updated, and inserted is false.
	Quarantine(ctx context.Context, q Quarantined) (stored Quarantined, inserted bool, err error)
	// GetQuarantined returns a quarantined event, or ErrNotFound.
	GetQuarantined(ctx context.Context, id int64) (Quarantined, error)
	// DeleteQuarantined removes a quarantined event (replayed), or returns
	// ErrNotFound.
	DeleteQuarantined(ctx context.Context, id int64) error
}

// Quarantined is an event of an authentic delivery that the connector
// could not use as it was configured (another account's event, no chat,
// an unusable id): kept with its raw bytes for an operator to list and to
// replay once the configuration is fixed.
type Quarantined struct {
	ID       int64
	Tenant   string
	Channel  string
	Platform string
	// Reason is why it could not be used, the adapter's code first
	// ("other_account: ...").
	Reason string
	// Raw is a body the channel's adapter parses into this event alone.
	Raw []byte
	// ReceivedAt is when it was first quarantined; UpdatedAt when Reason
	// was last set.
	ReceivedAt time.Time
	UpdatedAt  time.Time
}

// QuarantineFilter selects quarantined events for ListQuarantine. Zero
// fields do not filter.
type QuarantineFilter struct {
	// Tenant: "" for every tenant (the operator's view).
	Tenant  string
	Channel string
	AfterID int64 // paging
	Limit   int   // 0 for 100
}

// ClaimParams bound one Claim.
type ClaimParams struct {
	// Owner names the claiming worker, for operators.
	Owner string
	Now   time.Time
	// LeaseTTL is how long the claim holds before another worker may take
	// the conversation.
	LeaseTTL time.Duration
	// MaxConversations is the most conversations one claim returns.
	MaxConversations int
	// MaxMessages is the most pending messages returned per conversation.
	MaxMessages int
	// MaxRecords, when positive, bounds the records the claim brings: a
	// conversation counts its pending messages returned, plus one when its
	// record may need writing (no record yet, a state change to mirror, or
	// no SyncedHash). Conversations are taken oldest work first until the
	// next one would pass MaxRecords; the first one is always taken.
	MaxRecords int
	// SkipTenants are tenants whose conversations are not claimed now
	// (their org is backing off).
	SkipTenants []string
}

// Lease is a worker's exclusive hold on one conversation's outbox.
type Lease struct {
	ConversationID int64
	Token          string
	Owner          string
	ExpiresAt      time.Time
}

// Work is one claimed conversation: its lease, the conversation as it is,
// and its pending messages in order (possibly none, when only the
// conversation's state is to be mirrored).
type Work struct {
	Lease        Lease
	Conversation Conversation
	// Messages are the conversation's pending messages, in ID order,
	// with the fields a push reads: ID, Tenant, Channel, ConversationID,
	// PlatformID, Direction, Kind, Body, MediaURL, MediaType, Sender,
	// SentAt, StateAtReceipt, PushStatus (Pending), Attempts,
	// DeliveryStatus and SendError; the others are zero (on SQLite every
	// column read costs, and a claim reads up to a thousand messages).
	Messages []Message
}

// ClaimRecords is how many records a claimed conversation counts toward
// ClaimParams.MaxRecords: its messages, and one for its own record unless
// that is known to be written already and up to date.
func ClaimRecords(c Conversation, messages int) int {
	if c.SyncedVersion == 0 || c.SyncedVersion < c.Version || c.SyncedHash == "" {
		return messages + 1
	}
	return messages
}

// Outcome of pushing one message.
type Outcome struct {
	MessageID int64
	// Status is Pushed, Pending (retry later) or Dead.
	Status       PushStatus
	Error        string // for Pending and Dead
	SalesforceID string // for Pushed
	// DeliveryStatus, when set, is the outbound status the pushed record
	// showed (for Pushed): a message whose status changed meanwhile stays
	// pending, so that its record is written again with the new one.
	DeliveryStatus string
}

// Settlement ends a claim.
type Settlement struct {
	Now      time.Time
	Outcomes []Outcome
	// SyncedVersion, when above the conversation's, records that its
	// Salesforce record now reflects that version.
	SyncedVersion int64
	// RetryAt, when set, holds the conversation's outbox back until then.
	// When zero the conversation is ready at once.
	RetryAt time.Time
	// SyncedHash, when not empty, records the fingerprint of the
	// conversation record just written (see Conversation.SyncedHash).
	SyncedHash string
	// ForgetRecord clears the stored SyncedHash, so that the record is
	// written again with the next push (Salesforce lost it, say). It wins
	// over SyncedHash.
	ForgetRecord bool
}

// SettleItem is one claim to end in SettleBatch.
type SettleItem struct {
	Lease      Lease
	Settlement Settlement
}

// Batcher runs several units of work in one transaction, each with its own
// outcome: a unit that fails is rolled back alone (a savepoint) and never
// fails or reorders its neighbours. Concurrent webhook deliveries share
// one commit, and so one fsync, this way (group commit).
type Batcher interface {
	// WithTxBatch runs each fn in order in one transaction, each inside a
	// savepoint of its own: a fn that returns an error has its changes
	// rolled back and its error reported at its index; the others commit
	// together. The second result is the transaction's own error (begin or
	// commit): then nothing of any fn is stored, whatever the first result
	// says. A store whose transactions run side by side (PostgreSQL) does
	// not let a fn wait long for a row another transaction holds: that fn
	// fails with an error wrapping ErrLockWait, so that one batch never
	// waits on another in a cycle.
	WithTxBatch(ctx context.Context, fns []func(Tx) error) ([]error, error)
}

// DeadFilter selects dead messages.
type DeadFilter struct {
	Tenant  string // empty for all tenants
	AfterID int64  // paging: messages with a greater ID
	Limit   int    // 0 for the driver's default (100)
}

// IdleQuery selects conversations for the timers.
type IdleQuery struct {
	Tenant  string
	Channel string
	// States are the states to look at.
	States statemachine.Set
	// Before: LastActivityAt strictly before this time.
	Before time.Time
	Limit  int
}

// Stats counts a tenant's messages and conversations.
type Stats struct {
	Messages      map[PushStatus]int
	Conversations map[statemachine.State]int
}

// OrgGate is the pacing state of one Salesforce org, shared by every
// process on the store: the dispatchers of all replicas read it before
// calling the org and write it after.
type OrgGate struct {
	// Org is the org id's first 15 characters.
	Org string
	// PausedUntil: no call to the org before this time.
	PausedUntil time.Time
	// Reason says why the org is paused, for operators.
	Reason string
	// Failures counts consecutive whole-call failures (for the backoff).
	Failures int
	// APIUsed and APIMax are the last Sforce-Limit-Info api-usage seen.
	APIUsed int
	APIMax  int
	// UpdatedAt is when the gate was last written.
	UpdatedAt time.Time
}

// Notifier is implemented by drivers that can wake other processes when
// outbox work is committed (PostgreSQL's LISTEN/NOTIFY). SQLite serves one
// process and does not implement it; dispatchers poll in any case.
type Notifier interface {
	// Listen calls wake after another (or the same) process commits outbox
	// work — a pending message, a state change to mirror onto a record that
	// exists, a replay — until ctx ends. It may call wake when there is
	// nothing new (after connecting, as work may have been committed while
	// it was not listening; once for a burst of commits), so wake should
	// only make the caller look for work, and return at once. It reconnects
	// after connection errors (with a bounded backoff) and returns ctx's
	// error at the end.
	Listen(ctx context.Context, wake func()) error
}

// Transactor runs units of work in transactions: ingestion, the
// management API, the timers.
type Transactor interface {
	// WithTx runs fn in one transaction, committing when fn returns nil
	// and rolling back otherwise. The error of fn is returned as is.
	WithTx(ctx context.Context, fn func(Tx) error) error
}

// Outbox is the dispatcher's side of the outbox.
type Outbox interface {
	// Claim leases conversations whose outbox is ready (a pending message
	// and NotBefore reached, or a Salesforce record behind its Version) and
	// not leased by anyone else (or whose lease expired), oldest work first.
	Claim(ctx context.Context, p ClaimParams) ([]Work, error)
	// SettleBatch ends several claims in one transaction. Each item
	// records the outcomes of its claim and releases its lease: pushed
	// messages get PushedAt and SalesforceID; pending ones an attempt more
	// and their error; dead ones their error. Each has its own error (nil,
	// ErrLeaseLost when the lease's token no longer holds the conversation,
	// or why the item was refused): an item that fails changes nothing and
	// never fails its neighbours. The second result is the transaction's
	// own error: then nothing is settled.
	SettleBatch(ctx context.Context, items []SettleItem) ([]error, error)
	// RenewLeases extends the leases still held by their tokens to
	// now+ttl (a heartbeat of a worker whose calls are in flight) and
	// returns the conversation ids of those no longer held (expired and
	// taken by another worker, or settled, or deleted).
	RenewLeases(ctx context.Context, leases []Lease, now time.Time, ttl time.Duration) (lost []int64, err error)
}

// Pacing is the state of the Salesforce orgs every process on the store
// shares: the dispatchers read and write it, the API shows it.
type Pacing interface {
	// UpdateOrgGate reads the org's gate (a zero gate with Org set when it
	// has none), lets fn change it, and writes it back with UpdatedAt = now,
	// atomically with respect to every other UpdateOrgGate of the same org,
	// in every process. fn may run more than once (on a retried
	// transaction) and must not have side effects. It returns the gate as
	// written. Org and UpdatedAt are the store's to set.
	UpdateOrgGate(ctx context.Context, org string, now time.Time, fn func(*OrgGate)) (OrgGate, error)
	// OrgGates lists every org's gate, by Org.
	OrgGates(ctx context.Context) ([]OrgGate, error)
}

// Jobs is what the timers need besides transactions: their named
// leases, the rescue of expired outbox leases, the idle conversations.
type Jobs interface {
	// TryLease takes the named lease for owner until now+ttl when it is
	// free, expired (its expiry at or before now), or already owner's (then
	// it is extended to now+ttl), and reports whether owner holds it now.
	// The timers use it so that one process runs each tick.
	TryLease(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error)
	// RescueLeases clears leases that expired before now and returns how many.
	RescueLeases(ctx context.Context, now time.Time) (int, error)
	// IdleConversations lists conversations for the timers, oldest first.
	IdleConversations(ctx context.Context, q IdleQuery) ([]Conversation, error)
}

// Conversations are the reads of conversations and their messages: the
// API, the management operations, the flow-back from Salesforce.
type Conversations interface {
	// GetConversation returns one conversation, or ErrNotFound.
	GetConversation(ctx context.Context, id int64) (Conversation, error)
	// ListConversations lists a tenant's conversations by ascending ID.
	ListConversations(ctx context.Context, f ConversationFilter) ([]Conversation, error)
	// ListMessages lists a conversation's messages in order.
	ListMessages(ctx context.Context, conversationID int64) ([]Message, error)
	// History lists a conversation's transitions in order.
	History(ctx context.Context, conversationID int64) ([]Transition, error)
	// Stats counts a tenant's messages by push status and conversations by
	// state; an empty tenant counts all.
	Stats(ctx context.Context, tenant string) (Stats, error)
}

// Contacts are the reads of contacts and settings: the API and the
// management operations (the timers' native-block retries).
type Contacts interface {
	// GetContact returns one contact with its tags, or ErrNotFound.
	GetContact(ctx context.Context, id int64) (Contact, error)
	// ListContacts lists a tenant's contacts with their tags by ascending ID.
	ListContacts(ctx context.Context, f ContactFilter) ([]Contact, error)
	// Notes lists the contact's notes, oldest first.
	Notes(ctx context.Context, contactID int64) ([]Note, error)
	// DueNativeBlocks lists contacts whose native block is pending and due
	// (NextAttemptAt at or before now; a zero NextAttemptAt is due at
	// once), oldest due first, at most limit (0 for 100).
	DueNativeBlocks(ctx context.Context, now time.Time, limit int) ([]Contact, error)
	// SettingHistory lists the values a setting was given, oldest first.
	SettingHistory(ctx context.Context, scope, key string) ([]Setting, error)
}

// DeadLetters are the messages Salesforce refused for good, and their
// replay.
type DeadLetters interface {
	// ListDead lists dead messages in ID order.
	ListDead(ctx context.Context, f DeadFilter) ([]Message, error)
	// Replay puts dead messages back in their outboxes with no attempts,
	// ready at now; with no ids, every dead message of tenant. It returns
	// the ids replayed: ids of messages that are not dead (such as those
	// a replay before pushed) are left out. When some of ids are no
	// messages of tenant, it replays none and returns an error wrapping
	// ErrNotFound that names them.
	Replay(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error)
}

// QuarantineList lists the quarantined events (Tx takes them back).
type QuarantineList interface {
	// ListQuarantine lists quarantined events by ID.
	ListQuarantine(ctx context.Context, f QuarantineFilter) ([]Quarantined, error)
}

// Tokens are the API's bearer tokens: the API authenticates with
// TokenByHash; the command line creates, lists and revokes them.
type Tokens interface {
	// CreateToken stores a token (ID set by the store). A name already used
	// by a valid token of the same tenant is ErrConflict.
	CreateToken(ctx context.Context, t APIToken) (APIToken, error)
	// TokenByHash returns the valid (not revoked) token with that hash, or
	// ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (APIToken, error)
	// ListTokens lists the tokens of a tenant ("" for operator tokens),
	// revoked ones included, by ID.
	ListTokens(ctx context.Context, tenant string) ([]APIToken, error)
	// RevokeToken revokes a token; ErrNotFound when no valid token has id.
	RevokeToken(ctx context.Context, id int64, now time.Time) error
}

// Watermarks say where the flow-back of agents' changes in Salesforce
// stands.
type Watermarks interface {
	// SyncWatermark returns an org's watermark for the object polled for
	// agents' changes, or ErrNotFound.
	SyncWatermark(ctx context.Context, org, object string) (SyncWatermark, error)
	// PutSyncWatermark writes (creates or replaces) an org's watermark for
	// its object.
	PutSyncWatermark(ctx context.Context, w SyncWatermark) error
}

// Store is the storage interface, every role in one. Drivers:
// store/sqlite, store/postgres. A service depends on the roles it uses.
type Store interface {
	// Migrate brings the schema up to date; it is idempotent.
	Migrate(ctx context.Context) error
	// Close releases the store.
	Close() error

	Transactor
	// Batcher runs several units of work in one transaction.
	Batcher
	Outbox
	Pacing
	Jobs
	Conversations
	Contacts
	DeadLetters
	QuarantineList
	Tokens
	Watermarks
	// MediaStore keeps the messages' media items (media.go).
	MediaStore
}

// ConversationFilter selects conversations for ListConversations. Zero
// fields do not filter.
type ConversationFilter struct {
	Tenant string // required
	// States: only these states (an empty set does not filter).
	States    statemachine.Set
	Channel   string
	ContactID int64
	// UpdatedSince: UpdatedAt at or after this time.
	UpdatedSince time.Time
	AfterID      int64 // paging
	Limit        int   // 0 for 100
}

// ContactFilter selects contacts for ListContacts. Zero fields do not
// filter.
type ContactFilter struct {
	Tenant  string // required
	Channel string
	// Blocked: true for contacts blocked inbound or outbound or opted
	// out, false for the others, nil for all.
	Blocked *bool
	Tag     string
	// Search: the display name or the platform id contains it, ignoring
	// case.
	Search  string
	AfterID int64 // paging
	Limit   int   // 0 for 100
}
