package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

func testClaimReadyWork(e env) {
	open := statemachine.Open
	ready := e.conversation("t1", "wa", "ready", open, t0)       // a pending message
	pushed := e.conversation("t1", "wa", "pushed", open, t0)     // everything pushed and synced
	dead := e.conversation("t1", "wa", "dead", open, t0)         // only a dead message
	behind := e.conversation("t1", "wa", "behind", open, t0)     // record synced, then a state change
	excl := e.conversation("t1", "wa", "excluded", open, t0)     // only an excluded message
	e.conversation("t1", "wa", "empty", open, t0)                // nothing at all
	unsynced := e.conversation("t1", "wa", "unsynced", open, t0) // state changed, no record yet
	e.message(ready, "r1", store.Pending, t0)
	e.message(pushed, "p1", store.Pending, t0)
	e.message(dead, "d1", store.Pending, t0)
	e.message(behind, "b1", store.Pending, t0)
	e.message(excl, "e1", store.Excluded, t0)
	e.transition(unsynced, open, statemachine.Closed, t0)

	first := e.claim(params("w", at(time.Second)))
	got := workIDs(first)
	slices.Sort(got)
	if want := []int64{ready.ID, pushed.ID, dead.ID, behind.ID}; !slices.Equal(got, want) {
		e.t.Fatalf("first claim = %v, want the conversations with pending messages %v", got, want)
	}
	for _, w := range first {
		s := store.Settlement{Now: at(2 * time.Second)}
		switch w.Conversation.ID {
		case ready.ID:
			s.Outcomes = outcomes(w, store.Pending, "timeout")
		case pushed.ID, behind.ID:
			s.Outcomes, s.SyncedVersion = outcomes(w, store.Pushed, ""), w.Conversation.Version
		case dead.ID:
			s.Outcomes = outcomes(w, store.Dead, "INVALID_FIELD")
		}
		e.settle(w.Lease, s)
	}
	e.transition(behind, open, statemachine.Closed, at(3*time.Second))

	second := e.claim(params("w", at(4*time.Second)))
	got = workIDs(second)
	slices.Sort(got)
	if want := []int64{ready.ID, behind.ID}; !slices.Equal(got, want) {
		e.t.Fatalf("second claim = %v, want %v (a pending message; a record behind its version)", got, want)
	}
	for _, w := range second {
		if w.Conversation.ID == behind.ID {
			if len(w.Messages) != 0 || w.Conversation.Version != 2 || w.Conversation.SyncedVersion != 1 ||
				w.Conversation.State != statemachine.Closed {
				e.t.Errorf("work of the conversation behind = %+v, want CLOSED version 2 synced 1 and no messages", w)
			}
			e.settle(w.Lease, store.Settlement{Now: at(5 * time.Second), SyncedVersion: 2})
		} else {
			e.settle(w.Lease, store.Settlement{Now: at(5 * time.Second), Outcomes: outcomes(w, store.Pushed, "")})
		}
	}
	if ws := e.claim(params("w", at(6*time.Second))); len(ws) != 0 {
		e.t.Errorf("claim with nothing left = %v, want none", workIDs(ws))
	}
}

