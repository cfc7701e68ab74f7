// Package media moves the media of inbound messages (photos, voice
// notes, documents) from the platforms to Salesforce Files.
//
// Ingestion records a media item, pending, in the transaction that
// stores its message (skipped when the message is excluded or its contact
// blocked: never fetched). The Worker, woken by the commit and by its own
// timer, then:
//
//  1. fetches the item with the channel adapter's platform.MediaFetcher,
//     within the tenant's size limit, keeps the bytes durably (Bytes: the
//     spool directory on SQLite, the database on PostgreSQL) with their
//     SHA-256, and records the item fetched. Too large or gone from the
//     platform fails the item for good with the reason; other failures
//     are retried with backoff.
//  2. once the message record is in Salesforce (its id is what the File
//     is published to), checks the bytes against their SHA-256, looks the
//     File up by its key (Salesforce's ContentVersion field
//     mapping.file_key holds the message's key) and creates it only when
//     there is none (FirstPublishLocationId: the message record), writes
//     the File's ContentDocument id on the message record
//     (mapping.message.media_file_id), and records the item uploaded,
//     dropping the bytes (or keeping them for Config.Retention).
//
// Each step is idempotent, so a crash anywhere repeats at most the step
// it interrupted: a download is done again; an upload finds the File a
// crashed run created by its key and creates no second one (a unique key
// field: a second insert with the same key is refused by Salesforce with
// DUPLICATE_VALUE, which also reads as "the File exists").
//
// A permanent failure (the platform's or Salesforce's) leaves the item
// failed with its reason: listed with the dead letters and replayable.
package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/dispatch"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
)

// Files is what the worker needs of an org's Salesforce client
// (*sfclient.Client).
type Files interface {
	FindFile(ctx context.Context, keyField, key string) (sfclient.File, bool, error)
	CreateFile(ctx context.Context, f sfclient.NewFile, multipartAbove int) (string, error)
	Update(ctx context.Context, object, id string, fields sfclient.Record) error
}

// Org is where a tenant's Files go.
type Org struct {
	Client Files
	// MessageObject and FileIDField: the message object and its field
	// that gets the File's ContentDocument id.
	MessageObject string
	FileIDField   string
	// KeyField is the ContentVersion field holding the message's key.
	KeyField string
}

// Resolver finds what the worker needs for an item's tenant and channel.
type Resolver interface {
	// Fetcher returns the channel's media fetcher; false when the channel
	// (no longer) downloads media.
	Fetcher(tenant, channel string) (platform.MediaFetcher, bool)
	// Org returns the tenant's org.
	Org(tenant string) (Org, bool)
	// Limit is the tenant's largest media item, in bytes.
	Limit(tenant string) int64
}

// Config tunes the worker.
type Config struct {
	// Workers is how many items are in flight at once.
	Workers int
	// MaxAttempts is how many times a step is tried before the item fails.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the wait between tries.
	BackoffMin, BackoffMax time.Duration
	// PollInterval is how often the worker looks for due work unwoken.
	PollInterval time.Duration
	// LeaseTTL is how long a claim holds an item from other workers
	// (other replicas) without a renewal; the worker renews the holds of
	// its items in flight every third of it (a heartbeat), so a slow
	// download keeps its item however long it takes, while an item in
	// flight when its process dies is taken again once LeaseTTL passes
	// (or at once when a SQLite owner restarts, see
	// sqlite.Store.TakeBackLeases). Default 30s.
	LeaseTTL time.Duration
	// Owner names this process in its claims. Default "<host>:<pid>".
	Owner string
	// RequestTimeout bounds one download or one Salesforce step.
	RequestTimeout time.Duration
	// MultipartAbove: larger items go to Salesforce as multipart.
	MultipartAbove int
	// Retention keeps the bytes after the upload; 0 drops them at once.
	Retention time.Duration
}

// FaultEnv names the environment variable that makes the process kill
// itself (SIGKILL) at a point of an item's journey, for the crash tests
// only: "after-fetch" (the bytes kept and the item recorded fetched,
// before any upload), "after-upload" (Salesforce has the File, the store
// does not know yet). Never set it in production.
const FaultEnv = "CONNECTOR_TEST_MEDIA_FAULT"

