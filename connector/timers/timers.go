// Package timers runs the connector's periodic jobs with robfig/cron:
// inactivity expiry and idle close of conversations, the retry wake-up of
// the dispatcher, the rescue of stale leases, and the retry of the
// platforms' native blocks that failed for now. Panics in a job are
// recovered and logged, and a job never overlaps itself.
//
// Several replicas on one database run each shared job (expiry, rescue,
// native-blocks) once per tick between them: a run first takes the job's
// lease in the store (store.TryLease) for most of the schedule's period,
// and a replica that does not get it skips the tick. The retry wake-up is local to each
// replica's dispatcher and runs everywhere.
package timers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/logging"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Channel is what the expiry timer needs of a channel.
type Channel struct {
	Tenant, ID        string
	HasBot            bool
	InactivityTimeout time.Duration
	IdleClose         time.Duration // 0: off
}

// Store is what the timers use of the store: transactions and their jobs'
// reads and leases.
type Store interface {
	store.Transactor
	store.Jobs
}

// Timers is the cron service.
type Timers struct {
	Store    Store
	Channels []Channel
	Config   config.Timers
	// Wake pokes the dispatcher (retry timer, and after an expiry that has
	// a state to mirror).
	Wake    func()
	Metrics *metrics.Metrics
	Log     zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Owner names this process in the timers' leases.
	Owner string
	// RetryNativeBlocks retries the native blocks and unblocks that are
	// pending and due, and returns how many it tried. It runs as the shared
	// job "native-blocks" on Config.NativeBlocks; nil: the job is not
	// scheduled.
	RetryNativeBlocks func(ctx context.Context) (int, error)
	// RetrySends sends the stored outbound messages that are due (a retry
	// after a transient failure, or one a crashed process left "sending"),
	// and returns how many it tried. It runs as the job "sends" on
	// Config.Retry, on every replica (the store's claims keep each message
	// to one sender); nil: the job is not scheduled.
	RetrySends func(ctx context.Context) (int, error)
	// PollSalesforce reads the orgs' agents' changes and applies them. It
	// runs as the shared job "salesforce-changes" on
	// Config.SalesforceChanges; nil, or the schedule "off": the job is not
	// scheduled.
	PollSalesforce func(ctx context.Context) error

	cron *cron.Cron
}

// job is one scheduled timer job.
type job struct {
	name, spec string
	shared     bool // run by one replica per tick
	run        func(context.Context) error
}

// jobs lists the jobs Start schedules.
func (t *Timers) jobs() []job {
	jobs := []job{
		{"expiry", t.Config.Expiry, true, func(ctx context.Context) error { _, err := t.Expire(ctx); return err }},
		{"retry", t.Config.Retry, false, func(context.Context) error { t.wake(); return nil }},
		{"rescue", t.Config.Rescue, true, func(ctx context.Context) error { _, err := t.Rescue(ctx); return err }},
	}
	if t.RetryNativeBlocks != nil {
		jobs = append(jobs, job{"native-blocks", t.Config.NativeBlocks, true, func(ctx context.Context) error { _, err := t.NativeBlocks(ctx); return err }})
	}
	if t.RetrySends != nil {
		jobs = append(jobs, job{"sends", t.Config.Retry, false, func(ctx context.Context) error {
			n, err := t.RetrySends(ctx)
			if n > 0 {
				t.Log.Info().Int("messages", n).Msg("sent the stored outbound messages due")
			}
			if err != nil {
				return fmt.Errorf("send the outbound messages due: %w", err)
			}
			return nil
		}})
	}
	if t.PollSalesforce != nil && t.Config.SalesforceChanges != config.ScheduleOff {
		jobs = append(jobs, job{"salesforce-changes", t.Config.SalesforceChanges, true, t.PollSalesforce})
	}
	return jobs
}

func (t *Timers) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

// batch is how many conversations one expiry pass handles per channel and
// query; the pass repeats until none is left.
const batch = 500

// Start schedules the jobs.
func (t *Timers) Start(ctx context.Context) error {
	log := t.Log.With().Str("component", "timers").Logger()
	cl := logging.Cron{L: log}
	t.cron = cron.New(cron.WithLogger(cl), cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)))
	ctx = context.WithoutCancel(ctx)
	for _, j := range t.jobs() {
		sched, err := cron.ParseStandard(j.spec)
		if err != nil {
			return fmt.Errorf("timer %s schedule %q: %w", j.name, j.spec, err)
		}
		t.cron.Schedule(sched, cron.FuncJob(func() { t.tick(ctx, log, j, sched) }))
	}
	t.cron.Start()
	return nil
}

// tick runs one scheduled tick of j, logs its failure and counts it in
// connector_timer_runs_total by result (ok, skipped, error).
func (t *Timers) tick(ctx context.Context, log zerolog.Logger, j job, sched cron.Schedule) {
	result, err := t.runJob(ctx, j.name, j.shared, sched, j.run)
	if err != nil {
		log.Error().Err(err).Str("timer", j.name).Msg("timer run failed; it runs again at its next schedule")
	}
	t.Metrics.TimerRuns.WithLabelValues(j.name, result).Inc()
}

// Stop stops scheduling and waits for running jobs, bounded by ctx.
func (t *Timers) Stop(ctx context.Context) error {
	if t.cron == nil {
		return nil
	}
	done := t.cron.Stop().Done()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("timers drain: %w", ctx.Err())
	}
}