func testClaimMessages(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	var pending []int64
	for i, id := range []string{"m1", "m2", "x", "m3", "m4", "m5"} {
		status := store.Pending
		if id == "x" {
			status = store.Excluded
		}
		m := e.message(c, id, status, at(time.Duration(i)*time.Second))
		if status == store.Pending {
			pending = append(pending, m.ID)
		}
	}
	p := params("w", at(time.Minute))
	p.MaxMessages = 3
	w := e.claimOne(p, c.ID)
	if got := messageIDs(w.Messages); !slices.Equal(got, pending[:3]) {
		e.t.Fatalf("claimed messages %v, want the first 3 pending in ID order %v", got, pending[:3])
	}
	for _, m := range w.Messages {
		if m.PushStatus != store.Pending || m.ConversationID != c.ID {
			e.t.Errorf("claimed message %+v is not a pending message of %d", m, c.ID)
		}
	}
	if !w.Lease.ExpiresAt.Equal(at(2*time.Minute)) || w.Lease.Owner != "w" || w.Lease.Token == "" ||
		w.Lease.ConversationID != c.ID {
		e.t.Errorf("lease = %+v, want owner w, a token, expiry %v", w.Lease, at(2*time.Minute))
	}
	e.settle(w.Lease, store.Settlement{Now: at(time.Minute), Outcomes: outcomes(w, store.Pushed, "")})
	w = e.claimOne(p, c.ID)
	if got := messageIDs(w.Messages); !slices.Equal(got, pending[3:]) {
		e.t.Errorf("next claim's messages %v, want %v", got, pending[3:])
	}
}

func testClaimSkipTenants(e env) {
	a := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	b := e.conversation("t2", "wa", "u1", statemachine.Open, t0)
	c := e.conversation("t3", "wa", "u1", statemachine.Open, t0)
	for _, conv := range []store.Conversation{a, b, c} {
		e.message(conv, "m", store.Pending, t0)
	}
	p := params("w", at(time.Second))
	p.SkipTenants = []string{"t1", "t3"}
	e.claimOne(p, b.ID)
	p.SkipTenants = []string{"t2"}
	got := workIDs(e.claim(p))
	slices.Sort(got)
	if want := []int64{a.ID, c.ID}; !slices.Equal(got, want) {
		e.t.Errorf("claim skipping t2 (whose conversation is leased anyway) = %v, want %v", got, want)
	}
}

func testClaimOldestFirst(e env) {
	// Created in one order, with work that arrived in the reverse order.
	a := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	b := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	c := e.conversation("t1", "wa", "u3", statemachine.Open, t0)
	e.message(c, "c1", store.Pending, at(time.Second))
	e.message(b, "b1", store.Pending, at(2*time.Second))
	e.message(a, "a1", store.Pending, at(3*time.Second))
	e.message(c, "c2", store.Pending, at(4*time.Second))
	p := params("w", at(time.Minute))
	p.MaxConversations = 2
	if got, want := workIDs(e.claim(p)), []int64{c.ID, b.ID}; !slices.Equal(got, want) {
		e.t.Errorf("claim of 2 = %v, want the oldest work first %v", got, want)
	}
	if got, want := workIDs(e.claim(p)), []int64{a.ID}; !slices.Equal(got, want) {
		e.t.Errorf("next claim = %v, want %v", got, want)
	}
}

func testClaimLease(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	m := e.message(c, "m1", store.Pending, t0)
	a := e.claimOne(params("a", t0), c.ID)
	if ws := e.claim(params("b", at(30*time.Second))); len(ws) != 0 {
		e.t.Fatalf("claim of a leased conversation = %v, want none", workIDs(ws))
	}
	b := e.claimOne(params("b", at(61*time.Second)), c.ID)
	if b.Lease.Token == a.Lease.Token || b.Lease.Owner != "b" {
		e.t.Errorf("lease after expiry = %+v, want b's own token (a had %q)", b.Lease, a.Lease.Token)
	}
	err := SettleOne(e.ctx, e.s, a.Lease, store.Settlement{Now: at(62 * time.Second),
		Outcomes: outcomes(a, store.Pushed, ""), SyncedVersion: 1, RetryAt: at(time.Hour)})
	if !errors.Is(err, store.ErrLeaseLost) {
		e.t.Fatalf("Settle with a lost lease: %v, want ErrLeaseLost", err)
	}
	got := e.messageByID(c.ID, m.ID)
	if got.PushStatus != store.Pending || got.Attempts != 0 || got.SalesforceID != "" || !got.PushedAt.IsZero() {
		e.t.Errorf("message after a lost settle = %+v, want it untouched", got)
	}
	if conv := e.get(c.ID); conv.SyncedVersion != 0 || !conv.NotBefore.IsZero() {
		e.t.Errorf("conversation after a lost settle: synced %d not before %v, want untouched", conv.SyncedVersion, conv.NotBefore)
	}
	// b still holds it.
	if ws := e.claim(params("c", at(62*time.Second))); len(ws) != 0 {
		e.t.Errorf("claim while b holds the lease = %v, want none", workIDs(ws))
	}
	e.settle(b.Lease, store.Settlement{Now: at(63 * time.Second), Outcomes: outcomes(b, store.Pushed, "")})
	if err := SettleOne(e.ctx, e.s, b.Lease, store.Settlement{Now: at(64 * time.Second)}); !errors.Is(err, store.ErrLeaseLost) {
		e.t.Errorf("second Settle of a released lease: %v, want ErrLeaseLost", err)
	}
}

