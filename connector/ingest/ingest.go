// Package ingest turns the events of one verified webhook delivery into
// stored contacts, conversations and messages, in one transaction: the
// conversation state machine runs here, and the push decision is taken and
// recorded on each message as it arrives, with the org's exclusions in
// force at that moment (the stored setting, else the configuration's).
// Delivery receipts are recorded on the outbound messages they report on,
// and opt-out keywords block the contact for outbound.
package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Channel is what ingestion needs to know of the channel a delivery came in on.
type Channel struct {
	Tenant string
	ID     string
	// Platform is the channel's platform ("whatsapp"): the quarantine
	// records it.
	Platform string
	// HasBot makes new conversations start in AUTO_BOT.
	HasBot bool
	// OrgID is the tenant's Salesforce org: the scope of its stored
	// exclusions, and the push reason names it.
	OrgID string
	// Excluded are the states the configuration excludes for the org (its
	// excluded_states, or the default). The org's stored setting, changed
	// through the API, overrides them; see ExcludedNow.
	Excluded statemachine.Set
	// ExcludedFromConfig says that the configuration file set
	// excluded_states (rather than leaving the default): the source
	// EffectiveExcluded reports.
	ExcludedFromConfig bool
	// OptOutKeywords are the tenant's opt-out keywords of the
	// configuration (see MatchOptOut); the tenant's stored setting,
	// changed through the API, overrides them (see OptOutKeywords).
	OptOutKeywords []string
	// RefuseBlocked refuses the messages of contacts blocked for inbound
	// instead of recording them: the web chat's native block, where the
	// connector is the platform (platform.BlockedRefuser).
	RefuseBlocked bool
	// Media says that the channel's adapter downloads media
	// (platform.Capabilities.Media): an inbound message with a media
	// reference gets a media item, fetched by the media worker (or
	// recorded as skipped when the message is excluded or its contact
	// blocked).
	Media bool
}

// Refusal is a message event refused at the door (RefuseBlocked): nothing
// of it is stored.
type Refusal struct {
	// ID is the event's id; Contact the platform's contact id.
	ID      string `json:"id"`
	Contact string `json:"contact"`
	// Reason is "contact_blocked".
	Reason string `json:"reason"`
}

// ExcludedNow returns the states the channel's org excludes now: the
// org's stored setting when there is one, else Excluded; and where they
// come from (SourceAPI, SourceConfig or SourceDefault). Call it inside the
// transaction that takes the push decision.
func (c Channel) ExcludedNow(ctx context.Context, tx store.Tx) (statemachine.Set, string, error) {
	set, source, _, err := EffectiveExcluded(ctx, tx, c.OrgID, c.Excluded, c.ExcludedFromConfig)
	if err != nil {
		return 0, "", err
	}
	if source != SourceAPI {
		// Excluded is the configuration's (or the default) as the caller
		// resolved it.
		set = c.Excluded
	}
	return set, source, nil
}

// PushDecision is the push status of a message stored in a conversation in
// state, given the org's excluded states, with the reason when it is
// excluded. Inbound messages, replies and opt-out replies all use it.
func PushDecision(state statemachine.State, excluded statemachine.Set, orgID string) (store.PushStatus, string) {
	if statemachine.ShouldPush(state, excluded) {
		return store.Pending, ""
	}
	return store.Excluded, fmt.Sprintf("state %s is excluded for org %s", state, orgID)
}

// MatchOptOut returns the keyword text is, if any: compared trimmed, with
// runs of white space as one space, ignoring case.
func MatchOptOut(keywords []string, text string) (string, bool) {
	if len(keywords) == 0 {
		return "", false
	}
	t := normalizeKeyword(text)
	if t == "" {
		return "", false
	}
	for _, kw := range keywords {
		if k := normalizeKeyword(kw); k != "" && strings.EqualFold(k, t) {
			return kw, true
		}
	}
	return "", false
}