// Worker fetches and uploads media items.
type Worker struct {
	Store    store.MediaStore
	Bytes    Bytes
	Resolver Resolver
	Config   Config
	Log      zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Spool, when set, is swept of the files of deleted items.
	Spool *Spool
	// Count, when set, counts each step's outcome by tenant: "fetched",
	// "uploaded", "retried", "failed", "skipped", and "hold_lost" (an item
	// in flight that another claimer took, stopped).
	Count func(tenant, outcome string)

	wake   chan struct{}
	sweep  atomic.Bool
	cancel context.CancelFunc
	done   chan struct{}
	fault  string
	once   sync.Once
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.wake = make(chan struct{}, 1)
		w.fault = os.Getenv(FaultEnv)
		c := &w.Config
		if c.Workers <= 0 {
			c.Workers = 2
		}
		if c.MaxAttempts <= 0 {
			c.MaxAttempts = 10
		}
		if c.BackoffMin <= 0 {
			c.BackoffMin = time.Second
		}
		if c.BackoffMax < c.BackoffMin {
			c.BackoffMax = c.BackoffMin
		}
		if c.PollInterval <= 0 {
			c.PollInterval = 2 * time.Second
		}
		if c.RequestTimeout <= 0 {
			c.RequestTimeout = 2 * time.Minute
		}
		if c.LeaseTTL <= 0 {
			c.LeaseTTL = DefaultLeaseTTL
		}
		if c.Owner == "" {
			host, _ := os.Hostname()
			c.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
		}
	})
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

// Wake makes the worker look for work now (a message with media was
// stored, a message record pushed, a replay). It never blocks.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// SweepSoon makes the worker sweep the spool at its next turn (a
// delete-all removed items whose bytes it keeps). It never blocks.
func (w *Worker) SweepSoon() {
	w.init()
	w.sweep.Store(true)
	w.Wake()
}

// Start runs the worker until Stop.
func (w *Worker) Start(ctx context.Context) error {
	w.init()
	if w.Store == nil || w.Bytes == nil || w.Resolver == nil {
		return errors.New("media worker: Store, Bytes and Resolver are required")
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		w.run(rctx)
	}()
	return nil
}

// Stop ends the worker, waiting for the items in flight (their steps are
// idempotent: one cut short by ctx is done again later).
func (w *Worker) Stop(ctx context.Context) error {
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("media worker: %w", ctx.Err())
	}
}

// sweepEvery is how many rounds pass between two sweeps of the spool.
const sweepEvery = 30

func (w *Worker) run(ctx context.Context) {
	t := time.NewTicker(w.Config.PollInterval)
	defer t.Stop()
	rounds := 0
	for {
		for {
			n, err := w.Round(ctx)
			if err != nil && ctx.Err() == nil {
				w.Log.Error().Err(err).Msg("media worker: round failed; retrying at the next tick")
			}
			if n == 0 || err != nil || ctx.Err() != nil {
				break
			}
		}
		if (w.sweep.Swap(false) || rounds%sweepEvery == 0) && ctx.Err() == nil {
			if err := w.Sweep(ctx); err != nil && ctx.Err() == nil {
				w.Log.Error().Err(err).Msg("media worker: sweep failed")
			}
		}
		rounds++
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// DefaultLeaseTTL is Config.LeaseTTL's default.
const DefaultLeaseTTL = 30 * time.Second

// Round claims the items with work due and works on them, Workers at a
// time, renewing the holds of those not done yet (see Config.LeaseTTL);
// it returns how many it claimed.
func (w *Worker) Round(ctx context.Context) (int, error) {
	w.init()
	now := w.now()
	items, err := w.Store.ClaimMedia(ctx, w.Config.Owner, now, now.Add(w.Config.LeaseTTL), 4*w.Config.Workers)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	h := newHolds(ctx, items)
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(hbCtx, h)
	}()
	sem := make(chan struct{}, w.Config.Workers)
	var wg sync.WaitGroup
	for _, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { h.done(it.ID); <-sem; wg.Done() }()
			w.process(h.ctx(it.ID), it)
		}()
	}
	wg.Wait()
	stopHeartbeat()
	<-hbDone
	return len(items), nil
}

