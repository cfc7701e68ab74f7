package dispatch

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/store"
)

// gates paces the calls made to each Salesforce org: it pauses an org after
// outages, token failures and REQUEST_LIMIT_EXCEEDED, and spaces rounds out
// while the org's API usage is above the threshold. Webhooks are still
// accepted meanwhile; only pushing waits.
//
// The state lives in the store (store.OrgGate), so that every replica on
// one database sees one org's pause and failure count: N replicas do not
// multiply the calls an org receives. Each round reads the gates once; a
// decision is written at once.
//
// An org's pause and its end are each logged once by every replica that
// sees them: the pause at warn level with its reason and when it ends, the
// resumption at info level with the reason it had been paused for.
type gates struct {
	st  store.Pacing
	log zerolog.Logger

	mu    sync.Mutex
	cache map[string]store.OrgGate
	// paused holds the orgs whose pause was logged, with its reason,
	// until their resumption is logged.
	paused map[string]string
}

func newGates(st store.Pacing, log zerolog.Logger) *gates {
	return &gates{st: st, log: log, cache: map[string]store.OrgGate{}, paused: map[string]string{}}
}

// observe logs org's pause the first time it is seen; g.mu is held.
func (g *gates) observe(o store.OrgGate, now time.Time) {
	if _, logged := g.paused[o.Org]; logged || !now.Before(o.PausedUntil) {
		return
	}
	g.paused[o.Org] = o.Reason
	g.log.Warn().Str("org", o.Org).Str("reason", o.Reason).Int("failures", o.Failures).Time("resume_at", o.PausedUntil).
		Msg("Salesforce org paused; its messages wait")
}

// refresh reads every org's gate from the store at now.
func (g *gates) refresh(ctx context.Context, now time.Time) error {
	list, err := g.st.OrgGates(ctx)
	if err != nil {
		return fmt.Errorf("read org gates: %w", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.cache)
	for _, o := range list {
		g.cache[o.Org] = o
		g.observe(o, now)
	}
	return nil
}

// ready reports whether org may be called now, and if not until when and why.
func (g *gates) ready(org string, now time.Time) (bool, time.Time, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.cache[org]
	if now.Before(o.PausedUntil) {
		return false, o.PausedUntil, o.Reason
	}
	if reason, logged := g.paused[org]; logged {
		delete(g.paused, org)
		g.log.Info().Str("org", org).Str("reason", reason).Msg("Salesforce org resumed; pushing again")
	}
	return true, time.Time{}, ""
}

// update changes org's gate in the store and the cache.
func (g *gates) update(ctx context.Context, org string, now time.Time, fn func(*store.OrgGate)) (store.OrgGate, error) {
	o, err := g.st.UpdateOrgGate(ctx, org, now, fn)
	if err != nil {
		return o, fmt.Errorf("org %s: update gate: %w", org, err)
	}
	g.mu.Lock()
	g.cache[org] = o
	g.observe(o, now)
	g.mu.Unlock()
	return o, nil
}

// pause holds org back until until (never shortening a longer pause); when
// failure is set the consecutive failure count grows and b, when set,
// computes the pause from it instead.
func pause(o *store.OrgGate, until time.Time, reason string, failure bool, b *backoff, now time.Time) {
	if failure {
		o.Failures++
		if b != nil {
			until = now.Add(b.delay(o.Failures))
		}
	}
	if until.After(o.PausedUntil) {
		o.PausedUntil = until
		o.Reason = reason
	}
}

// backoff is an exponential delay between Min and Max.
type backoff struct{ Min, Max time.Duration }

// delay is the wait after n consecutive failures (n >= 1): Min doubled n-1
// times, capped at Max.
func (b backoff) delay(n int) time.Duration {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	return d
}
