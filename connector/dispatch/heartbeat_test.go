package dispatch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
)

// slowSF blocks every call until release is closed.
type slowSF struct {
	*fakeSF
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slowSF) UpsertComposite(ctx context.Context, cols []sfclient.Collection) ([]sfclient.CollectionResult, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return s.fakeSF.UpsertComposite(ctx, cols)
}

// renewWatch is a store that reports the times its leases were renewed at.
type renewWatch struct {
	store.Store
	renewed chan time.Time
}

func (r *renewWatch) RenewLeases(ctx context.Context, ls []store.Lease, now time.Time, ttl time.Duration) ([]int64, error) {
	lost, err := r.Store.RenewLeases(ctx, ls, now, ttl)
	if err == nil {
		select {
		case r.renewed <- now:
		default:
		}
	}
	return lost, err
}

// A round whose call outlasts the lease keeps its conversations: the
// heartbeat renews the leases, no other worker takes them, and the round
// settles its outcome.
func TestHeartbeatKeepsLeasesOfALongCall(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	now := e.now
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	slow := &slowSF{fakeSF: e.sf, entered: make(chan struct{}), release: make(chan struct{})}
	watch := &renewWatch{Store: e.st, renewed: make(chan time.Time, 1)}
	cfg := e.d.cfg
	cfg.LeaseTTL = 90 * time.Millisecond
	d := New(cfg, watch, orgs{&Org{Key: "00D000000000001", Client: slow, Mapping: e.d.orgs.(orgs).org.Mapping}}, e.d.metrics, e.d.log)
	d.Now = clock
	e.send("u1", "a")

	done := make(chan error, 1)
	go func() { _, err := d.RunOnce(context.Background(), "slow"); done <- err }()
	<-slow.entered
	// Long past the claim's lease: only a renewal keeps it.
	later := now.Add(10 * time.Minute)
	mu.Lock()
	now = later
	mu.Unlock()
	for at := range watch.renewed {
		if !at.Before(later) {
			break
		}
	}
	ws, err := e.st.Claim(context.Background(), store.ClaimParams{Owner: "other", Now: later.Add(10 * time.Millisecond), LeaseTTL: time.Minute})
	if err != nil || len(ws) != 0 {
		t.Fatalf("another worker claimed a conversation whose lease is renewed: %v %v", ws, err)
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("round: %v", err)
	}
	if s := e.stats(); s[store.Pushed] != 1 {
		t.Fatalf("stats %v", s)
	}
}
