package manage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/platform/line"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Outbound messages (a reply, an opt-out last reply) are stored before
// they are sent, in delivery status "sending" (store.DeliverySending),
// under an id of the connector's own (OutboundIDPrefix and 16 random hex
// characters: the message's PlatformID and its key in Salesforce). A send
// holds its message for sendLease (the store's ClaimSends lease): whoever
// stores a message makes the first attempt, and RetrySends, run by the
// timers, the next ones, after a crash too. The outcome: "sent" with the
// platform's id (SentID, which receipts name), a retry with exponential
// backoff after a transient failure (RetryMin to RetryMax, up to
// MaxNativeAttempts attempts), or "failed" with the reason. A LINE push
// carries a retry key derived from the message's id (line.RetryKeyFrom):
// LINE delivers it once however often it is sent.

// OutboundIDPrefix starts the PlatformID of every outbound message the
// connector stores before sending it.
const OutboundIDPrefix = "out-"

// sendBatch is how many due messages one RetrySends run takes.
const sendBatch = 100

// newOutboundID returns a new outbound message id.
func newOutboundID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate a message id: %w", err)
	}
	return OutboundIDPrefix + hex.EncodeToString(b[:]), nil
}

// sendLease is how long one attempt holds its message: longer than the
// send's own timeout (NativeTimeout), so that no other sender takes it
// meanwhile.
func (m *Manager) sendLease() time.Duration {
	return m.cfg.NativeTimeout + time.Second
}

// queue stores text from sender as an outbound message of conv, "sending",
// held for the first attempt of whoever stores it, with the push decision
// taken with excluded; the conversation's activity is touched.
func (m *Manager) queue(ctx context.Context, tx store.Tx, conv store.Conversation, orgID string, excluded statemachine.Set, sender, text string) (store.Message, error) {
	id, err := newOutboundID()
	if err != nil {
		return store.Message{}, err
	}
	now := m.now()
	msg := store.Message{
		Tenant: conv.Tenant, Channel: conv.Channel, ConversationID: conv.ID, ContactID: conv.ContactID,
		PlatformID: id, Direction: store.Outbound, Kind: platform.Text, Body: text,
		Sender: sender, SentAt: now, ReceivedAt: now, StateAtReceipt: conv.State,
		DeliveryStatus: store.DeliverySending, DeliveryStatusAt: now, SendAfter: now.Add(m.sendLease()),
	}
	msg.PushStatus, msg.PushReason = ingest.PushDecision(conv.State, excluded, orgID)
	stored, _, err := tx.AddMessage(ctx, msg) // a new id: always inserted, conv touched
	if err != nil {
		return store.Message{}, fmt.Errorf("store outbound message: %w", err)
	}
	return stored, nil
}

// QueueLastReply stores the tenant's opt-out last reply text to contact
// contactID in its latest conversation, "sending", sent by
// ingest.OptOutBy; the caller wakes the dispatcher when it is pending
// and makes the first attempt (Send).
func (m *Manager) QueueLastReply(ctx context.Context, tenant string, contactID int64, text string) (store.Message, error) {
	t, err := m.tenant(tenant)
	if err != nil {
		return store.Message{}, err
	}
	var msg store.Message
	err = m.withTx(ctx, func(tx store.Tx) error {
		conv, err := tx.LatestConversation(ctx, contactID)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("contact %d: %w", contactID, ingest.ErrNoConversation)
		}
		if err != nil {
			return err
		}
		ex, err := m.exclusionsIn(ctx, tx, config.OrgKey(t.OrgID))
		if err != nil {
			return err
		}
		msg, err = m.queue(ctx, tx, conv, t.OrgID, ex.States, ingest.OptOutBy, text)
		return err
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("store the last reply to contact %d: %w", contactID, err)
	}
	return msg, nil
}