// holds are a round's items not done yet, each with a context that ends
// when its hold is lost. An item its update released (HeldBy empty) is
// no longer renewed, though its work may go on a little (the platform's
// copy released, say).
type holds struct {
	mu    sync.Mutex
	items map[int64]*hold
}

type hold struct {
	ctx    context.Context
	cancel context.CancelFunc
	tenant string
	held   bool
}

// holdsKey carries a round's holds in its items' contexts.
type holdsKey struct{}

func newHolds(ctx context.Context, items []store.MediaItem) *holds {
	h := &holds{items: map[int64]*hold{}}
	for _, it := range items {
		hctx, cancel := context.WithCancel(context.WithValue(ctx, holdsKey{}, h))
		h.items[it.ID] = &hold{ctx: hctx, cancel: cancel, tenant: it.Tenant, held: true}
	}
	return h
}

func (h *holds) ctx(id int64) context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.items[id].ctx
}

// done ends the work on an item and forgets it: its work is over, or its
// hold is lost.
func (h *holds) done(id int64) { h.lose(id) }

// lose ends the work on an item whose hold was lost, and reports whether
// it was still in hand (false: done, or lost, already).
func (h *holds) lose(id int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	it, ok := h.items[id]
	if ok {
		it.cancel()
		delete(h.items, id)
	}
	return ok
}

// released stops renewing an item an update released.
func (h *holds) released(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if it, ok := h.items[id]; ok {
		it.held = false
	}
}

// tenant returns an item's tenant ("" once forgotten).
func (h *holds) tenant(id int64) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if it, ok := h.items[id]; ok {
		return it.tenant
	}
	return ""
}

// inFlight returns the ids still held.
func (h *holds) inFlight() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]int64, 0, len(h.items))
	for id, it := range h.items {
		if it.held {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// heartbeat renews the holds of h's items in flight every third of the
// lease until ctx ends. An item whose hold is lost (another claimer took
// it once its hold passed) is stopped; when no renewal reaches the store
// for four fifths of the lease, every item of the round is stopped, so
// that no two workers take one item at once.
func (w *Worker) heartbeat(ctx context.Context, h *holds) {
	t := time.NewTicker(w.Config.LeaseTTL / 3)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ids := h.inFlight()
		if len(ids) == 0 {
			continue
		}
		lost, err := w.Store.RenewMedia(ctx, w.Config.Owner, ids, w.now().Add(w.Config.LeaseTTL))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && time.Since(renewed) >= w.Config.LeaseTTL*4/5:
			w.Log.Error().Err(err).Ints64("media_ids", ids).
				Msg("media holds not renewed for four fifths of the lease; the round stops its items, taken again later")
			for _, id := range ids {
				h.done(id)
			}
			return
		case err != nil:
			w.Log.Warn().Err(err).Msg("media holds not renewed; trying again at the next beat")
			continue
		}
		renewed = time.Now()
		held := h.inFlight()
		for _, id := range lost {
			// Released or done meanwhile, else taken by another claimer
			// once its hold passed: its work here ends.
			if slices.Contains(held, id) {
				w.holdLost(h, id, h.tenant(id))
			}
		}
	}
}