func testSettleOutcomes(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	m1 := e.message(c, "m1", store.Pending, t0)
	m2 := e.message(c, "m2", store.Pending, t0)
	m3 := e.message(c, "m3", store.Pending, t0)
	w := e.claimOne(params("w", at(time.Second)), c.ID)
	e.settle(w.Lease, store.Settlement{
		Now: at(5 * time.Second),
		Outcomes: []store.Outcome{
			{MessageID: m1.ID, Status: store.Pushed, SalesforceID: "a0X000000000001"},
			{MessageID: m2.ID, Status: store.Pending, Error: "503 Service Unavailable"},
			{MessageID: m3.ID, Status: store.Dead, Error: "INVALID_FIELD: No such column"},
		},
		SyncedVersion: 1,
	})

	p := e.messageByID(c.ID, m1.ID)
	if p.PushStatus != store.Pushed || !p.PushedAt.Equal(at(5*time.Second)) || p.SalesforceID != "a0X000000000001" ||
		p.LastError != "" || p.Attempts != 1 {
		e.t.Errorf("pushed message = %+v, want pushed at %v with its Salesforce id, 1 attempt", p, at(5*time.Second))
	}
	r := e.messageByID(c.ID, m2.ID)
	if r.PushStatus != store.Pending || r.Attempts != 1 || r.LastError != "503 Service Unavailable" || !r.PushedAt.IsZero() {
		e.t.Errorf("retried message = %+v, want pending, 1 attempt, its error", r)
	}
	d := e.messageByID(c.ID, m3.ID)
	if d.PushStatus != store.Dead || d.Attempts != 1 || d.LastError != "INVALID_FIELD: No such column" {
		e.t.Errorf("dead message = %+v, want dead, 1 attempt, its error", d)
	}
	if conv := e.get(c.ID); conv.SyncedVersion != 1 {
		e.t.Errorf("SyncedVersion = %d, want 1", conv.SyncedVersion)
	}

	// The lease is released and the retried message is ready at once.
	w = e.claimOne(params("other", at(5*time.Second)), c.ID)
	if got := messageIDs(w.Messages); !slices.Equal(got, []int64{m2.ID}) {
		e.t.Errorf("claim after settle: messages %v, want [%d]", got, m2.ID)
	}
	e.settle(w.Lease, store.Settlement{Now: at(6 * time.Second),
		Outcomes: []store.Outcome{{MessageID: m2.ID, Status: store.Pending, Error: "timeout"}}})
	r = e.messageByID(c.ID, m2.ID)
	if r.Attempts != 2 || r.LastError != "timeout" {
		e.t.Errorf("message retried twice = %+v, want 2 attempts and the last error", r)
	}
	if conv := e.get(c.ID); conv.SyncedVersion != 1 {
		e.t.Errorf("SyncedVersion after a settlement without one = %d, want 1 kept", conv.SyncedVersion)
	}
}

