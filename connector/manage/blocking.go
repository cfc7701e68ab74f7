package manage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// BlockRequest says which directions to block. Block sets exactly these
// (a retry of the same request changes nothing).
type BlockRequest struct {
	Inbound, Outbound bool
	// Note is the reason; empty keeps the note of a block in force.
	Note string
}

// BlockResult is the outcome of Block, Unblock and UnblockAll.
type BlockResult struct {
	// Contact is the contact as it is after the operation, with its tags
	// and its native block status.
	Contact store.Contact
	// Blocked lists the conversations that became BLOCKED; Unblocked
	// those that left BLOCKED (to OPEN, or AUTO_BOT on a bot channel).
	Blocked, Unblocked []int64
}

// DeleteResult is the outcome of DeleteAll.
type DeleteResult struct {
	// Conversations are the BLOCKED conversations removed; Messages how
	// many messages went with them.
	Conversations []int64
	Messages      int
}

// Block blocks a contact locally in the directions asked, at once and
// durably, then asks the platform for its native block when the inbound
// direction is blocked and the channel has one. An inbound block moves the
// contact's live conversations to BLOCKED; an outbound-only block leaves
// their states as they are (and lifts an inbound block in force, with the
// BLOCKED conversations and a native block it brought). Blocking both
// directions off is ErrInvalid (Unblock does that); a tenant with blocking
// switched off gets ErrBlockingDisabled.
//
// The native call runs after the commit, bounded by the native timeout:
// when it fails for now the status is pending and RetryNativeBlocks
// retries it; a permanent refusal (platform.ErrSendRejected) is failed.
func (m *Manager) Block(ctx context.Context, actor, tenant string, contactID int64, req BlockRequest) (BlockResult, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return BlockResult{}, err
	}
	if !req.Inbound && !req.Outbound {
		return BlockResult{}, invalid("inbound", CodeInvalidField, "block at least one direction (inbound or outbound); DELETE the block to lift it")
	}
	if err := checkReason("note", req.Note); err != nil {
		return BlockResult{}, err
	}
	var res BlockResult
	var call nativeCall
	now := m.now()
	err = m.withTx(ctx, func(tx store.Tx) error {
		res, call = BlockResult{}, nativeCall{}
		c, err := contact(ctx, tx, tenant, contactID)
		if err != nil {
			return err
		}
		if err := m.requireBlocking(ctx, tx, t); err != nil {
			return err
		}
		ch := t.channel(c.Channel)
		note := req.Note
		if note == "" && (c.BlockedInbound || c.BlockedOutbound) {
			note = c.Block.Note
		}
		if c.BlockedInbound != req.Inbound || c.BlockedOutbound != req.Outbound || c.Block.Note != note {
			if err := tx.SetContactBlock(ctx, c.ID, store.Block{Inbound: req.Inbound, Outbound: req.Outbound, Note: note, By: actor}, now); err != nil {
				return fmt.Errorf("block contact %d: %w", c.ID, err)
			}
		}
		convs, err := tx.ContactConversations(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("list the conversations of contact %d: %w", c.ID, err)
		}
		reason := note
		if reason == "" {
			reason = "contact blocked"
		}
		for _, cv := range convs {
			switch {
			case req.Inbound && cv.State.Live() && cv.State != statemachine.Blocked:
				if err := m.apply(ctx, tx, cv, statemachine.Event{Kind: statemachine.Block}, actor, reason, now); err != nil {
					return err
				}
				res.Blocked = append(res.Blocked, cv.ID)
			case !req.Inbound && c.BlockedInbound && cv.State == statemachine.Blocked:
				ev := statemachine.Event{Kind: statemachine.Unblock, HasBot: ch.HasBot}
				if err := m.apply(ctx, tx, cv, ev, actor, "inbound block lifted", now); err != nil {
					return err
				}
				res.Unblocked = append(res.Unblocked, cv.ID)
			}
		}
		switch {
		case req.Inbound:
			call, err = m.planNativeBlock(ctx, tx, c, ch, now)
		case c.BlockedInbound:
			call, err = m.planNativeUnblock(ctx, tx, c, ch, now)
		default:
			if _, ok := platform.BlockerOf(ch.Adapter); !ok && c.Native.Status == store.NativeNone {
				err = tx.SetNativeBlock(ctx, c.ID, store.NativeBlock{Status: store.NativeUnsupported, UpdatedAt: now})
			}
		}
		return err
	})
	if err != nil {
		return BlockResult{}, err
	}
	if len(res.Blocked)+len(res.Unblocked) > 0 {
		m.wake()
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Bool("inbound", req.Inbound).
		Bool("outbound", req.Outbound).Str("by", actor).Ints64("blocked_conversations", res.Blocked).Msg("contact blocked")
	return m.finish(ctx, tenant, contactID, res, call)
}