func normalizeKeyword(s string) string { return strings.Join(strings.Fields(s), " ") }

// OptOut is a contact who opted out with a keyword in a delivery: the
// opt-out is committed with the delivery.
type OptOut struct {
	Tenant, Channel string
	ContactID       int64
	ExternalID      string
	// Keyword is the configured keyword the message matched.
	Keyword string
	// ConversationID holds the opt-out message.
	ConversationID int64
	// Blocked says the contact was blocked (inbound or outbound) when it
	// opted out: it gets no last reply.
	Blocked bool
}

// OptOutBy is the sender of an opt-out's last reply, the one message
// sent to a contact who opted out.
const OptOutBy = "opt-out"

// Delivery statuses a receipt records on an outbound message.
var deliveryStatuses = map[string]bool{"sent": true, "delivered": true, "read": true, "failed": true}

// Result counts what a delivery did.
type Result struct {
	// Stored messages, of which Pending are queued for Salesforce and
	// Excluded are not.
	Stored   int `json:"stored"`
	Pending  int `json:"pending"`
	Excluded int `json:"excluded"`
	// Duplicates were stored already (a platform retry).
	Duplicates int `json:"duplicates"`
	// ContactEvents are what the platform said about contacts (follow,
	// unfollow, the user blocked or unblocked the business), recorded on
	// the contact.
	ContactEvents int `json:"contact_events"`
	// Receipts are delivery receipts (sent, delivered, read, failed) of one
	// outbound message each, recorded on the message when the connector
	// stored it (a receipt for a message sent by another app changes
	// nothing).
	Receipts int `json:"receipts"`
	// Other events: echoes of the business's own messages, receipts that
	// name no one message (a watermark), event types not handled;
	// accepted and not turned into messages.
	Other int `json:"other"`
	// Quarantined events could not be used as the channel is configured
	// (another account's, no chat, an unusable id): kept in quarantine
	// for an operator to replay.
	Quarantined int `json:"quarantined,omitempty"`
	// QuarantinedEvents are the events quarantined, for logs and metrics.
	QuarantinedEvents []QuarantinedEvent `json:"-"`
	// Ignored counts the events accepted and dropped by design by type
	// (IgnoredType), for the metric.
	Ignored map[string]int `json:"-"`
	// Refused lists the message events of contacts blocked at the door
	// (the web chat): not stored, so that the sender can tell the contact.
	Refused []Refusal `json:"refused,omitempty"`
	// Conversations lists the conversations touched, for logs.
	Conversations []int64 `json:"-"`
	// ReceiptsRecorded counts the receipts that changed a message, for logs.
	ReceiptsRecorded int `json:"-"`
	// OptOuts are the contacts who opted out in this delivery (their
	// outbound block is committed with it), for the last reply.
	OptOuts []OptOut `json:"-"`
	// MediaPending counts the media items recorded to be fetched (the
	// media worker is woken for them); MediaSkipped those recorded and
	// never fetched (excluded message, blocked contact).
	MediaPending int `json:"-"`
	MediaSkipped int `json:"-"`
	// Unfetched lists the media of this delivery's messages that will
	// never be fetched: the items recorded skipped, and the media of the
	// messages refused. The platform may drop its copies of them (the web
	// chat's uploads).
	Unfetched []MediaRef `json:"-"`
}

// MediaRef is a channel's reference to a media item, as a message gives
// it (platform.Message.MediaRef).
type MediaRef struct {
	Tenant, Channel, Ref string
}

// QuarantinedEvent is an event a delivery put in quarantine.
type QuarantinedEvent struct {
	// ID is the quarantined event's id in the store.
	ID                        int64
	Tenant, Channel, Platform string
	Reason                    string
	// New is false when the event was in quarantine already (a retry, a
	// replay that failed again): its reason was updated.
	New bool
}

// Store is what ingestion uses of the store: its transactions, and the
// reads of the webhook handler built on it (an opt-out's contact, the
// quarantined events it replays).
type Store interface {
	store.Transactor
	store.Batcher
	GetContact(ctx context.Context, id int64) (store.Contact, error)
	store.QuarantineList
}

