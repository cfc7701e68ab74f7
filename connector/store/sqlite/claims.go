package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

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
// of conversations_outbox, written the same way so that SQLite uses the
// index.
const hasWork = `(c.pending_since IS NOT NULL OR (c.synced_version > 0 AND c.synced_version < c.version))`

// workSince is when a conversation "c" with work got it: its oldest pending
// message, or the state change its Salesforce record misses, whichever is
// older. It is the second key of conversations_outbox, written the same way.
const workSince = `CASE WHEN c.synced_version > 0 AND c.synced_version < c.version
              AND (c.pending_since IS NULL OR c.updated_at < c.pending_since)
         THEN c.updated_at ELSE c.pending_since END`

var (
	// qTenants lists the tenants with outbox work, outside those of the
	// JSON array $1. It walks the tenants of conversations_outbox with one
	// index probe each (a loose index scan), so that a skipped tenant costs
	// one probe however much work it holds (an org paused through a long
	// outage).
	qTenants = sqlstore.Q(`
		WITH RECURSIVE tenants (tenant) AS (
			SELECT (SELECT c.tenant FROM conversations c WHERE ` + hasWork + `
			        ORDER BY c.tenant, ` + workSince + `, c.id LIMIT 1)
			UNION ALL
			SELECT (SELECT c.tenant FROM conversations c WHERE ` + hasWork + ` AND c.tenant > t.tenant
			        ORDER BY c.tenant, ` + workSince + `, c.id LIMIT 1)
			FROM tenants t WHERE t.tenant IS NOT NULL
		)
		SELECT tenant FROM tenants
		WHERE tenant IS NOT NULL AND tenant NOT {IN $1}`)

	// qTenantWork returns the id, work time and pending_since of the
	// conversations of tenant $1 with work, neither held back nor leased
	// (or whose lease expired) at $2, nor in the JSON array $4 (leased in
	// memory), oldest work first, at most $3: a walk of
	// conversations_outbox from the tenant's oldest work.
	qTenantWork = sqlstore.Q(`
		SELECT c.id, ` + workSince + `, c.pending_since FROM conversations c
		WHERE c.tenant = $1 AND ` + hasWork + `
		  AND c.not_before <= $2
		  AND (c.lease_token = '' OR c.lease_expires_at <= $2)
		  AND c.id NOT IN (SELECT j.value FROM json_each($4) j)
		ORDER BY ` + workSince + `, c.id
		LIMIT $3`)

	// qPending reads up to $2 pending messages of each conversation of $1,
	// by walking conversation by conversation the index messages_pending
	// twice: to find the id of its $2-th pending message (NULL when it has
	// fewer), then to read its pending messages up to that one.
	qPending = sqlstore.Q(`SELECT ` + sqlstore.Prefixed("m.", sqlstore.PendingColumns) + `
		FROM json_each($1) j JOIN messages m
			ON m.conversation_id = j.value AND m.push_status = 'pending'
			AND m.id <= COALESCE((SELECT p.id FROM messages p
				WHERE p.conversation_id = j.value AND p.push_status = 'pending'
				ORDER BY p.id LIMIT 1 OFFSET $2 - 1), 9223372036854775807)
		ORDER BY m.conversation_id, m.id`)

	// qLease leases the conversations of the JSON array $3 that are, at
	// $2, as a snapshot read them: neither leased (or their lease expired)
	// nor held back, at the same version, synced version, fingerprint and
	// oldest pending message. Each gets a random token of its own
	// (SQLite's randomblob draws from a CSPRNG seeded by the operating
	// system), and expires at $4.
	qLease = sqlstore.Q(`
		UPDATE conversations SET lease_owner = $1, lease_token = lower(hex(randomblob(16))), lease_expires_at = $4
		FROM (SELECT j.value->>'id' AS id, j.value->>'version' AS version, j.value->>'synced' AS synced,
				j.value->>'hash' AS hash, j.value->>'pending' AS pending
			FROM jsonb_each($3) j) AS g
		WHERE conversations.id = g.id
		  AND (conversations.lease_token = '' OR conversations.lease_expires_at <= $2)
		  AND conversations.not_before <= $2
		  AND conversations.version = g.version AND conversations.synced_version = g.synced
		  AND conversations.synced_hash = g.hash
		  AND conversations.pending_since IS g.pending
		RETURNING conversations.id, conversations.lease_token`)
)

