package webhook

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
)

// DefaultReplyTimeout bounds the first attempt to send one opt-out last
// reply.
const DefaultReplyTimeout = 15 * time.Second

// storeTimeout bounds storing a last reply before it is sent.
const storeTimeout = 5 * time.Second

// Wait waits until the last replies to contacts who opted out, which are
// sent in the background after their delivery is answered, are done, or
// until ctx ends (then it returns ctx's error). Call it once the server no
// longer hands deliveries to the handler (after http.Server.Shutdown): a
// delivery in flight may still start one.
func (h *Handler) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.replies.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("webhook opt-out replies drain: %w", ctx.Err())
	}
}

func (h *Handler) replyTimeout() time.Duration {
	if h.ReplyTimeout > 0 {
		return h.ReplyTimeout
	}
	return DefaultReplyTimeout
}

// lastReplies starts, for each contact who opted out in a committed
// delivery, the tenant's last reply when it has one: in the background,
// so that the platform's answer is not delayed by a call to the platform.
func (h *Handler) lastReplies(r *http.Request, optOuts []ingest.OptOut) {
	for _, o := range optOuts {
		h.Metrics.OptOuts.WithLabelValues(o.Tenant).Inc()
		l := zerolog.Ctx(r.Context()).With().Str("contact_channel", o.Channel).Int64("contact", o.ContactID).Str("keyword", o.Keyword).Logger()
		l.Info().Msg("contact opted out with a keyword: nothing more is sent to it")
		rc, ok := h.Registry.Channel(o.Tenant, o.Channel)
		if !ok || rc.Tenant.Config.OptOut.LastReply == "" {
			continue
		}
		if o.Blocked {
			// Nothing automated runs for a blocked contact.
			h.Metrics.OptOutReplies.WithLabelValues(o.Tenant, "blocked").Inc()
			l.Info().Msg("the contact is blocked: no last reply")
			continue
		}
		if _, ok := platform.SenderOf(rc.Adapter); !ok {
			h.Metrics.OptOutReplies.WithLabelValues(o.Tenant, "unsupported").Inc()
			l.Info().Msg("the channel's platform can not send: no last reply")
			continue
		}
		ctx := context.WithoutCancel(r.Context())
		h.replies.Add(1)
		go func() {
			defer h.replies.Done()
			h.Metrics.OptOutReplies.WithLabelValues(o.Tenant, h.lastReply(ctx, l, rc, o)).Inc()
		}()
	}
}

// lastReply stores the tenant's last reply to a contact who opted out,
// as an outbound message "sending", and makes the first attempt to send
// it (manage.Manager.Send: a transient failure is retried by the timers,
// a user who blocked the business is recorded on the contact); it returns
// the result for the metric.
func (h *Handler) lastReply(ctx context.Context, log zerolog.Logger, rc *registry.Channel, o ingest.OptOut) string {
	storeCtx, cancelStore := context.WithTimeout(ctx, storeTimeout)
	defer cancelStore()
	c, err := h.Ingester.Store.GetContact(storeCtx, o.ContactID)
	if err != nil {
		log.Error().Err(err).Msg("opt-out last reply not stored: the contact could not be read")
		return "not_stored"
	}
	if c.UnreachableOnPlatform() {
		// Twilio's STOP handling, a LINE unfollow: the platform refuses
		// sends to the user (and may have confirmed the opt-out itself).
		log.Info().Str("platform_status", c.PlatformStatus).Msg("the platform says the contact can not be written to: no last reply")
		return "unreachable"
	}
	m, err := h.Replies.QueueLastReply(storeCtx, o.Tenant, o.ContactID, rc.Tenant.Config.OptOut.LastReply)
	if err != nil {
		log.Error().Err(err).Msg("opt-out last reply not stored")
		return "not_stored"
	}
	if m.PushStatus == store.Pending && h.Wake != nil {
		h.Wake(1)
	}
	sendCtx, cancel := context.WithTimeout(ctx, h.replyTimeout())
	defer cancel()
	m, err = h.Replies.Send(sendCtx, m)
	switch {
	case err != nil:
		log.Error().Err(err).Int64("message", m.ID).Msg("opt-out last reply not sent")
		return "failed"
	case m.DeliveryStatus == store.DeliverySending:
		log.Info().Int64("message", m.ID).Msg("opt-out last reply stored; the platform failed for now, it is retried")
		return "retrying"
	}
	log.Info().Str("sent_id", m.SentID).Int64("message", m.ID).Str("push", string(m.PushStatus)).Msg("opt-out last reply sent")
	return "sent"
}