// runJob runs one tick of a job; a shared job runs only when this process
// takes the job's lease for the tick. It returns "ok", "skipped" or "error".
func (t *Timers) runJob(ctx context.Context, name string, shared bool, sched cron.Schedule, run func(context.Context) error) (string, error) {
	if shared {
		now := t.now()
		// Held for nine tenths of the period: the other replicas' ticks of
		// this period find it taken; the next period's first tick gets it.
		ttl := sched.Next(now).Sub(now) * 9 / 10
		held, err := t.Store.TryLease(ctx, "timer:"+name, t.Owner, now, max(ttl, time.Millisecond))
		if err != nil {
			return "error", fmt.Errorf("take the %s lease: %w", name, err)
		}
		if !held {
			return "skipped", nil
		}
	}
	if err := run(ctx); err != nil {
		return "error", err
	}
	return "ok", nil
}

func (t *Timers) wake() {
	if t.Wake != nil {
		t.Wake()
	}
}

// Rescue frees leases that expired, returning how many.
func (t *Timers) Rescue(ctx context.Context) (int, error) {
	n, err := t.Store.RescueLeases(ctx, t.now())
	if err != nil {
		return 0, fmt.Errorf("rescue leases: %w", err)
	}
	if n > 0 {
		t.Metrics.LeasesRescued.Add(float64(n))
		t.Log.Warn().Int("leases", n).Msg("rescued expired leases; their conversations are pushed again")
		t.wake()
	}
	return n, nil
}

// NativeBlocks runs RetryNativeBlocks once, returning how many native
// blocks or unblocks it retried.
func (t *Timers) NativeBlocks(ctx context.Context) (int, error) {
	if t.RetryNativeBlocks == nil {
		return 0, nil
	}
	n, err := t.RetryNativeBlocks(ctx)
	if n > 0 {
		t.Metrics.NativeBlocksRetried.Add(float64(n))
		t.Log.Info().Int("contacts", n).Msg("retried pending native blocks")
	}
	if err != nil {
		return n, fmt.Errorf("retry native blocks: %w", err)
	}
	return n, nil
}

// Expire runs the inactivity expiry and the idle close over every channel
// and returns how many conversations changed state.
func (t *Timers) Expire(ctx context.Context) (int, error) {
	now := t.now()
	total := 0
	var errs []error
	for _, ch := range t.Channels {
		if ch.InactivityTimeout > 0 {
			live := statemachine.NewSet(statemachine.Open, statemachine.AutoBot, statemachine.Closed)
			n, err := t.pass(ctx, ch, live, now.Add(-ch.InactivityTimeout), statemachine.InactivityExpiry, now)
			total += n
			errs = append(errs, err)
		}
		if ch.IdleClose > 0 {
			n, err := t.pass(ctx, ch, statemachine.NewSet(statemachine.Open), now.Add(-ch.IdleClose), statemachine.IdleClose, now)
			total += n
			errs = append(errs, err)
		}
	}
	if total > 0 {
		t.wake()
	}
	return total, errors.Join(errs...)
}

// pass applies ev to every conversation of ch in states idle since before.
func (t *Timers) pass(ctx context.Context, ch Channel, states statemachine.Set, before time.Time, ev statemachine.EventKind, now time.Time) (int, error) {
	changed := 0
	for {
		convs, err := t.Store.IdleConversations(ctx, store.IdleQuery{Tenant: ch.Tenant, Channel: ch.ID, States: states, Before: before, Limit: batch})
		if err != nil {
			return changed, fmt.Errorf("%s/%s %s: %w", ch.Tenant, ch.ID, ev, err)
		}
		moved := 0
		for _, c := range convs {
			ok, err := t.apply(ctx, c.ID, ch, states, before, ev, now)
			if err != nil {
				return changed, fmt.Errorf("%s/%s conversation %d %s: %w", ch.Tenant, ch.ID, c.ID, ev, err)
			}
			if ok {
				moved++
			}
		}
		changed += moved
		if len(convs) < batch || moved == 0 {
			return changed, nil
		}
	}
}

// apply re-reads the conversation in a transaction and moves it when it is
// still due: a message may have arrived since the query.
func (t *Timers) apply(ctx context.Context, id int64, ch Channel, states statemachine.Set, before time.Time, ev statemachine.EventKind, now time.Time) (bool, error) {
	moved, to := false, statemachine.State(0)
	err := t.Store.WithTx(ctx, func(tx store.Tx) error {
		moved = false
		c, err := tx.Conversation(ctx, id)
		if err != nil {
			return err
		}
		if !states.Has(c.State) || !c.LastActivityAt.Before(before) {
			return nil
		}
		tr, err := statemachine.Next(c.State, statemachine.Event{Kind: ev, HasBot: ch.HasBot})
		if err != nil || !tr.Changed {
			return err
		}
		reason := "no activity since " + c.LastActivityAt.Format(time.RFC3339)
		if _, err := tx.ApplyTransition(ctx, store.Transition{
			ConversationID: id, From: tr.From, To: tr.To, Event: ev.String(), Actor: "timer", Reason: reason, At: now,
		}); errors.Is(err, store.ErrConflict) {
			return nil // changed since it was read: nothing to do now
		} else if err != nil {
			return err
		}
		moved, to = true, tr.To
		return nil
	})
	if moved && err == nil {
		t.Metrics.Transitions.WithLabelValues(ev.String(), to.String()).Inc()
	}
	return moved, err
}
