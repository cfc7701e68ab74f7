// Package webhook serves the platforms' webhooks at /webhooks/{tenant}/{channel}:
// the GET verification handshake and the signed POST deliveries; and the
// signed uploads of channels whose platform is the connector (the web
// chat) at /webhooks/{tenant}/{channel}/uploads.
//
// A delivery is answered 2xx only after its messages are committed. Bad
// input gets a clear error and stores nothing: unknown tenant or channel
// 404 unknown_channel (the same answer for both), body over the limit 413,
// wrong signature 401, malformed body 400. The events of an authentic delivery that the channel
// cannot use as configured (another account's, no chat, an unusable id)
// are answered 2xx and kept in quarantine, for an operator to list and
// replay (Handler.Replay). Parsed events are normalised (platform.Parse)
// before ingestion: hostile text is cleaned, and an event with an unusable
// id is quarantined, never refused.
//
// A contact who opts out with one of the tenant's keywords is blocked for
// outbound in the delivery's transaction; after the commit the handler
// sends the tenant's last reply, when it has one, in the background (see
// Handler.Wait).
package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/registry"
)

// Handler serves the webhooks.
type Handler struct {
	Registry *registry.Registry
	Ingester *ingest.Ingester
	// MaxBodyBytes caps a delivery's body.
	MaxBodyBytes int64
	Metrics      *metrics.Metrics
	// Wake wakes the dispatcher: it is called with the number of messages
	// to push after a delivery with such messages, or with receipts that
	// changed an outbound message's status, committed, and after a last
	// reply to push is stored. Optional.
	Wake func(pending int)
	// MediaStored is called after a delivery with media items to fetch
	// committed (it wakes the media worker). Optional.
	MediaStored func()
	// MediaUnfetched is called, after a delivery committed, for each media
	// item its messages named that will never be fetched (skipped, or its
	// message refused): the platform may drop its copy (see
	// media.Worker.ReleaseUnfetched). Optional.
	MediaUnfetched func(ctx context.Context, tenant, channel, ref string) error
	// Replies stores and sends the opt-out last replies.
	Replies *manage.Manager
	// ReplyTimeout bounds sending an opt-out last reply;
	// DefaultReplyTimeout when zero.
	ReplyTimeout time.Duration

	// replies tracks the last replies in flight (Wait).
	replies sync.WaitGroup
}

// Register adds the webhook routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /webhooks/{tenant}/{channel}", h.handshake)
	mux.HandleFunc("POST /webhooks/{tenant}/{channel}", h.deliver)
	mux.HandleFunc("POST /webhooks/{tenant}/{channel}/uploads", h.upload)
}

// channel finds the path's channel. An unknown tenant and an unknown
// channel get the same 404, so that the answers do not tell which tenants
// exist; the log says which it was.
func (h *Handler) channel(w http.ResponseWriter, r *http.Request) (*registry.Channel, bool) {
	tenant, channel := r.PathValue("tenant"), r.PathValue("channel")
	log := zerolog.Ctx(r.Context())
	log.UpdateContext(func(c zerolog.Context) zerolog.Context {
		return c.Str("tenant", tenant).Str("channel", channel)
	})
	detail := ""
	ch, ok := h.Registry.Channel(tenant, channel)
	if _, known := h.Registry.Tenant(tenant); !known {
		detail = "no tenant " + quote(tenant) + " is configured"
	} else if !ok {
		detail = "tenant " + quote(tenant) + " has no channel " + quote(channel)
	}
	if detail != "" {
		log.UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("detail", detail) })
		httpx.WriteError(w, r, http.StatusNotFound, "unknown_channel", "no tenant "+quote(tenant)+" with a channel "+quote(channel)+" is configured")
		return nil, false
	}
	return ch, true
}

func (h *Handler) count(ch *registry.Channel, outcome string) {
	h.Metrics.Webhooks.WithLabelValues(ch.Tenant.Config.ID, ch.Config.ID, outcome).Inc()
}

func (h *Handler) handshake(w http.ResponseWriter, r *http.Request) {
	ch, ok := h.channel(w, r)
	if !ok {
		return
	}
	hs, ok := ch.Adapter.(platform.Handshaker)
	if !ok {
		httpx.WriteError(w, r, http.StatusMethodNotAllowed, "no_handshake", "platform "+ch.Adapter.Platform()+" has no GET verification; deliveries are POSTed")
		return
	}
	body, err := hs.Handshake(r)
	if err != nil {
		h.count(ch, "handshake_refused")
		httpx.WriteError(w, r, http.StatusForbidden, "handshake_refused", err.Error())
		return
	}
	h.count(ch, "handshake")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // the client left if this fails; nothing to undo
}

func (h *Handler) deliver(w http.ResponseWriter, r *http.Request) {
	ch, ok := h.channel(w, r)
	if !ok {
		return
	}
	log := zerolog.Ctx(r.Context()) // channel put the tenant and the channel in it
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.count(ch, "too_large")
			httpx.WriteError(w, r, http.StatusRequestEntityTooLarge, "body_too_large",
				"the body is larger than the limit of "+itoa(h.MaxBodyBytes)+" bytes")
			return
		}
		h.count(ch, "read_error")
		httpx.WriteError(w, r, http.StatusBadRequest, "unreadable_body", "the body could not be read: "+err.Error())
		return
	}
	if err := ch.Adapter.Verify(r, body); err != nil {
		h.count(ch, "bad_signature")
		httpx.WriteError(w, r, http.StatusUnauthorized, "bad_signature", err.Error())
		return
	}
	events, err := platform.Parse(ch.Adapter, r, body)
	if err != nil {
		h.count(ch, "malformed")
		httpx.WriteError(w, r, http.StatusBadRequest, "malformed_body", err.Error())
		return
	}
	res, err := h.Ingester.IngestBatches(r.Context(), h.route(r, ch, events))
	if err != nil {
		h.count(ch, "store_error")
		log.Error().Err(err).Msg("delivery not stored; the platform will retry it")
		httpx.WriteError(w, r, http.StatusServiceUnavailable, "not_stored", "the delivery could not be stored; retry it")
		return
	}
	h.count(ch, "ok")
	h.committed(r, *log, ch, res)
	log.Debug().Int("stored", res.Stored).Int("pending", res.Pending).Int("excluded", res.Excluded).
		Int("duplicates", res.Duplicates).Int("receipts", res.Receipts).Int("receipts_recorded", res.ReceiptsRecorded).
		Int("other", res.Other).Int("quarantined", res.Quarantined).Ints64("conversations", res.Conversations).Msg("delivery stored")
	if a, ok := ch.Adapter.(platform.Acknowledger); ok {
		ct, body := a.Acknowledgement()
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body) // committed already; a client that left changes nothing
		return
	}
	httpx.WriteJSON(w, http.StatusOK, res)
}
