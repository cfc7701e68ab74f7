package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// groupWatch is a store that counts group transactions and says when each
// one has committed; the first group waits for release before it runs, so
// that the deliveries sent meanwhile queue up for the next one.
type groupWatch struct {
	store.Store
	release   chan struct{}
	once      sync.Once
	groups    atomic.Int32
	committed atomic.Int32 // deliveries committed so far
}

func (g *groupWatch) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	g.once.Do(func() { <-g.release })
	errs, err := g.Store.WithTxBatch(ctx, fns)
	g.groups.Add(1)
	if err == nil {
		g.committed.Add(int32(len(fns)))
	}
	return errs, err
}

// Concurrent deliveries share group commits; none is answered before the
// commit that holds it, and one that fails fails alone.
func TestGroupCommit(t *testing.T) {
	st := newStore(t)
	watch := &groupWatch{Store: st, release: make(chan struct{})}
	in := &ingest.Ingester{Store: st, Group: &ingest.GroupCommitter{Store: watch}, Now: func() time.Time { return t0 }}
	ch := ingest.Channel{Tenant: "acme", ID: "wa", OrgID: "00D000000000001", Excluded: statemachine.DefaultExcluded()}

	const n = 20
	type answer struct {
		i         int
		err       error
		committed int32
	}
	answers := make(chan answer, n+1)
	deliver := func(i int, ev platform.Event) {
		_, err := in.Ingest(context.Background(), ch, []platform.Event{ev})
		answers <- answer{i, err, watch.committed.Load()}
	}
	// The first delivery holds the first group until release.
	go deliver(0, msg("m0", "c0", "first"))
	for i := 1; i < n; i++ {
		go deliver(i, msg(fmt.Sprint("m", i), fmt.Sprint("c", i), "hello"))
	}
	// A delivery whose event cannot be stored: a message without an id.
	go deliver(n, platform.Event{Kind: platform.KindMessage, Contact: "bad", Timestamp: t0, Message: &platform.Message{Kind: platform.Text, Text: "x"}})
	close(watch.release)

	failed := 0
	for range n + 1 {
		a := <-answers
		if a.committed == 0 {
			t.Errorf("delivery %d was answered before any commit", a.i)
		}
		if a.err != nil {
			failed++
			if a.i != n {
				t.Errorf("delivery %d failed: %v", a.i, a.err)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d deliveries failed, want 1 (the bad one)", failed)
	}
	if g := watch.groups.Load(); g >= n {
		t.Errorf("%d groups for %d concurrent deliveries: no grouping", g, n+1)
	}
	stats, err := st.Stats(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages[store.Pending] != n {
		t.Errorf("%d messages stored, want %d (the bad delivery stores nothing)", stats.Messages[store.Pending], n)
	}
	cs, err := st.ListContacts(context.Background(), store.ContactFilter{Tenant: "acme", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ExternalID == "bad" {
			t.Errorf("the failed delivery's contact was kept: its savepoint must be rolled back")
		}
	}
}

// A delivery whose client left before its group ran is not stored.
func TestGroupCommitSkipsCancelledDeliveries(t *testing.T) {
	st := newStore(t)
	g := &ingest.GroupCommitter{Store: st}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := g.Do(ctx, []string{"gone"}, func(tx store.Tx) error {
		_, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: "gone"}, "", t0)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with a cancelled context: %v", err)
	}
	cs, _ := st.ListContacts(context.Background(), store.ContactFilter{Tenant: "acme"})
	if len(cs) != 0 {
		t.Fatalf("contacts stored: %v", cs)
	}
}

// settingsCount is a store whose group transactions count the settings
// their deliveries read; the first group waits for release, as groupWatch's.
type settingsCount struct {
	store.Store
	release chan struct{}
	once    sync.Once
	groups  atomic.Int32
	reads   atomic.Int32
	held    atomic.Int32 // deliveries in the held first group
}

type settingsTx struct {
	store.Tx
	reads *atomic.Int32
}

func (c settingsTx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	c.reads.Add(1)
	return c.Tx.GetSetting(ctx, scope, key)
}

func (c settingsTx) GetSettings(ctx context.Context, keys []store.SettingKey) (map[store.SettingKey]store.Setting, error) {
	c.reads.Add(int32(len(keys)))
	return c.Tx.GetSettings(ctx, keys)
}

func (s *settingsCount) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	s.once.Do(func() {
		s.held.Store(int32(len(fns)))
		<-s.release
	})
	s.groups.Add(1)
	wrapped := make([]func(store.Tx) error, len(fns))
	for i, fn := range fns {
		wrapped[i] = func(tx store.Tx) error { return fn(settingsTx{Tx: tx, reads: &s.reads}) }
	}
	return s.Store.WithTxBatch(ctx, wrapped)
}

// The deliveries of a group read each setting once, and a group sees the
// settings as the groups before it left them.
func TestGroupCommitReadsSettingsOncePerGroup(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	count := &settingsCount{Store: st, release: make(chan struct{})}
	in := &ingest.Ingester{Store: st, Group: &ingest.GroupCommitter{Store: count}, Now: func() time.Time { return t0 }}
	ch := ingest.Channel{Tenant: "acme", ID: "wa", OrgID: "00D000000000001", Excluded: statemachine.DefaultExcluded()}

	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := in.Ingest(ctx, ch, []platform.Event{msg(fmt.Sprint("m", i), fmt.Sprint("c", i), "hello")})
			errs <- err
		}()
	}
	// Let every other delivery queue up behind the held first group.
	for int(count.held.Load())+in.Group.Queued() < n && len(errs) == 0 {
		runtime.Gosched()
	}
	close(count.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	groups, reads := count.groups.Load(), count.reads.Load()
	if groups > 2 {
		t.Fatalf("%d groups for %d deliveries, all but the first group's queued behind it: want 1 or 2", groups, n)
	}
	// Two settings per delivery: the org's excluded states and the tenant's
	// opt-out keywords.
	if reads > 2*groups {
		t.Errorf("%d settings read in %d groups of %d deliveries: want at most 2 a group", reads, groups, n)
	}

	// A setting changed between groups holds for the next one.
	err := st.WithTx(ctx, func(tx store.Tx) error {
		return tx.PutSetting(ctx, store.Setting{Scope: ingest.OrgScope(ch.OrgID), Key: ingest.SettingExcludedStates,
			Value: "OPEN", UpdatedBy: "test", UpdatedAt: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Ingest(ctx, ch, []platform.Event{msg("after", "c-after", "hello")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Excluded != 1 || res.Pending != 0 {
		t.Errorf("after excluding OPEN: %d excluded, %d pending; want the message excluded", res.Excluded, res.Pending)
	}
}

// groupLog is a store whose first group waits for release, and which
// records, in order, the groups committed and the transactions of
// deliveries run alone.
type groupLog struct {
	store.Store
	release chan struct{}
	holding chan struct{} // closed once the first group waits
	first   atomic.Bool   // set by the first group (sync.Once would hold the others too)
	mu      sync.Mutex
	events  []string
}

func (s *groupLog) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	if s.first.CompareAndSwap(false, true) {
		close(s.holding)
		<-s.release
	}
	errs, err := s.Store.WithTxBatch(ctx, fns)
	s.record(fmt.Sprintf("group of %d", len(fns)))
	return errs, err
}

func (s *groupLog) WithTx(ctx context.Context, fn func(store.Tx) error) error {
	err := s.Store.WithTx(ctx, fn)
	s.record("alone")
	return err
}

func (s *groupLog) record(e string) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *groupLog) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// With several groups in flight, a group in flight does not hold back
// deliveries of other keys; one key's deliveries wait for its group.
func TestGroupsInFlightRunSideBySide(t *testing.T) {
	st := newStore(t)
	watch := &groupLog{Store: st, release: make(chan struct{}), holding: make(chan struct{})}
	g := &ingest.GroupCommitter{Store: watch, InFlight: 4}
	ctx := context.Background()
	upsert := func(id string) func(store.Tx) error {
		return func(tx store.Tx) error {
			_, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: id}, "", t0)
			return err
		}
	}
	done := make(chan string, 64)
	do := func(key, id string) {
		if err := g.Do(ctx, []string{key}, upsert(id)); err != nil {
			t.Errorf("Do(%s): %v", id, err)
		}
		done <- id
	}
	go do("k", "first")
	<-watch.holding
	// The same key queues behind the held group; twenty other keys
	// commit meanwhile.
	go do("k", "second")
	for i := range 20 {
		go do(fmt.Sprint("other", i), fmt.Sprint("other", i))
	}
	deadline := time.After(20 * time.Second)
	select {
	case id := <-done:
		if id == "first" || id == "second" {
			t.Fatalf("%s answered while the first group was held", id)
		}
	case <-deadline:
		t.Fatal("no delivery of another key committed while one key's group was held")
	}
	close(watch.release)
	got := map[string]bool{}
	for len(got) < 21 {
		select {
		case id := <-done:
			got[id] = true
		case <-deadline:
			t.Fatalf("answered: %v", got)
		}
	}
	wantContacts(t, st, 22)
}

// A delivery of several keys waits while a group in flight holds one of
// them, and keeps back the later deliveries of its other keys; deliveries
// of other keys commit meanwhile. Once the held group ends, the waiting
// deliveries commit in one group, in the order they queued.
func TestGroupKeepsADeliveryOfAHeldKeyInOrder(t *testing.T) {
	st := newStore(t)
	watch := &groupLog{Store: st, release: make(chan struct{}), holding: make(chan struct{})}
	g := &ingest.GroupCommitter{Store: watch, InFlight: 4}
	ctx := context.Background()
	var mu sync.Mutex
	var ran []string // the deliveries, in the order their writes ran
	upsert := func(name string, ids ...string) func(store.Tx) error {
		return func(tx store.Tx) error {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			for _, id := range ids {
				if _, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: id}, "", t0); err != nil {
					return err
				}
			}
			return nil
		}
	}
	done := make(chan string, 4)
	do := func(name string, keys ...string) {
		if err := g.Do(ctx, keys, upsert(name, keys...)); err != nil {
			t.Errorf("Do(%s): %v", name, err)
		}
		done <- name
	}
	go do("first", "k")
	<-watch.holding
	go do("across", "k", "other")
	for g.Queued() < 1 {
		runtime.Gosched()
	}
	go do("later", "other") // behind across, whose key "k" is held
	for g.Queued() < 2 {
		runtime.Gosched()
	}
	go do("third", "third")
	if got := <-done; got != "third" {
		t.Fatalf("%s answered while the first group was held; want the third key's group first", got)
	}
	if log := watch.log(); !slices.Equal(log, []string{"group of 1"}) {
		t.Fatalf("transactions while the first group is held: %v, want the third key's group only", log)
	}
	close(watch.release)
	for range 3 {
		<-done
	}
	if want := []string{"group of 1", "group of 1", "group of 2"}; !slices.Equal(watch.log(), want) {
		t.Errorf("transactions %v, want %v", watch.log(), want)
	}
	if want := []string{"third", "first", "across", "later"}; !slices.Equal(ran, want) {
		t.Errorf("deliveries ran in the order %v, want %v", ran, want)
	}
	wantContacts(t, st, 3)
}

// holdGroups is a store whose groups wait for release, counting the
// groups waiting and the deliveries they hold.
type holdGroups struct {
	store.Store
	release    chan struct{}
	waiting    atomic.Int32
	deliveries atomic.Int32
}

func (h *holdGroups) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	h.deliveries.Add(int32(len(fns)))
	h.waiting.Add(1)
	<-h.release
	return h.Store.WithTxBatch(ctx, fns)
}

