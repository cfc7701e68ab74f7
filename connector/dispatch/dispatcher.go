// Package dispatch pushes the conversations' outboxes to Salesforce.
//
// A worker claims conversations with ready work (a lease per conversation,
// so that one conversation is in one worker's hands at a time and its
// messages keep their order), up to Config.ClaimRecords records. It lays
// their records out in order: the conversation records that changed since
// they were last written first, then each conversation's messages,
// contiguous and in order. It sends them in Composite calls of up to five
// sObject Collections of up to BatchSize records (1,000 records for ONE
// call toward the org's API limits), one call after the other, and settles
// every conversation of the round in one transaction.
//
// Results are per record: a record that fails holds back only the later
// messages of its own conversation that are not sent yet; its neighbours of
// other conversations are settled as Salesforce answered. A collection that
// fails as a whole fails its records alike. Whole-call failures (outage,
// expired credentials, REQUEST_LIMIT_EXCEEDED) pause the org, not the
// messages: they stay pending, with no attempt counted, until the org
// answers again. Per-record failures count attempts; a permanent error, or
// MaxAttempts transient ones, park the message as dead with Salesforce's
// error, for replay.
//
// Workers sleep until a commit wakes them (Notify, or Wake), then wait up
// to BatchWindow for a full call's worth of records before they claim; a
// fallback poll (PollInterval) finds due retries and expired leases. While
// a round's calls are in flight, a heartbeat renews its leases every third
// of LeaseTTL.
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
	"github.com/chatsync/sfconnector/connector/logging"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
)

