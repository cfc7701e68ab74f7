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

// qInbound reads, for a known contact, what storing its inbound message
// needs in one statement: the contact, whether the message ($4) is stored,
// and its live (not EXPIRED, $5) conversation, NULL when it has none.
var qInbound = Q(`SELECT ` + prefixed("ct.", contactColumns) + `,
	EXISTS (SELECT 1 FROM messages m WHERE m.tenant = $1 AND m.channel = $2 AND m.platform_id = $4),
	COALESCE(c.id, 0), COALESCE(c.tenant, ''), COALESCE(c.channel, ''), COALESCE(c.contact_id, 0), ct.external_id,
	COALESCE(c.state, 0), c.created_at, c.updated_at, c.last_activity_at, COALESCE(c.version, 0),
	COALESCE(c.synced_version, 0), c.not_before, COALESCE(c.synced_hash, '')
	FROM contacts ct LEFT JOIN conversations c ON c.contact_id = ct.id AND c.state <> $5
	WHERE ct.tenant = $1 AND ct.channel = $2 AND ct.external_id = $3`)

// prefixed qualifies each column of a column list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// Inbound returns what UpsertContact, MessageExists and LiveConversation
// would for an inbound message. On SQLite a known contact under the same
// name takes one read; on PostgreSQL the contact is upserted first, which
// locks it as UpsertContact does.
func (x *Tx) Inbound(ctx context.Context, key store.ContactKey, displayName string, now time.Time, platformID string) (store.InboundLookup, error) {
	if x.D.Style == SQLite && key.Tenant != "" && key.Channel != "" && key.ExternalID != "" {
		var in store.InboundLookup
		var conv store.Conversation
		var state int64
		c := &in.Contact
		err := x.Row(ctx, qInbound, key.Tenant, key.Channel, key.ExternalID, platformID, int64(statemachine.Expired)).Scan(
			&c.ID, &c.Tenant, &c.Channel, &c.ExternalID, &c.DisplayName,
			&c.BlockedInbound, &c.BlockedOutbound, T(&c.CreatedAt), T(&c.UpdatedAt), &c.PlatformStatus, T(&c.PlatformStatusAt),
			&c.Block.Note, &c.Block.By, T(&c.Block.At), &c.Native.Want, &c.Native.Status, &c.Native.Error, &c.Native.Attempts,
			T(&c.Native.NextAttemptAt), T(&c.Native.UpdatedAt),
			&in.Stored,
			&conv.ID, &conv.Tenant, &conv.Channel, &conv.ContactID, &conv.ContactExternalID,
			&state, T(&conv.CreatedAt), T(&conv.UpdatedAt), T(&conv.LastActivityAt), &conv.Version,
			&conv.SyncedVersion, T(&conv.NotBefore), &conv.SyncedHash)
		switch {
		case err == nil && (displayName == "" || displayName == c.DisplayName):
			if conv.ID != 0 {
				conv.State = statemachine.State(state)
				in.Live, in.HasLive = conv, true
			}
			return in, nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return store.InboundLookup{}, fmt.Errorf("inbound message %s: %w", platformID, err)
		}
		// A new contact, or a new name: the upsert writes it.
	}
	var in store.InboundLookup
	var err error
	if in.Contact, err = x.UpsertContact(ctx, key, displayName, now); err != nil {
		return store.InboundLookup{}, err
	}
	if in.Stored, err = x.MessageExists(ctx, key.Tenant, key.Channel, platformID); err != nil {
		return store.InboundLookup{}, err
	}
	in.Live, err = x.LiveConversation(ctx, in.Contact.ID)
	switch {
	case err == nil:
		in.HasLive = true
	case !errors.Is(err, store.ErrNotFound):
		return store.InboundLookup{}, err
	}
	return in, nil
}
