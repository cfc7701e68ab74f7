// Package dispatch pushes the conversations' outboxes to Salesforce.
//
// A worker claims conversations with ready work (a lease per conversation,
// so one conversation is pushed by one worker at a time, in order), upserts
// their conversation records in one sObject Collections call, then their
// messages in calls of up to BatchSize records, each conversation's
// messages contiguous and in order. Results are per record: a record that
// fails holds back only the later messages of its own conversation; its
// neighbours of other conversations are settled as Salesforce answered.
//
// Whole-call failures (outage, expired credentials, REQUEST_LIMIT_EXCEEDED)
// pause the org, not the messages: they stay pending, with no attempt
// counted, until the org answers again. Per-record failures count attempts;
// a permanent error, or MaxAttempts transient ones, park the message as
// dead with Salesforce's error, for replay.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
)

// Salesforce is what the dispatcher needs of an org's client.
type Salesforce interface {
	UpsertCollection(ctx context.Context, object, externalIDField string, records []sfclient.Record) ([]sfclient.Result, error)
	Usage() (used, max int, ok bool)
}

// Org is one Salesforce org and how records are mapped onto it.
type Org struct {
	// Key is the org id's first 15 characters.
	Key     string
	Client  Salesforce
	Mapping config.Mapping
}

// Orgs resolves tenants to their orgs.
type Orgs interface {
	// Org returns the org of tenant.
	Org(tenant string) (*Org, bool)
	// Tenants lists every tenant.
	Tenants() []string
}

// Config tunes the dispatcher; see config.Dispatcher for each field.
type Config struct {
	config.Dispatcher
	// Owner names this process in leases, for operators.
	Owner string
}

// Dispatcher is the push service. Start it once; Stop drains it.
type Dispatcher struct {
	cfg     Config
	store   store.Store
	orgs    Orgs
	log     zerolog.Logger
	metrics *metrics.Metrics
	// Now is the clock; time.Now when nil. Set before Start.
	Now func() time.Time

	gates    *gates
	wake     chan struct{}
	stopping chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// New builds a dispatcher.
func New(cfg Config, st store.Store, orgs Orgs, m *metrics.Metrics, log zerolog.Logger) *Dispatcher {
	return &Dispatcher{
		cfg: cfg, store: st, orgs: orgs, metrics: m,
		log:      log.With().Str("component", "dispatcher").Logger(),
		gates:    newGates(st),
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
	}
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Wake tells an idle worker that there may be work. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Start runs the workers until Stop.
func (d *Dispatcher) Start(ctx context.Context) error {
	ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for i := 0; i < d.cfg.Workers; i++ {
		d.wg.Add(1)
		go d.worker(ctx, i)
	}
	return nil
}

// Stop stops claiming new work and waits for the rounds in flight to finish
// and settle. If ctx ends first, calls in flight are cancelled (their
// conversations stay leased until the lease expires, then are pushed again:
// upserts by external id make that safe) and ctx's error is returned.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.once.Do(func() { close(d.stopping) })
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		if d.cancel != nil {
			d.cancel()
		}
		return nil
	case <-ctx.Done():
		if d.cancel != nil {
			d.cancel()
		}
		<-done
		return fmt.Errorf("dispatcher drain: %w", ctx.Err())
	}
}

