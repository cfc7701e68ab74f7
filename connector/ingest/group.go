package ingest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// DefaultGroupSize is the most deliveries one group commit holds.
const DefaultGroupSize = 256

// groupTimeout bounds one group's transaction.
const groupTimeout = 30 * time.Second

// GroupCommitter makes concurrent deliveries share one transaction, and so
// one commit and one fsync: the SQLite store's writer does one thing at a
// time, and an fsync per delivery bounds ingestion far below what the
// disk can do in a batch. A delivery that arrives while a group commits
// waits for the next group, which takes everything queued by then (no
// timer: a lone delivery commits at once). Each delivery runs in a
// savepoint of its own (store.Batcher): one that fails is rolled back
// alone and never fails its neighbours, and each caller learns its own
// outcome only after the group's commit.
//
// With Shards above 1, several groups are in flight at once, one per
// shard, and a delivery's keys (its contacts) name its shard: two groups
// in flight never hold the same contact, and one key's deliveries commit
// in the order they were queued. PostgreSQL runs them side by side. A
// delivery whose keys fall in several shards (a delivery with messages of
// several contacts) runs alone, in a transaction of its own, while no
// group of those shards is in flight: otherwise it would hold rows that
// another shard's group needs, and wait for rows that group holds. It
// does not queue, so it may commit before a delivery of one of its
// contacts queued earlier and not yet answered. A
// delivery that met store.ErrLockWait (a row another transaction held
// too long, see store.Batcher, such as another replica's) runs again
// alone once its group committed.
type GroupCommitter struct {
	Store GroupStore
	// Size is the most deliveries in one group; DefaultGroupSize when 0.
	Size int
	// Shards is how many groups may be in flight at once; 1 when 0.
	Shards int

	mu     sync.Mutex
	shards []groupShard // made at the first delivery
}

// GroupStore is what a GroupCommitter writes to: groups, and the
// transactions of the deliveries that run again alone.
type GroupStore interface {
	store.Batcher
	store.Transactor
}

// groupShard is one shard's queue; running is true while a goroutine
// commits its groups. busy is held while one of its groups is in flight,
// and by a delivery of several shards while it runs; a delivery takes
// the busy locks of its shards in their order.
type groupShard struct {
	queue   []*groupJob
	running bool
	busy    sync.Mutex
}

type groupJob struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

// Do runs fn in the next group of the shard of keys, the rows fn writes
// (its contacts), and returns once that group's transaction committed
// (nil: fn's writes are durable) or fn's own error, or the transaction's.
// With one shard the keys are not looked at; when they fall in several
// shards, fn runs alone while those shards wait.
func (g *GroupCommitter) Do(ctx context.Context, keys []string, fn func(store.Tx) error) error {
	g.mu.Lock()
	idx := g.shardsOf(keys)
	if len(idx) > 1 {
		g.mu.Unlock()
		return g.across(ctx, idx, fn)
	}
	j := &groupJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	sh := &g.shards[idx[0]]
	sh.queue = append(sh.queue, j)
	if !sh.running {
		sh.running = true
		go g.run(sh)
	}
	g.mu.Unlock()
	// Waited for even when ctx ends: the group may commit fn's writes, and
	// the caller must not answer before it knows.
	return <-j.done
}

// shardsOf returns the shards of keys in ascending order, without
// repeats: shard 0 when there is one shard or no key. It makes the shards
// at the first delivery; g.mu is held.
func (g *GroupCommitter) shardsOf(keys []string) []int {
	if g.shards == nil {
		g.shards = make([]groupShard, max(g.Shards, 1))
	}
	if len(g.shards) == 1 || len(keys) == 0 {
		return []int{0}
	}
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		h := fnv.New32a()
		h.Write([]byte(k))
		idx = append(idx, int(h.Sum32()%uint32(len(g.shards))))
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// across runs fn alone while the shards idx (ascending) have no group in
// flight, and keeps them from starting one until it ends. Taking the
// shards' busy locks in ascending order, two such deliveries never wait
// for each other in a cycle; a group holds one only.
func (g *GroupCommitter) across(ctx context.Context, idx []int, fn func(store.Tx) error) error {
	for _, i := range idx {
		g.shards[i].busy.Lock()
	}
	defer func() {
		for _, i := range idx {
			g.shards[i].busy.Unlock()
		}
	}()
	return g.runAlone(ctx, fn)
}

// Queued returns how many deliveries wait for a group to take them.
func (g *GroupCommitter) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for i := range g.shards {
		n += len(g.shards[i].queue)
	}
	return n
}

