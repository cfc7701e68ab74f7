package postgres

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
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
var pickQuery = sqlstore.Q(`
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
	FOR UPDATE OF c SKIP LOCKED`)

// leaseQuery writes the leases ($3 owner, $4 expiry) on the conversations
// of $1, each with its token of $2, and returns the ids leased. The rows
// are locked by pickQuery, which checked them as they were when it locked
// them (a row changed since its snapshot is checked again by PostgreSQL);
// the check here costs nothing and keeps a conversation without work from
// being leased, whatever the plan.
var leaseQuery = sqlstore.Q(`
	UPDATE conversations c SET lease_owner = $3, lease_token = l.token, lease_expires_at = $4
	FROM unnest($1::bigint[], $2::text[]) AS l (id, token)
	WHERE c.id = l.id AND ` + hasWork + `
	RETURNING c.id`)

// qPending reads up to $2 pending messages of each conversation of $1, in
// ID order.
var qPending = sqlstore.Q(`
	SELECT m.* FROM unnest($1::bigint[]) AS k (id)
	CROSS JOIN LATERAL (
		SELECT ` + sqlstore.PendingColumns + ` FROM messages
		WHERE conversation_id = k.id AND push_status = 'pending'
		ORDER BY id LIMIT $2
	) m
	ORDER BY m.conversation_id, m.id`)