func testSettleRetryAt(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	e.message(c, "m1", store.Pending, t0)
	w := e.claimOne(params("w", t0), c.ID)
	retry := at(30 * time.Second)
	e.settle(w.Lease, store.Settlement{Now: at(time.Second), Outcomes: outcomes(w, store.Pending, "503"), RetryAt: retry})
	if conv := e.get(c.ID); !conv.NotBefore.Equal(retry) {
		e.t.Errorf("NotBefore = %v, want %v", conv.NotBefore, retry)
	}
	if ws := e.claim(params("w", retry.Add(-time.Microsecond))); len(ws) != 0 {
		e.t.Errorf("claim before RetryAt = %v, want none", workIDs(ws))
	}
	e.claimOne(params("w", retry), c.ID)
}

func testSettleForeignMessage(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	other := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	m := e.message(c, "m1", store.Pending, t0)
	foreign := e.message(other, "o1", store.Pending, t0)
	var w store.Work
	for _, work := range e.claim(params("w", at(time.Second))) {
		if work.Conversation.ID == c.ID {
			w = work
		}
	}
	err := SettleOne(e.ctx, e.s, w.Lease, store.Settlement{Now: at(2 * time.Second), SyncedVersion: 1,
		Outcomes: []store.Outcome{
			{MessageID: m.ID, Status: store.Pushed, SalesforceID: "a0X1"},
			{MessageID: foreign.ID, Status: store.Pushed, SalesforceID: "a0X2"},
		}})
	if err == nil || errors.Is(err, store.ErrLeaseLost) {
		e.t.Fatalf("Settle with another conversation's message: %v, want an error other than ErrLeaseLost", err)
	}
	for _, id := range []int64{m.ID, foreign.ID} {
		conv := c.ID
		if id == foreign.ID {
			conv = other.ID
		}
		if got := e.messageByID(conv, id); got.PushStatus != store.Pending || got.Attempts != 0 {
			e.t.Errorf("message %d after a refused settle = %+v, want untouched", id, got)
		}
	}
	if got := e.get(c.ID); got.SyncedVersion != 0 {
		e.t.Errorf("SyncedVersion after a refused settle = %d, want 0", got.SyncedVersion)
	}
	// The lease still holds.
	e.settle(w.Lease, store.Settlement{Now: at(3 * time.Second), Outcomes: outcomes(w, store.Pushed, "")})
}

func testRescueLeases(e env) {
	a := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	b := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	e.message(a, "a1", store.Pending, t0)
	e.message(b, "b1", store.Pending, at(time.Second))
	p := params("first", at(10*time.Second))
	p.MaxConversations = 1
	wa := e.claimOne(p, a.ID) // expires at 70s
	p.Now = at(50 * time.Second)
	wb := e.claimOne(p, b.ID) // expires at 110s

	n, err := e.s.RescueLeases(e.ctx, at(90*time.Second))
	if err != nil || n != 1 {
		e.t.Fatalf("RescueLeases = %d, %v; want 1 (only a's lease expired)", n, err)
	}
	if err := SettleOne(e.ctx, e.s, wa.Lease, store.Settlement{Now: at(91 * time.Second)}); !errors.Is(err, store.ErrLeaseLost) {
		e.t.Errorf("Settle of a rescued lease: %v, want ErrLeaseLost", err)
	}
	if got, want := workIDs(e.claim(params("second", at(90*time.Second)))), []int64{a.ID}; !slices.Equal(got, want) {
		e.t.Errorf("claim after rescue = %v, want %v (b is still leased)", got, want)
	}
	e.settle(wb.Lease, store.Settlement{Now: at(92 * time.Second), Outcomes: outcomes(wb, store.Pushed, "")})
	if n, err := e.s.RescueLeases(e.ctx, at(92*time.Second)); err != nil || n != 0 {
		e.t.Errorf("second RescueLeases = %d, %v; want 0", n, err)
	}
}