// Sweep drops the bytes no item needs any more: files of deleted items in
// the spool, and bytes kept past the retention after an upload.
func (w *Worker) Sweep(ctx context.Context) error {
	w.init()
	if w.Config.Retention > 0 {
		cutoff := w.now().Add(-w.Config.Retention)
		var after int64
		for {
			items, err := w.Store.ListMedia(ctx, store.MediaFilter{Status: store.MediaUploaded, AfterID: after, Limit: 500})
			if err != nil {
				return err
			}
			for _, it := range items {
				if it.Location != store.MediaNowhere && it.UpdatedAt.Before(cutoff) {
					if err := w.dropBytes(ctx, it); err != nil {
						return err
					}
				}
			}
			if len(items) < 500 {
				break
			}
			after = items[len(items)-1].ID
		}
	}
	if w.Spool == nil {
		return nil
	}
	n, err := w.Spool.Sweep(ctx, func(ctx context.Context, id int64) (bool, error) {
		it, err := w.Store.GetMedia(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return it.Location == store.MediaInSpool, nil
	})
	if n > 0 {
		w.Log.Info().Int("files", n).Msg("media spool: removed the files no item needs")
	}
	return err
}

// dropBytes records that the item keeps no bytes, then drops them.
func (w *Worker) dropBytes(ctx context.Context, it store.MediaItem) error {
	loc := it.Location
	it.Location = store.MediaNowhere
	if err := w.Store.UpdateMedia(ctx, it, w.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if loc == store.MediaInSpool {
		return w.Bytes.Delete(ctx, it.ID)
	}
	return nil
}

func (w *Worker) count(tenant, outcome string) {
	if w.Count != nil {
		w.Count(tenant, outcome)
	}
}

func (w *Worker) log(it store.MediaItem) *zerolog.Logger {
	l := w.Log.With().Str("component", "media").Int64("media_id", it.ID).Int64("message_id", it.MessageID).
		Str("tenant", it.Tenant).Str("channel", it.Channel).Logger()
	return &l
}

// process takes one claimed item one step further.
func (w *Worker) process(ctx context.Context, it store.MediaItem) {
	var err error
	switch it.Status {
	case store.MediaPending:
		err = w.fetch(ctx, it)
	case store.MediaFetched:
		err = w.upload(ctx, it)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		w.log(it).Error().Err(err).Msg("media item not updated; it is taken again once its hold passes")
	}
}

// backoff is the wait before try attempts+1.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.Config.BackoffMin
	for i := 1; i < attempts && d < w.Config.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.Config.BackoffMax)
	// Up to a quarter more, so that items failed together spread out.
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// retry records a failed try: again after a backoff, or failed for good
// once the tries are used up.
func (w *Worker) retry(ctx context.Context, it store.MediaItem, step string, cause error) error {
	it.Attempts++
	now := w.now()
	if it.Attempts >= w.Config.MaxAttempts {
		return w.fail(ctx, it, fmt.Sprintf("%s failed %d times: %v", step, it.Attempts, cause))
	}
	it.Reason, it.NextAttemptAt = "", now.Add(w.backoff(it.Attempts))
	w.count(it.Tenant, "retried")
	w.log(it).Warn().Err(cause).Str("step", step).Int("attempts", it.Attempts).Time("next_attempt_at", it.NextAttemptAt).
		Msg("media step failed; retrying later")
	return w.release(ctx, it, now)
}

// maxReason bounds a failure's reason.
const maxReason = 500

// fail records the item failed for good, with its reason.
func (w *Worker) fail(ctx context.Context, it store.MediaItem, reason string) error {
	it = w.conclude(it, store.MediaFailed, reason, "failed")
	w.log(it).Warn().Str("reason", it.Reason).Msg("media item failed; the message keeps its text, and the item can be replayed")
	return w.release(ctx, it, w.now())
}

// skip records that there is nothing to fetch for the item (a kind the
// platform serves no content for): not a failure, not a dead letter.
func (w *Worker) skip(ctx context.Context, it store.MediaItem, reason string) error {
	it = w.conclude(it, store.MediaSkipped, reason, "skipped")
	w.log(it).Info().Str("reason", it.Reason).Msg("media item skipped: the platform serves no content for it")
	return w.release(ctx, it, w.now())
}

// conclude returns it with its final status and its reason, cut to
// maxReason, and counts it as outcome.
func (w *Worker) conclude(it store.MediaItem, status store.MediaStatus, reason, outcome string) store.MediaItem {
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "")
	}
	it.Status, it.Reason = status, reason
	w.count(it.Tenant, outcome)
	return it
}