// Salesforce is what the dispatcher needs of an org's client.
type Salesforce interface {
	UpsertComposite(ctx context.Context, cols []sfclient.Collection) ([]sfclient.CollectionResult, error)
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

// Store is what the dispatcher uses of the store: the outbox and the
// orgs' pacing, and a conversation's read (to tell a lease lost from a
// conversation deleted while its records were pushed).
type Store interface {
	store.Outbox
	store.Pacing
	GetConversation(ctx context.Context, id int64) (store.Conversation, error)
}

// Dispatcher is the push service. Start it once; Stop drains it.
type Dispatcher struct {
	cfg     Config
	store   Store
	orgs    Orgs
	log     zerolog.Logger
	metrics *metrics.Metrics
	// Now is the clock; time.Now when nil. Set before Start.
	Now func() time.Time
	// maxCollections is the most collections of one call:
	// sfclient.MaxCompositeCollections (tests lower it).
	maxCollections int

	gates    *gates
	trigger  *trigger
	slots    *orgSlots
	stopping chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

// New builds a dispatcher.
func New(cfg Config, st Store, orgs Orgs, m *metrics.Metrics, log zerolog.Logger) *Dispatcher {
	return &Dispatcher{
		cfg: cfg, store: st, orgs: orgs, metrics: m,
		log:            log.With().Str("component", "dispatcher").Logger(),
		maxCollections: sfclient.MaxCompositeCollections,
		gates:          newGates(st, log.With().Str("component", "dispatcher").Logger()),
		trigger:        newTrigger(),
		slots:          newOrgSlots(max(cfg.Concurrency, 1)),
		stopping:       make(chan struct{}),
	}
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Wake makes a worker look for work at once, without waiting for the batch
// window (a replay, a state change, a due retry). It never blocks.
func (d *Dispatcher) Wake() { d.trigger.wake() }

// Notify tells the workers that records committed records wait in the
// outboxes (a delivery's pending messages; 1 when the count is unknown, as
// for another replica's notification). A worker claims once a full call's
// worth is waiting, or BatchWindow after the first of them. It never blocks.
func (d *Dispatcher) Notify(records int) { d.trigger.notify(records, time.Now()) }

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
	more := false // the last round was full: more work is likely waiting
	for {
		// After a full round (a backlog: an outage recovered, a burst)
		// the next claim comes a window later at the latest even when no
		// commit notifies: what waits in the outbox fills its calls.
		poll := d.cfg.PollInterval
		if more {
			poll = min(poll, d.cfg.BatchWindow)
		}
		if !d.trigger.wait(d.stopping, d.cfg.BatchWindow, poll) {
			return
		}
		select {
		case <-d.stopping:
			return
		default:
		}
		res, err := d.round(ctx, owner)
		more = res.full && err == nil
		if err == nil {
			failures = 0
			continue
		}
		failures++
		wait := backoff{d.cfg.BackoffMin, d.cfg.BackoffMax}.delay(failures)
		d.log.Error().Err(err).Str("worker", owner).Float64("retry_in_ms", logging.Millis(wait)).Msg("dispatch round failed")
		t := time.NewTimer(wait)
		select {
		case <-d.stopping:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// roundResult says what one round did.
type roundResult struct {
	settled int
	// full: the claim took as much as it may, so more work is likely.
	full bool
}

// RunOnce claims one round of work and pushes it, returning how many
// conversations it settled. Workers run rounds in a loop; tests call it
// directly.
func (d *Dispatcher) RunOnce(ctx context.Context, owner string) (int, error) {
	res, err := d.round(ctx, owner)
	return res.settled, err
}

func (d *Dispatcher) round(ctx context.Context, owner string) (roundResult, error) {
	now := d.now()
	if err := d.gates.refresh(ctx, d.now()); err != nil {
		return roundResult{}, err
	}
	works, err := d.store.Claim(ctx, store.ClaimParams{
		Owner: owner, Now: now, LeaseTTL: d.cfg.LeaseTTL,
		MaxConversations: d.cfg.MaxConversations, MaxMessages: d.cfg.BatchSize,
		MaxRecords: d.cfg.ClaimRecords, SkipTenants: d.pausedTenants(now),
	})
	if err != nil {
		return roundResult{}, fmt.Errorf("claim: %w", err)
	}
	if len(works) == 0 {
		return roundResult{}, nil
	}
	records := 0
	for _, w := range works {
		records += store.ClaimRecords(w.Conversation, len(w.Messages))
	}
	full := len(works) >= d.cfg.MaxConversations || records >= d.cfg.ClaimRecords

	// The heartbeat keeps the leases while the calls are in flight; if it
	// cannot, the round is cut short before the leases run out.
	rctx, cancel := context.WithCancel(ctx)
	hb := d.heartbeat(rctx, cancel, works)

	// Group by org, keeping the claim's order.
	var order []*Org
	groups := map[*Org][]*plan{}
	var all []*plan
	var errs []error
	for _, w := range works {
		p := &plan{work: w, log: d.log}
		all = append(all, p)
		org, ok := d.orgs.Org(w.Conversation.Tenant)
		if !ok {
			// A tenant removed from the configuration: leave its work
			// pending (ready again after the longest backoff) and say so.
			p.later(now.Add(d.cfg.BackoffMax))
			errs = append(errs, fmt.Errorf("conversation %d: tenant %q is not configured", w.Conversation.ID, w.Conversation.Tenant))
			continue
		}
		p.log = d.log.With().Str("tenant", w.Conversation.Tenant).Str("channel", w.Conversation.Channel).
			Int64("conversation", w.Conversation.ID).Str("org", org.Key).Logger()
		if _, seen := groups[org]; !seen {
			order = append(order, org)
		}
		groups[org] = append(groups[org], p)
	}
	for _, org := range order {
		errs = append(errs, d.pushOrg(rctx, org, groups[org]))
	}
	cancel()
	<-hb
	n, err := d.settle(ctx, all)
	return roundResult{settled: n, full: full}, errors.Join(append(errs, err)...)
}

// heartbeat renews the round's leases every third of LeaseTTL until ctx
// ends, and calls cancel when a renewal has not succeeded for four fifths
// of LeaseTTL (the store is unreachable): the round's calls stop before
// another worker may take the conversations. The channel closes when it
// ends.
func (d *Dispatcher) heartbeat(ctx context.Context, cancel context.CancelFunc, works []store.Work) <-chan struct{} {
	done := make(chan struct{})
	leases := make([]store.Lease, len(works))
	for i, w := range works {
		leases[i] = w.Lease
	}
	go func() {
		defer close(done)
		renewed := time.Now()
		t := time.NewTicker(d.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			lost, err := d.store.RenewLeases(ctx, leases, d.now(), d.cfg.LeaseTTL)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil:
				if time.Since(renewed) > d.cfg.LeaseTTL*4/5 {
					d.log.Error().Err(err).Msg("leases could not be renewed; the round stops before they expire")
					cancel()
					return
				}
				d.log.Warn().Err(err).Msg("leases could not be renewed; trying again")
			default:
				renewed = time.Now()
				if len(lost) > 0 {
					d.log.Warn().Ints64("conversations", lost).Msg("leases lost during a round (they expired and another worker took them)")
				}
			}
		}
	}()
	return done
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
	// record is the conversation record to write, nil when the one in
	// Salesforce is up to date; hash is its fingerprint.
	record sfclient.Record
	hash   string
	// synced and syncedHash are what the settlement records of the
	// conversation's record; forget asks the store to drop the hash.
	synced     int64
	syncedHash string
	forget     bool
	// convFailed is the conversation record's failure, when it failed:
	// its messages not sent yet fail with it.
	convFailed *failure
	held       bool // a message failed transiently: later ones wait
	retryAt    time.Time
	log        zerolog.Logger
}

// failure is why a record failed.
type failure struct {
	permanent bool
	why       string
}

func (p *plan) later(t time.Time) {
	if t.After(p.retryAt) {
		p.retryAt = t
	}
}

// blocked reports whether the plan's messages may not be sent now.
func (p *plan) blocked() bool { return p.held || p.convFailed != nil }

// fail records a failure of message m: dead when permanent or out of
// attempts, else pending with its error, holding back the later messages.
func (d *Dispatcher) fail(p *plan, m store.Message, f failure, now time.Time) {
	attempts := m.Attempts + 1
	why := f.why
	if f.permanent || attempts >= d.cfg.MaxAttempts {
		if !f.permanent {
			why = fmt.Sprintf("%s (after %d attempts)", why, attempts)
		}
		p.outcomes = append(p.outcomes, store.Outcome{MessageID: m.ID, Status: store.Dead, Error: why})
		d.metrics.Dead.WithLabelValues(m.Tenant).Inc()
		p.log.Error().Int64("message", m.ID).Str("platform_id", m.PlatformID).Str("error", why).Msg("message is dead")
		return
	}
	p.outcomes = append(p.outcomes, store.Outcome{MessageID: m.ID, Status: store.Pending, Error: why})
	d.metrics.Retried.WithLabelValues(m.Tenant).Inc()
	p.held = true
	p.later(now.Add(backoff{d.cfg.BackoffMin, d.cfg.BackoffMax}.delay(attempts)))
	p.log.Warn().Int64("message", m.ID).Int("attempt", attempts).Str("error", why).Msg("message will be retried")
}

// entry is one record of a round: a conversation's record (m nil) or one
// of its messages.
type entry struct {
	p *plan
	m *store.Message
}

// pushOrg sends the records of one org's plans, in as few Composite calls
// as they fill, one call after the other. A round that starts is finished:
// pacing (usage above the threshold) spaces rounds, not the calls within
// one, so that the messages always follow their conversation records.
func (d *Dispatcher) pushOrg(ctx context.Context, org *Org, plans []*plan) error {
	now := d.now()
	if ready, until, _ := d.gates.ready(org.Key, now); !ready {
		for _, p := range plans {
			p.later(until)
		}
		return nil
	}
	var convs, msgs []entry
	for _, p := range plans {
		c := p.work.Conversation
		if len(p.work.Messages) == 0 && !c.InSalesforce() {
			continue // nothing to push and no record to mirror onto
		}
		rec := conversationRecord(org.Mapping.Conversation, c, latestSent(p.work.Messages))
		p.hash = recordHash(rec)
		if p.hash == c.SyncedHash {
			p.synced = c.Version // the record in Salesforce is up to date
		} else {
			p.record = rec
			convs = append(convs, entry{p: p})
		}
		for i := range p.work.Messages {
			msgs = append(msgs, entry{p: p, m: &p.work.Messages[i]})
		}
	}
	todo := append(convs, msgs...)
	var errs []error
	for calls := 0; len(todo) > 0; calls++ {
		if calls > 0 && len(todo) < d.maxCollections*d.cfg.BatchSize/2 && allMessages(todo) {
			// The tail of a round that spilled over its first call: rather
			// than a call half empty, these messages (whose conversation
			// records are written by now) wait for the next round, which
			// fills its call with them and newer ones.
			d.trigger.notify(len(todo), time.Now())
			break
		}
		var call []entry
		call, todo = d.nextCall(org, todo, now)
		if len(call) == 0 {
			break
		}
		until, err := d.send(ctx, org, call, now)
		errs = append(errs, err)
		if !until.IsZero() {
			// The org is paused: nothing of this round goes further.
			for _, e := range append(call, todo...) {
				e.p.later(until)
			}
			break
		}
	}
	return errors.Join(errs...)
}

// allMessages reports whether every entry is a message record.
func allMessages(es []entry) bool {
	for _, e := range es {
		if e.m == nil {
			return false
		}
	}
	return true
}

// nextCall takes the records of the next call from todo, in order: up to
// maxCollections collections of up to BatchSize records of one object
// each. Messages of a conversation that is held back stay pending: they
// get no outcome and are dropped from todo. It returns the call and what
// is left.
func (d *Dispatcher) nextCall(org *Org, todo []entry, now time.Time) (call, rest []entry) {
	cols, size := 0, 0
	var object string
	for i, e := range todo {
		if e.m != nil && e.p.blocked() {
			if e.p.convFailed != nil && !e.p.held {
				d.fail(e.p, *e.m, *e.p.convFailed, now)
			}
			continue
		}
		obj := org.Mapping.Message.Object
		if e.m == nil {
			obj = org.Mapping.Conversation.Object
		}
		if cols == 0 || obj != object || size == d.cfg.BatchSize {
			if cols == d.maxCollections {
				return call, todo[i:]
			}
			cols, size, object = cols+1, 0, obj
		}
		call = append(call, e)
		size++
	}
	return call, nil
}

// send makes one Composite call of the entries and records each record's
// result on its plan. It returns a non-zero time when the call failed as a
// whole and the org is paused until then.
func (d *Dispatcher) send(ctx context.Context, org *Org, call []entry, now time.Time) (time.Time, error) {
	var cols []sfclient.Collection
	var idx [][]entry // entries of each collection
	for i, e := range call {
		object, field := org.Mapping.Message.Object, org.Mapping.Message.ExternalID
		rec := sfclient.Record(nil)
		if e.m == nil {
			object, field, rec = org.Mapping.Conversation.Object, org.Mapping.Conversation.ExternalID, e.p.record
		} else {
			rec = messageRecord(org.Mapping, e.p.work.Conversation, *e.m)
		}
		if i == 0 || cols[len(cols)-1].Object != object || len(cols[len(cols)-1].Records) == d.cfg.BatchSize {
			cols = append(cols, sfclient.Collection{Object: object, ExternalIDField: field})
			idx = append(idx, nil)
		}
		cols[len(cols)-1].Records = append(cols[len(cols)-1].Records, rec)
		idx[len(idx)-1] = append(idx[len(idx)-1], e)
	}
	results, until, err := d.call(ctx, org, cols)
	if results == nil {
		return until, err
	}
	for c, cr := range results {
		for i, e := range idx[c] {
			var f *failure
			var id string
			switch {
			case cr.Err != nil:
				f = &failure{permanent: sfclient.Classify(cr.Err) == sfclient.Permanent, why: "collection failed: " + cr.Err.Error()}
			case !cr.Results[i].Success:
				permanent, why := recordFailure(cr.Results[i])
				f = &failure{permanent: permanent, why: why}
			default:
				id = cr.Results[i].ID
			}
			d.settleRecord(e, f, id, now)
		}
	}
	return time.Time{}, err
}

// settleRecord records one record's result on its plan.
func (d *Dispatcher) settleRecord(e entry, f *failure, salesforceID string, now time.Time) {
	p := e.p
	if e.m == nil { // the conversation record
		if f == nil {
			p.synced, p.syncedHash = p.work.Conversation.Version, p.hash
			return
		}
		f.why = "conversation record: " + f.why
		p.convFailed = f
		if len(p.work.Messages) == 0 {
			p.later(now.Add(d.cfg.BackoffMax))
			p.log.Error().Str("error", f.why).Msg("conversation state could not be mirrored")
		}
		return
	}
	m := *e.m
	switch {
	case f == nil:
		p.outcomes = append(p.outcomes, store.Outcome{MessageID: m.ID, Status: store.Pushed, SalesforceID: salesforceID,
			DeliveryStatus: m.DeliveryStatus})
		d.metrics.Pushed.WithLabelValues(m.Tenant).Inc()
	case p.convFailed != nil:
		// Its conversation record failed in the same call: that is what
		// the message failed for.
		d.fail(p, m, *p.convFailed, now)
	case p.record == nil && strings.Contains(f.why, "Foreign key external ID"):
		// The record the connector had written is gone from Salesforce
		// (deleted by someone): write it again with the next push.
		p.forget = true
		d.fail(p, m, failure{why: f.why + " (the conversation record is written again)"}, now)
	default:
		d.fail(p, m, *f, now)
	}
}

// call makes one Composite call and returns the per-collection results. A
// whole-call failure is handled here: it pauses the org (for every
// replica), is logged and counted, and call returns nil results with the
// time the org resumes; the caller leaves the records pending until then.
// The error returned is only the store's, when the org's gate could not be
// written.
func (d *Dispatcher) call(ctx context.Context, org *Org, cols []sfclient.Collection) ([]sfclient.CollectionResult, time.Time, error) {
	release, err := d.slots.acquire(ctx, org.Key)
	if err != nil {
		return nil, d.now().Add(d.cfg.BackoffMin), nil
	}
	now := d.now()
	started := time.Now()
	results, err := org.Client.UpsertComposite(ctx, cols)
	release()
	if err == nil && len(results) != len(cols) {
		err = fmt.Errorf("composite: %d results for %d collections: %w", len(results), len(cols), sfclient.ErrBadResponse)
	}
	records := 0
	for _, c := range cols {
		records += len(c.Records)
	}
	used, max, usageOK := org.Client.Usage()
	class := sfclient.Classify(err)
	// The gate is written with a context of its own: a round cut short
	// still records what Salesforce answered.
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
		d.metrics.SalesforceCall.WithLabelValues(org.Key, "composite", "ok").Inc()
		d.log.Debug().Str("org", org.Key).Int("collections", len(cols)).Int("records", records).
			Float64("took_ms", logging.Millis(time.Since(started))).Msg("Salesforce call")
		return results, time.Time{}, gateErr
	}
	until := gate.PausedUntil
	if gateErr != nil || !until.After(now) {
		// The gate could not be written: hold this round's records back
		// for the shortest backoff all the same.
		until = now.Add(d.cfg.BackoffMin)
	}
	d.metrics.SalesforceCall.WithLabelValues(org.Key, "composite", class.String()).Inc()
	ev := d.log.Warn()
	if class == sfclient.Auth || class == sfclient.Permanent {
		ev = d.log.Error()
	}
	ev.Err(err).Str("org", org.Key).Str("class", class.String()).Int("records", records).Time("resume_at", until).Msg("Salesforce call failed; org paused, messages stay pending")
	return nil, until, gateErr
}

// recordFailure describes a failed record result and classifies it.
func recordFailure(r sfclient.Result) (permanent bool, why string) {
	if len(r.Errors) == 0 {
		return false, "Salesforce reported a failure without an error"
	}
	parts := make([]string, len(r.Errors))
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

// deleted reports whether conversation id is no longer in the store. A
// failed read says no: the lease is then reported lost.
func (d *Dispatcher) deleted(ctx context.Context, id int64) bool {
	_, err := d.store.GetConversation(ctx, id)
	return errors.Is(err, store.ErrNotFound)
}

// settle ends every plan's claim, in one transaction. Settling uses a
// context of its own so that outcomes reached before a shutdown deadline
// are still recorded.
func (d *Dispatcher) settle(ctx context.Context, plans []*plan) (int, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	items := make([]store.SettleItem, len(plans))
	now := d.now()
	for i, p := range plans {
		items[i] = store.SettleItem{Lease: p.work.Lease, Settlement: store.Settlement{
			Now: now, Outcomes: p.outcomes, SyncedVersion: p.synced, SyncedHash: p.syncedHash,
			ForgetRecord: p.forget, RetryAt: p.retryAt,
		}}
	}
	results, err := d.store.SettleBatch(sctx, items)
	if err != nil {
		return 0, fmt.Errorf("settle %d conversations: %w", len(plans), err)
	}
	var errs []error
	n := 0
	for i, err := range results {
		id := plans[i].work.Conversation.ID
		switch {
		case errors.Is(err, store.ErrLeaseLost) && d.deleted(sctx, id):
			// Deleted meanwhile (an admin's delete-all of a blocked
			// contact): nothing is left to settle, and no lease was lost.
			d.log.Debug().Int64("conversation", id).Msg("conversation deleted while its records were pushed: nothing to settle")
		case errors.Is(err, store.ErrLeaseLost):
			d.metrics.LeaseLost.Inc()
			errs = append(errs, fmt.Errorf("conversation %d: %w (its lease expired and another worker took it; its records will be upserted again)", id, err))
		case err != nil:
			errs = append(errs, fmt.Errorf("settle conversation %d: %w", id, err))
		default:
			n++
		}
	}
	return n, errors.Join(errs...)
}
