// Package metrics holds the connector's Prometheus collectors, registered on
// a registry of their own (served at /metrics).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the connector's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	Webhooks       *prometheus.CounterVec // by tenant, channel, outcome (ok, duplicate, bad_signature, ...)
	MessagesStored *prometheus.CounterVec // by tenant, push status at arrival (pending, excluded)
	Pushed         *prometheus.CounterVec // by tenant
	Dead           *prometheus.CounterVec // by tenant
	Retried        *prometheus.CounterVec // by tenant
	SalesforceCall *prometheus.CounterVec // by org, object, result (ok, transient, rate_limited, auth, permanent)
	APIUsage       *prometheus.GaugeVec   // by org: share of the daily API requests used
	LeaseLost      prometheus.Counter
	LeasesRescued  prometheus.Counter
	TimerRuns      *prometheus.CounterVec // by timer, result
	Transitions    *prometheus.CounterVec // timer-made state changes, by event, to state
	// NativeBlocksRetried counts the pending native blocks and unblocks the
	// native-blocks timer retried.
	NativeBlocksRetried prometheus.Counter
	OptOuts             *prometheus.CounterVec // contacts who opted out with a keyword, by tenant
	// OptOutReplies are the last replies to contacts who opted out, by
	// tenant and result: sent, failed (the platform refused or could not be
	// reached), not_stored (sent, but the store failed), unreachable (the
	// platform said the user can not be written to), unsupported (the
	// channel can not send), blocked (the contact is blocked: nothing
	// automated runs).
	OptOutReplies *prometheus.CounterVec
	// Quarantined counts the events put in quarantine (once per event: a
	// platform's retry of one kept already is not counted again), by
	// platform and reason code (other_account, no_chat, ...).
	Quarantined *prometheus.CounterVec
	// Ignored counts the events accepted and dropped by design, by platform
	// and type: event types the connector does not handle, echoes,
	// watermark receipts, receipts that changed no stored message.
	Ignored *prometheus.CounterVec
	// Media counts the media items' steps by tenant and outcome: fetched,
	// uploaded, retried (a try failed for now), failed (for good).
	Media *prometheus.CounterVec
	// GroupDeliveries is the number of deliveries each group commit held
	// (see ingest.GroupCommitter); GroupLockWaits counts the deliveries
	// that waited too long for a row in their group (on PostgreSQL,
	// another replica's group or a settlement held it) and ran again
	// alone.
	GroupDeliveries prometheus.Histogram
	GroupLockWaits  prometheus.Counter
}

// New builds and registers the collectors on a new registry, with the Go
// and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_webhooks_total", Help: "Webhook deliveries by outcome.",
		}, []string{"tenant", "channel", "outcome"}),
		MessagesStored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_messages_stored_total", Help: "Messages stored, by push decision.",
		}, []string{"tenant", "decision"}),
		Pushed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_messages_pushed_total", Help: "Messages written to Salesforce.",
		}, []string{"tenant"}),
		Dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_messages_dead_total", Help: "Messages parked as dead.",
		}, []string{"tenant"}),
		Retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_messages_retried_total", Help: "Per-record failures that will be retried.",
		}, []string{"tenant"}),
		SalesforceCall: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_salesforce_calls_total", Help: "Salesforce API calls by result.",
		}, []string{"org", "object", "result"}),
		APIUsage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "connector_salesforce_api_usage_ratio", Help: "Share of the org's daily API requests used (Sforce-Limit-Info).",
		}, []string{"org"}),
		LeaseLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_leases_lost_total", Help: "Settlements refused because the lease had passed to another worker.",
		}),
		LeasesRescued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_leases_rescued_total", Help: "Expired leases freed by the rescue timer.",
		}),
		TimerRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_timer_runs_total", Help: "Timer runs by result.",
		}, []string{"timer", "result"}),
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_timer_transitions_total", Help: "Conversation state changes made by the timers (inactivity expiry, idle close).",
		}, []string{"event", "to"}),
		NativeBlocksRetried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_native_blocks_retried_total", Help: "Pending native blocks and unblocks retried by the native-blocks timer.",
		}),
		OptOuts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_opt_outs_total", Help: "Contacts who opted out with an opt-out keyword (nothing more is sent to them).",
		}, []string{"tenant"}),
		OptOutReplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_opt_out_replies_total", Help: "Last replies to contacts who opted out, by result (sent, retrying, failed, not_stored, unreachable, unsupported, blocked).",
		}, []string{"tenant", "result"}),
		Quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_events_quarantined_total", Help: "Events of authentic deliveries the connector could not use, kept in quarantine, by platform and reason.",
		}, []string{"platform", "reason"}),
		Ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_events_ignored_total", Help: "Events accepted and dropped by design, by platform and type.",
		}, []string{"platform", "type"}),
		Media: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_media_total", Help: "Media items' steps by outcome: fetched, uploaded (a Salesforce File), retried, failed, skipped, hold_lost (an item in flight another worker took).",
		}, []string{"tenant", "outcome"}),
		GroupDeliveries: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "connector_ingest_group_deliveries", Help: "Deliveries per group commit (sharing one transaction).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		GroupLockWaits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "connector_ingest_lock_waits_total", Help: "Deliveries that waited too long for a row in their group commit and ran again alone.",
		}),
	}
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Webhooks, m.MessagesStored, m.Pushed, m.Dead, m.Retried, m.SalesforceCall, m.APIUsage,
		m.LeaseLost, m.LeasesRescued, m.TimerRuns, m.Transitions, m.NativeBlocksRetried, m.OptOuts, m.OptOutReplies,
		m.Quarantined, m.Ignored, m.Media, m.GroupDeliveries, m.GroupLockWaits)
	return m
}