// Claim leases up to p.MaxConversations (default 50) ready conversations to
// p.Owner for p.LeaseTTL and returns them, oldest work first, with up to
// p.MaxMessages (default 200) pending messages each, in ID order. p.Now and
// a positive p.LeaseTTL are required.
func (s *Store) Claim(ctx context.Context, p store.ClaimParams) ([]store.Work, error) {
	maxConv, maxMsg, expires, err := sqlstore.ClaimBounds(p)
	if err != nil {
		return nil, err
	}
	// Never nil: a NULL array would make "<> ALL" reject every tenant.
	skip := append([]string{}, p.SkipTenants...)
	var out []store.Work
	err = s.update(ctx, func(x *sqlstore.Tx) error {
		out = nil
		picked, err := sqlstore.Column[int64](ctx, x.Conn, pickQuery, dialect.Time(p.Now), skip, maxConv, 2*maxConv)
		if err != nil {
			return fmt.Errorf("ready conversations: %w", err)
		}
		if len(picked) == 0 {
			return nil
		}
		// The picked rows are locked: read them and their messages, then
		// lease the ones within MaxRecords.
		cs, err := sqlstore.ReadCandidates(ctx, x.Conn, picked, qPending, picked, maxMsg)
		if err != nil {
			return err
		}
		taken := cs.Take(p.MaxRecords)
		tokens := make([]string, len(taken))
		for i := range tokens {
			if tokens[i], err = newToken(); err != nil {
				return err
			}
		}
		leased, err := sqlstore.Column[int64](ctx, x.Conn, leaseQuery, taken, tokens, p.Owner, dialect.Time(expires))
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		for i, id := range taken {
			if slices.Contains(leased, id) {
				out = append(out, cs.Work(id, tokens[i], p.Owner, expires))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// newToken returns a random lease token: 32 hexadecimal digits.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := crand.Read(b); err != nil {
		return "", fmt.Errorf("lease token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// releaseQuery ends the lease $2 on conversation $1, recording its
// SyncedVersion $3 (never lower than the stored one), its hold $4 and its
// SyncedHash ($5 forgets it, else a non-empty $6 replaces it). It
// changes nothing (and returns no row) when the token does not hold the
// conversation any more. The row lock it takes keeps any claim off the
// conversation until the settlement commits.
var releaseQuery = sqlstore.Q(`
	UPDATE conversations SET
		synced_version   = GREATEST(synced_version, $3),
		synced_hash      = CASE WHEN $5 THEN '' WHEN $6 <> '' THEN $6 ELSE synced_hash END,
		not_before       = $4,
		lease_owner      = NULL,
		lease_token      = NULL,
		lease_expires_at = NULL
	WHERE id = $1 AND lease_token = $2`)

// outcomesQuery records the outcomes ($2 ids, $3 statuses, $4 errors, $5
// Salesforce ids, $6 the time, $7 delivery statuses) of pending messages
// of conversation $1, and returns the ids it changed. A message pushed
// with another delivery status than it holds now stays pending.
var outcomesQuery = sqlstore.Q(`
	UPDATE messages m SET
		push_status   = CASE WHEN o.status = 'pushed' AND o.delivery_status <> '' AND o.delivery_status <> m.delivery_status
		                     THEN 'pending' ELSE o.status END,
		attempts      = m.attempts + 1,
		last_error    = CASE WHEN o.status = 'pushed' THEN '' ELSE o.error END,
		pushed_at     = CASE WHEN o.status = 'pushed' THEN $6 ELSE m.pushed_at END,
		salesforce_id = CASE WHEN o.status = 'pushed' THEN o.salesforce_id ELSE m.salesforce_id END
	FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $7::text[]) AS o (id, status, error, salesforce_id, delivery_status)
	WHERE m.id = o.id AND m.conversation_id = $1 AND m.push_status = 'pending'
	RETURNING m.id`)

// SettleBatch settles every item in one transaction, each in a savepoint
// of its own. An item that meets a deadlock or a serialization failure
// retries the whole transaction (as inTx does); other errors stay the
// item's.
func (s *Store) SettleBatch(ctx context.Context, items []store.SettleItem) ([]error, error) {
	// The usual batch, every outcome valid, settles in three statements
	// whatever its size; anything out of the ordinary is settled item by
	// item, each in a savepoint.
	return sqlstore.SettleBatch(ctx, s.update, items, s.settleSet, settle)
}

// settleSet settles every item in one transaction of three set-based
// statements: the conversations whose lease is still held are locked,
// their outcomes recorded, then their leases released (with their synced
// version, fingerprint and hold) and, where outcomes took messages out,
// their outboxes' oldest message recomputed. Each conversation gets one
// new row version: the lock writes none. Items whose lease is lost get
// ErrLeaseLost. It returns sqlstore.ErrItemByItem, changing nothing, when
// an outcome is invalid or does not name a pending message of its
// conversation: the caller then settles item by item.
func (s *Store) settleSet(ctx context.Context, items []store.SettleItem) ([]error, error) {
	n := len(items)
	ids, tokens, hashes := make([]int64, n), make([]string, n), make([]string, n)
	versions, forget, left := make([]int64, n), make([]bool, n), make([]bool, n)
	holds := make([]pgtype.Timestamptz, n)
	for i, it := range items {
		st := it.Settlement
		ids[i], tokens[i], versions[i], forget[i], hashes[i] = it.Lease.ConversationID, it.Lease.Token, st.SyncedVersion, st.ForgetRecord, st.SyncedHash
		holds[i] = nullTS(st.RetryAt)
		var err error
		if left[i], err = sqlstore.CheckOutcomes(st); err != nil {
			return nil, sqlstore.ErrItemByItem
		}
	}
	errs := make([]error, n)
	err := s.update(ctx, func(x *sqlstore.Tx) error {
		// Locked until the commit: no claim takes them, and a message
		// stored or replayed meanwhile waits for this transaction.
		held, err := sqlstore.Column[int64](ctx, x.Conn, lockHeldQuery, ids, tokens)
		if err != nil {
			return fmt.Errorf("lock the leased conversations: %w", err)
		}
		isHeld := make(map[int64]bool, len(held))
		for _, id := range held {
			isHeld[id] = true
		}
		var mids, convs []int64
		var statuses, errTexts, sfIDs, dss []string
		var ats []pgtype.Timestamptz
		for i, it := range items {
			if !isHeld[it.Lease.ConversationID] {
				errs[i] = fmt.Errorf("settle conversation %d: %w", it.Lease.ConversationID, store.ErrLeaseLost)
				continue
			}
			errs[i] = nil
			for _, o := range it.Settlement.Outcomes {
				mids, convs = append(mids, o.MessageID), append(convs, it.Lease.ConversationID)
				statuses, errTexts, sfIDs = append(statuses, string(o.Status)), append(errTexts, o.Error), append(sfIDs, o.SalesforceID)
				ats, dss = append(ats, nullTS(it.Settlement.Now)), append(dss, o.DeliveryStatus)
			}
		}
		if len(isHeld) == 0 {
			return nil
		}
		if len(mids) > 0 {
			n, err := x.Affected(ctx, outcomesSetQuery, mids, convs, statuses, errTexts, sfIDs, ats, dss)
			if err != nil {
				return fmt.Errorf("record outcomes: %w", err)
			}
			if n != int64(len(mids)) {
				return sqlstore.ErrItemByItem
			}
		}
		released, err := x.Affected(ctx, releaseSetQuery, ids, tokens, versions, forget, hashes, holds, left)
		if err != nil {
			return fmt.Errorf("release the leases: %w", err)
		}
		if released != int64(len(isHeld)) {
			return fmt.Errorf("release the leases: %d released of %d locked", released, len(isHeld))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

var (
	// lockHeldQuery locks the conversations of $1 whose lease is still
	// the token of $2, and returns their ids.
	lockHeldQuery = sqlstore.Q(`
		SELECT c.id FROM conversations c
		JOIN unnest($1::bigint[], $2::text[]) AS u (id, token) ON c.id = u.id AND c.lease_token = u.token
		ORDER BY c.id
		FOR UPDATE OF c`)
	// releaseSetQuery releases the leases still held, with their
	// conversations' synced version, fingerprint and hold, and recomputes
	// the oldest pending message of those whose outcomes took messages
	// out ($7).
	releaseSetQuery = sqlstore.Q(`
		UPDATE conversations c SET
			synced_version   = GREATEST(c.synced_version, u.version),
			synced_hash      = CASE WHEN u.forget THEN '' WHEN u.hash <> '' THEN u.hash ELSE c.synced_hash END,
			not_before       = u.hold,
			lease_owner      = NULL,
			lease_token      = NULL,
			lease_expires_at = NULL,
			pending_since    = CASE WHEN u.took_out THEN (
				SELECT MIN(m.received_at) FROM messages m
				WHERE m.conversation_id = c.id AND m.push_status = 'pending')
				ELSE c.pending_since END
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bool[], $5::text[], $6::timestamptz[], $7::bool[])
			AS u (id, token, version, forget, hash, hold, took_out)
		WHERE c.id = u.id AND c.lease_token = u.token`)
	// outcomesSetQuery records the outcomes of pending messages of several
	// conversations.
	outcomesSetQuery = sqlstore.Q(`
		UPDATE messages m SET
			push_status   = CASE WHEN o.status = 'pushed' AND o.delivery_status <> '' AND o.delivery_status <> m.delivery_status
			                     THEN 'pending' ELSE o.status END,
			attempts      = m.attempts + 1,
			last_error    = CASE WHEN o.status = 'pushed' THEN '' ELSE o.error END,
			pushed_at     = CASE WHEN o.status = 'pushed' THEN o.at ELSE m.pushed_at END,
			salesforce_id = CASE WHEN o.status = 'pushed' THEN o.salesforce_id ELSE m.salesforce_id END
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
			AS o (id, conversation_id, status, error, salesforce_id, at, delivery_status)
		WHERE m.id = o.id AND m.conversation_id = o.conversation_id AND m.push_status = 'pending'`)
)

// settle ends one claim within x.
func settle(ctx context.Context, x *sqlstore.Tx, l store.Lease, st store.Settlement) error {
	left, err := sqlstore.CheckOutcomes(st)
	if err != nil {
		return err
	}
	n := len(st.Outcomes)
	ids, statuses := make([]int64, n), make([]string, n)
	errs, sfIDs, dss := make([]string, n), make([]string, n), make([]string, n)
	for i, o := range st.Outcomes {
		ids[i], statuses[i], errs[i], sfIDs[i], dss[i] = o.MessageID, string(o.Status), o.Error, o.SalesforceID, o.DeliveryStatus
	}
	released, err := x.Affected(ctx, releaseQuery, l.ConversationID, l.Token, st.SyncedVersion, nullTS(st.RetryAt), st.ForgetRecord, st.SyncedHash)
	if err != nil {
		return fmt.Errorf("release the lease: %w", err)
	}
	if released == 0 {
		return store.ErrLeaseLost
	}
	if n == 0 {
		return nil
	}
	changed, err := sqlstore.Column[int64](ctx, x.Conn, outcomesQuery, l.ConversationID, ids, statuses, errs, sfIDs, nullTS(st.Now), dss)
	if err != nil {
		return fmt.Errorf("record outcomes: %w", err)
	}
	for _, id := range ids {
		if !slices.Contains(changed, id) {
			return fmt.Errorf("pending message %d of conversation %d: %w", id, l.ConversationID, store.ErrNotFound)
		}
	}
	if left {
		// The conversation's row is locked since releaseQuery: a message
		// stored or replayed meanwhile waits for this transaction, then
		// lowers pending_since to its own received_at if need be.
		return x.SetPendingSince(ctx, l.ConversationID)
	}
	return nil
}

var renewQuery = sqlstore.Q(`
	UPDATE conversations c SET lease_expires_at = $3
	FROM unnest($1::bigint[], $2::text[]) AS l (id, token)
	WHERE c.id = l.id AND c.lease_token = l.token
	RETURNING c.id`)

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
	err := s.update(ctx, func(x *sqlstore.Tx) error {
		var err error
		held, err = sqlstore.Column[int64](ctx, x.Conn, renewQuery, ids, tokens, dialect.Time(now.Add(ttl)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	return sqlstore.Lost(leases, held), nil
}

// nullTS converts a time to a parameter of a timestamptz array: NULL for
// the zero time.
func nullTS(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t.Truncate(time.Microsecond).UTC(), Valid: true}
}
