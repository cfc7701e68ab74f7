package timers

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/metrics"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlite"
	"github.com/chatsync/sfconnector/statemachine"
)

type env struct {
	t     *testing.T
	st    store.Store
	tm    *Timers
	in    *ingest.Ingester
	now   time.Time
	wakes int
}

func newEnv(t *testing.T, ch Channel) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now }
	e.tm = &Timers{Store: st, Channels: []Channel{ch}, Wake: func() { e.wakes++ }, Metrics: metrics.New(), Log: zerolog.Nop(), Now: clock,
		Config: config.Timers{Expiry: "@every 1m", Retry: "@every 5s", Rescue: "@every 30s"}}
	e.in = &ingest.Ingester{Store: st, Now: clock}
	return e
}

func (e *env) inbound(contact, id string) store.Conversation {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.in.Ingest(ctx, ingest.Channel{Tenant: "acme", ID: "wa", Excluded: statemachine.DefaultExcluded()},
		[]platform.Event{{Kind: platform.KindMessage, ID: id, Contact: contact, Message: &platform.Message{Kind: platform.Text, Text: "hi"}}})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.latest(contact)
}

func (e *env) latest(contact string) store.Conversation {
	e.t.Helper()
	ctx := context.Background()
	var c store.Conversation
	err := e.st.WithTx(ctx, func(tx store.Tx) error {
		ct, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: contact}, "", e.now)
		if err != nil {
			return err
		}
		c, err = tx.LatestConversation(ctx, ct.ID)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) expire() int {
	e.t.Helper()
	n, err := e.tm.Expire(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestInactivityExpiresLiveConversationsButNotBlocked(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: 24 * time.Hour})
	open := e.inbound("u1", "m1")
	blocked := e.inbound("u2", "m2")
	ctx := context.Background()
	if err := e.st.WithTx(ctx, func(tx store.Tx) error {
		_, err := tx.ApplyTransition(ctx, store.Transition{ConversationID: blocked.ID, From: statemachine.Open, To: statemachine.Blocked, Event: "set_state", Actor: "test", At: e.now})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(23 * time.Hour)
	if n := e.expire(); n != 0 {
		t.Fatalf("expired %d conversations before the limit", n)
	}
	e.now = e.now.Add(2 * time.Hour)
	if n := e.expire(); n != 1 {
		t.Fatalf("expired %d conversations, want 1", n)
	}
	if got := e.latest("u1"); got.ID != open.ID || got.State != statemachine.Expired {
		t.Fatalf("u1: %+v", got)
	}
	if got := e.latest("u2"); got.State != statemachine.Blocked {
		t.Fatalf("a BLOCKED conversation must not expire: %v", got.State)
	}
	hist, err := e.st.History(ctx, open.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := hist[len(hist)-1]
	if last.Actor != "timer" || last.Event != "inactivity_expiry" || last.To != statemachine.Expired {
		t.Fatalf("history %+v", last)
	}
	if e.wakes == 0 {
		t.Fatal("an expiry must wake the dispatcher (the state is mirrored)")
	}
	// Running again changes nothing: it ran once per due conversation.
	if n := e.expire(); n != 0 {
		t.Fatalf("second run expired %d", n)
	}
}

func TestIdleCloseMovesOpenToClosedOnly(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: 24 * time.Hour, IdleClose: time.Hour})
	e.inbound("u1", "m1")
	e.now = e.now.Add(30 * time.Minute)
	e.inbound("u2", "m2")
	e.now = e.now.Add(45 * time.Minute)
	if n := e.expire(); n != 1 {
		t.Fatalf("closed %d, want 1 (only u1 is idle for an hour)", n)
	}
	if e.latest("u1").State != statemachine.Closed || e.latest("u2").State != statemachine.Open {
		t.Fatal("wrong conversation closed")
	}
	// A message after the close reopens it.
	e.inbound("u1", "m3")
	if e.latest("u1").State != statemachine.Open {
		t.Fatal("CLOSED must reopen on an inbound message")
	}
}

func TestActivityAfterQueryIsRespected(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: time.Hour})
	c := e.inbound("u1", "m1")
	// The conversation was due at before, but a message came in since.
	before := e.now.Add(time.Minute)
	e.now = e.now.Add(2 * time.Minute)
	e.inbound("u1", "m2")
	ok, err := e.tm.apply(context.Background(), c.ID, e.tm.Channels[0], statemachine.NewSet(statemachine.Open), before, statemachine.InactivityExpiry, e.now)
	if err != nil || ok {
		t.Fatalf("a conversation with new activity must not expire: %v %v", ok, err)
	}
}

func TestRescueFreesExpiredLeases(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: time.Hour})
	e.inbound("u1", "m1")
	ctx := context.Background()
	works, err := e.st.Claim(ctx, store.ClaimParams{Owner: "crashed", Now: e.now, LeaseTTL: time.Minute, MaxConversations: 10, MaxMessages: 10})
	if err != nil || len(works) != 1 {
		t.Fatalf("claim: %v %v", works, err)
	}
	if n, err := e.tm.Rescue(ctx); err != nil || n != 0 {
		t.Fatalf("a live lease must not be rescued: %d %v", n, err)
	}
	e.now = e.now.Add(2 * time.Minute)
	if n, err := e.tm.Rescue(ctx); err != nil || n != 1 {
		t.Fatalf("rescued %d, %v", n, err)
	}
}

func TestStartRejectsBadScheduleAndStops(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: time.Hour})
	e.tm.Config.Expiry = "every minute"
	if err := e.tm.Start(context.Background()); err == nil {
		t.Fatal("a bad schedule must be an error")
	}
	e.tm.Config.Expiry = "@every 1h"
	if err := e.tm.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.tm.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// Two timer services on one store stand for two replicas: a shared job
// runs once per tick between them, the local retry wake-up on both.
func TestSharedJobRunsOncePerTickAcrossReplicas(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: time.Hour})
	a, b := e.tm, *e.tm
	a.Owner, b.Owner = "replica-a", "replica-b"
	sched, err := cron.ParseStandard("@every 1m")
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	job := func(context.Context) error { runs++; return nil }
	ctx := context.Background()
	ra, err := a.runJob(ctx, "expiry", true, sched, job)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.runJob(ctx, "expiry", true, sched, job)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 1 || ra != "ok" || rb != "skipped" {
		t.Fatalf("runs %d, results %s %s", runs, ra, rb)
	}
	// The next period's tick runs once again, on whichever replica.
	e.now = e.now.Add(time.Minute)
	if _, err := b.runJob(ctx, "expiry", true, sched, job); err != nil {
		t.Fatal(err)
	}
	if _, err := a.runJob(ctx, "expiry", true, sched, job); err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("runs %d after the second period, want 2", runs)
	}
	// A job that is not shared runs on every replica.
	if _, err := a.runJob(ctx, "retry", false, sched, job); err != nil {
		t.Fatal(err)
	}
	if _, err := b.runJob(ctx, "retry", false, sched, job); err != nil {
		t.Fatal(err)
	}
	if runs != 4 {
		t.Fatalf("runs %d, want 4", runs)
	}
}
