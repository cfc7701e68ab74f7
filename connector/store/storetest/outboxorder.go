package storetest

import (
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// The tests of this file pin the order of Claim ("oldest work first") as
// the outbox changes: a conversation's work is as old as its oldest
// pending message, or as the state change its Salesforce record misses,
// whichever is older, whatever wrote the outbox last (a message stored, an
// outcome, a replay), across tenants.

// claimOrder claims everything ready at now (at most maxConv
// conversations, one message each), releases it unchanged, and returns the
// conversations in the claim's order.
func (e env) claimOrder(now time.Time, maxConv int, skip ...string) []int64 {
	e.t.Helper()
	p := params("order", now)
	p.MaxConversations, p.MaxMessages, p.SkipTenants = maxConv, 1, skip
	ws := e.claim(p)
	for _, w := range ws {
		e.settle(w.Lease, store.Settlement{Now: now})
	}
	return workIDs(ws)
}

// settleFirst claims up to 100 conversations at now with one message each
// and settles each with the outcome status[id] for its message (no outcome
// when the conversation is not in status).
func (e env) settleFirst(now time.Time, status map[int64]store.PushStatus) {
	e.t.Helper()
	p := params("w", now)
	p.MaxMessages = 1
	for _, w := range e.claim(p) {
		s := store.Settlement{Now: now}
		if st, ok := status[w.Conversation.ID]; ok {
			s.Outcomes = outcomes(w, st, "error "+string(st))
		}
		e.settle(w.Lease, s)
	}
}

func testClaimOrderFollowsOutbox(e env) {
	open := statemachine.Open
	a := e.conversation("t1", "wa", "a", open, t0)
	b := e.conversation("t1", "wa", "b", open, t0)
	c := e.conversation("t1", "wa", "c", open, t0)
	d := e.conversation("t2", "wa", "d", open, t0) // another tenant
	e.message(a, "a1", store.Pending, at(1*time.Second))
	e.message(a, "a2", store.Pending, at(5*time.Second))
	e.message(b, "b1", store.Pending, at(3*time.Second))
	e.message(c, "c1", store.Pending, at(4*time.Second))
	e.message(c, "cx", store.Excluded, at(0)) // not work
	e.message(d, "d1", store.Pending, at(3500*time.Millisecond))
	now := at(time.Minute)
	check := func(step string, got, want []int64) {
		e.t.Helper()
		if !slices.Equal(got, want) {
			e.t.Fatalf("%s: claim order %v, want %v (a %d, b %d, c %d, d %d)", step, got, want, a.ID, b.ID, c.ID, d.ID)
		}
	}
	check("stored", e.claimOrder(now, 100), []int64{a.ID, b.ID, d.ID, c.ID})
	check("stored, 2 at most", e.claimOrder(now, 2), []int64{a.ID, b.ID})
	check("stored, 3 at most", e.claimOrder(now, 3), []int64{a.ID, b.ID, d.ID})
	check("stored, t1 skipped", e.claimOrder(now, 100, "t1"), []int64{d.ID})

	// a's oldest message is pushed (a2 is left), b's is to be retried (it
	// stays the oldest), c gets no outcome.
	e.settleFirst(now, map[int64]store.PushStatus{a.ID: store.Pushed, b.ID: store.Pending})
	check("after a partial settlement", e.claimOrder(now, 100), []int64{b.ID, d.ID, c.ID, a.ID})
	check("after a partial settlement, 1 at most", e.claimOrder(now, 1), []int64{b.ID})

	// a2 and b1 die: a and b have nothing left; c1 and d1 are pushed.
	e.settleFirst(now, map[int64]store.PushStatus{a.ID: store.Dead, b.ID: store.Dead, c.ID: store.Pushed, d.ID: store.Pushed})
	check("after dead and pushed outcomes", e.claimOrder(now, 100), []int64{})

	// New work; d3 was received before d2 (messages are not always stored
	// in the order they were received: replicas' clocks differ).
	e.message(c, "c2", store.Pending, at(2*time.Second))
	e.message(a, "a3", store.Pending, at(6*time.Second))
	e.message(d, "d2", store.Pending, at(7*time.Second))
	e.message(d, "d3", store.Pending, at(5500*time.Millisecond))
	check("after new messages", e.claimOrder(now, 100), []int64{c.ID, d.ID, a.ID})

	// The dead messages come back with their own ages: b1 (3s) and a2 (5s,
	// older than a3, and than d3).
	if got, err := e.s.Replay(e.ctx, "t1", nil, now); err != nil || len(got) != 2 {
		e.t.Fatalf("Replay = %v, %v; want the 2 dead messages of t1", got, err)
	}
	check("after a replay", e.claimOrder(now, 100), []int64{c.ID, b.ID, a.ID, d.ID})
	check("after a replay, 2 at most", e.claimOrder(now, 2), []int64{c.ID, b.ID})
	w := e.claimOne(store.ClaimParams{Owner: "w", Now: now, LeaseTTL: time.Minute, MaxConversations: 1, MaxMessages: 1,
		SkipTenants: []string{"t2"}}, c.ID)
	if len(w.Messages) != 1 || w.Messages[0].PlatformID != "c2" {
		e.t.Fatalf("claimed messages of c %v, want c2", w.Messages)
	}
	e.settle(w.Lease, store.Settlement{Now: now})

	// A conversation held back until later leaves the oldest work to the
	// next one, then comes back first.
	w = e.claimOne(store.ClaimParams{Owner: "w", Now: now, LeaseTTL: time.Minute, MaxConversations: 1}, c.ID)
	e.settle(w.Lease, store.Settlement{Now: now, Outcomes: outcomes(w, store.Pending, "503"), RetryAt: at(2 * time.Minute)})
	check("c held back", e.claimOrder(now, 1), []int64{b.ID})
	check("c ready again", e.claimOrder(at(2*time.Minute), 100), []int64{c.ID, b.ID, a.ID, d.ID})
}

func testClaimOrderRecordBehind(e env) {
	open := statemachine.Open
	x := e.conversation("t2", "wa", "x", open, t0)
	y := e.conversation("t1", "wa", "y", open, t0)
	z := e.conversation("t1", "wa", "z", open, t0)
	e.message(x, "x1", store.Pending, at(time.Second))
	now := at(time.Minute)
	// x's record is created, then x changes state at 10s: its record is
	// behind from then on.
	w := e.claimOne(params("w", now), x.ID)
	e.settle(w.Lease, store.Settlement{Now: now, Outcomes: outcomes(w, store.Pushed, ""), SyncedVersion: 1})
	x = e.transition(x, open, statemachine.Closed, at(10*time.Second))
	e.message(y, "y1", store.Pending, at(5*time.Second))
	e.message(z, "z1", store.Pending, at(20*time.Second))
	check := func(step string, got, want []int64) {
		e.t.Helper()
		if !slices.Equal(got, want) {
			e.t.Fatalf("%s: claim order %v, want %v (x %d, y %d, z %d)", step, got, want, x.ID, y.ID, z.ID)
		}
	}
	check("x behind since 10s", e.claimOrder(now, 100), []int64{y.ID, x.ID, z.ID})
	check("x behind, t2 skipped", e.claimOrder(now, 100, "t2"), []int64{y.ID, z.ID})
	check("x behind, t1 skipped", e.claimOrder(now, 100, "t1"), []int64{x.ID})

	// A pending message older than the state change makes x's work older.
	e.message(x, "x2", store.Pending, at(2*time.Second))
	check("x behind with a message of 2s", e.claimOrder(now, 100), []int64{x.ID, y.ID, z.ID})

	// The message is pushed but the record stays behind: back to 10s.
	w = e.claimOne(store.ClaimParams{Owner: "w", Now: now, LeaseTTL: time.Minute, MaxConversations: 1}, x.ID)
	e.settle(w.Lease, store.Settlement{Now: now, Outcomes: outcomes(w, store.Pushed, "")})
	check("x behind, its message pushed", e.claimOrder(now, 100), []int64{y.ID, x.ID, z.ID})

	// The record catches up: x has no work left.
	w = e.claimOne(store.ClaimParams{Owner: "w", Now: now, LeaseTTL: time.Minute, MaxConversations: 1, SkipTenants: []string{"t1"}}, x.ID)
	e.settle(w.Lease, store.Settlement{Now: now, SyncedVersion: x.Version})
	check("x synced", e.claimOrder(now, 100), []int64{y.ID, z.ID})
}
