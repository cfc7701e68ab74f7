package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// liveColumns are what a lookup reads of its live conversation "c" (see
// store.InboundLookup), NULL (ID 0) when the contact has none; liveDest
// scans them.
const liveColumns = `COALESCE(c.id, 0), COALESCE(c.state, 0)`

func liveDest(conv *store.Conversation, state *int64) []any {
	return []any{&conv.ID, state}
}

// qInbound reads, for a known contact, what storing its inbound message
// needs in one statement: what ingestion reads of the contact (see
// store.InboundLookup), whether the message ($4) is stored, and its live
// (not EXPIRED, $5) conversation, NULL when it has none. Nothing else is
// read, not even the columns the key gives (the tenant, channel and
// external id of both, the conversation's contact): on SQLite every
// column of a result costs the driver a name and a type, at every run
// (reading the contact's 13 other columns made ingestion's store work
// about a tenth slower).
var qInbound = Q(`SELECT ct.id, ct.display_name, ct.blocked_inbound, ct.blocked_outbound, ct.opt_out_keyword,
	EXISTS (SELECT 1 FROM messages m WHERE m.tenant = $1 AND m.channel = $2 AND m.platform_id = $4), ` + liveColumns + `
	FROM contacts ct LEFT JOIN conversations c ON c.contact_id = ct.id AND c.state <> $5
	WHERE ct.tenant = $1 AND ct.channel = $2 AND ct.external_id = $3`)

// qStoredAndLive reads, once the contact is upserted (and, on PostgreSQL,
// locked), whether the message ($3) is stored and the contact's ($4) live
// (not EXPIRED, $5) conversation, NULL when it has none: what
// MessageExists and LiveConversation would, in one statement.
var qStoredAndLive = Q(`SELECT EXISTS (SELECT 1 FROM messages m WHERE m.tenant = $1 AND m.channel = $2 AND m.platform_id = $3), ` + liveColumns + `
	FROM (SELECT 1) AS one LEFT JOIN conversations c ON c.contact_id = $4 AND c.state <> $5`)

// Prefixed qualifies each column of a column list with prefix.
func Prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// Inbound returns what UpsertContact, MessageExists and LiveConversation
// would for an inbound message, with the fields store.InboundLookup
// names. On SQLite a known contact under the same name takes one read.
// Otherwise, and always on PostgreSQL, the contact is upserted first
// (which locks it there, as UpsertContact does), then one read finds the
// rest: the message and the live conversation of a contact the upsert
// wrote (new, or renamed), and the contact too when the upsert wrote
// nothing (known under that name).
func (x *Tx) Inbound(ctx context.Context, key store.ContactKey, displayName string, now time.Time, platformID string) (store.InboundLookup, error) {
	if key.Tenant == "" || key.Channel == "" || key.ExternalID == "" || now.IsZero() {
		_, err := x.UpsertContact(ctx, key, displayName, now) // says what is missing
		return store.InboundLookup{}, err
	}
	if x.D.Style == SQLite {
		if in, known, err := x.inboundRead(ctx, key, displayName, platformID); err != nil || known {
			return in, err
		}
		// A new contact, or a new name: the upsert writes it.
	}
	c, written, err := x.upsertContact(ctx, key, displayName, now)
	switch {
	case err != nil:
		return store.InboundLookup{}, err
	case written:
		return x.storedAndLive(ctx, store.InboundLookup{Contact: c}, key, platformID)
	}
	// Known under that name, nothing written (on PostgreSQL the contact
	// is now locked): one read, after the lock, finds the rest. The name
	// is not compared again: the upsert compared it as stored (PostgreSQL
	// stores text cleaned, see Dialect.Args).
	in, known, err := x.inboundRead(ctx, key, "", platformID)
	if err == nil && !known {
		err = fmt.Errorf("inbound message %s: the contact upserted is missing", platformID)
	}
	return in, err
}

// inboundRead reads with qInbound what storing an inbound message of a
// known contact needs. known is false when the contact is missing or
// displayName (not empty) is not its name: then it must be upserted.
func (x *Tx) inboundRead(ctx context.Context, key store.ContactKey, displayName, platformID string) (in store.InboundLookup, known bool, err error) {
	var conv store.Conversation
	var state int64
	c := &in.Contact
	c.Tenant, c.Channel, c.ExternalID = key.Tenant, key.Channel, key.ExternalID
	dest := append([]any{&c.ID, &c.DisplayName, &c.BlockedInbound, &c.BlockedOutbound, &c.OptOut.Keyword, &in.Stored},
		liveDest(&conv, &state)...)
	err = x.Row(ctx, qInbound, key.Tenant, key.Channel, key.ExternalID, platformID, int64(statemachine.Expired)).Scan(dest...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.InboundLookup{}, false, nil
	case err != nil:
		return store.InboundLookup{}, false, fmt.Errorf("inbound message %s: %w", platformID, err)
	case displayName != "" && displayName != c.DisplayName:
		return store.InboundLookup{}, false, nil
	}
	in.Live, in.HasLive = live(conv, state, in.Contact)
	return in, true, nil
}

// storedAndLive completes in, whose contact is upserted, with
// qStoredAndLive.
func (x *Tx) storedAndLive(ctx context.Context, in store.InboundLookup, key store.ContactKey, platformID string) (store.InboundLookup, error) {
	var conv store.Conversation
	var state int64
	err := x.Row(ctx, qStoredAndLive, key.Tenant, key.Channel, platformID, in.Contact.ID, int64(statemachine.Expired)).
		Scan(append([]any{&in.Stored}, liveDest(&conv, &state)...)...)
	if err != nil {
		return store.InboundLookup{}, fmt.Errorf("inbound message %s: %w", platformID, err)
	}
	in.Live, in.HasLive = live(conv, state, in.Contact)
	return in, nil
}

// live completes the live conversation a lookup read of contact c (ID 0:
// none): a contact's conversations have its tenant and channel.
func live(conv store.Conversation, state int64, c store.Contact) (store.Conversation, bool) {
	if conv.ID == 0 {
		return store.Conversation{}, false
	}
	conv.Tenant, conv.Channel, conv.ContactID, conv.ContactExternalID = c.Tenant, c.Channel, c.ID, c.ExternalID
	conv.State = statemachine.State(state)
	return conv, true
}