// Ingester stores deliveries.
type Ingester struct {
	Store Store
	// Group, when set, makes concurrent deliveries share a transaction
	// (group commit); each still commits or fails on its own.
	Group *GroupCommitter
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// withTx runs fn, which stores batches, in a transaction of its own, or
// in the next group that may take it (see GroupCommitter). The keys that
// keep groups in flight apart are made only when there are several.
func (in *Ingester) withTx(ctx context.Context, batches []Batch, fn func(store.Tx) error) error {
	if in.Group != nil {
		var keys []string
		if in.Group.InFlight > 1 {
			keys = groupKeys(batches)
		}
		return in.Group.Do(ctx, keys, fn)
	}
	return in.Store.WithTx(ctx, fn)
}

// groupKeys are the keys of a delivery for a GroupCommitter: the contacts
// of its events, each on its channel, without repeats.
func groupKeys(batches []Batch) []string {
	var keys []string
	for _, b := range batches {
		for _, ev := range b.Events {
			if ev.Contact == "" {
				continue
			}
			if k := b.Channel.Tenant + "\x00" + b.Channel.ID + "\x00" + ev.Contact; !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now().UTC()
	}
	return time.Now().UTC()
}

// Batch is the events of one delivery that belong to one channel.
type Batch struct {
	Channel Channel
	Events  []platform.Event
}

// Ingest stores every message event of a delivery and runs the state
// machine, all in one transaction: when it returns nil the delivery is
// durable and may be acknowledged; when it returns an error nothing of the
// delivery is stored.
func (in *Ingester) Ingest(ctx context.Context, ch Channel, events []platform.Event) (Result, error) {
	return in.IngestBatches(ctx, []Batch{{Channel: ch, Events: events}})
}

// IngestBatches stores a delivery whose events belong to several channels
// (a Meta app's delivery for several of its accounts) in one transaction,
// as Ingest does for one channel.
func (in *Ingester) IngestBatches(ctx context.Context, batches []Batch) (Result, error) {
	var res Result
	err := in.withTx(ctx, batches, func(tx store.Tx) error {
		var err error
		res, err = in.IngestIn(ctx, tx, batches)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("ingest: %w", err)
	}
	return res, nil
}

// IngestIn stores the batches' events in tx, as IngestBatches does in a
// transaction of its own: replaying a quarantined event uses it to remove
// the event from quarantine in the same transaction.
func (in *Ingester) IngestIn(ctx context.Context, tx store.Tx, batches []Batch) (Result, error) {
	res := Result{}
	now := in.now()
	for _, b := range batches {
		bs := &batchState{ch: b.Channel}
		for i := range b.Events {
			if err := in.event(ctx, tx, bs, &b.Events[i], now, &res); err != nil {
				return Result{}, fmt.Errorf("%s/%s event %d (%s): %w", b.Channel.Tenant, b.Channel.ID, i, b.Events[i].ID, err)
			}
		}
	}
	return res, nil
}

// batchState is what the events of one batch share in the transaction:
// the org's exclusions, read once, when the first message needs them.
type batchState struct {
	ch       Channel
	excluded statemachine.Set
	loaded   bool
	// keywords are the tenant's opt-out keywords, read once, when the
	// first text message needs them.
	keywords       []string
	keywordsLoaded bool
	// settings are the two settings above as read together, when the first
	// message needs either (nil before).
	settings *readAhead
}

// settingsTx returns tx, its GetSetting answering from one read of the
// batch's exclusions and opt-out keywords: a message needs both (unless
// its contact opted out), and one statement costs a round trip less than
// two on PostgreSQL.
func (b *batchState) settingsTx(ctx context.Context, tx store.Tx) (store.Tx, error) {
	if b.settings == nil {
		keys := []store.SettingKey{
			{Scope: OrgScope(b.ch.OrgID), Key: SettingExcludedStates},
			{Scope: TenantScope(b.ch.Tenant), Key: SettingOptOutKeywords},
		}
		got, err := tx.GetSettings(ctx, keys)
		if err != nil {
			return nil, err
		}
		b.settings = &readAhead{keys: keys, got: got}
	}
	return readAheadTx{Tx: tx, r: b.settings}, nil
}

// readAhead is what one GetSettings read.
type readAhead struct {
	keys []store.SettingKey
	got  map[store.SettingKey]store.Setting
}

// readAheadTx answers GetSetting from r for r's keys.
type readAheadTx struct {
	store.Tx
	r *readAhead
}

func (t readAheadTx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	k := store.SettingKey{Scope: scope, Key: key}
	if !slices.Contains(t.r.keys, k) {
		return t.Tx.GetSetting(ctx, scope, key)
	}
	if s, ok := t.r.got[k]; ok {
		return s, nil
	}
	return store.Setting{}, notSet(k)
}

func (b *batchState) optOutKeywords(ctx context.Context, tx store.Tx) ([]string, error) {
	if !b.keywordsLoaded {
		tx, err := b.settingsTx(ctx, tx)
		if err != nil {
			return nil, err
		}
		kw, _, err := OptOutKeywords(ctx, tx, b.ch.Tenant, b.ch.OptOutKeywords)
		if err != nil {
			return nil, err
		}
		b.keywords, b.keywordsLoaded = kw, true
	}
	return b.keywords, nil
}

func (b *batchState) excludedNow(ctx context.Context, tx store.Tx) (statemachine.Set, error) {
	if !b.loaded {
		tx, err := b.settingsTx(ctx, tx)
		if err != nil {
			return 0, err
		}
		set, _, err := b.ch.ExcludedNow(ctx, tx)
		if err != nil {
			return 0, err
		}
		b.excluded, b.loaded = set, true
	}
	return b.excluded, nil
}

// event stores one event of the batch's channel.
func (in *Ingester) event(ctx context.Context, tx store.Tx, b *batchState, ev *platform.Event, now time.Time, res *Result) error {
	switch {
	case ev.Kind == platform.KindMessage && ev.Message != nil:
		return in.message(ctx, tx, b, ev, now, res)
	case ev.Kind == platform.KindContact && ev.Contact != "" && ev.Status != "":
		return in.contactEvent(ctx, tx, b.ch, ev, now, res)
	case ev.Kind == platform.KindReceipt:
		if id, ok := ReceiptMessageID(ev); ok {
			return in.receipt(ctx, tx, b.ch, id, ev, now, res)
		}
	case ev.Kind == platform.KindUnusable:
		return in.quarantine(ctx, tx, b.ch, ev, now, res)
	}
	res.Other++
	res.ignored(IgnoredType(ev))
	return nil
}

func (r *Result) ignored(typ string) {
	if r.Ignored == nil {
		r.Ignored = map[string]int{}
	}
	r.Ignored[typ]++
}

// quarantine keeps an unusable event with its raw bytes and reason.
func (in *Ingester) quarantine(ctx context.Context, tx store.Tx, ch Channel, ev *platform.Event, now time.Time, res *Result) error {
	reason := cleanReason(ev.Reason)
	q, inserted, err := tx.Quarantine(ctx, store.Quarantined{
		Tenant: ch.Tenant, Channel: ch.ID, Platform: ch.Platform, Reason: reason, Raw: ev.Raw, ReceivedAt: now,
	})
	if err != nil {
		return err
	}
	res.Quarantined++
	res.QuarantinedEvents = append(res.QuarantinedEvents, QuarantinedEvent{
		ID: q.ID, Tenant: ch.Tenant, Channel: ch.ID, Platform: ch.Platform, Reason: reason, New: inserted,
	})
	return nil
}

// maxReason bounds a quarantined event's reason, in bytes.
const maxReason = 300

// cleanReason makes an adapter's reason storable as text on every driver:
// valid UTF-8 without NUL, at most maxReason bytes, never empty.
func cleanReason(reason string) string {
	r := strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "\uFFFD")
	if len(r) > maxReason {
		r = strings.ToValidUTF8(r[:maxReason], "")
	}
	if r == "" {
		r = "unusable"
	}
	return r
}

// IgnoredType names an event dropped by design for the metric, from a
// small set: the first word of an ignored event's Detail (with the second
// for "field X" and "standby X"), "receipt_<status>" for a receipt that
// names no one message (an echo, a watermark); "other" for anything not
// made of lower-case letters and underscores.
func IgnoredType(ev *platform.Event) string {
	if ev.Kind == platform.KindReceipt {
		return metricWord("receipt_" + ev.Status)
	}
	words := strings.Fields(ev.Detail)
	switch {
	case len(words) == 0:
		return "other"
	case len(words) > 1 && (words[0] == "field" || words[0] == "standby") && metricWord(words[1]) != "other":
		return words[0] + "_" + words[1]
	}
	return metricWord(words[0])
}

// metricWord returns w when it is a short word of lower-case letters and
// underscores, else "other": a label value of bounded cardinality.
func metricWord(w string) string {
	if w == "" || len(w) > 40 {
		return "other"
	}
	for _, c := range w {
		if (c < 'a' || c > 'z') && c != '_' {
			return "other"
		}
	}
	return w
}

// ReceiptMessageID returns the platform id of the outbound message a
// receipt reports on, when the receipt names one message and carries a
// delivery status (sent, delivered, read, failed). The adapters give a
// receipt the id "<message id>:status:<status>", so that it does not share
// its deduplication key with the message; an echo (status "echo") or a
// watermark receipt ("read:<user>:<watermark>", every message up to then)
// names no message to record on.
func ReceiptMessageID(ev *platform.Event) (string, bool) {
	if ev.Kind != platform.KindReceipt || !deliveryStatuses[ev.Status] {
		return "", false
	}
	id, ok := strings.CutSuffix(ev.ID, ":status:"+ev.Status)
	if !ok || id == "" {
		return "", false
	}
	return id, true
}

// receipt records a delivery status on the outbound message it reports
// on; a receipt older than the status the message holds changes nothing.
func (in *Ingester) receipt(ctx context.Context, tx store.Tx, ch Channel, platformID string, ev *platform.Event, now time.Time, res *Result) error {
	at := ev.Timestamp
	if at.IsZero() {
		at = now
	}
	changed, err := tx.SetDeliveryStatus(ctx, ch.Tenant, ch.ID, platformID, ev.Status, at)
	if err != nil {
		return err
	}
	res.Receipts++
	if changed {
		res.ReceiptsRecorded++
	} else {
		// A receipt of a message the connector did not store (sent by
		// another app), or older than the status recorded.
		res.ignored("receipt_unrecorded")
	}
	return nil
}

func (in *Ingester) message(ctx context.Context, tx store.Tx, b *batchState, ev *platform.Event, now time.Time, res *Result) error {
	ch := b.ch
	lookup, err := tx.Inbound(ctx, store.ContactKey{Tenant: ch.Tenant, Channel: ch.ID, ExternalID: ev.Contact}, ev.ContactName, now, ev.ID)
	if err != nil {
		return err
	}
	contact := lookup.Contact
	if lookup.Stored {
		res.Duplicates++
		return nil
	}
	if ch.RefuseBlocked && contact.BlockedInbound {
		res.Refused = append(res.Refused, Refusal{ID: ev.ID, Contact: ev.Contact, Reason: "contact_blocked"})
		if ev.Message.MediaRef != "" {
			res.Unfetched = append(res.Unfetched, MediaRef{Tenant: ch.Tenant, Channel: ch.ID, Ref: ev.Message.MediaRef})
		}
		return nil
	}
	conv, state, err := conversationFor(ctx, tx, ch, contact, lookup, now)
	if err != nil {
		return err
	}
	m := store.Message{
		Tenant:         ch.Tenant,
		Channel:        ch.ID,
		ConversationID: conv.ID,
		ContactID:      contact.ID,
		PlatformID:     ev.ID,
		Direction:      store.Inbound,
		Kind:           ev.Message.Kind,
		Body:           ev.Message.Text,
		MediaURL:       ev.Message.MediaRef,
		MediaType:      ev.Message.MediaType,
		ReplyTo:        ev.Message.ReplyTo,
		Sender:         cmp.Or(ev.Sender, ev.Contact), // a group chat's member, or the contact
		SentAt:         ev.Timestamp,
		ReceivedAt:     now,
		StateAtReceipt: state,
		PushStatus:     store.Pending,
	}
	if m.SentAt.IsZero() {
		m.SentAt = now
	}
	excluded, err := b.excludedNow(ctx, tx)
	if err != nil {
		return err
	}
	m.PushStatus, m.PushReason = PushDecision(state, excluded, ch.OrgID)
	stored, inserted, err := tx.AddMessage(ctx, m) // and touches conv
	if err != nil {
		return err
	} else if !inserted {
		res.Duplicates++
		return nil
	}
	if err := in.media(ctx, tx, ch, contact, stored, now, res); err != nil {
		return err
	}
	res.Stored++
	if m.PushStatus == store.Pending {
		res.Pending++
	} else {
		res.Excluded++
	}
	res.Conversations = append(res.Conversations, conv.ID)
	return in.optOut(ctx, tx, b, contact, conv, ev, now, res)
}

// Reasons a media item is recorded as skipped.
const (
	SkipExcluded = "the message is excluded"
	SkipBlocked  = "the contact is blocked"
)

// media records the media item of a stored inbound message with a media
// reference, when the channel downloads media: pending, for the media
// worker to fetch at once, unless the message is excluded or its contact
// is blocked for inbound (then skipped: recorded, never fetched). The
// message itself never waits for it.
func (in *Ingester) media(ctx context.Context, tx store.Tx, ch Channel, contact store.Contact, m store.Message, now time.Time, res *Result) error {
	if !ch.Media || m.MediaURL == "" {
		return nil
	}
	item := store.MediaItem{MessageID: m.ID, ConversationID: m.ConversationID, Tenant: m.Tenant, Channel: m.Channel,
		Ref: m.MediaURL, Status: store.MediaPending, CreatedAt: now}
	switch {
	case contact.BlockedInbound:
		item.Status, item.Reason = store.MediaSkipped, SkipBlocked
	case m.PushStatus == store.Excluded:
		item.Status, item.Reason = store.MediaSkipped, SkipExcluded+": "+m.PushReason
	}
	if _, err := tx.InsertMedia(ctx, item); err != nil {
		return err
	}
	if item.Status == store.MediaPending {
		res.MediaPending++
	} else {
		res.MediaSkipped++
		res.Unfetched = append(res.Unfetched, MediaRef{Tenant: item.Tenant, Channel: item.Channel, Ref: item.Ref})
	}
	return nil
}

// optOut records the contact's opt-out when the stored message is one of
// the tenant's opt-out keywords: a text, or the title of a button (or
// postback) the contact pressed, as a "Do Not Disturb" button of a bot's
// menu. The opt-out is the contact's own, apart from an agent's block,
// which it leaves as it is; a contact opted out already keeps its first
// opt-out (and gets no second last reply). Opt-outs apply whether or not
// blocking is enabled for the tenant: they are the contact's own request.
// A contact blocked (inbound or outbound) is recorded as opted out with
// no last reply: nothing automated runs for a blocked contact.
func (in *Ingester) optOut(ctx context.Context, tx store.Tx, b *batchState, contact store.Contact, conv store.Conversation, ev *platform.Event, now time.Time, res *Result) error {
	if !optOutKinds[ev.Message.Kind] || contact.OptedOut() {
		return nil
	}
	ch := b.ch
	keywords, err := b.optOutKeywords(ctx, tx)
	if err != nil {
		return err
	}
	kw, ok := MatchOptOut(keywords, ev.Message.Text)
	if !ok {
		return nil
	}
	if _, err := tx.SetContactOptOut(ctx, contact.ID, store.OptOut{Keyword: kw, At: now}, now); err != nil {
		return fmt.Errorf("opt-out of contact %d: %w", contact.ID, err)
	}
	res.OptOuts = append(res.OptOuts, OptOut{
		Tenant: ch.Tenant, Channel: ch.ID, ContactID: contact.ID, ExternalID: contact.ExternalID,
		Keyword: kw, ConversationID: conv.ID, Blocked: contact.BlockedInbound || contact.BlockedOutbound,
	})
	return nil
}

// optOutKinds are the kinds of message whose text an opt-out keyword
// matches: what the contact wrote, or the title of the button it pressed.
var optOutKinds = map[string]bool{platform.Text: true, platform.Button: true, platform.Postback: true}

// contactEvent records what the platform said about a contact (creating
// the contact when it is new). A platform's retry of an older event never
// overrides a newer status.
func (in *Ingester) contactEvent(ctx context.Context, tx store.Tx, ch Channel, ev *platform.Event, now time.Time, res *Result) error {
	contact, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: ch.Tenant, Channel: ch.ID, ExternalID: ev.Contact}, ev.ContactName, now)
	if err != nil {
		return err
	}
	at := ev.Timestamp
	if at.IsZero() {
		at = now
	}
	if _, err := tx.SetContactPlatformStatus(ctx, contact.ID, ev.Status, at); err != nil {
		return err
	}
	res.ContactEvents++
	return nil
}