// No more than InFlight groups are in flight: the other deliveries queue,
// even of keys no group holds.
func TestGroupsInFlightAreBounded(t *testing.T) {
	st := newStore(t)
	hold := &holdGroups{Store: st, release: make(chan struct{})}
	g := &ingest.GroupCommitter{Store: hold, InFlight: 2}
	ctx := context.Background()
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- g.Do(ctx, []string{fmt.Sprint("k", i)}, func(tx store.Tx) error {
				_, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: fmt.Sprint("c", i)}, "", t0)
				return err
			})
		}()
	}
	// Every delivery is in a held group or queued.
	for int(hold.deliveries.Load())+g.Queued() < n || hold.waiting.Load() < 2 {
		runtime.Gosched()
	}
	if w, q := hold.waiting.Load(), g.Queued(); w != 2 || q == 0 {
		t.Errorf("%d groups in flight, %d deliveries queued: want 2 in flight and the rest queued", w, q)
	}
	close(hold.release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wantContacts(t, st, n)
}

// A delivery that waited too long for a row in its group (store.ErrLockWait)
// runs again alone once its group committed; its neighbours commit with
// the group and do not run alone.
func TestGroupRunsALockedDeliveryAlone(t *testing.T) {
	st := newStore(t)
	var inGroup atomic.Bool
	watch := &groupLog{Store: flagGroups{Store: st, flag: &inGroup}, release: make(chan struct{}), holding: make(chan struct{})}
	var observed [][2]int // deliveries and lock waits of each group
	g := &ingest.GroupCommitter{Store: watch, Observe: func(n, waits int) { observed = append(observed, [2]int{n, waits}) }}
	ctx := context.Background()
	upsert := func(id string) func(store.Tx) error {
		return func(tx store.Tx) error {
			_, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "acme", Channel: "wa", ExternalID: id}, "", t0)
			return err
		}
	}
	// The neighbour is answered before the locked delivery runs again:
	// its caller does not wait for a row it never needed.
	neighbourAnswered := make(chan struct{})
	// As a row another transaction holds would make it in any group.
	locked := func(tx store.Tx) error {
		if inGroup.Load() {
			return fmt.Errorf("upsert contact: %w", store.ErrLockWait)
		}
		select {
		case <-neighbourAnswered:
		case <-time.After(10 * time.Second):
			return errors.New("ran alone before its group's neighbour was answered")
		}
		return upsert("locked")(tx)
	}
	errs := make(chan error, 3)
	go func() { errs <- g.Do(ctx, []string{"k"}, upsert("first")) }()
	<-watch.holding
	go func() { errs <- g.Do(ctx, []string{"k"}, locked) }()
	go func() {
		err := g.Do(ctx, []string{"k"}, upsert("neighbour"))
		close(neighbourAnswered)
		errs <- err
	}()
	for g.Queued() < 2 {
		runtime.Gosched()
	}
	close(watch.release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("a delivery failed: %v", err)
		}
	}
	if want := []string{"group of 1", "group of 2", "alone"}; !slices.Equal(watch.log(), want) {
		t.Errorf("transactions %v, want %v", watch.log(), want)
	}
	// Observed before the locked delivery ran alone, which answered last.
	if want := [][2]int{{1, 0}, {2, 1}}; !slices.Equal(observed, want) {
		t.Errorf("observed groups (deliveries, lock waits) %v, want %v", observed, want)
	}
	wantContacts(t, st, 3) // first, locked, neighbour
}

// flagGroups sets flag while a batch runs.
type flagGroups struct {
	store.Store
	flag *atomic.Bool
}

func (f flagGroups) WithTxBatch(ctx context.Context, fns []func(store.Tx) error) ([]error, error) {
	f.flag.Store(true)
	defer f.flag.Store(false)
	return f.Store.WithTxBatch(ctx, fns)
}

// wantContacts fails t unless st holds n contacts of the tenant acme.
func wantContacts(t *testing.T, st store.Store, n int) {
	t.Helper()
	cs, err := st.ListContacts(context.Background(), store.ContactFilter{Tenant: "acme", Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != n {
		t.Errorf("%d contacts stored, want %d", len(cs), n)
	}
}
