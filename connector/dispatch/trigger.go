package dispatch

import (
	"context"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/sfclient"
)

// trigger decides when an idle worker claims. Commits notify it of the
// records they left in the outboxes; a worker claims when a full call's
// worth (sfclient.MaxCompositeRecords) is waiting, when the batch window
// has passed since the first record it has not claimed yet, at once after
// a Wake, and otherwise when no worker went for a poll interval (due
// retries, leases of a process that died). The records a worker goes for are taken off the
// count as it goes, so that the next worker waits for new ones.
type trigger struct {
	mu      sync.Mutex
	pending int       // records notified since the last worker went
	first   time.Time // when the first of them was notified
	now     bool      // a Wake: go at once
	lastGo  time.Time // when a worker last went
	changed chan struct{}
}

func newTrigger() *trigger { return &trigger{changed: make(chan struct{})} }

// signal wakes every waiting worker to look at the state again. The
// caller holds t.mu.
func (t *trigger) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *trigger) notify(records int, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == 0 {
		t.first = at
	}
	t.pending += max(records, 1)
	t.signal()
}

func (t *trigger) wake() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = true
	t.signal()
}

// wait blocks until the worker should claim (true) or stop is closed
// (false).
func (t *trigger) wait(stop <-chan struct{}, window, poll time.Duration) bool {
	for {
		t.mu.Lock()
		now := time.Now()
		// The poll is due a poll interval after any worker last went.
		deadline := t.lastGo.Add(poll)
		// Records waiting have their window; the poll is for when none
		// were notified (due retries, another replica's expired leases).
		goNow := t.now || t.pending >= sfclient.MaxCompositeRecords ||
			(t.pending > 0 && !now.Before(t.first.Add(window))) ||
			(t.pending == 0 && !now.Before(deadline))
		if goNow {
			t.now, t.pending, t.first, t.lastGo = false, 0, time.Time{}, now
			t.mu.Unlock()
			return true
		}
		until := deadline
		if t.pending > 0 {
			until = t.first.Add(window)
		}
		changed := t.changed
		t.mu.Unlock()

		timer := time.NewTimer(time.Until(until))
		select {
		case <-stop:
			timer.Stop()
			return false
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// orgSlots bounds the calls in flight to each org.
type orgSlots struct {
	n  int
	mu sync.Mutex
	by map[string]chan struct{}
}

func newOrgSlots(n int) *orgSlots { return &orgSlots{n: n, by: map[string]chan struct{}{}} }

// acquire takes one of org's slots, waiting for one to be free, and
// returns its release.
func (s *orgSlots) acquire(ctx context.Context, org string) (func(), error) {
	s.mu.Lock()
	ch, ok := s.by[org]
	if !ok {
		ch = make(chan struct{}, s.n)
		s.by[org] = ch
	}
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