// testRetryHold: a conversation settled with RetryAt is held back until
// then (the dispatchers poll Claim for it), the earliest first; one with no
// pending message left has no work, whatever its hold.
func testRetryHold(e env) {
	if ws := e.claim(params("w", t0)); len(ws) != 0 {
		e.t.Fatalf("Claim of an empty store: %v, want none", workIDs(ws))
	}
	late := e.conversation("t1", "wa", "late", statemachine.Open, t0)
	soon := e.conversation("t1", "wa", "soon", statemachine.Open, t0)
	now := e.conversation("t1", "wa", "now", statemachine.Open, t0)
	done := e.conversation("t1", "wa", "done", statemachine.Open, t0)
	for _, c := range []store.Conversation{late, soon, now, done} {
		e.message(c, "m-"+c.ContactExternalID, store.Pending, t0)
	}
	for _, w := range e.claim(params("w", t0)) {
		s := store.Settlement{Now: t0, Outcomes: outcomes(w, store.Pending, "503")}
		switch w.Conversation.ID {
		case late.ID:
			s.RetryAt = at(10 * time.Second)
		case soon.ID:
			s.RetryAt = at(5 * time.Second)
		case done.ID: // no pending message left: its NotBefore does not count
			s.Outcomes, s.RetryAt = outcomes(w, store.Pushed, ""), at(time.Second)
		}
		e.settle(w.Lease, s)
	}
	// Each check holds what it claims back for an hour.
	check := func(now time.Time, want ...int64) {
		e.t.Helper()
		ws := e.claim(params("w", now))
		if got := workIDs(ws); !slices.Equal(got, want) {
			e.t.Errorf("Claim at %v = %v, want %v", now, got, want)
		}
		for _, w := range ws {
			e.settle(w.Lease, store.Settlement{Now: now, RetryAt: at(time.Hour)})
		}
	}
	check(t0, now.ID)
	check(at(5*time.Second), soon.ID)
	check(at(10*time.Second), late.ID)
	check(at(20 * time.Second))
}

// killAll settles every message of ws as dead.
func (e env) killAll(ws []store.Work, now time.Time, retryAt time.Time) {
	e.t.Helper()
	for _, w := range ws {
		e.settle(w.Lease, store.Settlement{Now: now, Outcomes: outcomes(w, store.Dead, "INVALID_FIELD"), RetryAt: retryAt})
	}
}