// qStillAsRead returns the ids of the conversations of the JSON array $2
// that are, at $1, as qLease requires them: for an owner, whose leases
// are in memory, a fresh read after it leased them.
var qStillAsRead = sqlstore.Q(`
	SELECT conversations.id FROM conversations
	JOIN (SELECT j.value->>'id' AS id, j.value->>'version' AS version, j.value->>'synced' AS synced,
			j.value->>'hash' AS hash, j.value->>'pending' AS pending
		FROM jsonb_each($2) j) AS g ON conversations.id = g.id
	WHERE (conversations.lease_token = '' OR conversations.lease_expires_at <= $1)
	  AND conversations.not_before <= $1
	  AND conversations.version = g.version AND conversations.synced_version = g.synced
	  AND conversations.synced_hash = g.hash
	  AND conversations.pending_since IS g.pending`)

// leaseRow is a conversation as the snapshot of a claim read it, for
// qLease and qStillAsRead.
type leaseRow struct {
	ID      int64  `json:"id"`
	Version int64  `json:"version"`
	Synced  int64  `json:"synced"`
	Hash    string `json:"hash"`
	Pending *int64 `json:"pending"` // pending_since; nil for NULL
}

// Claim leases up to p.MaxConversations (default 50) ready conversations to
// p.Owner for p.LeaseTTL, within p.MaxRecords, and returns them with up to
// p.MaxMessages (default 200) pending messages each, in ID order.
//
// It reads the candidates, their conversations and their messages on a
// snapshot of the read pool, beside the writer, and takes the writer only
// to lease them, with one statement: the writer is the store's one
// bottleneck. A candidate that changed between the two (another claim took
// it, a state change, a settlement that took messages out of its outbox)
// is not leased and waits for the next claim; messages stored meanwhile
// wait too (they are not in the snapshot, and a settlement keeps them in
// the outbox).
//
// A store opened as the file's owner keeps its leases in memory instead
// (see memLeases): the claim does not take the writer at all.
func (s *Store) Claim(ctx context.Context, p store.ClaimParams) ([]store.Work, error) {
	if s.mem == nil {
		c, err := s.candidates(ctx, p, "[]")
		if err != nil || len(c.taken) == 0 {
			return nil, err
		}
		return s.lease(ctx, p, c)
	}
	leased, err := s.mem.leased(p.Now)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	c, err := s.candidates(ctx, p, leased)
	if err != nil || len(c.taken) == 0 {
		return nil, err
	}
	return s.leaseInMemory(ctx, p, c)
}

// leaseInMemory leases in memory the conversations c took that are not
// leased, keeps those a fresh read finds as c's snapshot read them, and
// returns their work in c's order.
func (s *Store) leaseInMemory(ctx context.Context, p store.ClaimParams, c candidates) ([]store.Work, error) {
	tokens, err := s.mem.lease(c.taken, p.Now, c.expires)
	if err != nil || len(tokens) == 0 {
		return nil, err
	}
	// Leased: from now on no other claim takes them, and a settlement
	// or a state change meanwhile shows on a fresh read.
	ids := make([]int64, 0, len(tokens))
	for _, id := range c.taken {
		if _, ok := tokens[id]; ok {
			ids = append(ids, id)
		}
	}
	still, err := s.stillAsRead(ctx, p.Now, c, ids)
	if err != nil {
		s.mem.drop(tokens)
		return nil, fmt.Errorf("claim: %w", err)
	}
	gone := map[int64]string{}
	for id, tok := range tokens {
		if !still[id] {
			gone[id] = tok
			delete(tokens, id)
		}
	}
	s.mem.drop(gone)
	return c.works(p, tokens), nil
}

// candidates is what a claim read on its snapshot: the conversations to
// lease (taken) and, of each, its pending_since (nil when NULL); expires
// is when their leases will end.
type candidates struct {
	sqlstore.Candidates
	taken   []int64
	pending map[int64]*int64
	expires time.Time
}

// candidates reads the ready conversations of p on a snapshot of the read
// pool, outside those of the JSON array skip, with their pending
// messages, and takes those p allows.
func (s *Store) candidates(ctx context.Context, p store.ClaimParams, skip string) (candidates, error) {
	maxConv, maxMsg, expires, err := sqlstore.ClaimBounds(p)
	if err != nil {
		return candidates{}, err
	}
	c := candidates{pending: map[int64]*int64{}, expires: expires}
	err = s.Snapshot(ctx, func(r sqlstore.Conn) error {
		ids, err := readyIDs(ctx, r, p.Now, append([]string{}, p.SkipTenants...), maxConv, c.pending, skip)
		if err != nil || len(ids) == 0 {
			return err
		}
		if c.Candidates, err = sqlstore.ReadCandidates(ctx, r, ids, qPending, dialect.List(ids), maxMsg); err != nil {
			return err
		}
		c.taken = c.Take(p.MaxRecords)
		return nil
	})
	if err != nil {
		return candidates{}, fmt.Errorf("claim: %w", err)
	}
	return c, nil
}

