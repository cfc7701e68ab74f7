package dispatch

import (
	"testing"
	"time"

	"github.com/chatsync/sfconnector/sfclient"
)

// waitResult runs t.wait in a goroutine and returns its result channel.
func waitResult(tr *trigger, stop chan struct{}, window, poll time.Duration) <-chan bool {
	out := make(chan bool, 1)
	go func() { out <- tr.wait(stop, window, poll) }()
	return out
}

func TestTriggerGoesWhenACallIsFull(t *testing.T) {
	tr := newTrigger()
	// A worker went just now: no poll is due, whenever the wait starts.
	tr.lastGo = time.Now()
	stop := make(chan struct{})
	res := waitResult(tr, stop, time.Hour, time.Hour)
	tr.notify(sfclient.MaxCompositeRecords-1, time.Now())
	tr.notify(1, time.Now())
	if !<-res {
		t.Fatal("wait returned false")
	}
	if tr.pending != 0 {
		t.Errorf("pending = %d after a worker went, want 0", tr.pending)
	}
}

func TestTriggerGoesOnWake(t *testing.T) {
	tr := newTrigger()
	stop := make(chan struct{})
	res := waitResult(tr, stop, time.Hour, time.Hour)
	tr.wake()
	if !<-res {
		t.Fatal("wait returned false")
	}
}

func TestTriggerGoesAfterTheWindow(t *testing.T) {
	tr := newTrigger()
	stop := make(chan struct{})
	// The first record was notified a window ago: go.
	tr.notify(1, time.Now().Add(-time.Minute))
	if !<-waitResult(tr, stop, time.Minute, time.Hour) {
		t.Fatal("wait returned false")
	}
}

// A record notified just now, with a long window and no poll due, does not
// make a worker go: stopping it is what ends the wait.
func TestTriggerHoldsWithinTheWindow(t *testing.T) {
	tr := newTrigger()
	stop := make(chan struct{})
	tr.notify(1, time.Now())
	res := waitResult(tr, stop, time.Hour, time.Hour)
	tr.notify(1, time.Now()) // wakes the waiter, which looks and waits on
	close(stop)
	if <-res {
		t.Fatal("wait went within the window with two records")
	}
	if tr.pending != 2 {
		t.Errorf("pending = %d, want 2 kept for the next worker", tr.pending)
	}
}

func TestTriggerPolls(t *testing.T) {
	tr := newTrigger()
	if !<-waitResult(tr, make(chan struct{}), time.Hour, time.Millisecond) {
		t.Fatal("an idle wait must end at the poll interval")
	}
}