func testListDead(e env) {
	x := e.conversation("t1", "wa", "x", statemachine.Open, t0)
	y := e.conversation("t1", "tg", "y", statemachine.Open, t0)
	z := e.conversation("t2", "wa", "z", statemachine.Open, t0)
	d1 := e.message(x, "d1", store.Pending, t0)
	d2 := e.message(y, "d2", store.Pending, t0)
	d3 := e.message(z, "d3", store.Pending, t0)
	d4 := e.message(x, "d4", store.Pending, t0)
	e.message(x, "e1", store.Excluded, t0)
	e.killAll(e.claim(params("w", t0)), at(time.Second), time.Time{})
	e.message(y, "p1", store.Pending, at(2*time.Second)) // pending, not dead

	list := func(f store.DeadFilter) []int64 {
		e.t.Helper()
		ms, err := e.s.ListDead(e.ctx, f)
		if err != nil {
			e.t.Fatalf("ListDead(%+v): %v", f, err)
		}
		for _, m := range ms {
			if m.PushStatus != store.Dead || m.LastError != "INVALID_FIELD" {
				e.t.Errorf("ListDead returned %+v", m)
			}
		}
		return messageIDs(ms)
	}
	cases := []struct {
		f    store.DeadFilter
		want []int64
	}{
		{store.DeadFilter{Tenant: "t1"}, []int64{d1.ID, d2.ID, d4.ID}},
		{store.DeadFilter{}, []int64{d1.ID, d2.ID, d3.ID, d4.ID}},
		{store.DeadFilter{Tenant: "t1", Limit: 2}, []int64{d1.ID, d2.ID}},
		{store.DeadFilter{Tenant: "t1", AfterID: d2.ID, Limit: 2}, []int64{d4.ID}},
		{store.DeadFilter{AfterID: d1.ID, Limit: 1}, []int64{d2.ID}},
		{store.DeadFilter{Tenant: "t2"}, []int64{d3.ID}},
		{store.DeadFilter{Tenant: "nobody"}, []int64{}},
	}
	for _, tc := range cases {
		if got := list(tc.f); !slices.Equal(got, tc.want) {
			e.t.Errorf("ListDead(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func testReplay(e env) {
	x := e.conversation("t1", "wa", "x", statemachine.Open, t0)
	z := e.conversation("t2", "wa", "z", statemachine.Open, t0)
	d1 := e.message(x, "d1", store.Pending, t0)
	d2 := e.message(x, "d2", store.Pending, t0)
	d3 := e.message(x, "d3", store.Pending, t0)
	d4 := e.message(z, "d4", store.Pending, t0)
	// Dead, with the conversations held back for an hour.
	e.killAll(e.claim(params("w", t0)), at(time.Second), at(time.Hour))
	pushed := e.message(x, "p1", store.Pending, at(2*time.Second))
	w := e.claimOne(params("w", at(time.Hour)), x.ID)
	e.settle(w.Lease, store.Settlement{Now: at(time.Hour), Outcomes: outcomes(w, store.Pushed, ""),
		RetryAt: at(2 * time.Hour)})

	now := at(time.Hour + time.Minute)
	// Another tenant's message and an unknown id: nothing replayed.
	got, err := e.s.Replay(e.ctx, "t1", []int64{d2.ID, d4.ID, pushed.ID, d2.ID + 1000, -1}, now)
	want := fmt.Sprintf("tenant t1 has no message %d, %d, -1: nothing replayed", d4.ID, d2.ID+1000)
	if !errors.Is(err, store.ErrNotFound) || len(got) != 0 || !strings.Contains(err.Error(), want) {
		e.t.Fatalf("Replay of d2, another tenant's, a pushed, an unknown and a negative id = %v, %v; want ErrNotFound saying %q", got, err, want)
	}
	if m := e.messageByID(x.ID, d2.ID); m.PushStatus != store.Dead {
		e.t.Fatalf("a refused replay replayed d2: %+v", m)
	}
	got, err = e.s.Replay(e.ctx, "t1", []int64{d2.ID, pushed.ID}, now)
	if err != nil {
		e.t.Fatalf("Replay: %v", err)
	}
	if !slices.Equal(got, []int64{d2.ID}) {
		e.t.Fatalf("Replay of d2 and a pushed message = %v, want [%d]", got, d2.ID)
	}
	r := e.messageByID(x.ID, d2.ID)
	if r.PushStatus != store.Pending || r.Attempts != 0 {
		e.t.Errorf("replayed message = %+v, want pending with no attempts", r)
	}
	if m := e.messageByID(z.ID, d4.ID); m.PushStatus != store.Dead {
		e.t.Errorf("another tenant's message was replayed: %+v", m)
	}
	if m := e.messageByID(x.ID, pushed.ID); m.PushStatus != store.Pushed {
		e.t.Errorf("a pushed message was touched by Replay: %+v", m)
	}
	// Ready at now, although the conversation was held back.
	w = e.claimOne(params("w", now), x.ID)
	if ids := messageIDs(w.Messages); !slices.Equal(ids, []int64{d2.ID}) {
		e.t.Errorf("claim after replay: messages %v, want [%d]", ids, d2.ID)
	}
	e.settle(w.Lease, store.Settlement{Now: now, Outcomes: outcomes(w, store.Pushed, "")})

	got, err = e.s.Replay(e.ctx, "t1", nil, now)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []int64{d1.ID, d3.ID}) {
		e.t.Errorf("Replay of every dead message of t1 = %v, %v; want [%d %d]", got, err, d1.ID, d3.ID)
	}
	if m := e.messageByID(z.ID, d4.ID); m.PushStatus != store.Dead {
		e.t.Errorf("replaying t1 replayed t2's message: %+v", m)
	}
	got, err = e.s.Replay(e.ctx, "t1", nil, now)
	if err != nil || len(got) != 0 {
		e.t.Errorf("Replay with nothing dead = %v, %v; want none", got, err)
	}
}

func testIdleConversations(e env) {
	open, closed := statemachine.Open, statemachine.Closed
	mk := func(tenant, channel, ext string, state statemachine.State, last time.Time) store.Conversation {
		c := e.conversation(tenant, channel, ext, statemachine.Open, t0)
		if state != statemachine.Open {
			e.transition(c, statemachine.Open, state, t0)
		}
		e.tx(func(tx store.Tx) error { return tx.TouchConversation(e.ctx, c.ID, last) })
		return c
	}
	b := mk("t1", "wa", "b", open, at(time.Minute))
	a := mk("t1", "wa", "a", open, t0)
	c := mk("t1", "wa", "c", closed, at(2*time.Minute))
	d := mk("t1", "wa", "d", statemachine.Blocked, t0)
	mk("t1", "wa", "e", open, at(3*time.Minute)) // not strictly before
	mk("t1", "wa", "f", statemachine.Expired, t0)
	mk("t1", "tg", "g", open, t0)
	mk("t2", "wa", "h", open, t0)

	q := store.IdleQuery{Tenant: "t1", Channel: "wa", States: statemachine.NewSet(open, closed), Before: at(3 * time.Minute), Limit: 10}
	idle := func(q store.IdleQuery) []int64 {
		e.t.Helper()
		cs, err := e.s.IdleConversations(e.ctx, q)
		if err != nil {
			e.t.Fatalf("IdleConversations: %v", err)
		}
		for _, c := range cs {
			if c.Tenant != q.Tenant || c.Channel != q.Channel || !q.States.Has(c.State) || !c.LastActivityAt.Before(q.Before) {
				e.t.Errorf("IdleConversations(%+v) returned %+v", q, c)
			}
		}
		return conversationIDs(cs)
	}
	if got, want := idle(q), []int64{a.ID, b.ID, c.ID}; !slices.Equal(got, want) {
		e.t.Errorf("idle OPEN or CLOSED = %v, want oldest first %v", got, want)
	}
	q.Limit = 2
	if got, want := idle(q), []int64{a.ID, b.ID}; !slices.Equal(got, want) {
		e.t.Errorf("idle with limit 2 = %v, want %v", got, want)
	}
	q.Limit, q.States = 10, statemachine.NewSet(statemachine.Blocked)
	if got, want := idle(q), []int64{d.ID}; !slices.Equal(got, want) {
		e.t.Errorf("idle BLOCKED = %v, want %v", got, want)
	}
	q.States = 0
	if got := idle(q); len(got) != 0 {
		e.t.Errorf("idle with no states = %v, want none", got)
	}
}

// testLeaseTokens: each lease gets a random token of its own, 32
// hexadecimal digits.
func testLeaseTokens(e env) {
	for _, ext := range []string{"u1", "u2"} {
		c := e.conversation("t1", "wa", ext, statemachine.Open, t0)
		e.message(c, "m-"+ext, store.Pending, t0)
	}
	ws := e.claim(params("w", at(time.Hour)))
	if len(ws) != 2 {
		e.t.Fatalf("Claim = %d works, want 2", len(ws))
	}
	for _, w := range ws {
		if len(w.Lease.Token) != 32 || strings.Trim(w.Lease.Token, "0123456789abcdef") != "" {
			e.t.Errorf("token %q is not 32 hex digits", w.Lease.Token)
		}
	}
	if ws[0].Lease.Token == ws[1].Lease.Token {
		e.t.Errorf("two leases share token %q", ws[0].Lease.Token)
	}
}