// guards returns the JSON array of ids as c's snapshot read them, for
// qLease and qStillAsRead.
func (c candidates) guards(ids []int64) (string, error) {
	guards := make([]leaseRow, len(ids))
	for i, id := range ids {
		conv := c.Conversations[id]
		guards[i] = leaseRow{ID: id, Version: conv.Version, Synced: conv.SyncedVersion, Hash: conv.SyncedHash, Pending: c.pending[id]}
	}
	b, err := json.Marshal(guards)
	return string(b), err
}

// stillAsRead returns those of ids (leased in memory) that a fresh read
// finds as c's snapshot read them, as qLease's guard does.
func (s *Store) stillAsRead(ctx context.Context, now time.Time, c candidates, ids []int64) (map[int64]bool, error) {
	guardJSON, err := c.guards(ids)
	if err != nil {
		return nil, err
	}
	found, err := sqlstore.Column[int64](ctx, sqlstore.Conn{D: dialect, Q: sqlstore.Std(s.r)}, qStillAsRead, dialect.Time(now), guardJSON)
	if err != nil {
		return nil, err
	}
	still := make(map[int64]bool, len(found))
	for _, id := range found {
		still[id] = true
	}
	return still, nil
}

// lease leases, in one statement of the writer, the conversations c took
// that are still as the snapshot read them, and returns their work in c's
// order.
func (s *Store) lease(ctx context.Context, p store.ClaimParams, c candidates) ([]store.Work, error) {
	guardJSON, err := c.guards(c.taken)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	tokens := map[int64]string{}
	err = s.update(ctx, func(x *sqlstore.Tx) error {
		clear(tokens)
		rows, err := x.Query(ctx, qLease, p.Owner, dialect.Time(p.Now), guardJSON, dialect.Time(c.expires))
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var token string
			if err := rows.Scan(&id, &token); err != nil {
				return fmt.Errorf("lease: %w", err)
			}
			tokens[id] = token
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return c.works(p, tokens), nil
}

// works returns the work of the conversations leased with tokens, in c's
// order.
func (c candidates) works(p store.ClaimParams, tokens map[int64]string) []store.Work {
	out := make([]store.Work, 0, len(tokens))
	for _, id := range c.taken {
		if token, ok := tokens[id]; ok {
			out = append(out, c.Work(id, token, p.Owner, c.expires))
		}
	}
	return out
}

// readyIDs returns the ids of the conversations whose outbox is ready at
// now and not leased (and records their pending_since in pending),
// outside the tenants of skip and the conversations of the JSON array
// leased, oldest work first (the earliest pending message received, or
// the state change the Salesforce record misses), at most limit: the
// oldest limit of each tenant not skipped, merged.
func readyIDs(ctx context.Context, c sqlstore.Conn, now time.Time, skip []string, limit int, pending map[int64]*int64, leased string) ([]int64, error) {
	tenants, err := sqlstore.Column[string](ctx, c, qTenants, dialect.List(skip))
	if err != nil {
		return nil, fmt.Errorf("tenants with work: %w", err)
	}
	type work struct {
		id, since int64
		pending   sql.NullInt64
	}
	var all []work
	for _, tenant := range tenants {
		ws, err := sqlstore.List(ctx, c, func(sc sqlstore.Scanner) (work, error) {
			var w work
			return w, sc.Scan(&w.id, &w.since, &w.pending)
		}, qTenantWork, tenant, dialect.Time(now), limit, leased)
		if err != nil {
			return nil, fmt.Errorf("ready conversations of %s: %w", tenant, err)
		}
		all = append(all, ws...)
	}
	slices.SortFunc(all, func(a, b work) int {
		return cmp.Or(cmp.Compare(a.since, b.since), cmp.Compare(a.id, b.id))
	})
	ids := make([]int64, 0, min(limit, len(all)))
	for _, w := range all[:min(limit, len(all))] {
		ids = append(ids, w.id)
		if w.pending.Valid {
			pending[w.id] = &w.pending.Int64
		}
	}
	return ids, nil
}

var (
	qLeaseToken = sqlstore.Q(`SELECT lease_token FROM conversations WHERE id = $1`)
	qRelease    = sqlstore.Q(`
		UPDATE conversations SET
			synced_version   = MAX(synced_version, $1),
			synced_hash      = CASE WHEN $2 THEN '' WHEN $3 <> '' THEN $3 ELSE synced_hash END,
			not_before       = $4,
			lease_owner      = '',
			lease_token      = '',
			lease_expires_at = 0
		WHERE id = $5`)
	qPushed = sqlstore.Q(`
		UPDATE messages SET attempts = attempts + 1, last_error = '', pushed_at = $1, salesforce_id = $2,
			push_status = CASE WHEN $5 = '' OR delivery_status = $5 THEN 'pushed' ELSE 'pending' END
		WHERE id = $3 AND conversation_id = $4 AND push_status = 'pending'`)
	qNotPushed = sqlstore.Q(`
		UPDATE messages SET push_status = $1, attempts = attempts + 1, last_error = $2
		WHERE id = $3 AND conversation_id = $4 AND push_status = 'pending'`)
)

// settle ends one claim within x, when SettleBatch settles item by item.
func settle(ctx context.Context, x *sqlstore.Tx, l store.Lease, st store.Settlement) error {
	return settleItem(ctx, x, l, st, true)
}

// settleOwned is settle for an owner, whose leases are checked in memory:
// only a conversation deleted meanwhile is a lease lost here.
func settleOwned(ctx context.Context, x *sqlstore.Tx, l store.Lease, st store.Settlement) error {
	return settleItem(ctx, x, l, st, false)
}

// settleItem is settle, the lease's token checked against the written one
// when checkToken.
func settleItem(ctx context.Context, x *sqlstore.Tx, l store.Lease, st store.Settlement, checkToken bool) error {
	left, err := sqlstore.CheckOutcomes(st)
	if err != nil {
		return err
	}
	tokens, err := sqlstore.Column[string](ctx, x.Conn, qLeaseToken, l.ConversationID)
	if err != nil {
		return err
	}
	if len(tokens) == 0 || (checkToken && (tokens[0] == "" || tokens[0] != l.Token)) {
		return store.ErrLeaseLost
	}
	for _, o := range st.Outcomes {
		what := fmt.Sprintf("pending message %d of conversation %d", o.MessageID, l.ConversationID)
		if o.Status == store.Pushed {
			err = x.MustAffect(ctx, what, qPushed, dialect.Time(st.Now), o.SalesforceID, o.MessageID, l.ConversationID, o.DeliveryStatus)
		} else {
			err = x.MustAffect(ctx, what, qNotPushed, string(o.Status), o.Error, o.MessageID, l.ConversationID)
		}
		if err != nil {
			return err
		}
	}
	if left {
		if err := x.SetPendingSince(ctx, l.ConversationID); err != nil {
			return err
		}
	}
	_, err = x.Exec(ctx, qRelease, st.SyncedVersion, st.ForgetRecord, st.SyncedHash, dialect.Time(st.RetryAt), l.ConversationID)
	return err
}

// qRenew extends the leases of the JSON array $2 of {id, token} still held
// to $1.
var qRenew = sqlstore.Q(`
	UPDATE conversations SET lease_expires_at = $1
	WHERE lease_token <> '' AND EXISTS (
		SELECT 1 FROM jsonb_each($2) j
		WHERE j.value->>'id' = conversations.id AND j.value->>'token' = conversations.lease_token)
	RETURNING id`)

// RenewLeases extends the leases still held to now+ttl, in one statement,
// and returns the ids of the conversations whose lease is lost.
func (s *Store) RenewLeases(ctx context.Context, leases []store.Lease, now time.Time, ttl time.Duration) ([]int64, error) {
	if len(leases) == 0 {
		return nil, nil
	}
	if s.mem != nil {
		return s.mem.renew(leases, now.Add(ttl)), nil
	}
	type pair struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	pairs := make([]pair, len(leases))
	for i, l := range leases {
		pairs[i] = pair{l.ConversationID, l.Token}
	}
	var held []int64
	err := s.update(ctx, func(x *sqlstore.Tx) error {
		var err error
		held, err = sqlstore.Column[int64](ctx, x.Conn, qRenew, dialect.Time(now.Add(ttl)), dialect.List(pairs))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", err)
	}
	return sqlstore.Lost(leases, held), nil
}
