package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

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
// of conversations_outbox, written the same way so that the planner uses
// the index.
const hasWork = `(c.pending_since IS NOT NULL OR (c.synced_version > 0 AND c.synced_version < c.version))`

// workSince is when a conversation "c" with work got it: its oldest pending
// message, or the state change its Salesforce record misses, whichever is
// older (LEAST ignores a NULL). It is the second key of
// conversations_outbox, written the same way.
const workSince = `LEAST(c.pending_since, CASE WHEN c.synced_version > 0 AND c.synced_version < c.version THEN c.updated_at END)`

// claimable is true for a conversation "c" neither held back nor leased
// (or whose lease expired) at $1.
const claimable = `(c.not_before IS NULL OR c.not_before <= $1)
	AND (c.lease_token IS NULL OR c.lease_expires_at <= $1)`

// pickQuery locks, and returns the ids of, the conversations with work that
// are claimable at $1, outside the tenants of $2, oldest work first, at most
// $3. It reads conversations_outbox only:
//
//   - tenants walks the index's tenants, one index probe each (a loose
//     index scan), so that a skipped tenant costs one probe however much
//     work it holds (an org paused through a long outage).
//   - candidates takes, for each tenant not skipped, its $4 claimable
//     conversations with the oldest work, in index order.
//   - the final SELECT locks the oldest of the candidates (found through
//     the primary key), checking them again on the rows as they are now.
//
// SKIP LOCKED passes over conversations another transaction has locked
// (another worker claiming or settling them, a webhook storing a message
// or a state change): two workers claiming at once take disjoint
// conversations, and neither waits. Each tenant yields $4 candidates
// (twice the claim's size), so that a worker claiming while another one
// holds the oldest candidates locked still finds work.
const pickQuery = `
	WITH RECURSIVE tenants (tenant) AS (
		(SELECT c.tenant FROM conversations c WHERE ` + hasWork + `
		 ORDER BY c.tenant, ` + workSince + `, c.id LIMIT 1)
		UNION ALL
		SELECT (SELECT c.tenant FROM conversations c WHERE ` + hasWork + ` AND c.tenant > t.tenant
		        ORDER BY c.tenant, ` + workSince + `, c.id LIMIT 1)
		FROM tenants t WHERE t.tenant IS NOT NULL
	), candidates (id) AS (
		SELECT k.id FROM tenants t CROSS JOIN LATERAL (
			SELECT c.id FROM conversations c
			WHERE c.tenant = t.tenant AND ` + hasWork + ` AND ` + claimable + `
			ORDER BY ` + workSince + `, c.id
			LIMIT $4
		) k
		WHERE t.tenant IS NOT NULL AND t.tenant <> ALL ($2::text[])
	)
	SELECT c.id FROM conversations c
	WHERE c.id = ANY (ARRAY (SELECT id FROM candidates)) AND ` + hasWork + ` AND ` + claimable + `
	ORDER BY ` + workSince + `, c.id
	LIMIT $3
	FOR UPDATE OF c SKIP LOCKED`

// leaseQuery writes the leases ($3 owner, $4 expiry) on the conversations
// of $1, each with its token of $2, and returns the ids leased. The rows
// are locked by pickQuery, which checked them as they were when it locked
// them (a row changed since its snapshot is checked again by PostgreSQL);
// the check here costs nothing and keeps a conversation without work from
// being leased, whatever the plan.
const leaseQuery = `
	UPDATE conversations c SET lease_owner = $3, lease_token = l.token, lease_expires_at = $4
	FROM unnest($1::bigint[], $2::text[]) AS l (id, token)
	WHERE c.id = l.id AND ` + hasWork + `
	RETURNING c.id`