// conversationFor finds (lookup.Live) or opens the conversation an inbound
// message of contact belongs to, applying the state machine, and returns
// it with the state the push decision is taken with.
func conversationFor(ctx context.Context, tx store.Tx, ch Channel, contact store.Contact, lookup store.InboundLookup, now time.Time) (store.Conversation, statemachine.State, error) {
	if conv := lookup.Live; lookup.HasLive {
		t, err := statemachine.Next(conv.State, statemachine.Event{Kind: statemachine.Inbound, HasBot: ch.HasBot})
		if err != nil {
			return store.Conversation{}, 0, err
		}
		if t.Changed {
			conv, err = tx.ApplyTransition(ctx, store.Transition{
				ConversationID: conv.ID, From: t.From, To: t.To,
				Event: statemachine.Inbound.String(), Actor: "system", Reason: "inbound message", At: now,
			})
			if err != nil {
				return store.Conversation{}, 0, err
			}
		}
		return conv, t.To, nil
	}

	if contact.BlockedInbound {
		// A contact blocked for inbound never gets a new conversation: the
		// message is recorded on its most recent one, as a BLOCKED message.
		latest, err := tx.LatestConversation(ctx, contact.ID)
		if err == nil {
			return latest, statemachine.Blocked, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Conversation{}, 0, err
		}
		// Blocked before it ever wrote: a BLOCKED conversation records it.
		c, err := tx.CreateConversation(ctx, newConversation(ch, contact, statemachine.Blocked, now), "system", "inbound message from a blocked contact")
		return c, statemachine.Blocked, err
	}
	initial := statemachine.Initial(ch.HasBot)
	c, err := tx.CreateConversation(ctx, newConversation(ch, contact, initial, now), "system", "inbound message")
	return c, initial, err
}

func newConversation(ch Channel, contact store.Contact, s statemachine.State, now time.Time) store.Conversation {
	return store.Conversation{
		Tenant: ch.Tenant, Channel: ch.ID, ContactID: contact.ID, ContactExternalID: contact.ExternalID,
		State: s, CreatedAt: now, UpdatedAt: now, LastActivityAt: now,
	}
}
