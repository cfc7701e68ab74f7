package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
)

// SettleBatch settles every item in one transaction. The usual batch,
// every outcome valid and naming a pending message of its conversation,
// settles in two set-based statements whatever its size (the writer is
// the store's one bottleneck); anything out of the ordinary is settled item
// by item, each in a savepoint of its own.
//
// A store opened as the file's owner checks and releases its leases in
// memory (see memLeases): a settlement marks its leases settling (no claim
// takes them meanwhile), writes its outcomes and releases, and ends them
// once committed.
func (s *Store) SettleBatch(ctx context.Context, items []store.SettleItem) ([]error, error) {
	if s.mem == nil {
		return sqlstore.SettleBatch(ctx, s.update, items, s.settleSet, settle)
	}
	leases := make([]store.Lease, len(items))
	for i, it := range items {
		leases[i] = it.Lease
	}
	marked := s.mem.beginSettle(leases)
	errs := make([]error, len(items))
	var held []store.SettleItem
	for i, it := range items {
		if !marked[i] {
			errs[i] = fmt.Errorf("settle conversation %d: %w", it.Lease.ConversationID, store.ErrLeaseLost)
			continue
		}
		held = append(held, it)
	}
	committed := make([]bool, len(items))
	var heldErrs []error
	var err error
	if len(held) > 0 {
		heldErrs, err = sqlstore.SettleBatch(ctx, s.update, held, s.settleSetOwned, settleOwned)
	}
	j := 0
	for i := range items {
		if !marked[i] {
			continue
		}
		if err == nil {
			errs[i] = heldErrs[j]
			committed[i] = heldErrs[j] == nil
		}
		j++
	}
	s.mem.endSettle(leases, marked, committed)
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// A release and an outcome as the set-based statements read them from a
// JSON array. The statements walk it with jsonb_each, whose values are
// binary JSON that ->> reads as is (json_each would render each object as
// text for ->> to parse again, which cost as much as the updates).
type (
	releaseRow struct {
		ID      int64  `json:"id"`
		Token   string `json:"token"`
		Version int64  `json:"version"`
		Forget  bool   `json:"forget"`
		Hash    string `json:"hash"`
		Hold    any    `json:"hold"`
		Left    bool   `json:"left"` // outcomes take messages out of the outbox
	}
	outcomeRow struct {
		ID             int64  `json:"id"`
		Conversation   int64  `json:"conv"`
		Token          string `json:"token"` // the conversation's lease
		Status         string `json:"status"`
		Error          string `json:"error"`
		SalesforceID   string `json:"sfid"`
		At             any    `json:"at"`
		DeliveryStatus string `json:"ds"`
	}
)

var (
	// outcomesSet records the outcomes of the JSON array $1, each of a
	// pending message of its conversation.
	outcomesSet = `
		UPDATE messages SET
			push_status   = CASE WHEN o.status = 'pushed' AND o.ds <> '' AND o.ds <> messages.delivery_status
			                     THEN 'pending' ELSE o.status END,
			attempts      = attempts + 1,
			last_error    = CASE WHEN o.status = 'pushed' THEN '' ELSE o.error END,
			pushed_at     = CASE WHEN o.status = 'pushed' THEN o.at ELSE pushed_at END,
			salesforce_id = CASE WHEN o.status = 'pushed' THEN o.sfid ELSE salesforce_id END
		FROM (SELECT j.value->>'id' AS id, j.value->>'conv' AS conv, j.value->>'token' AS token,
				j.value->>'status' AS status, j.value->>'error' AS error, j.value->>'sfid' AS sfid,
				j.value->>'at' AS at, j.value->>'ds' AS ds
			FROM jsonb_each($1) j) AS o
		WHERE messages.id = o.id AND messages.conversation_id = o.conv AND messages.push_status = 'pending'`
	// qOutcomesSet records the outcomes of the JSON array $1, each of a
	// pending message of its conversation whose lease is still held, as
	// qPushed and qNotPushed do.
	qOutcomesSet = sqlstore.Q(outcomesSet + `
		  AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = o.conv AND c.lease_token = o.token AND o.token <> '')`)
	// qOutcomesSetOwned is qOutcomesSet for an owner, whose leases are
	// checked in memory.
	qOutcomesSetOwned = sqlstore.Q(outcomesSet)
	// releaseSet writes the settlements of the JSON array $1 to their
	// conversations, with their synced version, fingerprint and hold, and
	// the oldest message left in the outbox of those whose outcomes took
	// messages out.
	releaseSet = `
		UPDATE conversations SET
			synced_version   = MAX(synced_version, u.version),
			synced_hash      = CASE WHEN u.forget THEN '' WHEN u.hash <> '' THEN u.hash ELSE synced_hash END,
			not_before       = u.hold,
			lease_owner      = '',
			lease_token      = '',
			lease_expires_at = 0,
			pending_since    = CASE WHEN u.left THEN (
				SELECT MIN(m.received_at) FROM messages m
				WHERE m.conversation_id = conversations.id AND m.push_status = 'pending')
				ELSE pending_since END
		FROM (SELECT j.value->>'id' AS id, j.value->>'token' AS token, j.value->>'version' AS version,
				j.value->>'forget' AS forget, j.value->>'hash' AS hash, j.value->>'hold' AS hold,
				j.value->>'left' AS left
			FROM jsonb_each($1) j) AS u
		WHERE conversations.id = u.id`
	// qReleaseSet releases the leases of the JSON array $1 still held,
	// with their conversations' synced version, fingerprint and hold, and
	// the oldest message left in the outbox of those whose outcomes took
	// messages out; it returns the ids released.
	qReleaseSet = sqlstore.Q(releaseSet + ` AND conversations.lease_token = u.token AND u.token <> ''
		RETURNING conversations.id`)
	// qReleaseSetOwned is qReleaseSet for an owner, whose leases are
	// checked in memory (its conversations' written leases are empty).
	qReleaseSetOwned = sqlstore.Q(releaseSet + ` RETURNING conversations.id`)
)

// settleSet settles every item in one transaction of two statements: the
// outcomes of the leases still held are recorded, then those leases
// released, their outboxes' oldest message recomputed where outcomes took
// messages out. Items whose lease is lost get ErrLeaseLost. It returns
// sqlstore.ErrItemByItem, changing nothing, when an outcome is invalid or
// does not name a pending message of its conversation.
func (s *Store) settleSet(ctx context.Context, items []store.SettleItem) ([]error, error) {
	return s.settleSetWith(ctx, items, qOutcomesSet, qReleaseSet)
}

// settleSetOwned is settleSet for an owner, whose leases are checked in
// memory.
func (s *Store) settleSetOwned(ctx context.Context, items []store.SettleItem) ([]error, error) {
	return s.settleSetWith(ctx, items, qOutcomesSetOwned, qReleaseSetOwned)
}

func (s *Store) settleSetWith(ctx context.Context, items []store.SettleItem, qOutcomes, qRelease *sqlstore.Query) ([]error, error) {
	releases := make([]releaseRow, len(items))
	var outcomes []outcomeRow
	for i, it := range items {
		st := it.Settlement
		left, err := sqlstore.CheckOutcomes(st)
		if err != nil {
			return nil, sqlstore.ErrItemByItem
		}
		releases[i] = releaseRow{ID: it.Lease.ConversationID, Token: it.Lease.Token, Version: st.SyncedVersion,
			Forget: st.ForgetRecord, Hash: st.SyncedHash, Hold: dialect.Time(st.RetryAt), Left: left}
		for _, o := range st.Outcomes {
			outcomes = append(outcomes, outcomeRow{ID: o.MessageID, Conversation: it.Lease.ConversationID,
				Token: it.Lease.Token, Status: string(o.Status), Error: o.Error, SalesforceID: o.SalesforceID,
				At: dialect.Time(st.Now), DeliveryStatus: o.DeliveryStatus})
		}
	}
	releaseJSON, err := json.Marshal(releases)
	if err != nil {
		return nil, err
	}
	outcomeJSON, err := json.Marshal(outcomes)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(items))
	err = s.update(ctx, func(x *sqlstore.Tx) error {
		var recorded int64
		if len(outcomes) > 0 {
			var err error
			if recorded, err = x.Affected(ctx, qOutcomes, string(outcomeJSON)); err != nil {
				return fmt.Errorf("record outcomes: %w", err)
			}
		}
		held, err := sqlstore.Column[int64](ctx, x.Conn, qRelease, string(releaseJSON))
		if err != nil {
			return fmt.Errorf("release the leases: %w", err)
		}
		isHeld := make(map[int64]bool, len(held))
		for _, id := range held {
			isHeld[id] = true
		}
		var want int64
		for i, it := range items {
			errs[i] = nil
			if !isHeld[it.Lease.ConversationID] {
				errs[i] = fmt.Errorf("settle conversation %d: %w", it.Lease.ConversationID, store.ErrLeaseLost)
				continue
			}
			want += int64(len(it.Settlement.Outcomes))
		}
		if recorded != want {
			return sqlstore.ErrItemByItem // an outcome named no pending message of its conversation
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}