// fetch downloads a pending item and keeps its bytes.
func (w *Worker) fetch(ctx context.Context, it store.MediaItem) error {
	f, ok := w.Resolver.Fetcher(it.Tenant, it.Channel)
	if !ok {
		return w.fail(ctx, it, "the channel does not download media")
	}
	limit := w.Resolver.Limit(it.Tenant)
	fctx, cancel := context.WithTimeout(ctx, w.Config.RequestTimeout)
	m, err := f.FetchMedia(fctx, it.Ref, limit)
	cancel()
	switch {
	case errors.Is(err, platform.ErrMediaTooLarge):
		return w.fail(ctx, it, fmt.Sprintf("too large: the tenant's limit is %d bytes: %v", limit, err))
	case errors.Is(err, platform.ErrMediaNoCredential):
		return w.fail(ctx, it, fmt.Sprintf("not downloaded: %v", err))
	case errors.Is(err, platform.ErrMediaGone):
		return w.fail(ctx, it, fmt.Sprintf("gone: %v", err))
	case errors.Is(err, platform.ErrNoContent):
		return w.skip(ctx, it, fmt.Sprintf("no content: %v", err))
	case err != nil:
		if ctx.Err() != nil {
			return nil // stopping: the item is taken again
		}
		return w.retry(ctx, it, "download", err)
	case int64(len(m.Data)) > limit:
		return w.fail(ctx, it, fmt.Sprintf("too large: %d bytes, the tenant's limit is %d bytes", len(m.Data), limit))
	case len(m.Data) == 0:
		return w.fail(ctx, it, "gone: the platform gave no bytes")
	}
	loc, err := w.Bytes.Put(ctx, it.ID, m.Data)
	if err != nil {
		return w.retry(ctx, it, "keep the bytes", err)
	}
	sum := sha256.Sum256(m.Data)
	it.Status, it.Reason, it.Location = store.MediaFetched, "", loc
	it.Size, it.SHA256 = int64(len(m.Data)), hex.EncodeToString(sum[:])
	it.ContentType = m.ContentType
	if it.ContentType == "" {
		it.ContentType = "application/octet-stream"
	}
	it.FileName = fileName(m.FileName, it)
	it.Attempts, it.NextAttemptAt = 0, w.now()
	uploadNow := it.MessagePushStatus == store.Pushed && it.MessageSalesforceID != ""
	if uploadNow {
		// Still held, as a claim holds it: the upload follows.
		it.NextAttemptAt = it.NextAttemptAt.Add(w.Config.LeaseTTL)
		err = w.updateHeld(ctx, it, w.now())
	} else {
		err = w.release(ctx, it, w.now())
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			_ = w.Bytes.Delete(ctx, it.ID) // deleted meanwhile (delete-all)
		}
		return err
	}
	w.count(it.Tenant, "fetched")
	w.log(it).Info().Int64("size", it.Size).Str("content_type", it.ContentType).Msg("media fetched")
	if r, ok := f.(platform.MediaReleaser); ok {
		if err := w.releaseCopy(ctx, r, it); err != nil {
			return err
		}
	}
	w.faultPoint("after-fetch")
	if uploadNow {
		return w.upload(ctx, it)
	}
	return nil
}

// release writes the item as it stands and ends its claim's hold: the
// worker is done with it for now.
func (w *Worker) release(ctx context.Context, it store.MediaItem, now time.Time) error {
	it.HeldBy = ""
	if err := w.updateHeld(ctx, it, now); err != nil {
		return err
	}
	if h, ok := ctx.Value(holdsKey{}).(*holds); ok {
		h.released(it.ID)
	}
	return nil
}

// updateHeld writes an item this worker's claim holds. When the hold was
// lost meanwhile (another claimer took the item once it passed), nothing
// is written: the item is left to that claimer, counted and logged as the
// heartbeat does, and its work here ends.
func (w *Worker) updateHeld(ctx context.Context, it store.MediaItem, now time.Time) error {
	err := w.Store.UpdateHeldMedia(ctx, w.Config.Owner, it, now)
	if errors.Is(err, store.ErrLeaseLost) {
		h, _ := ctx.Value(holdsKey{}).(*holds)
		w.holdLost(h, it.ID, it.Tenant)
	}
	return err
}

// holdLost counts and logs, once, an item whose hold another claimer
// took, and ends its work here (h may be nil: no round's holds).
func (w *Worker) holdLost(h *holds, id int64, tenant string) {
	if h != nil && !h.lose(id) {
		return // told already
	}
	w.count(tenant, "hold_lost")
	w.Log.Warn().Int64("media_id", id).Str("tenant", tenant).Msg("media hold lost; the item is left to the claimer that took it")
}

