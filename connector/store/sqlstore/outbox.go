package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// What the drivers' claims and settlements share; their queries differ
// (SKIP LOCKED, set-based settlements) and stay in the drivers.

// Claim defaults for parameters left at zero.
const (
	// DefaultClaimConversations is the most conversations one claim takes
	// when ClaimParams.MaxConversations is not set.
	DefaultClaimConversations = 50
	// DefaultClaimMessages is the most messages returned per conversation
	// when ClaimParams.MaxMessages is not set (one sObject Collections call).
	DefaultClaimMessages = 200
)

// ClaimBounds checks p and returns its bounds, defaults applied, and the
// leases' expiry as stored.
func ClaimBounds(p store.ClaimParams) (maxConv, maxMsg int, expires time.Time, err error) {
	if p.Now.IsZero() || p.LeaseTTL <= 0 {
		return 0, 0, time.Time{}, errors.New("claim: Now and a positive LeaseTTL are required")
	}
	maxConv, maxMsg = p.MaxConversations, p.MaxMessages
	if maxConv <= 0 {
		maxConv = DefaultClaimConversations
	}
	if maxMsg <= 0 {
		maxMsg = DefaultClaimMessages
	}
	return maxConv, maxMsg, AsTime(p.Now.Add(p.LeaseTTL)), nil
}

// Candidates are the conversations a claim picked, oldest work first, with
// their pending messages.
type Candidates struct {
	IDs           []int64
	Conversations map[int64]store.Conversation
	Messages      map[int64][]store.Message
}

// ReadCandidates reads the conversations of ids and their pending messages,
// listed by pending (a query of the driver's, by conversation then id).
func ReadCandidates(ctx context.Context, c Conn, ids []int64, pending *Query, args ...any) (Candidates, error) {
	convs, err := conversationsByID(ctx, c, ids)
	if err != nil {
		return Candidates{}, err
	}
	ms, err := List(ctx, c, ScanPending, pending, args...)
	if err != nil {
		return Candidates{}, fmt.Errorf("read pending messages: %w", err)
	}
	msgs := make(map[int64][]store.Message, len(ids))
	for _, id := range ids {
		msgs[id] = []store.Message{}
	}
	for _, m := range ms {
		msgs[m.ConversationID] = append(msgs[m.ConversationID], m)
	}
	return Candidates{IDs: ids, Conversations: convs, Messages: msgs}, nil
}

// Take returns the candidates' ids to lease, oldest work first, within
// maxRecords (see store.ClaimParams.MaxRecords): the first always.
func (cs Candidates) Take(maxRecords int) []int64 {
	var taken []int64
	records := 0
	for _, id := range cs.IDs {
		n := store.ClaimRecords(cs.Conversations[id], len(cs.Messages[id]))
		if maxRecords > 0 && len(taken) > 0 && records+n > maxRecords {
			break
		}
		taken, records = append(taken, id), records+n
	}
	return taken
}

// Work returns the work of the conversation id, leased with token.
func (cs Candidates) Work(id int64, token, owner string, expires time.Time) store.Work {
	return store.Work{
		Lease:        store.Lease{ConversationID: id, Token: token, Owner: owner, ExpiresAt: expires},
		Conversation: cs.Conversations[id],
		Messages:     cs.Messages[id],
	}
}

// Lost returns the conversation ids of the leases not held (renewals).
func Lost(leases []store.Lease, held []int64) []int64 {
	ids := make([]int64, len(leases))
	for i, l := range leases {
		ids[i] = l.ConversationID
	}
	return Missing(ids, held)
}

// Missing returns the ids not in held, in the order of ids; nil when
// there is none.
func Missing(ids, held []int64) []int64 {
	isHeld := make(map[int64]bool, len(held))
	for _, id := range held {
		isHeld[id] = true
	}
	var out []int64
	for _, id := range ids {
		if !isHeld[id] {
			out = append(out, id)
		}
	}
	return out
}

// qPendingSince sets pending_since of conversation $1 from its pending
// messages, after outcomes took some of them out of the outbox.
var qPendingSince = Q(`
	UPDATE conversations SET pending_since = (
		SELECT MIN(received_at) FROM messages WHERE conversation_id = $1 AND push_status = 'pending')
	WHERE id = $1`)

// SetPendingSince sets the conversation's pending_since from its pending
// messages.
func (x *Tx) SetPendingSince(ctx context.Context, conversationID int64) error {
	if _, err := x.Exec(ctx, qPendingSince, conversationID); err != nil {
		return fmt.Errorf("record the outbox's oldest message: %w", err)
	}
	return nil
}

// CheckOutcomes refuses outcomes with a status other than Pushed, Pending
// or Dead, a message named twice, or a pushed one without st.Now; it
// reports whether a message leaves the outbox (pending_since then
// changes).
func CheckOutcomes(st store.Settlement) (left bool, err error) {
	seen := make(map[int64]bool, len(st.Outcomes))
	for _, o := range st.Outcomes {
		switch o.Status {
		case store.Pushed:
			if st.Now.IsZero() {
				return false, fmt.Errorf("message %d is pushed: the settlement's Now is required", o.MessageID)
			}
			left = true
		case store.Dead:
			left = true
		case store.Pending:
		default:
			return false, fmt.Errorf("message %d: outcome status %q is not pushed, pending or dead", o.MessageID, o.Status)
		}
		if seen[o.MessageID] {
			return false, fmt.Errorf("message %d has two outcomes", o.MessageID)
		}
		seen[o.MessageID] = true
	}
	return left, nil
}

// ErrItemByItem is returned, having changed nothing, by a driver's
// set-based settlement when an item needs settling on its own (an invalid
// outcome, one that names no pending message of its conversation).
var ErrItemByItem = errors.New("an item needs settling on its own")

// SettleBatch settles items with set, a driver's settlement of the whole
// batch in a few set-based statements; when set returns ErrItemByItem, it
// settles them item by item with settle, each in a savepoint (SettleEach).
func SettleBatch(ctx context.Context, update func(context.Context, func(*Tx) error) error, items []store.SettleItem,
	set func(context.Context, []store.SettleItem) ([]error, error),
	settle func(context.Context, *Tx, store.Lease, store.Settlement) error) ([]error, error) {
	errs, err := set(ctx, items)
	switch {
	case err == nil:
		return errs, nil
	case !errors.Is(err, ErrItemByItem):
		return nil, fmt.Errorf("settle: %w", err)
	}
	return SettleEach(ctx, update, items, settle)
}

// SettleEach settles every item in one transaction of update, each with
// settle in a savepoint of its own (see Batch).
func SettleEach(ctx context.Context, update func(context.Context, func(*Tx) error) error, items []store.SettleItem,
	settle func(context.Context, *Tx, store.Lease, store.Settlement) error) ([]error, error) {
	errs, err := Batch(ctx, update, len(items), func(i int, x *Tx) error {
		if err := settle(ctx, x, items[i].Lease, items[i].Settlement); err != nil {
			return fmt.Errorf("settle conversation %d: %w", items[i].Lease.ConversationID, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	return errs, nil
}
