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

// liveColumns are a lookup's live conversation "c", NULL (ID 0) when the
// contact has none; liveDest scans them.
const liveColumns = `COALESCE(c.id, 0), COALESCE(c.state, 0), c.created_at, c.updated_at, c.last_activity_at,
	COALESCE(c.version, 0), COALESCE(c.synced_version, 0), c.not_before, COALESCE(c.synced_hash, '')`

func liveDest(conv *store.Conversation, state *int64) []any {
	return []any{&conv.ID, state, T(&conv.CreatedAt), T(&conv.UpdatedAt), T(&conv.LastActivityAt),
		&conv.Version, &conv.SyncedVersion, T(&conv.NotBefore), &conv.SyncedHash}
}

// qInbound reads, for a known contact, what storing its inbound message
// needs in one statement: the contact, whether the message ($4) is stored,
// and its live (not EXPIRED, $5) conversation, NULL when it has none. The
// columns the key gives (the tenant, channel and external id of both, the
// conversation's contact) are not read back: on SQLite every column of a
// result costs the driver a name and a type, at every run.
var qInbound = Q(`SELECT ct.id, ct.display_name,
	ct.blocked_inbound, ct.blocked_outbound, ct.created_at, ct.updated_at, ct.platform_status, ct.platform_status_at,
	ct.block_note, ct.block_by, ct.block_at, ct.native_want, ct.native_status, ct.native_error, ct.native_attempts,
	ct.native_next_attempt_at, ct.native_updated_at,
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
// would for an inbound message. On SQLite a known contact under the same
// name takes one read; otherwise, and always on PostgreSQL, the contact is
// upserted first (which locks it there, as UpsertContact does), then one
// read finds the message and the live conversation.
func (x *Tx) Inbound(ctx context.Context, key store.ContactKey, displayName string, now time.Time, platformID string) (store.InboundLookup, error) {
	upsert := x.UpsertContact
	if x.D.Style == SQLite && key.Tenant != "" && key.Channel != "" && key.ExternalID != "" {
		var in store.InboundLookup
		var conv store.Conversation
		var state int64
		c := &in.Contact
		c.Tenant, c.Channel, c.ExternalID = key.Tenant, key.Channel, key.ExternalID
		dest := append([]any{&c.ID, &c.DisplayName,
			&c.BlockedInbound, &c.BlockedOutbound, T(&c.CreatedAt), T(&c.UpdatedAt), &c.PlatformStatus, T(&c.PlatformStatusAt),
			&c.Block.Note, &c.Block.By, T(&c.Block.At), &c.Native.Want, &c.Native.Status, &c.Native.Error, &c.Native.Attempts,
			T(&c.Native.NextAttemptAt), T(&c.Native.UpdatedAt),
			&in.Stored}, liveDest(&conv, &state)...)
		err := x.Row(ctx, qInbound, key.Tenant, key.Channel, key.ExternalID, platformID, int64(statemachine.Expired)).Scan(dest...)
		switch {
		case err == nil && (displayName == "" || displayName == c.DisplayName):
			in.Live, in.HasLive = live(conv, state, in.Contact)
			return in, nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return store.InboundLookup{}, fmt.Errorf("inbound message %s: %w", platformID, err)
		}
		// A new contact, or a new name: the upsert writes it, without
		// UpsertContact's read, done already (UpsertContact reports a
		// zero time).
		if !now.IsZero() {
			upsert = x.upsertContact
		}
	}
	var in store.InboundLookup
	var err error
	if in.Contact, err = upsert(ctx, key, displayName, now); err != nil {
		return store.InboundLookup{}, err
	}
	return x.storedAndLive(ctx, in, key, platformID)
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