// Unblock lifts both directions of a contact's block: its BLOCKED
// conversations return to OPEN, or AUTO_BOT on a bot channel, and a native
// block the platform applied (or was asked for) is lifted. Unblocking a
// contact that is not blocked changes nothing. It works while blocking is
// switched off, so that contacts blocked before can be released.
func (m *Manager) Unblock(ctx context.Context, actor, tenant string, contactID int64) (BlockResult, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return BlockResult{}, err
	}
	var res BlockResult
	var call nativeCall
	now := m.now()
	err = m.withTx(ctx, func(tx store.Tx) error {
		res, call = BlockResult{}, nativeCall{}
		c, err := contact(ctx, tx, tenant, contactID)
		if err != nil {
			return err
		}
		ch := t.channel(c.Channel)
		if c.BlockedInbound || c.BlockedOutbound {
			if err := tx.SetContactBlock(ctx, c.ID, store.Block{}, now); err != nil {
				return fmt.Errorf("unblock contact %d: %w", c.ID, err)
			}
		}
		convs, err := tx.ContactConversations(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("list the conversations of contact %d: %w", c.ID, err)
		}
		for _, cv := range convs {
			if cv.State != statemachine.Blocked {
				continue
			}
			ev := statemachine.Event{Kind: statemachine.Unblock, HasBot: ch.HasBot}
			if err := m.apply(ctx, tx, cv, ev, actor, "contact unblocked", now); err != nil {
				return err
			}
			res.Unblocked = append(res.Unblocked, cv.ID)
		}
		call, err = m.planNativeUnblock(ctx, tx, c, ch, now)
		return err
	})
	if err != nil {
		return BlockResult{}, err
	}
	if len(res.Unblocked) > 0 {
		m.wake()
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Str("by", actor).
		Ints64("unblocked_conversations", res.Unblocked).Msg("contact unblocked")
	return m.finish(ctx, tenant, contactID, res, call)
}

// LiftOptOut lifts the contact's opt-out, for a contact who asked to hear
// from the business again: replies can be sent to it, unless it is
// blocked for outbound. It is the one way an opt-out ends: blocking and
// unblocking the contact (through the API, a state change or Salesforce)
// leave it as it is. Lifting no opt-out changes nothing. It works while
// blocking is switched off, as opt-outs do. It returns the contact as it
// is after the operation.
func (m *Manager) LiftOptOut(ctx context.Context, actor, tenant string, contactID int64) (store.Contact, error) {
	if _, err := m.tenant(tenant); err != nil {
		return store.Contact{}, err
	}
	var lifted store.OptOut
	err := m.withTx(ctx, func(tx store.Tx) error {
		c, err := contact(ctx, tx, tenant, contactID)
		if err != nil {
			return err
		}
		lifted = c.OptOut
		if !c.OptedOut() {
			return nil
		}
		if _, err := tx.SetContactOptOut(ctx, c.ID, store.OptOut{}, m.now()); err != nil {
			return fmt.Errorf("lift the opt-out of contact %d: %w", c.ID, err)
		}
		return nil
	})
	if err != nil {
		return store.Contact{}, err
	}
	if lifted.Keyword != "" {
		m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Str("by", actor).
			Str("keyword", lifted.Keyword).Msg("opt-out lifted")
	}
	c, err := m.Contact(ctx, tenant, contactID)
	if err != nil {
		return store.Contact{}, err
	}
	return c.Contact, nil
}

// UnblockAll is Unblock: the contact's block is lifted and every BLOCKED
// conversation of it returns (BlockResult.Unblocked lists them).
func (m *Manager) UnblockAll(ctx context.Context, actor, tenant string, contactID int64) (BlockResult, error) {
	return m.Unblock(ctx, actor, tenant, contactID)
}

