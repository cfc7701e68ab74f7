package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// Claim defaults for parameters left at zero.
const (
	// DefaultClaimConversations is the most conversations one claim takes
	// when ClaimParams.MaxConversations is not set.
	DefaultClaimConversations = 50
	// DefaultClaimMessages is the most messages returned per conversation
	// when ClaimParams.MaxMessages is not set (one sObject Collections call).
	DefaultClaimMessages = 200
)

// The outbox's readiness lives on the conversation row (migration 0004):
// pending_since is the received_at of its oldest pending message (NULL when
// it has none), kept by every write that changes its pending messages. A
// claim therefore reads the index conversations_outbox, whose predicate and
// second key are the two expressions below, never the pending messages.

// hasWork is true for a conversation "c" with outbox work: a pending
// message, or a Salesforce record behind its version. It is the predicate
// of conversations_outbox, written the same way so that SQLite uses the
// index.
const hasWork = `(c.pending_since IS NOT NULL OR (c.synced_version > 0 AND c.synced_version < c.version))`

// workSince is when a conversation "c" with work got it: its oldest pending
// message, or the state change its Salesforce record misses, whichever is
// older. It is the second key of conversations_outbox, written the same way.
const workSince = `CASE WHEN c.synced_version > 0 AND c.synced_version < c.version
              AND (c.pending_since IS NULL OR c.updated_at < c.pending_since)
         THEN c.updated_at ELSE c.pending_since END`

// tenantsQuery lists the tenants with outbox work, outside those of the
// JSON array ?1. It walks the tenants of conversations_outbox with one
// index probe each (a loose index scan), so that a skipped tenant costs
// one probe however much work it holds (an org paused through a long
// outage).
const tenantsQuery = `
	WITH RECURSIVE tenants (tenant) AS (
		SELECT (SELECT c.tenant FROM conversations c WHERE ` + hasWork + `
		        ORDER BY c.tenant, ` + workSince + `, c.id LIMIT 1)
		UNION ALL
		SELECT (SELECT c.tenant FROM conversations c WHERE ` + hasWork + ` AND c.tenant > t.tenant
		        ORDER BY c.tenant, ` + workSince + `, c.id LIMIT 1)
		FROM tenants t WHERE t.tenant IS NOT NULL
	)
	SELECT tenant FROM tenants
	WHERE tenant IS NOT NULL AND tenant NOT IN (SELECT value FROM json_each(?1))`

// tenantWorkQuery returns the id and work time of the conversations of
// tenant ?1 with work, neither held back nor leased (or whose lease
// expired) at ?2, oldest work first, at most ?3: a walk of
// conversations_outbox from the tenant's oldest work.
const tenantWorkQuery = `
	SELECT c.id, ` + workSince + ` FROM conversations c
	WHERE c.tenant = ?1 AND ` + hasWork + `
	  AND c.not_before <= ?2
	  AND (c.lease_token = '' OR c.lease_expires_at <= ?2)
	ORDER BY ` + workSince + `, c.id
	LIMIT ?3`