func (d *Dispatcher) worker(ctx context.Context, n int) {
	defer d.wg.Done()
	owner := fmt.Sprintf("%s/%d", d.cfg.Owner, n)
	failures := 0
	for {
		select {
		case <-d.stopping:
			return
		default:
		}
		settled, err := d.RunOnce(ctx, owner)
		wait := time.Duration(0)
		switch {
		case err != nil:
			failures++
			wait = backoff{d.cfg.BackoffMin, d.cfg.BackoffMax}.delay(failures)
			d.log.Error().Err(err).Str("worker", owner).Dur("retry_in", wait).Msg("dispatch round failed")
		case settled == 0:
			failures = 0
			wait = d.cfg.PollInterval
		default:
			failures = 0
		}
		if wait == 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-d.stopping:
			t.Stop()
			return
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce claims one round of work and pushes it, returning how many
// conversations it settled. Workers call it in a loop; tests call it directly.
func (d *Dispatcher) RunOnce(ctx context.Context, owner string) (int, error) {
	now := d.now()
	if err := d.gates.refresh(ctx); err != nil {
		return 0, err
	}
	works, err := d.store.Claim(ctx, store.ClaimParams{
		Owner: owner, Now: now, LeaseTTL: d.cfg.LeaseTTL,
		MaxConversations: d.cfg.MaxConversations, MaxMessages: d.cfg.BatchSize,
		SkipTenants: d.pausedTenants(now),
	})
	if err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	if len(works) == 0 {
		return 0, nil
	}
	// Group by org, keeping the claim's order.
	var order []*Org
	groups := map[*Org][]store.Work{}
	var errs []error
	for _, w := range works {
		org, ok := d.orgs.Org(w.Conversation.Tenant)
		if !ok {
			// A tenant removed from the configuration: leave its work
			// pending (its lease expires) and say so.
			errs = append(errs, fmt.Errorf("conversation %d: tenant %q is not configured", w.Conversation.ID, w.Conversation.Tenant))
			continue
		}
		if _, seen := groups[org]; !seen {
			order = append(order, org)
		}
		groups[org] = append(groups[org], w)
	}
	settled := 0
	for _, org := range order {
		n, err := d.pushOrg(ctx, org, groups[org])
		settled += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return settled, errors.Join(errs...)
}

// pausedTenants lists the tenants whose org is paused now.
func (d *Dispatcher) pausedTenants(now time.Time) []string {
	var out []string
	for _, t := range d.orgs.Tenants() {
		if org, ok := d.orgs.Org(t); ok {
			if ready, _, _ := d.gates.ready(org.Key, now); !ready {
				out = append(out, t)
			}
		}
	}
	return out
}

// plan is one claimed conversation on its way through a round.
type plan struct {
	work     store.Work
	outcomes []store.Outcome
	synced   int64
	convOK   bool
	held     bool // a message failed transiently: later ones wait
	retryAt  time.Time
	log      zerolog.Logger
}

func (p *plan) later(t time.Time) {
	if t.After(p.retryAt) {
		p.retryAt = t
	}
}

// fail records a failure of message m: dead when permanent or out of
// attempts, else pending with its error.
func (d *Dispatcher) fail(p *plan, m store.Message, permanent bool, why string, now time.Time) {
	attempts := m.Attempts + 1
	tenant := m.Tenant
	if permanent || attempts >= d.cfg.MaxAttempts {
		if !permanent {
			why = fmt.Sprintf("%s (after %d attempts)", why, attempts)
		}
		p.outcomes = append(p.outcomes, store.Outcome{MessageID: m.ID, Status: store.Dead, Error: why})
		d.metrics.Dead.WithLabelValues(tenant).Inc()
		p.log.Error().Int64("message", m.ID).Str("platform_id", m.PlatformID).Str("error", why).Msg("message is dead")
		return
	}
	p.outcomes = append(p.outcomes, store.Outcome{MessageID: m.ID, Status: store.Pending, Error: why})
	d.metrics.Retried.WithLabelValues(tenant).Inc()
	p.held = true
	p.later(now.Add(backoff{d.cfg.BackoffMin, d.cfg.BackoffMax}.delay(attempts)))
	p.log.Warn().Int64("message", m.ID).Int("attempt", attempts).Str("error", why).Msg("message will be retried")
}

func (d *Dispatcher) pushOrg(ctx context.Context, org *Org, works []store.Work) (int, error) {
	now := d.now()
	plans := make([]*plan, len(works))
	for i, w := range works {
		plans[i] = &plan{work: w, log: d.log.With().
			Str("tenant", w.Conversation.Tenant).Str("channel", w.Conversation.Channel).
			Int64("conversation", w.Conversation.ID).Str("org", org.Key).Logger()}
	}
	// A round that starts is finished: pacing (usage above the threshold)
	// spaces rounds, not the calls within one, so that a round always
	// gets its messages through after the conversation records.
	// The round ends before its leases do, so that no other worker takes
	// these conversations while their calls are still in flight.
	var errs []error
	if ready, until, _ := d.gates.ready(org.Key, now); ready {
		rctx, cancel := context.WithTimeout(ctx, d.cfg.LeaseTTL*4/5)
		errs = append(errs, d.pushConversations(rctx, org, plans, now))
		errs = append(errs, d.pushMessages(rctx, org, plans, now))
		cancel()
	} else {
		for _, p := range plans {
			p.later(until)
		}
	}
	n, err := d.settle(ctx, plans)
	return n, errors.Join(append(errs, err)...)
}

// call makes one Salesforce call and returns the per-record results. A
// whole-call failure is handled here: it pauses the org (for every replica),
// is logged and counted, and call returns nil results with the time the
// org resumes; the caller leaves the records pending until then. The error
// returned is only the store's, when the org's gate could not be written.
func (d *Dispatcher) call(ctx context.Context, org *Org, object, field string, recs []sfclient.Record) ([]sfclient.Result, time.Time, error) {
	now := d.now()
	results, err := org.Client.UpsertCollection(ctx, object, field, recs)
	if err == nil && len(results) != len(recs) {
		err = fmt.Errorf("upsert %s: %d results for %d records", object, len(results), len(recs))
	}
	used, max, usageOK := org.Client.Usage()
	class := sfclient.Classify(err)
	// The gate is written with a context of its own: a round cut short
	// by its deadline still records what Salesforce answered.
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	gate, gateErr := d.gates.update(gctx, org.Key, now, func(o *store.OrgGate) {
		if usageOK && max > 0 {
			o.APIUsed, o.APIMax = used, max
			if ratio := float64(used) / float64(max); ratio >= d.cfg.LimitThreshold {
				pause(o, now.Add(d.cfg.LimitBackoff), fmt.Sprintf("API usage %d/%d is above %.0f%%", used, max, d.cfg.LimitThreshold*100), false, nil, now)
			}
		}
		switch {
		case err == nil:
			o.Failures = 0
		case class == sfclient.RateLimited:
			pause(o, now.Add(d.cfg.LimitBackoff), "REQUEST_LIMIT_EXCEEDED", false, nil, now)
		case class == sfclient.Transient:
			pause(o, now, "Salesforce unavailable", true, &backoff{d.cfg.BackoffMin, d.cfg.BackoffMax}, now)
		default: // Auth, Permanent: a configuration problem; pause longer.
			pause(o, now, "Salesforce refused the call", true, &backoff{d.cfg.LimitBackoff, d.cfg.BackoffMax}, now)
		}
	})
	if usageOK && max > 0 {
		d.metrics.APIUsage.WithLabelValues(org.Key).Set(float64(used) / float64(max))
	}
	if err == nil {
		d.metrics.SalesforceCall.WithLabelValues(org.Key, object, "ok").Inc()
		return results, time.Time{}, gateErr
	}
	until := gate.PausedUntil
	if gateErr != nil || !until.After(now) {
		// The gate could not be written: hold this round's records back
		// for the shortest backoff all the same.
		until = now.Add(d.cfg.BackoffMin)
	}
	d.metrics.SalesforceCall.WithLabelValues(org.Key, object, className(class)).Inc()
	ev := d.log.Warn()
	if class == sfclient.Auth || class == sfclient.Permanent {
		ev = d.log.Error()
	}
	ev.Err(err).Str("org", org.Key).Str("object", object).Int("records", len(recs)).Time("resume_at", until).Msg("Salesforce call failed; org paused, messages stay pending")
	return nil, until, gateErr
}

func className(c sfclient.Class) string {
	switch c {
	case sfclient.Transient:
		return "transient"
	case sfclient.RateLimited:
		return "rate_limited"
	case sfclient.Auth:
		return "auth"
	}
	return "permanent"
}

// pushConversations upserts the records of the conversations that have
// messages to push or a state to mirror.
func (d *Dispatcher) pushConversations(ctx context.Context, org *Org, plans []*plan, now time.Time) error {
	var todo []*plan
	for _, p := range plans {
		c := p.work.Conversation
		if len(p.work.Messages) > 0 || (c.InSalesforce() && c.SyncedVersion < c.Version) {
			todo = append(todo, p)
		}
	}
	mp := org.Mapping.Conversation
	var errs []error
	for start := 0; start < len(todo); start += d.cfg.BatchSize {
		chunk := todo[start:min(start+d.cfg.BatchSize, len(todo))]
		recs := make([]sfclient.Record, len(chunk))
		for i, p := range chunk {
			recs[i] = conversationRecord(mp, p.work.Conversation, p.work.Conversation.LastActivityAt)
		}
		results, until, err := d.call(ctx, org, mp.Object, mp.ExternalID, recs)
		errs = append(errs, err)
		if results == nil {
			// The org is paused: nothing of this round goes further.
			for _, p := range todo[start:] {
				p.later(until)
			}
			return errors.Join(errs...)
		}
		for i, r := range results {
			p := chunk[i]
			if r.Success {
				p.convOK = true
				p.synced = p.work.Conversation.Version
				continue
			}
			permanent, why := recordFailure(r)
			why = "conversation record: " + why
			if len(p.work.Messages) == 0 {
				p.later(now.Add(d.cfg.BackoffMax))
				p.log.Error().Str("error", why).Msg("conversation state could not be mirrored")
				continue
			}
			for _, m := range p.work.Messages {
				d.fail(p, m, permanent, why, now)
			}
		}
	}
	return errors.Join(errs...)
}

// entry is one message record of a call.
type entry struct {
	p *plan
	m store.Message
}

// pushMessages upserts the messages of the conversations whose record is in
// place, each conversation's messages contiguous and in order.
func (d *Dispatcher) pushMessages(ctx context.Context, org *Org, plans []*plan, now time.Time) error {
	var all []entry
	for _, p := range plans {
		if !p.convOK {
			continue
		}
		for _, m := range p.work.Messages {
			all = append(all, entry{p, m})
		}
	}
	mm := org.Mapping.Message
	var errs []error
	for len(all) > 0 {
		// Build the next call from entries whose conversation is not held.
		var batch []entry
		rest := all[:0:0]
		for _, e := range all {
			switch {
			case e.p.held:
				// left pending: it waits for the failed message before it
			case len(batch) < d.cfg.BatchSize:
				batch = append(batch, e)
			default:
				rest = append(rest, e)
			}
		}
		all = rest
		if len(batch) == 0 {
			break
		}
		recs := make([]sfclient.Record, len(batch))
		for i, e := range batch {
			recs[i] = messageRecord(org.Mapping, e.p.work.Conversation, e.m)
		}
		results, until, err := d.call(ctx, org, mm.Object, mm.ExternalID, recs)
		errs = append(errs, err)
		if results == nil {
			for _, e := range batch {
				e.p.later(until)
			}
			for _, e := range all {
				e.p.later(until)
			}
			break
		}
		for i, r := range results {
			e := batch[i]
			if r.Success {
				e.p.outcomes = append(e.p.outcomes, store.Outcome{MessageID: e.m.ID, Status: store.Pushed, SalesforceID: r.ID})
				d.metrics.Pushed.WithLabelValues(e.m.Tenant).Inc()
				continue
			}
			permanent, why := recordFailure(r)
			d.fail(e.p, e.m, permanent, why, now)
		}
	}
	return errors.Join(errs...)
}

// recordFailure describes a failed record result and classifies it.
func recordFailure(r sfclient.Result) (permanent bool, why string) {
	if len(r.Errors) == 0 {
		return false, "Salesforce reported a failure without an error"
	}
	parts := make([]string, len(r.Errors))
	permanent = false
	for i, e := range r.Errors {
		parts[i] = e.StatusCode + ": " + e.Message
		if len(e.Fields) > 0 {
			parts[i] += " [" + strings.Join(e.Fields, ", ") + "]"
		}
		if sfclient.RecordErrorClass(e.StatusCode) == sfclient.Permanent {
			permanent = true
		}
	}
	return permanent, strings.Join(parts, "; ")
}

// settle ends every plan's claim. Settling uses a context of its own so that
// outcomes reached before a shutdown deadline are still recorded.
func (d *Dispatcher) settle(ctx context.Context, plans []*plan) (int, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var errs []error
	n := 0
	for _, p := range plans {
		err := d.store.Settle(sctx, p.work.Lease, store.Settlement{
			Now: d.now(), Outcomes: p.outcomes, SyncedVersion: p.synced, RetryAt: p.retryAt,
		})
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			d.metrics.LeaseLost.Inc()
			errs = append(errs, fmt.Errorf("conversation %d: %w (its lease expired and another worker took it; its records will be upserted again)", p.work.Conversation.ID, err))
		case err != nil:
			errs = append(errs, fmt.Errorf("settle conversation %d: %w", p.work.Conversation.ID, err))
		default:
			n++
		}
	}
	return n, errors.Join(errs...)
}