// DeleteAll removes the contact's BLOCKED conversations with their
// history and messages from the store and reports what it removed. The
// contact stays, with its block.
func (m *Manager) DeleteAll(ctx context.Context, actor, tenant string, contactID int64) (DeleteResult, error) {
	if _, err := m.tenant(tenant); err != nil {
		return DeleteResult{}, err
	}
	var res DeleteResult
	err := m.withTx(ctx, func(tx store.Tx) error {
		res = DeleteResult{Conversations: []int64{}}
		c, err := contact(ctx, tx, tenant, contactID)
		if err != nil {
			return err
		}
		convs, err := tx.ContactConversations(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("list the conversations of contact %d: %w", c.ID, err)
		}
		for _, cv := range convs {
			if cv.State == statemachine.Blocked {
				res.Conversations = append(res.Conversations, cv.ID)
			}
		}
		if len(res.Conversations) == 0 {
			return nil
		}
		res.Messages, err = tx.DeleteConversations(ctx, res.Conversations)
		if err != nil {
			return fmt.Errorf("delete the blocked conversations of contact %d: %w", c.ID, err)
		}
		return nil
	})
	if err != nil {
		return DeleteResult{}, err
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Str("by", actor).
		Ints64("conversations", res.Conversations).Int("messages", res.Messages).Msg("blocked conversations deleted")
	if res.Messages > 0 {
		m.deleted()
	}
	return res, nil
}

// apply moves a conversation by ev and records it in the history.
func (m *Manager) apply(ctx context.Context, tx store.Tx, cv store.Conversation, ev statemachine.Event, actor, reason string, now time.Time) error {
	tr, err := statemachine.Next(cv.State, ev)
	if err != nil {
		return fmt.Errorf("conversation %d: %w", cv.ID, err)
	}
	if !tr.Changed {
		return nil
	}
	moved, err := tx.ApplyTransition(ctx, store.Transition{ConversationID: cv.ID, From: tr.From, To: tr.To,
		Event: ev.Kind.String(), Actor: actor, Reason: reason, At: now})
	if err != nil {
		return fmt.Errorf("move conversation %d to %s: %w", cv.ID, tr.To, err)
	}
	_, err = touch(ctx, tx, moved, now)
	return err
}

// touch records a change made by someone (an agent, an admin, Salesforce)
// as the conversation's activity: the timers count from it, so a
// conversation an agent reopens or unblocks is not closed or expired
// again at the timers' next run for the silence before.
func touch(ctx context.Context, tx store.Tx, conv store.Conversation, now time.Time) (store.Conversation, error) {
	if err := tx.TouchConversation(ctx, conv.ID, now); err != nil {
		return conv, fmt.Errorf("record the activity of conversation %d: %w", conv.ID, err)
	}
	conv.LastActivityAt = now
	return conv, nil
}

// finish makes the native call planned, if any, and reads the contact as
// it is now.
func (m *Manager) finish(ctx context.Context, tenant string, contactID int64, res BlockResult, call nativeCall) (BlockResult, error) {
	if call.want != "" {
		if _, err := m.callNative(ctx, call); err != nil {
			return BlockResult{}, err
		}
	}
	c, err := m.Contact(ctx, tenant, contactID)
	if err != nil {
		return BlockResult{}, err
	}
	res.Contact = c.Contact
	return res, nil
}

// nativeCall is a native block or unblock to make after the commit.
type nativeCall struct {
	tenant  string
	contact store.Contact
	blocker platform.Blocker
	want    string
}

// retryDelay is the wait before the attempt after the n-th (n ≥ 1).
func (m *Manager) retryDelay(n int) time.Duration {
	d := m.cfg.RetryMin
	for i := 1; i < n && d < m.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, m.cfg.RetryMax)
}

// pending records that want is to be asked of the platform now, and
// returns the call. The timers' retry is due only after the call's own
// time, so that they do not make it at the same time.
func (m *Manager) pending(ctx context.Context, tx store.Tx, c store.Contact, b platform.Blocker, want string, now time.Time) (nativeCall, error) {
	if c.Native.Want == want && c.Native.Status == store.NativePending && c.Native.NextAttemptAt.After(now) {
		// Asked for already: a call is on its way (a retried request
		// while the first one's call runs) or its retry is due later.
		return nativeCall{}, nil
	}
	attempts := 0
	if c.Native.Want == want && c.Native.Status == store.NativePending {
		attempts = c.Native.Attempts
	}
	nb := store.NativeBlock{Want: want, Status: store.NativePending, Attempts: attempts,
		NextAttemptAt: now.Add(max(m.retryDelay(attempts+1), m.cfg.NativeTimeout)), UpdatedAt: now}
	if err := tx.SetNativeBlock(ctx, c.ID, nb); err != nil {
		return nativeCall{}, fmt.Errorf("record the native %s of contact %d: %w", want, c.ID, err)
	}
	return nativeCall{tenant: c.Tenant, contact: c, blocker: b, want: want}, nil
}

