package storetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// updateGate runs UpdateOrgGate and fails the test on error.
func (e env) updateGate(org string, now time.Time, fn func(*store.OrgGate)) store.OrgGate {
	e.t.Helper()
	g, err := e.s.UpdateOrgGate(e.ctx, org, now, fn)
	if err != nil {
		e.t.Fatalf("UpdateOrgGate(%s): %v", org, err)
	}
	return normGate(g)
}

// gates lists the org gates and fails the test on error.
func (e env) gates() []store.OrgGate {
	e.t.Helper()
	gs, err := e.s.OrgGates(e.ctx)
	if err != nil {
		e.t.Fatalf("OrgGates: %v", err)
	}
	for i := range gs {
		gs[i] = normGate(gs[i])
	}
	return gs
}

func normGate(g store.OrgGate) store.OrgGate {
	g.PausedUntil, g.UpdatedAt = utc(g.PausedUntil), utc(g.UpdatedAt)
	return g
}

// testOrgGates: a missing gate starts zero with Org set, fn's changes are
// written with UpdatedAt = now (to the microsecond), the next update starts
// from them, Org and UpdatedAt are the store's, and OrgGates lists the
// gates by Org.
func testOrgGates(e env) {
	if gs := e.gates(); len(gs) != 0 {
		e.t.Fatalf("OrgGates of an empty store = %+v, want none", gs)
	}
	const org, other = "00D5g000004Xyz1", "00D1a000000Abc2"

	var seen store.OrgGate
	first := e.updateGate(org, at(time.Minute), func(g *store.OrgGate) {
		seen = *g
		g.PausedUntil, g.Reason, g.Failures = at(5*time.Minute), "REQUEST_LIMIT_EXCEEDED", 1
		g.APIUsed, g.APIMax = 14900, 15000
		// Not the caller's to set: the store overrides both.
		g.Org, g.UpdatedAt = "someone else", at(time.Hour)
	})
	if want := (store.OrgGate{Org: org}); seen != want {
		e.t.Errorf("fn of a new gate saw %+v, want the zero gate %+v", seen, want)
	}
	want := store.OrgGate{Org: org, PausedUntil: at(5 * time.Minute), Reason: "REQUEST_LIMIT_EXCEEDED",
		Failures: 1, APIUsed: 14900, APIMax: 15000, UpdatedAt: at(time.Minute)}
	if first != want {
		e.t.Errorf("first update returned %+v, want %+v", first, want)
	}

	second := e.updateGate(org, at(2*time.Minute), func(g *store.OrgGate) {
		seen = normGate(*g)
		g.Failures++
		g.PausedUntil, g.Reason = time.Time{}, ""
	})
	if seen != want {
		e.t.Errorf("fn of the second update saw %+v, want the gate as written %+v", seen, want)
	}
	want.Failures, want.PausedUntil, want.Reason, want.UpdatedAt = 2, time.Time{}, "", at(2*time.Minute)
	if second != want {
		e.t.Errorf("second update returned %+v, want %+v (a zero PausedUntil stays zero)", second, want)
	}

	otherGate := e.updateGate(other, at(3*time.Minute), func(g *store.OrgGate) { g.APIUsed, g.APIMax = 10, 100 })
	wantOther := store.OrgGate{Org: other, APIUsed: 10, APIMax: 100, UpdatedAt: at(3 * time.Minute)}
	if otherGate != wantOther {
		e.t.Errorf("update of another org returned %+v, want %+v", otherGate, wantOther)
	}
	if gs, wantAll := e.gates(), []store.OrgGate{wantOther, want}; !slices.Equal(gs, wantAll) {
		e.t.Errorf("OrgGates = %+v, want %+v (by Org)", gs, wantAll)
	}

	for name, call := range map[string]func() error{
		"no org": func() error {
			_, err := e.s.UpdateOrgGate(e.ctx, "", t0, func(*store.OrgGate) {})
			return err
		},
		"no fn": func() error {
			_, err := e.s.UpdateOrgGate(e.ctx, org, t0, nil)
			return err
		},
	} {
		if err := call(); err == nil {
			e.t.Errorf("UpdateOrgGate with %s succeeded, want an error", name)
		}
	}
	if gs := e.gates(); len(gs) != 2 || gs[1] != want {
		e.t.Errorf("after refused updates OrgGates = %+v, want the two gates unchanged", gs)
	}
}

