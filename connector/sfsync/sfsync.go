// Package sfsync brings the support team's changes in Salesforce back to
// the connector: when an agent changes a conversation record's state or
// blocked field (from a record page, a list view, a flow), the connector
// applies the change as an API caller's change would be applied, through
// connector/manage: the state machine, the history (the Salesforce user as
// the actor, "changed in Salesforce" as the reason), blocking with the
// platform's native block, and the exclusions of the next messages.
//
// # How it reads the changes
//
// Poll runs one SOQL query per org (through simpleforce's Query, paging
// with nextRecordsUrl):
//
//	SELECT Id, <external id>, <state>, <blocked>, SystemModstamp, LastModifiedById, LastModifiedBy.Name
//	FROM <conversation object> WHERE SystemModstamp >= <watermark>
//	ORDER BY SystemModstamp ASC, Id ASC
//
// The watermark is stored per org (store.SyncWatermark), shared by every
// replica; the timers run Poll as a shared job, so one replica polls per
// tick. Salesforce keeps SystemModstamp to the second, so the query asks
// for records at the watermark too (>=): a record changed later in the
// same second is not missed. The watermark keeps the versions of the
// records at its SystemModstamp read already (each record's Id with its
// mapped values and who wrote them, which tells two writes of one second
// apart), and the next poll skips them: each version of a record is read
// once, so an agent's change is applied (or refused) once, whatever
// happens to the conversation afterwards. With no watermark yet (the
// first poll of an org), the watermark starts at the newest record's
// SystemModstamp, with the records of that second as read: changes made
// before the connector first polled the org are not replayed.
//
// # What is a change
//
//   - A record whose state and blocked values are the connector's view of
//     the conversation is no change. While the connector's own change is
//     not yet written to the record, the record's values are compared with
//     the state the connector last wrote, too: a stale record is no change.
//   - A record whose LastModifiedById is the integration user (the user the
//     connector's tokens are issued to) and whose values are a state the
//     conversation has had is the connector's own write (one still being
//     settled, by another replica say, or a write-back landing late). With
//     values of a state it never had, which the connector never wrote, it
//     is an agent's edit that an update by the integration user carried
//     along (a roll-up summary recalculated when the connector pushed a
//     message): a change, as below.
//   - Otherwise a field is the agent's when its value is neither the
//     connector's view nor what the connector last wrote, and the record
//     says what the agent wants: its state when the state is the agent's
//     (the state wins when the agent changed both fields in contradicting
//     ways); else its blocked field: checked means BLOCKED, unchecked on a
//     BLOCKED conversation means OPEN (AUTO_BOT on a bot channel).
//
// BLOCKED is applied as a block of the contact in both directions (the
// platform's native block with it); another state through a state change
// (leaving BLOCKED lifts the block and the native block). A change the
// connector refuses (the conversation is EXPIRED, the value is no state,
// blocking is switched off for the tenant) is recorded in the
// conversation's history with the reason (event "refused") and written
// back: the record is upserted with the connector's state, so Salesforce
// shows the truth. A write-back that fails (a locked row, a validation
// rule) is tried again at the next polls, with the connector's state
// then, up to MaxWriteBackAttempts times in all; the refusal is recorded
// once.
//
// # When both sides change the same conversation
//
// Each side's change is applied to the conversation as it is when the
// change arrives, in the order the connector sees them: an inbound message
// or an API call is applied when it reaches the connector; an agent's
// change when the next poll reads it. The state machine decides from the
// state then (an agent's CLOSED on a conversation an inbound message just
// reopened closes it again; an agent's OPEN on a conversation that expired
// meanwhile is refused and written back). The record is then brought to
// the connector's state by the dispatcher. When the connector writes the
// record after an agent's edit and before a poll reads it (its own change
// to mirror), its write is the last one in Salesforce and the agent's edit
// is not seen: the poll interval bounds that window.
package sfsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/statemachine"
)

// Reason is the reason of every change applied from Salesforce.
const Reason = "changed in Salesforce"

// soqlTime is how a datetime literal is written in SOQL.
const soqlTime = "2006-01-02T15:04:05Z"

// epoch is the watermark of an org with no record yet.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxWriteBackAttempts is how many polls try to write a refused change
// back before the connector gives up on that record (logged as an
// error); the record is corrected when the connector next writes it.
const MaxWriteBackAttempts = 10