// Claim leases up to p.MaxConversations (default 50) ready conversations to
// p.Owner for p.LeaseTTL, within p.MaxRecords, and returns them with up to
// p.MaxMessages (default 200) pending messages each, in ID order. It reads
// the candidates' messages and conversations with one query each and
// writes the leases with one statement, so that a claim of a thousand
// conversations holds the writer for milliseconds.
func (s *Store) Claim(ctx context.Context, p store.ClaimParams) ([]store.Work, error) {
	if p.Now.IsZero() || p.LeaseTTL <= 0 {
		return nil, fmt.Errorf("claim: Now and a positive LeaseTTL are required")
	}
	maxConv, maxMsg := p.MaxConversations, p.MaxMessages
	if maxConv <= 0 {
		maxConv = DefaultClaimConversations
	}
	if maxMsg <= 0 {
		maxMsg = DefaultClaimMessages
	}
	skip, err := json.Marshal(append([]string{}, p.SkipTenants...))
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	expires := fromMicros(micros(p.Now.Add(p.LeaseTTL)))

	var out []store.Work
	err = s.write(ctx, func(t cachedTx) error {
		out = nil
		ids, err := readyIDs(ctx, t, micros(p.Now), string(skip), maxConv)
		if err != nil || len(ids) == 0 {
			return err
		}
		idsJSON, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		msgs, err := listMessages(ctx, t, `SELECT `+messageColumns+` FROM (
				SELECT m.*, ROW_NUMBER() OVER (PARTITION BY m.conversation_id ORDER BY m.id) AS n
				FROM messages m
				WHERE m.conversation_id IN (SELECT value FROM json_each(?1)) AND m.push_status = 'pending')
			WHERE n <= ?2 ORDER BY conversation_id, id`, string(idsJSON), maxMsg)
		if err != nil {
			return fmt.Errorf("pending messages: %w", err)
		}
		byConv := map[int64][]store.Message{}
		for _, m := range msgs {
			byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
		}
		convs, err := listConversations(ctx, t, conversationSelect+`WHERE c.id IN (SELECT value FROM json_each(?))`, string(idsJSON))
		if err != nil {
			return fmt.Errorf("claimed conversations: %w", err)
		}
		byID := make(map[int64]store.Conversation, len(convs))
		for _, c := range convs {
			byID[c.ID] = c
		}
		taken := ids[:0:0]
		records := 0
		for _, id := range ids {
			n := store.ClaimRecords(byID[id], len(byConv[id]))
			if p.MaxRecords > 0 && len(taken) > 0 && records+n > p.MaxRecords {
				break
			}
			taken, records = append(taken, id), records+n
		}
		takenJSON, err := json.Marshal(taken)
		if err != nil {
			return err
		}
		// Each lease gets a random token of its own (SQLite's randomblob
		// draws from a CSPRNG seeded by the operating system).
		rows, err := t.QueryContext(ctx, `
			UPDATE conversations SET lease_owner = ?1, lease_token = lower(hex(randomblob(16))), lease_expires_at = ?2
			WHERE id IN (SELECT value FROM json_each(?3))
			RETURNING id, lease_token`, p.Owner, micros(expires), string(takenJSON))
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		tokens := map[int64]string{}
		for rows.Next() {
			var id int64
			var token string
			if err := rows.Scan(&id, &token); err != nil {
				_ = rows.Close()
				return fmt.Errorf("lease: %w", err)
			}
			tokens[id] = token
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		for _, id := range taken {
			m := byConv[id]
			if m == nil {
				m = []store.Message{}
			}
			out = append(out, store.Work{
				Lease:        store.Lease{ConversationID: id, Token: tokens[id], Owner: p.Owner, ExpiresAt: expires},
				Conversation: byID[id],
				Messages:     m,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// readyIDs returns the ids of the conversations whose outbox is ready at
// now and not leased, outside the tenants of the JSON array skipJSON,
// oldest work first (the earliest pending message received, or the state
// change the Salesforce record misses), at most limit: the oldest limit of
// each tenant not skipped, merged.
func readyIDs(ctx context.Context, q querier, now int64, skipJSON string, limit int) ([]int64, error) {
	tenants, err := queryColumn[string](ctx, q, tenantsQuery, skipJSON)
	if err != nil {
		return nil, fmt.Errorf("tenants with work: %w", err)
	}
	type work struct{ id, since int64 }
	var all []work
	for _, tenant := range tenants {
		rows, err := q.QueryContext(ctx, tenantWorkQuery, tenant, now, limit)
		if err != nil {
			return nil, fmt.Errorf("ready conversations of %s: %w", tenant, err)
		}
		for rows.Next() {
			var w work
			if err := rows.Scan(&w.id, &w.since); err != nil {
				_ = rows.Close()
				return nil, fmt.Errorf("ready conversations of %s: %w", tenant, err)
			}
			all = append(all, w)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("ready conversations of %s: %w", tenant, err)
		}
	}
	slices.SortFunc(all, func(a, b work) int {
		return cmp.Or(cmp.Compare(a.since, b.since), cmp.Compare(a.id, b.id))
	})
	ids := make([]int64, 0, min(limit, len(all)))
	for _, w := range all[:min(limit, len(all))] {
		ids = append(ids, w.id)
	}
	return ids, nil
}

// queryColumn runs a query returning one column and collects it.
func queryColumn[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect[T](rows)
}

// collect reads one column of every row and closes rows.
func collect[T any](rows *sql.Rows) ([]T, error) {
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			_ = rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	return out, errors.Join(rows.Err(), rows.Close())
}

// Settle records the outcomes of a claim and releases its lease, all in one
// transaction. Every outcome counts one attempt. An outcome for a message
// that is not a pending message of the leased conversation, or with a status
// other than Pushed, Pending or Dead, is an error and nothing changes.
func (s *Store) Settle(ctx context.Context, l store.Lease, st store.Settlement) error {
	err := s.write(ctx, func(t cachedTx) error { return settle(ctx, t, l, st) })
	if err != nil {
		return fmt.Errorf("settle conversation %d: %w", l.ConversationID, err)
	}
	return nil
}

// SettleBatch settles every item in one transaction, each in a savepoint
// of its own.
func (s *Store) SettleBatch(ctx context.Context, items []store.SettleItem) ([]error, error) {
	errs, err := s.writeEach(ctx, len(items), func(i int, t cachedTx) error {
		if err := settle(ctx, t, items[i].Lease, items[i].Settlement); err != nil {
			return fmt.Errorf("settle conversation %d: %w", items[i].Lease.ConversationID, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	return errs, nil
}

// settle ends one claim within t.
func settle(ctx context.Context, t cachedTx, l store.Lease, st store.Settlement) error {
	var token string
	err := t.QueryRowContext(ctx, `SELECT lease_token FROM conversations WHERE id = ?`, l.ConversationID).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (token == "" || token != l.Token)) {
		return store.ErrLeaseLost
	}
	if err != nil {
		return err
	}
	left := false // a message left the outbox: pending_since changes
	for _, o := range st.Outcomes {
		if err := settleMessage(ctx, t, l.ConversationID, o, st.Now); err != nil {
			return err
		}
		left = left || o.Status != store.Pending
	}
	if left {
		if err := setPendingSince(ctx, t, l.ConversationID); err != nil {
			return err
		}
	}
	_, err = t.ExecContext(ctx, `
		UPDATE conversations SET
			synced_version   = MAX(synced_version, ?1),
			synced_hash      = CASE WHEN ?2 THEN '' WHEN ?3 <> '' THEN ?3 ELSE synced_hash END,
			not_before       = ?4,
			lease_owner      = '',
			lease_token      = '',
			lease_expires_at = 0
		WHERE id = ?5`, st.SyncedVersion, st.ForgetRecord, st.SyncedHash, micros(st.RetryAt), l.ConversationID)
	return err
}

// RenewLeases extends the leases still held to now+ttl, in one statement,
// and returns the ids of the conversations whose lease is lost.
func (s *Store) RenewLeases(ctx context.Context, leases []store.Lease, now time.Time, ttl time.Duration) ([]int64, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	type pair struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	pairs := make([]pair, len(leases))
	for i, l := range leases {
		pairs[i] = pair{l.ConversationID, l.Token}
	}
	js, err := json.Marshal(pairs)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	held := map[int64]bool{}
	err = s.write(ctx, func(t cachedTx) error {
		clear(held)
		rows, err := t.QueryContext(ctx, `
			UPDATE conversations SET lease_expires_at = ?1
			WHERE lease_token <> '' AND EXISTS (
				SELECT 1 FROM json_each(?2) j
				WHERE j.value->>'id' = conversations.id AND j.value->>'token' = conversations.lease_token)
			RETURNING id`, micros(now.Add(ttl)), string(js))
		if err != nil {
			return err
		}
		ids, err := collect[int64](rows)
		for _, id := range ids {
			held[id] = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	var lost []int64
	for _, l := range leases {
		if !held[l.ConversationID] {
			lost = append(lost, l.ConversationID)
		}
	}
	return lost, nil
}

// setPendingSince sets the conversation's pending_since from its pending
// messages.
func setPendingSince(ctx context.Context, t cachedTx, conversationID int64) error {
	_, err := t.ExecContext(ctx, `
		UPDATE conversations SET pending_since = (
			SELECT MIN(received_at) FROM messages WHERE conversation_id = ?1 AND push_status = 'pending')
		WHERE id = ?1`, conversationID)
	if err != nil {
		return fmt.Errorf("record the outbox's oldest message: %w", err)
	}
	return nil
}

func settleMessage(ctx context.Context, t cachedTx, conversationID int64, o store.Outcome, now time.Time) error {
	var res sql.Result
	var err error
	switch o.Status {
	case store.Pushed:
		res, err = t.ExecContext(ctx, `
			UPDATE messages SET attempts = attempts + 1, last_error = '', pushed_at = ?1, salesforce_id = ?2,
				push_status = CASE WHEN ?5 = '' OR delivery_status = ?5 THEN 'pushed' ELSE 'pending' END
			WHERE id = ?3 AND conversation_id = ?4 AND push_status = 'pending'`,
			micros(now), o.SalesforceID, o.MessageID, conversationID, o.DeliveryStatus)
	case store.Pending, store.Dead:
		res, err = t.ExecContext(ctx, `
			UPDATE messages SET push_status = ?, attempts = attempts + 1, last_error = ?
			WHERE id = ? AND conversation_id = ? AND push_status = 'pending'`,
			string(o.Status), o.Error, o.MessageID, conversationID)
	default:
		return fmt.Errorf("message %d: outcome status %q is not pushed, pending or dead", o.MessageID, o.Status)
	}
	if err != nil {
		return fmt.Errorf("message %d: %w", o.MessageID, err)
	}
	return mustAffect(res, fmt.Sprintf("pending message %d of conversation %d", o.MessageID, conversationID))
}

// RescueLeases clears the leases that expired at or before now.
func (s *Store) RescueLeases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(t cachedTx) error {
		res, err := t.ExecContext(ctx, `
			UPDATE conversations SET lease_owner = '', lease_token = '', lease_expires_at = 0
			WHERE lease_token <> '' AND lease_expires_at <= ?`, micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("rescue leases: %w", err)
	}
	return int(n), nil
}

// NextWake returns the earliest NotBefore after now among conversations
// with pending messages.
func (s *Store) NextWake(ctx context.Context, now time.Time) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.r.QueryRowContext(ctx, `
		SELECT MIN(not_before) FROM conversations
		WHERE not_before > ? AND pending_since IS NOT NULL`,
		micros(now)).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next wake: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(next.Int64), true, nil
}

// ListDead lists dead messages in ID order.
func (s *Store) ListDead(ctx context.Context, f store.DeadFilter) ([]store.Message, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	ms, err := listMessages(ctx, s.r, `SELECT `+messageColumns+` FROM messages
		WHERE push_status = 'dead' AND (?1 = '' OR tenant = ?1) AND id > ?2
		ORDER BY id LIMIT ?3`, f.Tenant, f.AfterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead messages: %w", err)
	}
	return ms, nil
}

// Replay puts the tenant's dead messages of ids (every one of them when ids
// is empty) back in their outboxes: pending, no attempts, no error, and
// their conversations ready at now (a later hold is cut short) with their
// pending_since set again. tenant is required. It returns the
// replayed ids in order.
func (s *Store) Replay(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error) {
	if tenant == "" {
		return nil, fmt.Errorf("replay: tenant is required")
	}
	idsJSON, err := json.Marshal(append([]int64{}, ids...))
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var replayed []int64
	err = s.write(ctx, func(t cachedTx) error {
		rows, err := t.QueryContext(ctx, `
			UPDATE messages SET push_status = 'pending', attempts = 0, last_error = ''
			WHERE tenant = ?1 AND push_status = 'dead'
			  AND (json_array_length(?2) = 0 OR id IN (SELECT value FROM json_each(?2)))
			RETURNING id`, tenant, string(idsJSON))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				_ = rows.Close()
				return err
			}
			replayed = append(replayed, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(replayed) == 0 {
			return nil
		}
		done, err := json.Marshal(replayed)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `
			UPDATE conversations SET
				not_before    = MIN(not_before, ?1),
				pending_since = (SELECT MIN(m.received_at) FROM messages m
				                 WHERE m.conversation_id = conversations.id AND m.push_status = 'pending')
			WHERE id IN (SELECT conversation_id FROM messages WHERE id IN (SELECT value FROM json_each(?2)))`,
			micros(now), string(done))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	slices.Sort(replayed)
	return replayed, nil
}