// run commits sh's groups until its queue is empty.
func (g *GroupCommitter) run(sh *groupShard) {
	size := g.Size
	if size <= 0 {
		size = DefaultGroupSize
	}
	for {
		g.mu.Lock()
		n := min(len(sh.queue), size)
		if n == 0 {
			sh.running = false
			g.mu.Unlock()
			return
		}
		batch := sh.queue[:n:n]
		sh.queue = sh.queue[n:]
		g.mu.Unlock()

		var live []*groupJob
		for _, j := range batch {
			if err := j.ctx.Err(); err != nil {
				j.done <- err // the client left before its turn: nothing stored
				continue
			}
			live = append(live, j)
		}
		if len(live) == 0 {
			continue
		}
		sh.busy.Lock()
		fns := make([]func(store.Tx) error, len(live))
		settings := map[[2]string]settingRead{}
		for i, j := range live {
			fns[i] = func(tx store.Tx) error { return j.fn(groupTx{Tx: tx, settings: settings}) }
		}
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		errs, err := g.Store.WithTxBatch(ctx, fns)
		cancel()
		var locked []*groupJob
		for i, j := range live {
			switch {
			case err != nil:
				j.done <- err
			case errors.Is(errs[i], store.ErrLockWait):
				locked = append(locked, j)
			default:
				j.done <- errs[i]
			}
		}
		// Before the shard's next group: the key's order holds.
		for _, j := range locked {
			j.done <- g.runAlone(j.ctx, j.fn)
		}
		sh.busy.Unlock()
	}
}

// runAlone runs fn in a transaction of its own unless the caller (ctx)
// left: a delivery that met a lock in its group waits there for the rows
// the group could not take. Like a group's, the transaction does not end
// with ctx.
func (g *GroupCommitter) runAlone(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err // the client left: nothing stored
	}
	tctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	return g.Store.WithTx(tctx, fn)
}

// groupTx is a group's transaction as each of its deliveries sees it: a
// setting is read once per group. Ingestion never writes settings, so a
// value one delivery read holds for every delivery of the group, which
// share the transaction (and see what an earlier group committed).
type groupTx struct {
	store.Tx
	settings map[[2]string]settingRead // only the group's goroutine uses it
}

type settingRead struct {
	s   store.Setting
	err error
}

// GetSettings returns the settings as the group first read them, reading
// in one statement those it has not read yet.
func (t groupTx) GetSettings(ctx context.Context, keys []store.SettingKey) (map[store.SettingKey]store.Setting, error) {
	got := make(map[store.SettingKey]store.Setting, len(keys))
	var unread []store.SettingKey
	for _, k := range keys {
		r, ok := t.settings[[2]string{k.Scope, k.Key}]
		switch {
		case !ok || (r.err != nil && !errors.Is(r.err, store.ErrNotFound)):
			unread = append(unread, k)
		case r.err == nil:
			got[k] = r.s
		}
	}
	if len(unread) == 0 {
		return got, nil
	}
	read, err := t.Tx.GetSettings(ctx, unread)
	if err != nil {
		return nil, err
	}
	for _, k := range unread {
		s, ok := read[k]
		if ok {
			got[k] = s
			t.settings[[2]string{k.Scope, k.Key}] = settingRead{s: s}
		} else {
			t.settings[[2]string{k.Scope, k.Key}] = settingRead{err: notSet(k)}
		}
	}
	return got, nil
}

// notSet is GetSetting's error for a setting that GetSettings found
// unset. Every delivery meets it for each setting left at the
// configuration's value: its text is made only when read.
func notSet(k store.SettingKey) error { return notSetError{k} }

type notSetError struct{ k store.SettingKey }

func (e notSetError) Error() string {
	return fmt.Sprintf("get setting %s %s: %v", e.k.Scope, e.k.Key, store.ErrNotFound)
}

func (e notSetError) Unwrap() error { return store.ErrNotFound }

// GetSetting returns the setting as the group first read it.
func (t groupTx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	k := [2]string{scope, key}
	if r, ok := t.settings[k]; ok {
		return r.s, r.err
	}
	s, err := t.Tx.GetSetting(ctx, scope, key)
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.settings[k] = settingRead{s: s, err: err}
	}
	return s, err
}