// testConcurrentOrgGate has several goroutines each add one failure to
// the same new gate at once: none is lost, and each saw the count the
// previous one wrote.
func testConcurrentOrgGate(e env) {
	const n = 8
	const org = "00D5g000004Xyz1"
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		mu    sync.Mutex
		got   []int
	)
	for i := range n {
		wg.Go(func() {
			<-start
			g, err := e.s.UpdateOrgGate(e.ctx, org, at(time.Duration(i)*time.Second), func(g *store.OrgGate) {
				g.Failures++
			})
			if err != nil {
				e.t.Errorf("UpdateOrgGate %d: %v", i, err)
				return
			}
			mu.Lock()
			got = append(got, g.Failures)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	slices.Sort(got)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("the updates returned failure counts %v, want each of %v once", got, want)
	}
	if gs := e.gates(); len(gs) != 1 || gs[0].Failures != n {
		e.t.Errorf("after %d increments OrgGates = %+v, want one gate with %d failures", n, gs, n)
	}
}

// tryLease runs TryLease and fails the test on error.
func (e env) tryLease(name, owner string, now time.Time, ttl time.Duration) bool {
	e.t.Helper()
	ok, err := e.s.TryLease(e.ctx, name, owner, now, ttl)
	if err != nil {
		e.t.Fatalf("TryLease(%s, %s): %v", name, owner, err)
	}
	return ok
}

// testTryLease: the first owner takes a lease, another does not while it
// is live, its owner extends it, it is taken over once expired, and leases
// of different names are independent.
func testTryLease(e env) {
	const expire, idle = "timer:expire", "timer:idle"
	steps := []struct {
		name, owner string
		now         time.Duration
		want        bool
		why         string
	}{
		{expire, "a", 0, true, "a free lease"},
		{expire, "b", 30 * time.Second, false, "a lease a holds until 1m"},
		{idle, "b", 30 * time.Second, true, "another name, free"},
		{expire, "a", 30 * time.Second, true, "its owner extends it to 1m30s"},
		{expire, "b", 61 * time.Second, false, "a lease extended to 1m30s"},
		{idle, "a", 61 * time.Second, false, "the other name, b's until 1m30s"},
		{expire, "b", 90 * time.Second, true, "a lease expiring at now"},
		{expire, "a", 91 * time.Second, false, "a lease b took over"},
		{expire, "b", 91 * time.Second, true, "b's own lease"},
		{idle, "a", 3 * time.Minute, true, "the other name, expired"},
	}
	for _, st := range steps {
		if got := e.tryLease(st.name, st.owner, at(st.now), time.Minute); got != st.want {
			e.t.Errorf("at +%v %s TryLease(%s) = %v, want %v: %s", st.now, st.owner, st.name, got, st.want, st.why)
		}
	}
	for name, args := range map[string]struct {
		name, owner string
		ttl         time.Duration
	}{
		"no name":    {"", "a", time.Minute},
		"no owner":   {expire, "", time.Minute},
		"a zero ttl": {expire, "a", 0},
	} {
		if _, err := e.s.TryLease(e.ctx, args.name, args.owner, at(time.Hour), args.ttl); err == nil {
			e.t.Errorf("TryLease with %s succeeded, want an error", name)
		}
	}
}

// testConcurrentTryLease has several owners take one lease at the same
// moment, free and then expired: exactly one gets it each time.
func testConcurrentTryLease(e env) {
	const n = 8
	for round, now := range []time.Time{t0, at(time.Hour)} {
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			owners []string
		)
		for i := range n {
			owner := fmt.Sprintf("replica-%d", i)
			wg.Go(func() {
				<-start
				ok, err := e.s.TryLease(e.ctx, "timer:expire", owner, now, time.Minute)
				if err != nil {
					e.t.Errorf("round %d: TryLease %s: %v", round, owner, err)
					return
				}
				if ok {
					mu.Lock()
					owners = append(owners, owner)
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if len(owners) != 1 {
			e.t.Fatalf("round %d: %v took the lease, want exactly one owner", round, owners)
		}
		// The winner holds it; the others still do not.
		if !e.tryLease("timer:expire", owners[0], now.Add(time.Second), time.Minute) {
			e.t.Errorf("round %d: the winner %s does not hold the lease", round, owners[0])
		}
		if e.tryLease("timer:expire", "someone-else", now.Add(time.Second), time.Minute) {
			e.t.Errorf("round %d: another owner took the lease %s holds", round, owners[0])
		}
	}
}
