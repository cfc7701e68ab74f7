package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
)

// ErrChannelGone: a quarantined event's tenant or channel is no longer
// configured; it stays in quarantine until the channel is configured again.
var ErrChannelGone = errors.New("the channel is not configured")

// route assigns a delivery's events to channels. They are ch's, except,
// for an account-scoped channel (a Meta platform: one app posts every
// account's events to one callback URL), the events ch's adapter found to
// be another account's: those go to the tenant's channel of the same
// platform that reads that account, parsed by its adapter. The delivery
// was verified by ch; a sibling's parse only selects. An event of an
// account no channel reads stays ch's, unusable: ch quarantines it.
func (h *Handler) route(r *http.Request, ch *registry.Channel, events []platform.Event) []ingest.Batch {
	batches := []ingest.Batch{{Channel: ch.Ingest()}}
	index := map[*registry.Channel]int{}
	for _, ev := range events {
		if ev.Kind == platform.KindUnusable && platform.ReasonCode(ev.Reason) == platform.ReasonOtherAccount {
			if sib, evs := h.claim(r, ch, ev.Raw); sib != nil {
				i, ok := index[sib]
				if !ok {
					i = len(batches)
					index[sib] = i
					batches = append(batches, ingest.Batch{Channel: sib.Ingest()})
				}
				batches[i].Events = append(batches[i].Events, evs...)
				continue
			}
		}
		batches[0].Events = append(batches[0].Events, ev)
	}
	return batches
}

// claim returns the tenant's other channel of ch's platform whose account
// raw (another account's event for ch) is, with its events; nil when no
// channel reads that account.
func (h *Handler) claim(r *http.Request, ch *registry.Channel, raw []byte) (*registry.Channel, []platform.Event) {
	own, ok := ch.Adapter.(platform.AccountScoped)
	if !ok || own.Account() == "" {
		return nil, nil
	}
	for _, id := range ch.Tenant.ChannelIDs() {
		sib := ch.Tenant.Channels[id]
		if sib == ch || sib.Config.Platform != ch.Config.Platform {
			continue
		}
		scoped, ok := sib.Adapter.(platform.AccountScoped)
		if !ok || scoped.Account() == "" || scoped.Account() == own.Account() {
			continue
		}
		events, err := platform.Parse(sib.Adapter, r, raw)
		if err != nil {
			// ch parsed the same bytes with the same code: a sibling that
			// can not is configured for another format; it gets nothing.
			zerolog.Ctx(r.Context()).Warn().Err(err).Str("sibling", sib.Config.ID).Msg("sibling channel could not read the delivery")
			continue
		}
		if !otherAccount(events) {
			return sib, events
		}
	}
	return nil, nil
}

// otherAccount reports whether events has an event of another account.
func otherAccount(events []platform.Event) bool {
	for _, ev := range events {
		if ev.Kind == platform.KindUnusable && platform.ReasonCode(ev.Reason) == platform.ReasonOtherAccount {
			return true
		}
	}
	return false
}

// committed does what follows a committed delivery or replay: the
// metrics, a warning per event newly quarantined, the dispatcher's wake-up,
// the release of the platform's copies of media never fetched, and the
// opt-outs' last replies.
func (h *Handler) committed(r *http.Request, log zerolog.Logger, ch *registry.Channel, res ingest.Result) {
	tenant := ch.Tenant.Config.ID
	h.Metrics.MessagesStored.WithLabelValues(tenant, "pending").Add(float64(res.Pending))
	h.Metrics.MessagesStored.WithLabelValues(tenant, "excluded").Add(float64(res.Excluded))
	for typ, n := range res.Ignored {
		h.Metrics.Ignored.WithLabelValues(ch.Config.Platform, typ).Add(float64(n))
	}
	for _, q := range res.QuarantinedEvents {
		if !q.New {
			log.Debug().Int64("quarantine_id", q.ID).Str("reason", q.Reason).Msg("event already in quarantine: its reason is updated")
			continue
		}
		h.Metrics.Quarantined.WithLabelValues(q.Platform, platform.ReasonCode(q.Reason)).Inc()
		log.Warn().Int64("quarantine_id", q.ID).Str("platform", q.Platform).Str("quarantine_channel", q.Channel).
			Str("reason", q.Reason).Msg("event quarantined: the channel cannot use it as configured; fix the configuration and replay it")
	}
	// A receipt that changed an outbound message's status puts its
	// record back in the outbox.
	if n := res.Pending + res.ReceiptsRecorded; n > 0 && h.Wake != nil {
		h.Wake(n)
	}
	if res.MediaPending > 0 && h.MediaStored != nil {
		h.MediaStored()
	}
	if h.MediaUnfetched != nil {
		for _, m := range res.Unfetched {
			if err := h.MediaUnfetched(r.Context(), m.Tenant, m.Channel, m.Ref); err != nil {
				// The delivery is committed: the copy expires on the
				// platform's own terms.
				log.Warn().Err(err).Msg("the platform's copy of a media item never fetched is not released; it expires on the platform's terms")
			}
		}
	}
	h.lastReplies(r, res.OptOuts)
}

// ReplayOutcome is what replaying a quarantined event did.
type ReplayOutcome struct {
	ID int64 `json:"id"`
	// Replayed: the event went through ingestion and left the quarantine.
	Replayed bool `json:"replayed"`
	// Reason is set when the event is still unusable: it stays in
	// quarantine with this reason.
	Reason string `json:"reason,omitempty"`
	// Stored and Duplicates count the messages ingestion stored, and found
	// stored already.
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	// Result is all that ingestion did with it.
	Result ingest.Result `json:"-"`
}