// releaseCopy lets the platform drop its copy of a fetched item (a web chat
// upload) unless another message of the channel still waits for the same
// item. A failure is returned (the item, fetched, is not fetched again):
// the copy then expires on the platform's own terms.
func (w *Worker) releaseCopy(ctx context.Context, r platform.MediaReleaser, it store.MediaItem) error {
	if err := w.releaseUnlessWaiting(ctx, r, it.Tenant, it.Channel, it.Ref); err != nil {
		return fmt.Errorf("media %d: %w", it.ID, err)
	}
	return nil
}

// ReleaseUnfetched lets the platform of a tenant's channel drop its copy
// of the media item ref, which a message named and the connector will
// never fetch (its item was skipped, or its message refused), unless
// another message of the channel waits for the same item. A platform
// that keeps no copies for the connector (no platform.MediaReleaser: all
// but the web chat) is left alone. On a failure the copy expires on the
// platform's own terms (the web chat's uploads after webchat.UploadTTL).
func (w *Worker) ReleaseUnfetched(ctx context.Context, tenant, channel, ref string) error {
	f, ok := w.Resolver.Fetcher(tenant, channel)
	if !ok {
		return nil
	}
	r, ok := f.(platform.MediaReleaser)
	if !ok {
		return nil
	}
	if err := w.releaseUnlessWaiting(ctx, r, tenant, channel, ref); err != nil {
		return fmt.Errorf("media of %s/%s never fetched: %w", tenant, channel, err)
	}
	return nil
}

// releaseUnlessWaiting releases the platform's copy of ref unless a
// pending item of the channel names the same item (the last of them
// releases it once fetched).
func (w *Worker) releaseUnlessWaiting(ctx context.Context, r platform.MediaReleaser, tenant, channel, ref string) error {
	base, _, _ := platform.SplitMediaRef(ref)
	waiting, err := w.Store.ListMedia(ctx, store.MediaFilter{Tenant: tenant, Channel: channel,
		RefPrefix: base, Status: store.MediaPending, Limit: 1})
	if err != nil {
		return fmt.Errorf("look for other messages of the same item: %w", err)
	}
	if len(waiting) > 0 {
		return nil
	}
	return r.ReleaseMedia(ctx, ref)
}

// faultPoint kills the process at the named point when FaultEnv names it.
func (w *Worker) faultPoint(name string) {
	if w.fault == name {
		w.Log.Warn().Str("fault", name).Msg("media fault point reached: the process kills itself (" + FaultEnv + ")")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal takes the process
	}
}