// Claim leases up to p.MaxConversations (default 50) ready conversations to
// p.Owner for p.LeaseTTL and returns them, oldest work first, with up to
// p.MaxMessages (default 200) pending messages each, in ID order. p.Now and
// a positive p.LeaseTTL are required.
func (s *Store) Claim(ctx context.Context, p store.ClaimParams) ([]store.Work, error) {
	if p.Now.IsZero() || p.LeaseTTL <= 0 {
		return nil, errors.New("claim: Now and a positive LeaseTTL are required")
	}
	maxConv, maxMsg := p.MaxConversations, p.MaxMessages
	if maxConv <= 0 {
		maxConv = DefaultClaimConversations
	}
	if maxMsg <= 0 {
		maxMsg = DefaultClaimMessages
	}
	// Never nil: a NULL array would make "<> ALL" reject every tenant.
	skip := append([]string{}, p.SkipTenants...)
	now, expires := ts(p.Now), ts(p.Now.Add(p.LeaseTTL))

	var out []store.Work
	err := s.inTx(ctx, func(t pgx.Tx) error {
		out = nil
		rows, err := t.Query(ctx, pickQuery, now, skip, maxConv, 2*maxConv)
		if err != nil {
			return fmt.Errorf("ready conversations: %w", err)
		}
		picked, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("ready conversations: %w", err)
		}
		if len(picked) == 0 {
			return nil
		}
		// The picked rows are locked: read them and their messages, then
		// lease the ones within MaxRecords.
		convs, err := conversationsByID(ctx, t, picked)
		if err != nil {
			return err
		}
		msgs, err := pendingMessages(ctx, t, picked, maxMsg)
		if err != nil {
			return err
		}
		var taken []int64
		records := 0
		for _, id := range picked {
			n := store.ClaimRecords(convs[id], len(msgs[id]))
			if p.MaxRecords > 0 && len(taken) > 0 && records+n > p.MaxRecords {
				break
			}
			taken, records = append(taken, id), records+n
		}
		tokens := make([]string, len(taken))
		for i := range tokens {
			if tokens[i], err = newToken(); err != nil {
				return err
			}
		}
		rows, err = t.Query(ctx, leaseQuery, taken, tokens, p.Owner, expires)
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		leasedIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		for i, id := range taken {
			if !slices.Contains(leasedIDs, id) {
				continue
			}
			out = append(out, store.Work{
				Lease:        store.Lease{ConversationID: id, Token: tokens[i], Owner: p.Owner, ExpiresAt: expires},
				Conversation: convs[id],
				Messages:     msgs[id],
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// conversationsByID reads the conversations of ids.
func conversationsByID(ctx context.Context, q querier, ids []int64) (map[int64]store.Conversation, error) {
	rows, err := q.Query(ctx, conversationSelect+`WHERE c.id = ANY ($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read claimed conversations: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]store.Conversation, len(ids))
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, fmt.Errorf("read claimed conversations: %w", err)
		}
		out[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read claimed conversations: %w", err)
	}
	return out, nil
}

// pendingMessages reads up to limit pending messages of each conversation
// of ids, in ID order.
func pendingMessages(ctx context.Context, q querier, ids []int64, limit int) (map[int64][]store.Message, error) {
	ms, err := listMessages(ctx, q, `
		SELECT m.* FROM unnest($1::bigint[]) AS k (id)
		CROSS JOIN LATERAL (
			SELECT `+messageColumns+` FROM messages
			WHERE conversation_id = k.id AND push_status = 'pending'
			ORDER BY id LIMIT $2
		) m
		ORDER BY m.conversation_id, m.id`, ids, limit)
	if err != nil {
		return nil, fmt.Errorf("read pending messages: %w", err)
	}
	out := make(map[int64][]store.Message, len(ids))
	for _, id := range ids {
		out[id] = []store.Message{}
	}
	for _, m := range ms {
		out[m.ConversationID] = append(out[m.ConversationID], m)
	}
	return out, nil
}

// releaseQuery ends the lease $2 on conversation $1, recording its
// SyncedVersion $3 (never lower than the stored one), its hold $4 and its
// SyncedHash ($5 forgets it, else a non-empty $6 replaces it). It
// changes nothing (and returns no row) when the token does not hold the
// conversation any more. The row lock it takes keeps any claim off the
// conversation until the settlement commits.
const releaseQuery = `
	UPDATE conversations SET
		synced_version   = GREATEST(synced_version, $3),
		synced_hash      = CASE WHEN $5 THEN '' WHEN $6 <> '' THEN $6 ELSE synced_hash END,
		not_before       = $4,
		lease_owner      = NULL,
		lease_token      = NULL,
		lease_expires_at = NULL
	WHERE id = $1 AND lease_token = $2`

// outcomesQuery records the outcomes ($2 ids, $3 statuses, $4 errors, $5
// Salesforce ids, $6 the time, $7 delivery statuses) of pending messages
// of conversation $1, and returns the ids it changed. A message pushed
// with another delivery status than it holds now stays pending.
const outcomesQuery = `
	UPDATE messages m SET
		push_status   = CASE WHEN o.status = 'pushed' AND o.delivery_status <> '' AND o.delivery_status <> m.delivery_status
		                     THEN 'pending' ELSE o.status END,
		attempts      = m.attempts + 1,
		last_error    = CASE WHEN o.status = 'pushed' THEN '' ELSE o.error END,
		pushed_at     = CASE WHEN o.status = 'pushed' THEN $6 ELSE m.pushed_at END,
		salesforce_id = CASE WHEN o.status = 'pushed' THEN o.salesforce_id ELSE m.salesforce_id END
	FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $7::text[]) AS o (id, status, error, salesforce_id, delivery_status)
	WHERE m.id = o.id AND m.conversation_id = $1 AND m.push_status = 'pending'
	RETURNING m.id`

// pendingSinceQuery sets pending_since of conversation $1 from its pending
// messages, after outcomes took some of them out of the outbox. It reads
// the index messages_pending, which carries received_at.
const pendingSinceQuery = `
	UPDATE conversations SET pending_since = (
		SELECT MIN(received_at) FROM messages WHERE conversation_id = $1 AND push_status = 'pending')
	WHERE id = $1`

// Settle records the outcomes of a claim and releases its lease, all in one
// transaction that first checks the lease's token (returning
// store.ErrLeaseLost, changing nothing, when it does not hold the
// conversation). Every outcome counts one attempt. An outcome for a message
// that is not a pending message of the leased conversation, a message named
// twice, or a status other than Pushed, Pending or Dead is an error: nothing
// changes and the lease stays. st.Now is required when a message is pushed.
func (s *Store) Settle(ctx context.Context, l store.Lease, st store.Settlement) error {
	if err := s.inTx(ctx, func(t pgx.Tx) error { return settle(ctx, t, l, st) }); err != nil {
		return fmt.Errorf("settle conversation %d: %w", l.ConversationID, err)
	}
	return nil
}

// SettleBatch settles every item in one transaction, each in a savepoint
// of its own. An item that meets a deadlock or a serialization failure
// retries the whole transaction (as inTx does); other errors stay the
// item's.
func (s *Store) SettleBatch(ctx context.Context, items []store.SettleItem) ([]error, error) {
	// The usual batch, every outcome valid, settles in three statements
	// whatever its size; anything out of the ordinary is settled item by
	// item, each in a savepoint.
	errs, err := s.settleSet(ctx, items)
	if err == nil {
		return errs, nil
	}
	if !errors.Is(err, errItemByItem) {
		return nil, fmt.Errorf("settle: %w", err)
	}
	errs, err = s.eachInTx(ctx, len(items), func(i int, t pgx.Tx) error {
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

// errItemByItem makes SettleBatch settle item by item.
var errItemByItem = errors.New("an item needs settling on its own")

// settleSet settles every item in one transaction of three set-based
// statements: the leases still held are released (with their
// conversations' synced version, fingerprint and hold), their outcomes
// recorded, and their outboxes' oldest message recomputed. Items whose
// lease is lost get ErrLeaseLost. It returns errItemByItem, changing
// nothing, when an outcome is invalid or does not name a pending message
// of its conversation: the caller then settles item by item.
func (s *Store) settleSet(ctx context.Context, items []store.SettleItem) ([]error, error) {
	n := len(items)
	ids, tokens, hashes := make([]int64, n), make([]string, n), make([]string, n)
	versions, forget := make([]int64, n), make([]bool, n)
	holds := make([]pgtype.Timestamptz, n)
	for i, it := range items {
		st := it.Settlement
		ids[i], tokens[i], versions[i], forget[i], hashes[i] = it.Lease.ConversationID, it.Lease.Token, st.SyncedVersion, st.ForgetRecord, st.SyncedHash
		holds[i] = nullTS(st.RetryAt)
		seen := map[int64]bool{}
		for _, o := range st.Outcomes {
			valid := o.Status == store.Pending || o.Status == store.Dead || (o.Status == store.Pushed && !st.Now.IsZero())
			if !valid || seen[o.MessageID] {
				return nil, errItemByItem
			}
			seen[o.MessageID] = true
		}
	}
	errs := make([]error, n)
	err := s.inTx(ctx, func(t pgx.Tx) error {
		rows, err := t.Query(ctx, `
			UPDATE conversations c SET
				synced_version   = GREATEST(c.synced_version, u.version),
				synced_hash      = CASE WHEN u.forget THEN '' WHEN u.hash <> '' THEN u.hash ELSE c.synced_hash END,
				not_before       = u.hold,
				lease_owner      = NULL,
				lease_token      = NULL,
				lease_expires_at = NULL
			FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bool[], $5::text[], $6::timestamptz[])
				AS u (id, token, version, forget, hash, hold)
			WHERE c.id = u.id AND c.lease_token = u.token
			RETURNING c.id`, ids, tokens, versions, forget, hashes, holds)
		if err != nil {
			return fmt.Errorf("release the leases: %w", err)
		}
		held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("release the leases: %w", err)
		}
		isHeld := make(map[int64]bool, len(held))
		for _, id := range held {
			isHeld[id] = true
		}
		var mids, convs []int64
		var statuses, errTexts, sfIDs, dss []string
		var ats []pgtype.Timestamptz
		var left []int64
		for i, it := range items {
			if !isHeld[it.Lease.ConversationID] {
				errs[i] = fmt.Errorf("settle conversation %d: %w", it.Lease.ConversationID, store.ErrLeaseLost)
				continue
			}
			errs[i] = nil
			out := false
			for _, o := range it.Settlement.Outcomes {
				mids, convs = append(mids, o.MessageID), append(convs, it.Lease.ConversationID)
				statuses, errTexts, sfIDs = append(statuses, string(o.Status)), append(errTexts, o.Error), append(sfIDs, o.SalesforceID)
				ats, dss = append(ats, nullTS(it.Settlement.Now)), append(dss, o.DeliveryStatus)
				out = out || o.Status != store.Pending
			}
			if out {
				left = append(left, it.Lease.ConversationID)
			}
		}
		if len(mids) > 0 {
			tag, err := t.Exec(ctx, `
				UPDATE messages m SET
					push_status   = CASE WHEN o.status = 'pushed' AND o.delivery_status <> '' AND o.delivery_status <> m.delivery_status
					                     THEN 'pending' ELSE o.status END,
					attempts      = m.attempts + 1,
					last_error    = CASE WHEN o.status = 'pushed' THEN '' ELSE o.error END,
					pushed_at     = CASE WHEN o.status = 'pushed' THEN o.at ELSE m.pushed_at END,
					salesforce_id = CASE WHEN o.status = 'pushed' THEN o.salesforce_id ELSE m.salesforce_id END
				FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
					AS o (id, conversation_id, status, error, salesforce_id, at, delivery_status)
				WHERE m.id = o.id AND m.conversation_id = o.conversation_id AND m.push_status = 'pending'`,
				mids, convs, statuses, errTexts, sfIDs, ats, dss)
			if err != nil {
				return fmt.Errorf("record outcomes: %w", err)
			}
			if tag.RowsAffected() != int64(len(mids)) {
				return errItemByItem
			}
		}
		if len(left) > 0 {
			// The rows are locked since the release: a message stored or
			// replayed meanwhile waits for this transaction.
			_, err := t.Exec(ctx, `
				UPDATE conversations c SET pending_since = (
					SELECT MIN(m.received_at) FROM messages m
					WHERE m.conversation_id = c.id AND m.push_status = 'pending')
				WHERE c.id = ANY ($1)`, left)
			if err != nil {
				return fmt.Errorf("record the outboxes' oldest messages: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// settle ends one claim within t.
func settle(ctx context.Context, t pgx.Tx, l store.Lease, st store.Settlement) error {
	n := len(st.Outcomes)
	ids, statuses := make([]int64, n), make([]string, n)
	errs, sfIDs, dss := make([]string, n), make([]string, n), make([]string, n)
	seen := make(map[int64]bool, n)
	// left: a message leaves the outbox, whose pending_since then changes.
	left := false
	for i, o := range st.Outcomes {
		switch o.Status {
		case store.Pushed:
			if st.Now.IsZero() {
				return fmt.Errorf("message %d is pushed: the settlement's Now is required", o.MessageID)
			}
			left = true
		case store.Dead:
			left = true
		case store.Pending:
		default:
			return fmt.Errorf("message %d: outcome status %q is not pushed, pending or dead", o.MessageID, o.Status)
		}
		if seen[o.MessageID] {
			return fmt.Errorf("message %d has two outcomes", o.MessageID)
		}
		seen[o.MessageID] = true
		ids[i], statuses[i], errs[i], sfIDs[i], dss[i] = o.MessageID, string(o.Status), o.Error, o.SalesforceID, o.DeliveryStatus
	}

	{
		tag, err := t.Exec(ctx, releaseQuery, l.ConversationID, l.Token, st.SyncedVersion, nullTS(st.RetryAt), st.ForgetRecord, st.SyncedHash)
		if err != nil {
			return fmt.Errorf("release the lease: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrLeaseLost
		}
		if n == 0 {
			return nil
		}
		rows, err := t.Query(ctx, outcomesQuery, l.ConversationID, ids, statuses, errs, sfIDs, nullTS(st.Now), dss)
		if err != nil {
			return fmt.Errorf("record outcomes: %w", err)
		}
		changed, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("record outcomes: %w", err)
		}
		if len(changed) != n {
			for _, id := range ids {
				if !slices.Contains(changed, id) {
					return fmt.Errorf("pending message %d of conversation %d: %w", id, l.ConversationID, store.ErrNotFound)
				}
			}
		}
		if left {
			// The conversation's row is locked since releaseQuery: a message
			// stored or replayed meanwhile waits for this transaction, then
			// lowers pending_since to its own received_at if need be.
			if _, err := t.Exec(ctx, pendingSinceQuery, l.ConversationID); err != nil {
				return fmt.Errorf("record the outbox's oldest message: %w", err)
			}
		}
		return nil
	}
}

// RenewLeases extends the leases still held to now+ttl, in one statement,
// and returns the ids of the conversations whose lease is lost.
func (s *Store) RenewLeases(ctx context.Context, leases []store.Lease, now time.Time, ttl time.Duration) ([]int64, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	ids, tokens := make([]int64, len(leases)), make([]string, len(leases))
	for i, l := range leases {
		ids[i], tokens[i] = l.ConversationID, l.Token
	}
	var held []int64
	err := s.inTx(ctx, func(t pgx.Tx) error {
		rows, err := t.Query(ctx, `
			UPDATE conversations c SET lease_expires_at = $3
			FROM unnest($1::bigint[], $2::text[]) AS l (id, token)
			WHERE c.id = l.id AND c.lease_token = l.token
			RETURNING c.id`, ids, tokens, ts(now.Add(ttl)))
		if err != nil {
			return err
		}
		held, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	var lost []int64
	for _, l := range leases {
		if !slices.Contains(held, l.ConversationID) {
			lost = append(lost, l.ConversationID)
		}
	}
	return lost, nil
}

// RescueLeases clears the leases that expired at or before now.
func (s *Store) RescueLeases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	// In a transaction of its own, so that a deadlock with another
	// statement updating several conversations is retried.
	err := s.inTx(ctx, func(t pgx.Tx) error {
		tag, err := t.Exec(ctx, `
			UPDATE conversations SET lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
			WHERE lease_token IS NOT NULL AND lease_expires_at <= $1`, ts(now))
		n = tag.RowsAffected()
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
	var next pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `
		SELECT MIN(not_before) FROM conversations
		WHERE not_before > $1 AND pending_since IS NOT NULL`,
		ts(now)).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next wake: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromTS(next), true, nil
}

// ListDead lists dead messages in ID order, at most f.Limit (default 100).
func (s *Store) ListDead(ctx context.Context, f store.DeadFilter) ([]store.Message, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	ms, err := listMessages(ctx, s.pool, `SELECT `+messageColumns+` FROM messages
		WHERE push_status = 'dead' AND ($1 = '' OR tenant = $1) AND id > $2
		ORDER BY id LIMIT $3`, f.Tenant, f.AfterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead messages: %w", err)
	}
	return ms, nil
}

// Replay puts the tenant's dead messages of ids (every one of them when ids
// is empty) back in their outboxes: pending, no attempts, no error, and
// their conversations ready at now (a later hold is cut short) with their
// pending_since lowered to the oldest message replayed, and notifies the
// listeners when it replayed any. tenant and now are required. It returns
// the replayed ids in order.
func (s *Store) Replay(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error) {
	if tenant == "" {
		return nil, errors.New("replay: tenant is required")
	}
	if now.IsZero() {
		return nil, errors.New("replay: the time is required")
	}
	// One statement changes the messages and their conversations together;
	// it runs in a transaction of its own so that a deadlock is retried.
	var replayed []int64
	err := s.inTx(ctx, func(t pgx.Tx) error {
		rows, err := t.Query(ctx, `
			WITH replayed AS (
				UPDATE messages SET push_status = 'pending', attempts = 0, last_error = ''
				WHERE tenant = $1 AND push_status = 'dead'
				  AND (cardinality($2::bigint[]) = 0 OR id = ANY ($2))
				RETURNING id, conversation_id, received_at
			), oldest AS (
				SELECT conversation_id, MIN(received_at) AS since FROM replayed GROUP BY conversation_id
			), ready AS (
				UPDATE conversations c SET
					not_before    = CASE WHEN c.not_before > $3 THEN $3 ELSE c.not_before END,
					pending_since = LEAST(c.pending_since, o.since)
				FROM oldest o WHERE c.id = o.conversation_id
			)
			SELECT id FROM replayed ORDER BY id`, tenant, append([]int64{}, ids...), ts(now))
		if err != nil {
			return err
		}
		if replayed, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		if len(replayed) > 0 {
			return notifyOutbox(ctx, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return replayed, nil
}
