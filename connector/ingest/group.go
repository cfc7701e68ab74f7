package ingest

import (
	"context"
	"errors"
	"fmt"
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
// disk can do in a batch. A delivery that arrives while InFlight groups
// commit waits for the next group, which takes everything queued by then
// that it may (no timer: a lone delivery commits at once). Each delivery runs in a
// savepoint of its own (store.Batcher): one that fails is rolled back
// alone and never fails its neighbours, and each caller learns its own
// outcome only after the group's commit.
//
// With InFlight above 1, several groups are in flight at once
// (PostgreSQL runs them side by side), kept apart by the deliveries' keys
// (their contacts). A group takes, in the order they queued, the
// deliveries none of whose keys a group in flight holds, and holds their
// keys until it ends: two groups in flight never hold the same contact,
// so they never wait for each other's rows. A delivery left in the queue
// keeps back the later deliveries that share one of its keys, so one
// key's deliveries commit in the order they were queued; a delivery of
// several contacts (a Meta app may batch them) joins a group as any other
// does. A delivery that met store.ErrLockWait (a row another transaction
// held too long, see store.Batcher, such as another replica's) runs again
// alone once its group committed, before the group lets go of its keys.
type GroupCommitter struct {
	Store GroupStore
	// Size is the most deliveries in one group; DefaultGroupSize when 0.
	Size int
	// InFlight is how many groups may be in flight at once; 1 when 0.
	// With more than one, Do needs each delivery's keys.
	InFlight int
	// Observe, when set, is called after each group's transaction with
	// the number of deliveries it held and of those that met
	// store.ErrLockWait there (they run again alone), from the group's
	// goroutine.
	Observe func(deliveries, lockWaits int)

	mu       sync.Mutex
	queue    []*groupJob
	inFlight int             // groups in flight
	held     map[string]bool // the keys of the groups in flight
}

// GroupStore is what a GroupCommitter writes to: groups, and the
// transactions of the deliveries that run again alone.
type GroupStore interface {
	store.Batcher
	store.Transactor
}

type groupJob struct {
	ctx  context.Context
	keys []string
	fn   func(store.Tx) error
	done chan error
}

// Do runs fn in the next group that may take it, keys being the rows fn
// writes (its contacts), and returns once that group's transaction
// committed (nil: fn's writes are durable) or fn's own error, or the
// transaction's. With InFlight at most 1 the keys are not looked at.
func (g *GroupCommitter) Do(ctx context.Context, keys []string, fn func(store.Tx) error) error {
	j := &groupJob{ctx: ctx, keys: keys, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, j)
	g.start()
	g.mu.Unlock()
	// Waited for even when ctx ends: the group may commit fn's writes, and
	// the caller must not answer before it knows.
	return <-j.done
}

// Queued returns how many deliveries wait for a group to take them.
func (g *GroupCommitter) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// start starts groups while fewer than InFlight are in flight and the
// queue holds deliveries one may take; g.mu is held.
func (g *GroupCommitter) start() {
	for g.inFlight < max(g.InFlight, 1) {
		batch, keys := g.take()
		if len(batch) == 0 {
			return
		}
		g.inFlight++
		go g.run(batch, keys)
	}
}

// take removes the next group from the queue and holds its keys: up to
// Size deliveries, in the order they queued, none of whose keys a group
// in flight holds or a delivery left in the queue before it has. g.mu is
// held.
func (g *GroupCommitter) take() ([]*groupJob, []string) {
	size := g.Size
	if size <= 0 {
		size = DefaultGroupSize
	}
	if g.held == nil {
		g.held = map[string]bool{}
	}
	var batch []*groupJob
	var keys []string
	var left map[string]bool // the keys of the deliveries left in the queue
	rest := g.queue[:0]
	for _, j := range g.queue {
		if len(batch) < size && !g.keptBack(j, left) {
			batch = append(batch, j)
			keys = append(keys, j.keys...)
			continue
		}
		if len(batch) < size {
			for _, k := range j.keys {
				if g.held[k] {
					continue // keeps back the later deliveries anyway
				}
				if left == nil {
					left = map[string]bool{}
				}
				left[k] = true
			}
		}
		rest = append(rest, j)
	}
	clear(g.queue[len(rest):]) // no longer referenced from the array
	g.queue = rest
	for _, k := range keys {
		g.held[k] = true
	}
	return batch, keys
}

// keptBack reports whether one of j's keys is held, or left in the queue
// by an earlier delivery.
func (g *GroupCommitter) keptBack(j *groupJob, left map[string]bool) bool {
	for _, k := range j.keys {
		if g.held[k] || left[k] {
			return true
		}
	}
	return false
}

// run commits batch, then lets go of its keys and commits the next group
// while the queue holds one.
func (g *GroupCommitter) run(batch []*groupJob, keys []string) {
	for len(batch) > 0 {
		g.commit(batch)
		g.mu.Lock()
		for _, k := range keys {
			delete(g.held, k)
		}
		g.inFlight--
		// This goroutine's next group first, then any others the keys let
		// go of free.
		batch, keys = g.take()
		if len(batch) > 0 {
			g.inFlight++
		}
		g.start()
		g.mu.Unlock()
	}
}

// commit runs one group and answers its deliveries.
func (g *GroupCommitter) commit(batch []*groupJob) {
	var live []*groupJob
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- err // the client left before its turn: nothing stored
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
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
	if g.Observe != nil {
		g.Observe(len(live), len(locked))
	}
	// While the group holds their keys: a key's order holds.
	for _, j := range locked {
		j.done <- g.runAlone(j.ctx, j.fn)
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