// fileName is the item's file name: the platform's, else one made of its
// kind, the message's id and the extension of its content type.
func fileName(given string, it store.MediaItem) string {
	if name := path.Base(strings.ReplaceAll(given, `\`, "/")); given != "" && name != "." && name != "/" {
		return name
	}
	ext := ""
	if exts, _ := mime.ExtensionsByType(it.ContentType); len(exts) > 0 {
		ext = preferredExt(it.ContentType, exts)
	}
	kind, _, _ := strings.Cut(it.ContentType, "/")
	if kind == "" || kind == "application" {
		kind = "file"
	}
	id := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r < ' ' {
			return '_'
		}
		return r
	}, it.MessagePlatformID)
	if len(id) > 80 {
		id = id[len(id)-80:]
	}
	return kind + "-" + id + ext
}

// preferredExt picks the usual extension of a content type.
func preferredExt(ct string, exts []string) string {
	base, _, _ := strings.Cut(ct, ";")
	switch strings.TrimSpace(strings.ToLower(base)) {
	case "image/jpeg":
		return ".jpg"
	case "audio/ogg":
		return ".ogg"
	case "audio/mpeg":
		return ".mp3"
	case "video/mp4":
		return ".mp4"
	}
	return exts[0]
}

// upload makes the File of a fetched item whose message record exists.
func (w *Worker) upload(ctx context.Context, it store.MediaItem) error {
	org, ok := w.Resolver.Org(it.Tenant)
	if !ok {
		return w.fail(ctx, it, "the tenant has no Salesforce org")
	}
	data, err := w.Bytes.Get(ctx, it.ID)
	if errors.Is(err, store.ErrNotFound) {
		return w.refetch(ctx, it, "the kept bytes are gone")
	}
	if err != nil {
		return w.retry(ctx, it, "read the kept bytes", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != it.SHA256 || int64(len(data)) != it.Size {
		return w.refetch(ctx, it, "the kept bytes do not match their checksum")
	}
	key := dispatch.MessageKey(store.Message{Tenant: it.Tenant, Channel: it.Channel, PlatformID: it.MessagePlatformID})
	sctx, cancel := context.WithTimeout(ctx, w.Config.RequestTimeout)
	defer cancel()
	file, err := w.ensureFile(sctx, org, it, key, data)
	if err == nil {
		w.faultPoint("after-upload")
		err = org.Client.Update(sctx, org.MessageObject, it.MessageSalesforceID, sfclient.Record{org.FileIDField: file.ContentDocumentID})
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if sfclient.Classify(err) == sfclient.Permanent {
			return w.fail(ctx, it, fmt.Sprintf("salesforce: %v", err))
		}
		return w.retry(ctx, it, "upload", err)
	}
	loc := it.Location
	it.Status, it.Reason, it.Attempts = store.MediaUploaded, "", 0
	it.ContentVersionID, it.ContentDocumentID = file.ContentVersionID, file.ContentDocumentID
	if w.Config.Retention == 0 {
		it.Location = store.MediaNowhere
	}
	if err := w.release(ctx, it, w.now()); err != nil {
		return err
	}
	if it.Location == store.MediaNowhere && loc == store.MediaInSpool {
		if err := w.Bytes.Delete(ctx, it.ID); err != nil {
			w.log(it).Warn().Err(err).Msg("media uploaded; its spooled file is left for the sweep")
		}
	}
	w.count(it.Tenant, "uploaded")
	w.log(it).Info().Str("content_document_id", file.ContentDocumentID).Msg("media uploaded to Salesforce as a File")
	return nil
}

// ensureFile returns the item's File, creating it unless a previous try
// did.
func (w *Worker) ensureFile(ctx context.Context, org Org, it store.MediaItem, key string, data []byte) (sfclient.File, error) {
	if f, found, err := org.Client.FindFile(ctx, org.KeyField, key); err != nil || found {
		return f, err
	}
	title := strings.TrimSuffix(it.FileName, path.Ext(it.FileName))
	if title == "" {
		title = it.FileName
	}
	_, err := org.Client.CreateFile(ctx, sfclient.NewFile{
		Title: title, PathOnClient: it.FileName, FirstPublishLocationID: it.MessageSalesforceID,
		Fields: sfclient.Record{org.KeyField: key}, Data: data, ContentType: it.ContentType,
	}, w.Config.MultipartAbove)
	var ae *sfclient.APIError
	if err != nil && !(errors.As(err, &ae) && ae.Code == "DUPLICATE_VALUE") {
		return sfclient.File{}, err
	}
	// Created now, or by a try that raced this one (DUPLICATE_VALUE on
	// the unique key): read its ids.
	f, found, ferr := org.Client.FindFile(ctx, org.KeyField, key)
	if ferr != nil {
		return sfclient.File{}, ferr
	}
	if !found {
		return sfclient.File{}, fmt.Errorf("the File with key %s is not found after its creation: %w", key, sfclient.ErrTransient)
	}
	return f, nil
}

// refetch drops the item's bytes and fetches it again (they are gone or
// damaged), counting a try.
func (w *Worker) refetch(ctx context.Context, it store.MediaItem, why string) error {
	w.log(it).Warn().Str("why", why).Msg("media bytes unusable; fetching the item again")
	if it.Location == store.MediaInSpool {
		_ = w.Bytes.Delete(ctx, it.ID)
	}
	it.Status, it.Location = store.MediaPending, store.MediaNowhere
	return w.retry(ctx, it, "verify the kept bytes", errors.New(why))
}