// ReplayIDs replays the quarantined events ids, in order, each once; an
// event of a channel no longer configured is left and reported with that
// reason. An unknown id (never quarantined, or replayed already) is
// refused before any is replayed: the error wraps store.ErrNotFound and
// names every such id; one that another replay takes between that check
// and its own replay is reported with that reason. It stops at the first
// other error, returning what it replayed until then.
func (h *Handler) ReplayIDs(ctx context.Context, ids []int64) ([]ReplayOutcome, error) {
	out := []ReplayOutcome{}
	ids = distinct(ids)
	if err := h.checkQuarantined(ctx, ids); err != nil {
		return out, err
	}
	for _, id := range ids {
		o, err := h.replayOne(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			// Checked above: another replay took it meanwhile.
			o, err = ReplayOutcome{ID: id, Reason: "replayed meanwhile by another request"}, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// checkQuarantined returns an error naming the ids that are not
// quarantined, wrapping store.ErrNotFound; nil when every one is.
func (h *Handler) checkQuarantined(ctx context.Context, ids []int64) error {
	var missing []int64
	err := h.Ingester.Store.WithTx(ctx, func(tx store.Tx) error {
		missing = missing[:0]
		for _, id := range ids {
			_, err := tx.GetQuarantined(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				missing = append(missing, id)
			case err != nil:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay quarantine: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("no quarantined event %s (never quarantined, or replayed already): nothing replayed: %w",
			joinIDs(missing), store.ErrNotFound)
	}
	return nil
}

// distinct returns ids without repeats, in their first order.
func distinct(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// joinIDs lists ids as "1, 2 and 3".
func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// replayOne is Replay, with a channel no longer configured reported as
// the outcome's reason.
func (h *Handler) replayOne(ctx context.Context, id int64) (ReplayOutcome, error) {
	o, err := h.Replay(ctx, id)
	if errors.Is(err, ErrChannelGone) {
		return ReplayOutcome{ID: id, Reason: "its channel is not configured"}, nil
	}
	return o, err
}

// ReplayAll replays every quarantined event f selects (its Limit is the
// page size), in ID order; an event of a channel no longer configured is
// left and reported with that reason. It stops at the first other error,
// returning what it replayed until then.
func (h *Handler) ReplayAll(ctx context.Context, f store.QuarantineFilter) ([]ReplayOutcome, error) {
	out := []ReplayOutcome{}
	for {
		qs, err := h.Ingester.Store.ListQuarantine(ctx, f)
		if err != nil {
			return out, fmt.Errorf("replay quarantine: %w", err)
		}
		for _, q := range qs {
			o, err := h.replayOne(ctx, q.ID)
			if err != nil {
				return out, err
			}
			out = append(out, o)
		}
		if len(qs) < store.PageSize(f.Limit, 100) {
			return out, nil
		}
		f.AfterID = qs[len(qs)-1].ID
	}
}

// Replay parses a quarantined event again with its channel's adapter as
// configured now and ingests it, through the normal ingestion and
// deduplication, in one transaction: the event leaves the quarantine when
// it is used, and stays, with its new reason, when it is still unusable.
// An unknown id is store.ErrNotFound; a channel no longer configured is
// ErrChannelGone.
func (h *Handler) Replay(ctx context.Context, id int64) (ReplayOutcome, error) {
	var out ReplayOutcome
	var ch *registry.Channel
	var req *http.Request
	err := h.Ingester.Store.WithTx(ctx, func(tx store.Tx) error {
		out = ReplayOutcome{ID: id}
		q, err := tx.GetQuarantined(ctx, id)
		if err != nil {
			return err
		}
		var ok bool
		ch, ok = h.Registry.Channel(q.Tenant, q.Channel)
		if !ok {
			return fmt.Errorf("quarantined event %d of %s/%s: %w", id, q.Tenant, q.Channel, ErrChannelGone)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, "/webhooks/"+q.Tenant+"/"+q.Channel, bytes.NewReader(q.Raw))
		if err != nil {
			return fmt.Errorf("quarantined event %d: %w", id, err)
		}
		events, err := platform.Parse(ch.Adapter, req, q.Raw)
		if err != nil {
			// The channel as configured now reads it as malformed: kept,
			// with that reason.
			events = []platform.Event{platform.Unusable(q.Raw, "malformed: "+err.Error())}
		}
		res, err := h.Ingester.IngestIn(ctx, tx, h.route(req, ch, events))
		if err != nil {
			return err
		}
		out.Result, out.Stored, out.Duplicates = res, res.Stored, res.Duplicates
		for _, qe := range res.QuarantinedEvents {
			if qe.ID == id {
				out.Reason = qe.Reason
				return nil
			}
		}
		out.Replayed = true
		return tx.DeleteQuarantined(ctx, id)
	})
	if err != nil {
		return ReplayOutcome{}, fmt.Errorf("replay quarantined event %d: %w", id, err)
	}
	base := zerolog.Ctx(ctx).With().Str("tenant", ch.Tenant.Config.ID).Str("channel", ch.Config.ID).Logger()
	h.committed(req, base, ch, out.Result) // names each event's quarantine id itself
	log := base.With().Int64("quarantine_id", id).Logger()
	if out.Replayed {
		log.Info().Int("stored", out.Result.Stored).Int("duplicates", out.Result.Duplicates).Msg("quarantined event replayed")
	} else {
		log.Warn().Str("reason", out.Reason).Msg("quarantined event replayed and still unusable: kept in quarantine")
	}
	return out, nil
}