// planNativeBlock records the native block to ask for, unless the
// platform applied it already; a channel without one is unsupported.
func (m *Manager) planNativeBlock(ctx context.Context, tx store.Tx, c store.Contact, ch Channel, now time.Time) (nativeCall, error) {
	if refusesBlocked(ch) {
		return nativeCall{}, m.doorBlock(ctx, tx, c, WantBlock, now)
	}
	b, ok := platform.BlockerOf(ch.Adapter)
	if !ok {
		if c.Native.Status == store.NativeUnsupported {
			return nativeCall{}, nil
		}
		err := tx.SetNativeBlock(ctx, c.ID, store.NativeBlock{Want: WantBlock, Status: store.NativeUnsupported, UpdatedAt: now})
		if err != nil {
			return nativeCall{}, fmt.Errorf("record the native block of contact %d: %w", c.ID, err)
		}
		return nativeCall{}, nil
	}
	if c.Native.Want == WantBlock && c.Native.Status == store.NativeApplied {
		return nativeCall{}, nil
	}
	return m.pending(ctx, tx, c, b, WantBlock, now)
}

// planNativeUnblock records the native unblock to ask for when the
// platform applied a block (or was being asked for one); a failed block
// is cleared, as nothing is blocked on the platform.
func (m *Manager) planNativeUnblock(ctx context.Context, tx store.Tx, c store.Contact, ch Channel, now time.Time) (nativeCall, error) {
	if refusesBlocked(ch) {
		if c.Native.Want == WantBlock {
			return nativeCall{}, m.doorBlock(ctx, tx, c, WantUnblock, now)
		}
		return nativeCall{}, nil
	}
	b, ok := platform.BlockerOf(ch.Adapter)
	switch {
	case c.Native.Want == WantBlock && (c.Native.Status == store.NativeApplied || c.Native.Status == store.NativePending),
		c.Native.Want == WantUnblock && c.Native.Status == store.NativePending:
		if !ok {
			nb := store.NativeBlock{Want: WantUnblock, Status: store.NativeFailed, UpdatedAt: now,
				Error: fmt.Sprintf("channel %s can no longer call the platform: lift the block on the platform itself", c.Channel)}
			if err := tx.SetNativeBlock(ctx, c.ID, nb); err != nil {
				return nativeCall{}, fmt.Errorf("record the native unblock of contact %d: %w", c.ID, err)
			}
			return nativeCall{}, nil
		}
		return m.pending(ctx, tx, c, b, WantUnblock, now)
	case c.Native.Want == WantBlock && c.Native.Status == store.NativeFailed:
		if err := tx.SetNativeBlock(ctx, c.ID, store.NativeBlock{UpdatedAt: now}); err != nil {
			return nativeCall{}, fmt.Errorf("clear the native block of contact %d: %w", c.ID, err)
		}
	}
	return nativeCall{}, nil
}

// refusesBlocked reports whether the channel's platform is the connector
// itself (the web chat): its native block is the connector refusing the
// contact's messages, in force as soon as the local block commits.
func refusesBlocked(ch Channel) bool {
	d, ok := ch.Adapter.(platform.BlockedRefuser)
	return ok && d.RefusesBlocked()
}

// doorBlock records the connector's own native block or unblock as
// applied.
func (m *Manager) doorBlock(ctx context.Context, tx store.Tx, c store.Contact, want string, now time.Time) error {
	if c.Native.Want == want && c.Native.Status == store.NativeApplied {
		return nil
	}
	if err := tx.SetNativeBlock(ctx, c.ID, store.NativeBlock{Want: want, Status: store.NativeApplied, UpdatedAt: now}); err != nil {
		return fmt.Errorf("record the native %s of contact %d: %w", want, c.ID, err)
	}
	return nil
}