// Salesforce is what the poller needs of an org's client
// (*sfclient.Client).
type Salesforce interface {
	UserID(ctx context.Context) (string, error)
	Query(ctx context.Context, soql string, page func([]sfclient.QueryRecord) error) error
	UpsertCollection(ctx context.Context, object, externalIDField string, records []sfclient.Record) ([]sfclient.Result, error)
}

// Org is one Salesforce org to poll.
type Org struct {
	// Key is the org id's first 15 characters.
	Key     string
	Client  Salesforce
	Mapping config.ConversationMapping
	// Tenants are the tenants writing to the org; records of others are
	// not the connector's.
	Tenants []string
}

// Store is what the poller uses of the store: a conversation and its
// history, and the watermarks.
type Store interface {
	GetConversation(ctx context.Context, id int64) (store.Conversation, error)
	History(ctx context.Context, conversationID int64) ([]store.Transition, error)
	store.Watermarks
}

// Poller reads agents' changes back. Poll is safe to call from one
// goroutine at a time (the timers never overlap a job with itself).
type Poller struct {
	Store   Store
	Manager *manage.Manager
	Orgs    []Org
	Log     zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Changes counts the records read, by org and result: applied,
	// refused, unchanged, own (the connector's writes), unknown (not a
	// conversation of the org's tenants). Optional; see NewChangesMetric.
	Changes *prometheus.CounterVec
}

// NewChangesMetric builds and registers
// connector_salesforce_changes_total{org,result}.
func NewChangesMetric(r prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "connector_salesforce_changes_total",
		Help: "Conversation records read back from Salesforce, by result (applied, refused, unchanged, own, unknown).",
	}, []string{"org", "result"})
	if err := r.Register(c); err != nil {
		return nil, fmt.Errorf("sfsync: register the metric: %w", err)
	}
	return c, nil
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

// Poll reads each org's changes since its watermark and applies them. An
// org that fails does not stop the others; the errors are joined.
func (p *Poller) Poll(ctx context.Context) error {
	var errs []error
	for _, o := range p.Orgs {
		if err := p.pollOrg(ctx, o); err != nil {
			errs = append(errs, fmt.Errorf("org %s: %w", o.Key, err))
		}
	}
	return errors.Join(errs...)
}

// record is one conversation record as read.
type record struct {
	id       string // Salesforce's record Id
	key      string
	state    string
	blocked  *bool
	modstamp time.Time
	userID   string
	userName string
}

func (p *Poller) count(org, result string) {
	if p.Changes != nil {
		p.Changes.WithLabelValues(org, result).Inc()
	}
}

// pollOrg polls one org.
func (p *Poller) pollOrg(ctx context.Context, o Org) error {
	mp := o.Mapping
	if mp.State == "" && mp.Blocked == "" {
		return nil // nothing an agent could change is mapped
	}
	me, err := o.Client.UserID(ctx)
	if err != nil {
		return err
	}
	wm, err := p.Store.SyncWatermark(ctx, o.Key, mp.Object)
	if errors.Is(err, store.ErrNotFound) {
		return p.startWatermark(ctx, o)
	}
	if err != nil {
		return err
	}
	soql := fmt.Sprintf("SELECT %s FROM %s WHERE SystemModstamp >= %s ORDER BY SystemModstamp ASC, Id ASC",
		selectList(mp), mp.Object, wm.Modstamp.UTC().Format(soqlTime))

	// next is the watermark as the records read move it: the latest
	// SystemModstamp, with the Ids read at it.
	next := store.SyncWatermark{Org: o.Key, Object: mp.Object, Modstamp: wm.Modstamp,
		Seen: slices.Clone(wm.Seen), WriteBack: maps.Clone(wm.WriteBack)}
	if next.WriteBack == nil {
		next.WriteBack = map[string]int{}
	}
	var refused []sfclient.Record
	err = o.Client.Query(ctx, soql, func(recs []sfclient.QueryRecord) error {
		for _, qr := range recs {
			r := readRecord(qr, mp)
			if r.modstamp.IsZero() {
				return fmt.Errorf("record %s has no readable SystemModstamp %q", r.id, qr.String("SystemModstamp"))
			}
			if r.modstamp.Equal(wm.Modstamp) && slices.Contains(wm.Seen, r.version()) {
				continue // this version was read by an earlier poll
			}
			back, err := p.apply(ctx, o, me, r)
			if err != nil {
				return fmt.Errorf("record %s (%s): %w", r.id, r.key, err)
			}
			if back != nil {
				refused = append(refused, back)
				delete(next.WriteBack, r.key) // this refusal's write-back supersedes an earlier one's
			}
			if r.modstamp.After(next.Modstamp) {
				next.Modstamp, next.Seen = r.modstamp, nil
			}
			next.Seen = append(next.Seen, r.version())
		}
		return nil
	})
	// The records read so far are applied: the watermark moves up to
	// them even when a later one failed (that one is read again).
	werr := p.writeBack(ctx, o, refused, next.WriteBack)
	if !next.Modstamp.Equal(wm.Modstamp) || !slices.Equal(next.Seen, wm.Seen) || !maps.Equal(next.WriteBack, wm.WriteBack) {
		next.UpdatedAt = p.now()
		if perr := p.Store.PutSyncWatermark(ctx, next); perr != nil {
			return errors.Join(err, werr, perr)
		}
	}
	return errors.Join(err, werr)
}