// Send makes one attempt to send msg, a stored "sending" message this
// process holds (it stored it, or RetrySends claimed it), and records the
// outcome; it returns the message as recorded. A platform that refuses the
// message for good fails it, with ErrPlatform; a user who blocked the
// business is recorded on the contact and fails it, with ErrUnreachable; a
// contact blocked for outbound, or opted out, since the message was stored
// fails it without a call to the platform, with ErrContactBlocked (an
// opt-out's last reply is the one message sent after an opt-out); a
// transient failure schedules the next attempt and returns no error (the
// message is still "sending"), unless it was the last attempt.
func (m *Manager) Send(ctx context.Context, msg store.Message) (store.Message, error) {
	// The send is bounded by the caller's context and NativeTimeout; what
	// it brought back is stored whatever becomes of the caller.
	sendCtx := ctx
	ctx = context.WithoutCancel(ctx)
	log := m.logger(ctx).With().Str("tenant", msg.Tenant).Str("channel", msg.Channel).Int64("message", msg.ID).Logger()
	var c store.Contact
	err := m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.LockContact(ctx, msg.ContactID)
		return err
	})
	if err != nil {
		return msg, fmt.Errorf("send message %d: read contact %d: %w", msg.ID, msg.ContactID, err)
	}
	var sender platform.Sender
	if t, ok := m.tenants[msg.Tenant]; ok {
		sender, _ = platform.SenderOf(t.channel(msg.Channel).Adapter)
	}
	var sentID string
	var sendErr error
	refused, isRefused := sendRefused(c, msg)
	switch {
	case isRefused:
		// Blocked, or opted out, since the message was stored: it is
		// never sent.
		sendErr = errors.New(refused + ": not sent")
	case sender == nil:
		sendErr = fmt.Errorf("channel %s can not send messages any more: %w", msg.Channel, platform.ErrSendRejected)
	default:
		// LINE takes an idempotency key: every attempt of one message
		// carries the same, so a retry after a lost answer is not
		// delivered twice.
		sctx, cancel := context.WithTimeout(line.WithRetryKey(sendCtx, line.RetryKeyFrom(msg.PlatformID)), m.cfg.NativeTimeout)
		sentID, sendErr = sender.Send(sctx, c.ExternalID, msg.Body)
		cancel()
		if errors.Is(sendErr, line.ErrAlreadyAccepted) {
			// An earlier attempt went out; LINE does not say its id.
			sentID, sendErr = "", nil
		}
	}
	now := m.now()
	o := store.SendOutcome{SentID: sentID, At: now}
	permanent := isRefused || errors.Is(sendErr, platform.ErrSendRejected) || errors.Is(sendErr, platform.ErrRecipientBlocked)
	if sendErr != nil {
		o.Error = sendErr.Error()
		if !permanent && msg.SendAttempts+1 < m.cfg.MaxNativeAttempts {
			o.RetryAt = now.Add(m.retryDelay(msg.SendAttempts + 1))
		}
	}
	err = m.withTx(ctx, func(tx store.Tx) error {
		if _, err := tx.SettleSend(ctx, msg.ID, o); err != nil {
			return err
		}
		if errors.Is(sendErr, platform.ErrRecipientBlocked) {
			if _, err := tx.SetContactPlatformStatus(ctx, c.ID, "blocked", now); err != nil {
				return fmt.Errorf("record that contact %d blocked the business: %w", c.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		// The platform's answer is lost: the lease passes and the message
		// is sent again (twice, where the platform has no idempotency key).
		log.Error().Err(err).Str("sent_id", sentID).Msg("outbound message: the send's outcome could not be stored; it is tried again")
		return msg, fmt.Errorf("send message %d: store the outcome: %w", msg.ID, err)
	}
	if sendErr == nil || o.RetryAt.IsZero() {
		m.wake() // the record shows the new status
	}
	msg.SendAttempts++
	switch {
	case sendErr == nil:
		msg.DeliveryStatus, msg.DeliveryStatusAt, msg.SentID, msg.SendError = store.DeliverySent, now, sentID, ""
		log.Info().Str("sent_id", sentID).Int("attempts", msg.SendAttempts).Msg("outbound message sent")
		return msg, nil
	case !o.RetryAt.IsZero():
		msg.SendError = o.Error
		log.Warn().Err(sendErr).Int("attempts", msg.SendAttempts).Time("retry_at", o.RetryAt).Msg("outbound message not sent; it is retried")
		return msg, nil
	}
	msg.DeliveryStatus, msg.DeliveryStatusAt, msg.SendError = store.DeliveryFailed, now, o.Error
	log.Warn().Err(sendErr).Int("attempts", msg.SendAttempts).Msg("outbound message failed")
	if isRefused {
		return msg, &Error{Kind: ErrContactBlocked, Cause: sendErr,
			Msg: fmt.Sprintf("%s; message %d is recorded as failed", refused, msg.ID)}
	}
	if errors.Is(sendErr, platform.ErrRecipientBlocked) {
		return msg, &Error{Kind: ErrUnreachable, Cause: sendErr,
			Msg: fmt.Sprintf("contact %d can not be reached: the platform refused the message because the user blocked the business (%v); message %d is recorded as failed", c.ID, sendErr, msg.ID)}
	}
	return msg, &Error{Kind: ErrPlatform, Cause: sendErr,
		Msg: fmt.Sprintf("the platform did not take the message: %v; message %d is recorded as failed", sendErr, msg.ID)}
}

// RetrySends sends the stored outbound messages that are due: those whose
// attempt failed for now, and those a crashed process left "sending". It
// returns how many it tried.
func (m *Manager) RetrySends(ctx context.Context) (int, error) {
	now := m.now()
	var due []store.Message
	err := m.cfg.Store.WithTx(ctx, func(tx store.Tx) error {
		var err error
		due, err = tx.ClaimSends(ctx, now, now.Add(m.sendLease()), sendBatch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claim messages to send: %w", err)
	}
	var errs []error
	for _, msg := range due {
		if _, err := m.Send(ctx, msg); err != nil && !errors.Is(err, ErrPlatform) && !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrContactBlocked) {
			errs = append(errs, err)
		}
	}
	return len(due), errors.Join(errs...)
}