// callNative asks the platform for call.want, bounded by the native
// timeout (and not cut short when the caller goes away), and records the
// outcome: applied; failed when the platform refuses for good or after the
// last attempt; else pending, due again after a backoff. An outcome is
// dropped when another operation asked for something else meanwhile. The
// error is the store's only: the platform's is recorded.
func (m *Manager) callNative(ctx context.Context, call nativeCall) (store.NativeBlock, error) {
	ctx = context.WithoutCancel(ctx)
	cctx, cancel := context.WithTimeout(ctx, m.cfg.NativeTimeout)
	user := call.contact.ExternalID
	var callErr error
	if call.want == WantBlock {
		callErr = call.blocker.Block(cctx, user)
	} else {
		callErr = call.blocker.Unblock(cctx, user)
	}
	cancel()
	now := m.now()
	var nb store.NativeBlock
	superseded := false
	err := m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		cur, err := tx.LockContact(ctx, call.contact.ID)
		if err != nil {
			return fmt.Errorf("read contact %d: %w", call.contact.ID, err)
		}
		nb, superseded = cur.Native, false
		if nb.Want != call.want || nb.Status != store.NativePending {
			superseded = true
			return nil
		}
		nb.Attempts++
		nb.UpdatedAt = now
		switch {
		case callErr == nil:
			nb.Status, nb.Error, nb.NextAttemptAt = store.NativeApplied, "", time.Time{}
		case errors.Is(callErr, platform.ErrSendRejected):
			nb.Status, nb.Error, nb.NextAttemptAt = store.NativeFailed, callErr.Error(), time.Time{}
		case nb.Attempts >= m.cfg.MaxNativeAttempts:
			nb.Status, nb.NextAttemptAt = store.NativeFailed, time.Time{}
			nb.Error = fmt.Sprintf("gave up after %d attempts: %v", nb.Attempts, callErr)
		default:
			nb.Status, nb.Error, nb.NextAttemptAt = store.NativePending, callErr.Error(), now.Add(m.retryDelay(nb.Attempts))
		}
		return tx.SetNativeBlock(ctx, call.contact.ID, nb)
	})
	if err != nil {
		return store.NativeBlock{}, fmt.Errorf("record the native %s of contact %d: %w", call.want, call.contact.ID, err)
	}
	log := m.logger(ctx)
	ev := log.Info()
	switch {
	case superseded:
		ev = log.Debug()
	case nb.Status != store.NativeApplied:
		ev = log.Warn().Err(callErr)
	}
	ev.Str("tenant", call.tenant).Int64("contact", call.contact.ID).Str("want", call.want).Str("status", nb.Status).
		Int("attempts", nb.Attempts).Bool("superseded", superseded).Msg("native block call")
	return nb, nil
}

// RetryNativeBlocks makes the native blocks and unblocks that are pending
// and due (the timers call it) and returns how many calls it made. A
// platform's failure is recorded on the contact, not returned; the error is
// the store's.
func (m *Manager) RetryNativeBlocks(ctx context.Context) (int, error) {
	due, err := m.cfg.Store.DueNativeBlocks(ctx, m.now(), nativeBatch)
	if err != nil {
		return 0, fmt.Errorf("list due native blocks: %w", err)
	}
	n := 0
	var errs []error
	for _, c := range due {
		if ctx.Err() != nil {
			break
		}
		var ch Channel
		if t, ok := m.tenants[c.Tenant]; ok {
			ch = t.channel(c.Channel)
		}
		b, ok := platform.BlockerOf(ch.Adapter)
		if !ok {
			if err := m.giveUp(ctx, c); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if _, err := m.callNative(ctx, nativeCall{tenant: c.Tenant, contact: c, blocker: b, want: c.Native.Want}); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// giveUp fails a pending native call whose channel is no longer
// configured with a native block.
func (m *Manager) giveUp(ctx context.Context, c store.Contact) error {
	err := m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		cur, err := tx.LockContact(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.Native.Status != store.NativePending {
			return nil
		}
		nb := cur.Native
		nb.Status, nb.NextAttemptAt, nb.UpdatedAt = store.NativeFailed, time.Time{}, m.now()
		nb.Error = fmt.Sprintf("channel %s of tenant %s is not configured with a native block any more", c.Channel, c.Tenant)
		return tx.SetNativeBlock(ctx, c.ID, nb)
	})
	if err != nil {
		return fmt.Errorf("fail the native %s of contact %d: %w", c.Native.Want, c.ID, err)
	}
	return nil
}