// startWatermark sets an org's first watermark: its newest record's
// SystemModstamp (or 2000-01-01 when it has none), the records of that
// second read.
func (p *Poller) startWatermark(ctx context.Context, o Org) error {
	w := store.SyncWatermark{Org: o.Key, Object: o.Mapping.Object, Modstamp: epoch}
	soql := fmt.Sprintf("SELECT %s FROM %s ORDER BY SystemModstamp DESC, Id ASC LIMIT %d", selectList(o.Mapping), o.Mapping.Object, startRecords)
	err := o.Client.Query(ctx, soql, func(recs []sfclient.QueryRecord) error {
		for _, qr := range recs {
			r := readRecord(qr, o.Mapping)
			switch {
			case r.modstamp.IsZero() || r.modstamp.Before(w.Modstamp):
			case r.modstamp.After(w.Modstamp):
				w.Modstamp, w.Seen = r.modstamp, []string{r.version()}
			default:
				w.Seen = append(w.Seen, r.version())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.Log.Info().Str("org", o.Key).Time("watermark", w.Modstamp).Msg("salesforce changes: first poll of the org; changes from now on are read back")
	w.UpdatedAt = p.now()
	return p.Store.PutSyncWatermark(ctx, w)
}

// startRecords bounds the records of the newest second the first poll
// counts as read (a mass update may stamp more in one second: the others
// are read once, as changes).
const startRecords = 200

// version tells this version of the record from another of the same
// SystemModstamp (two writes in one second): its Id, the values of its
// mapped fields, and who wrote them; with the SystemModstamp, so that a
// list of another second (one a replica of an earlier version left beside
// a watermark it moved) matches nothing.
func (r record) version() string {
	blocked := "-"
	if r.blocked != nil {
		blocked = strconv.FormatBool(*r.blocked)
	}
	return r.modstamp.UTC().Format(soqlTime) + "|" + r.id + "|" + r.state + "|" + blocked + "|" + r.userID
}

// selectList is what a poll reads of a conversation record.
func selectList(mp config.ConversationMapping) string {
	fields := []string{"Id", mp.ExternalID}
	if mp.State != "" {
		fields = append(fields, mp.State)
	}
	if mp.Blocked != "" {
		fields = append(fields, mp.Blocked)
	}
	fields = append(fields, "SystemModstamp", "LastModifiedById", "LastModifiedBy.Name")
	return strings.Join(fields, ", ")
}

// readRecord reads a query record.
func readRecord(qr sfclient.QueryRecord, mp config.ConversationMapping) record {
	r := record{
		id:       qr.String("Id"),
		key:      qr.String(mp.ExternalID),
		modstamp: parseTime(qr.String("SystemModstamp")),
		userID:   qr.String("LastModifiedById"),
		userName: qr.String("LastModifiedBy.Name"),
	}
	if mp.State != "" {
		r.state = qr.String(mp.State)
	}
	if mp.Blocked != "" {
		if b, ok := qr[mp.Blocked].(bool); ok {
			r.blocked = &b
		}
	}
	return r
}

// parseTime reads a Salesforce datetime ("2026-12-05T10:00:00.000+0000").
func parseTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// sameUser compares Salesforce ids on their first 15 characters.
func sameUser(a, b string) bool {
	return len(a) >= 15 && len(b) >= 15 && a[:15] == b[:15]
}

// parseKey reads <tenant>:<channel>:<conversation id>.
func parseKey(key string) (tenant, channel string, id int64, ok bool) {
	i, j := strings.Index(key, ":"), strings.LastIndex(key, ":")
	if i <= 0 || j <= i+1 {
		return "", "", 0, false
	}
	id, err := strconv.ParseInt(key[j+1:], 10, 64)
	if err != nil || id <= 0 {
		return "", "", 0, false
	}
	return key[:i], key[i+1 : j], id, true
}

// stateByName reads a state's exact name, as the picklist holds it.
func stateByName(name string) (statemachine.State, bool) {
	for _, s := range statemachine.All {
		if s.String() == name {
			return s, true
		}
	}
	return 0, false
}

// apply applies one record's change, if it is one, and returns the record
// to write back when the change was refused.
func (p *Poller) apply(ctx context.Context, o Org, me string, r record) (sfclient.Record, error) {
	mp := o.Mapping
	own := sameUser(r.userID, me)
	tenant, channel, id, ok := parseKey(r.key)
	known := false
	for _, t := range o.Tenants {
		known = known || t == tenant
	}
	if !ok || !known {
		p.count(o.Key, "unknown")
		return nil, nil
	}
	conv, err := p.Store.GetConversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (conv.Tenant != tenant || conv.Channel != channel) {
		p.count(o.Key, "unknown")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	current := conv.State
	written := current // what the connector last wrote on the record
	var hist []store.Transition
	if conv.InSalesforce() && conv.SyncedVersion < conv.Version {
		if hist, err = p.Store.History(ctx, id); err != nil {
			return nil, err
		}
		written = stateAt(hist, conv.SyncedVersion, current)
	}
	matches := func(s statemachine.State) bool {
		return (mp.State == "" || r.state == s.String()) &&
			(mp.Blocked == "" || r.blocked == nil || *r.blocked == (s == statemachine.Blocked))
	}
	if matches(current) || matches(written) {
		p.count(o.Key, map[bool]string{true: "own", false: "unchanged"}[own])
		return nil, nil
	}
	// Values that are neither the connector's state nor the one it last
	// wrote, last modified by the integration user. A state the
	// conversation has had is the connector's own write: a later
	// version's still being settled (another replica's push), or an
	// earlier one landing late (a write-back). A state it never had the
	// connector never wrote: an agent's edit that an update by the
	// integration user carried along without changing these fields (a
	// roll-up summary recalculated for a message it pushed), applied with
	// the integration user as its author.
	if own {
		if hist == nil {
			if hist, err = p.Store.History(ctx, id); err != nil {
				return nil, err
			}
		}
		if matches(current) || slices.ContainsFunc(hist, func(tr store.Transition) bool { return matches(tr.To) }) {
			p.count(o.Key, "own")
			return nil, nil
		}
	}

	actor := fmt.Sprintf("%s (Salesforce user %s)", strings.TrimSpace(r.userName), r.userID)
	if r.userName == "" {
		actor = "Salesforce user " + r.userID
	}
	log := p.Log.With().Str("org", o.Key).Str("tenant", tenant).Int64("conversation", id).Str("by", actor).Logger()
	refuse := func(why string) (sfclient.Record, error) {
		if _, err := p.Manager.RecordRefusal(ctx, actor, tenant, id, Reason+": refused: "+why); err != nil {
			return nil, err
		}
		p.count(o.Key, "refused")
		log.Warn().Str("reason", why).Msg("salesforce change refused; writing the connector's state back")
		return stateRecord(mp, r.key, current), nil
	}

	// A field is the agent's when it is neither the connector's state nor
	// the one it last wrote.
	stateChanged := mp.State != "" && r.state != written.String() && r.state != current.String()
	blockedChanged := mp.Blocked != "" && r.blocked != nil &&
		*r.blocked != (written == statemachine.Blocked) && *r.blocked != (current == statemachine.Blocked)
	var want statemachine.State
	switch {
	case stateChanged:
		s, ok := stateByName(r.state)
		if !ok {
			return refuse(fmt.Sprintf("%q is not a state: valid states are %s", r.state, statemachine.ValidStates()))
		}
		want = s
	case blockedChanged && *r.blocked:
		want = statemachine.Blocked
	case blockedChanged && current == statemachine.Blocked:
		want = statemachine.Open
		if t, ok := p.Manager.Tenant(tenant); ok && t.Channels[channel].HasBot {
			want = statemachine.AutoBot
		}
	default:
		p.count(o.Key, "unchanged")
		return nil, nil
	}
	if want == current {
		p.count(o.Key, "unchanged")
		return nil, nil
	}
	if current == statemachine.Expired {
		return refuse("the conversation is EXPIRED, which is terminal")
	}
	if want == statemachine.Blocked {
		_, err = p.Manager.Block(ctx, actor, tenant, conv.ContactID, manage.BlockRequest{Inbound: true, Outbound: true, Note: Reason})
	} else {
		_, err = p.Manager.ChangeState(ctx, actor, tenant, id, want, Reason)
	}
	var merr *manage.Error
	switch {
	case err == nil:
	case errors.As(err, &merr) && (errors.Is(err, manage.ErrExpired) || errors.Is(err, manage.ErrBlockingDisabled) || errors.Is(err, manage.ErrInvalid)):
		return refuse(merr.Msg)
	case errors.Is(err, manage.ErrNotFound):
		p.count(o.Key, "unknown")
		return nil, nil
	default:
		return nil, err
	}
	p.count(o.Key, "applied")
	log.Info().Str("from", current.String()).Str("to", want.String()).Msg("salesforce change applied")
	return nil, nil
}

// stateAt is the conversation's state at version v: the creation and each
// state change add one to the version.
func stateAt(hist []store.Transition, v int64, current statemachine.State) statemachine.State {
	var n int64
	for _, tr := range hist {
		if tr.From == store.NoState || tr.From != tr.To {
			n++
			if n == v {
				return tr.To
			}
		}
	}
	return current
}

// writeBack upserts the records of this poll's refused changes, and
// those of earlier polls whose write-back failed (retry: external id to
// failed attempts, updated in place), with the connector's state. A
// record whose write-back fails is tried again at the next poll, until
// MaxWriteBackAttempts attempts failed.
func (p *Poller) writeBack(ctx context.Context, o Org, refused []sfclient.Record, retry map[string]int) error {
	recs := refused
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(retry)) {
		rec, err := p.currentRecord(ctx, o, key)
		if err != nil {
			errs = append(errs, err) // tried again at the next poll
			continue
		}
		if rec == nil {
			delete(retry, key) // no longer a conversation of the connector
			continue
		}
		recs = append(recs, rec)
	}
	for start := 0; start < len(recs); start += sfclient.MaxCollectionRecords {
		chunk := recs[start:min(start+sfclient.MaxCollectionRecords, len(recs))]
		res, err := o.Client.UpsertCollection(ctx, o.Mapping.Object, o.Mapping.ExternalID, chunk)
		if err != nil {
			res = make([]sfclient.Result, len(chunk))
			errs = append(errs, fmt.Errorf("write back %d refused change(s): %w", len(chunk), err))
		}
		for i, rec := range chunk {
			key, _ := rec[o.Mapping.ExternalID].(string)
			if err == nil && i < len(res) && res[i].Success {
				delete(retry, key)
				continue
			}
			if err == nil {
				errs = append(errs, fmt.Errorf("write back %s: %+v", key, res[i].Errors))
			}
			retry[key]++
			if retry[key] >= MaxWriteBackAttempts {
				delete(retry, key)
				p.count(o.Key, "write_back_abandoned")
				p.Log.Error().Str("org", o.Key).Str("record", key).Int("attempts", MaxWriteBackAttempts).
					Msg("salesforce changes: gave up writing a refused change back; the record shows it until the connector next writes it")
			}
		}
	}
	return errors.Join(errs...)
}

// currentRecord is the record to write back for the conversation key:
// its external id and the connector's state now; nil when key names no
// conversation of the org's tenants any more.
func (p *Poller) currentRecord(ctx context.Context, o Org, key string) (sfclient.Record, error) {
	tenant, channel, id, ok := parseKey(key)
	if !ok || !slices.Contains(o.Tenants, tenant) {
		return nil, nil
	}
	conv, err := p.Store.GetConversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (conv.Tenant != tenant || conv.Channel != channel) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return stateRecord(o.Mapping, key, conv.State), nil
}

// stateRecord is the conversation record key with the state s: its
// mapped state and blocked fields.
func stateRecord(mp config.ConversationMapping, key string, s statemachine.State) sfclient.Record {
	rec := sfclient.Record{mp.ExternalID: key}
	if mp.State != "" {
		rec[mp.State] = s.String()
	}
	if mp.Blocked != "" {
		rec[mp.Blocked] = s == statemachine.Blocked
	}
	return rec
}
