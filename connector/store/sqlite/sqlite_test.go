package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
	"github.com/chatsync/sfconnector/connector/store/storetest"
	"github.com/chatsync/sfconnector/statemachine"
)

// openTest opens and migrates a store on path, closed when the test ends.
func openTest(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// TestMain lets storetest.RunProcesses start this test binary as a child
// process working on the parent's database file.
func TestMain(m *testing.M) {
	storetest.ChildMain(func(ctx context.Context, path string) (store.Store, error) {
		return Open(ctx, path, Options{})
	})
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	})
}

// TestConformanceOwner runs the conformance tests on a store opened as
// its file's owner, which keeps the conversations' leases in memory.
func TestConformanceOwner(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{Owner: true})
	})
}

// TestProcesses runs the conformance tests of several processes on one
// database file: WAL lets them read beside the writer, and the busy timeout
// makes a writer wait for the file's write lock instead of failing.
func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, storetest.Processes{Open: func(t *testing.T) (store.Store, string) {
		path := filepath.Join(t.TempDir(), "connector.db")
		return openTest(t, path, Options{}), path
	}})
}

// seed stores one conversation with one pending message.
func seed(t *testing.T, s *Store, ext string) (store.Conversation, store.Message) {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	var c store.Conversation
	var m store.Message
	err := s.WithTx(ctx, func(tx store.Tx) error {
		ct, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: ext}, "", now)
		if err != nil {
			return err
		}
		c, err = tx.CreateConversation(ctx, store.Conversation{ContactID: ct.ID, State: statemachine.Open, CreatedAt: now}, "system", "")
		if err != nil {
			return err
		}
		m, _, err = tx.InsertMessage(ctx, store.Message{Tenant: "t1", Channel: "wa", ConversationID: c.ID,
			ContactID: ct.ID, PlatformID: "wamid." + ext, Direction: store.Inbound, Kind: "text", Body: "hello",
			ReceivedAt: now, StateAtReceipt: statemachine.Open, PushStatus: store.Pending})
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return c, m
}

func TestOpenCreatesFileAndDirectory(t *testing.T) {
	// Characters that mean something in a URI must reach the file name as is.
	path := filepath.Join(t.TempDir(), "nested", "a?b#c%20d e", "connector.db")
	s := openTest(t, path, Options{})
	seed(t, s, "u1")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("database file: %v", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		t.Errorf("database file %v has size %d, want a regular file with the schema", fi.Mode(), fi.Size())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database file mode %v, want readable by its owner only", perm)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("write-ahead log: %v", err)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := Open(t.Context(), p, Options{}); err == nil {
			_ = s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}

func TestPragmasInForce(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{BusyTimeout: 7 * time.Second})
	check := func(pool string, q *sql.DB, pragma, want string) {
		t.Helper()
		var got string
		if err := q.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("%s: PRAGMA %s: %v", pool, pragma, err)
		}
		if got != want {
			t.Errorf("%s: PRAGMA %s = %q, want %q", pool, pragma, got, want)
		}
	}
	for pool, q := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
		check(pool, q, "journal_mode", "wal")
		check(pool, q, "synchronous", "2") // FULL
		check(pool, q, "foreign_keys", "1")
		check(pool, q, "busy_timeout", "7000")
	}
	check("reader", s.r, "query_only", "1")
	check("writer", s.w, "query_only", "0")
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connector.db")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	c, m := seed(t, s, "u1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The writer's prepared statements were finalized by the first Close.
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = openTest(t, path, Options{})
	got, err := s.GetConversation(ctx, c.ID)
	if err != nil || got != c {
		t.Errorf("conversation after reopen = %+v, %v; want %+v", got, err, c)
	}
	ms, err := s.ListMessages(ctx, c.ID)
	if err != nil || len(ms) != 1 || ms[0] != m {
		t.Errorf("messages after reopen = %+v, %v; want [%+v]", ms, err, m)
	}
}

func TestTimesStoredAsUnixMicroseconds(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	_, m := seed(t, s, "u1")
	var received, pushed int64
	err := s.r.QueryRowContext(t.Context(), `SELECT received_at, pushed_at FROM messages WHERE id = ?`, m.ID).
		Scan(&received, &pushed)
	if err != nil {
		t.Fatal(err)
	}
	if received != m.ReceivedAt.UnixMicro() || pushed != 0 {
		t.Errorf("stored received_at %d pushed_at %d, want %d and 0", received, pushed, m.ReceivedAt.UnixMicro())
	}
}

func TestReplayNeedsTenant(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	if _, err := s.Replay(t.Context(), "", nil, time.Now()); err == nil {
		t.Errorf("Replay without a tenant succeeded, want an error")
	}
}

// TestReadsDoNotWaitForWriter reads while a write transaction is open: WAL
// lets the read pool see the last committed state at once.
func TestReadsDoNotWaitForWriter(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	c, m := seed(t, s, "u1")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := s.WithTx(ctx, func(tx store.Tx) error {
		extra := m
		extra.PlatformID = "wamid.uncommitted"
		if _, _, err := tx.InsertMessage(ctx, extra); err != nil {
			return err
		}
		ms, err := s.ListMessages(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("read during a write transaction: %w", err)
		}
		if len(ms) != 1 || ms[0].ID != m.ID {
			t.Errorf("read during a write transaction = %+v, want only the committed message", ms)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNestedWriteFailsWithErrBusy: a write started inside WithTx waits for
// the writer connection that WithTx holds, and gives up after the busy
// timeout instead of hanging.
func TestNestedWriteFailsWithErrBusy(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{BusyTimeout: 50 * time.Millisecond})
	err := s.WithTx(t.Context(), func(store.Tx) error {
		return s.WithTx(t.Context(), func(store.Tx) error { return nil })
	})
	if !errors.Is(err, ErrBusy) {
		t.Errorf("nested WithTx: %v, want ErrBusy", err)
	}
}

// holdWriteLock begins a write transaction on s that runs no statement and
// stays open until release is closed; it returns once BEGIN is done.
func holdWriteLock(t *testing.T, s *Store, release <-chan struct{}) <-chan error {
	t.Helper()
	held := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.WithTx(t.Context(), func(store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("holding the write lock: %v", err)
	}
	return done
}

// TestConcurrentWritersWait has two stores (as two processes would) write
// to one file at once: a writer that finds the file locked waits for the
// busy timeout instead of failing with SQLITE_BUSY.
func TestConcurrentWritersWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connector.db")
	a := openTest(t, path, Options{})
	b := openTest(t, path, Options{})

	release := make(chan struct{})
	holder := holdWriteLock(t, a, release)
	waitsBefore := b.w.Stats().WaitCount
	const writers = 4
	var wg sync.WaitGroup
	started := make(chan struct{}, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Go(func() {
			started <- struct{}{}
			errs[i] = b.WithTx(t.Context(), func(tx store.Tx) error {
				_, err := tx.UpsertContact(t.Context(), store.ContactKey{Tenant: "t1", Channel: "wa",
					ExternalID: fmt.Sprintf("w%d", i)}, "", time.Now())
				return err
			})
		})
	}
	for range writers {
		<-started
	}
	// The writers have reached the lock when one holds b's writer
	// connection (blocked in BEGIN IMMEDIATE on a's lock) and the others
	// wait for that connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := b.w.Stats()
		if st.InUse == 1 && st.WaitCount-waitsBefore >= writers-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writers did not reach the lock: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := <-holder; err != nil {
		t.Fatalf("holder: %v", err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v, want it to wait for the lock", i, err)
		}
	}
	var n int
	if err := a.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM contacts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != writers {
		t.Errorf("%d contacts stored, want %d", n, writers)
	}
}

// TestWriteLockTakenAtBegin is the control of TestConcurrentWritersWait:
// a write transaction holds the lock from BEGIN (IMMEDIATE), before its
// first statement, and a writer of another process with a tiny busy timeout
// facing it fails.
func TestWriteLockTakenAtBegin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connector.db")
	a := openTest(t, path, Options{})
	b := openTest(t, path, Options{BusyTimeout: time.Millisecond})
	release := make(chan struct{})
	holder := holdWriteLock(t, a, release)
	err := b.WithTx(t.Context(), func(tx store.Tx) error {
		_, err := tx.UpsertContact(t.Context(), store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "u1"}, "", time.Now())
		return err
	})
	close(release)
	if herr := <-holder; herr != nil {
		t.Fatalf("holder: %v", herr)
	}
	if err == nil {
		t.Errorf("write beside an open write transaction, with a 1ms busy timeout, succeeded; want SQLITE_BUSY")
	}
}

// TestWithTxPanicReleasesWriter: a panic in fn rolls back and gives the
// writer connection back, so the next write does not wait for it.
func TestWithTxPanicReleasesWriter(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{BusyTimeout: time.Second})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		_ = s.WithTx(t.Context(), func(tx store.Tx) error {
			if _, err := tx.UpsertContact(t.Context(), store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "u1"}, "", time.Now()); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	c, _ := seed(t, s, "u2")
	var n int
	if err := s.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM contacts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 || c.ContactExternalID != "u2" {
		t.Errorf("%d contacts after a panicking transaction and a good one, want 1 (u2)", n)
	}
}

func TestClaimNeedsNowAndLease(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	for _, p := range []store.ClaimParams{
		{Owner: "w", LeaseTTL: time.Minute},
		{Owner: "w", Now: time.Now()},
	} {
		if _, err := s.Claim(t.Context(), p); err == nil {
			t.Errorf("Claim(%+v) succeeded, want an error", p)
		}
	}
}

func TestUpgrades(t *testing.T) {
	storetest.RunUpgrades(t, migrationFiles, func(t *testing.T) storetest.Upgrade {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "connector.db"), Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return storetest.Upgrade{Store: s, Migrate: s.migrate, Raw: sqlstore.Conn{D: dialect, Q: sqlstore.Std(s.w)}}
	})
}

// TestTakeBackLeases takes back what a previous run wrote to the file
// and held, at once: a conversation's lease (expiring in an hour; written
// by a run of an earlier version, or by a process that claimed beside no
// owner) and a media item a claim holds (for an hour); a media item
// waiting out a retry's backoff keeps waiting. An owner keeps its own
// conversations' leases in memory, none on the file. A store not opened as
// the file's owner may not take back.
func TestTakeBackLeases(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "connector.db")
	prev, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := prev.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c, m := seed(t, prev, "31600000001")
	_, m2 := seed(t, prev, "31600000002")
	now := m.ReceivedAt.Add(time.Minute)
	if ws, err := prev.Claim(ctx, store.ClaimParams{Owner: "run-1", Now: now, LeaseTTL: time.Hour}); err != nil || len(ws) != 2 {
		t.Fatalf("Claim: %d, %v; want both conversations", len(ws), err)
	}
	var items [2]store.MediaItem
	err = prev.WithTx(ctx, func(tx store.Tx) error {
		for i, msg := range []store.Message{m, m2} {
			var err error
			items[i], err = tx.InsertMedia(ctx, store.MediaItem{MessageID: msg.ID, ConversationID: msg.ConversationID,
				Tenant: "t1", Channel: "wa", Ref: fmt.Sprint("ref-", i), Status: store.MediaPending, CreatedAt: msg.ReceivedAt})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InsertMedia: %v", err)
	}
	if got, err := prev.ClaimMedia(ctx, "run-1", now, now.Add(time.Hour), 10); err != nil || len(got) != 2 {
		t.Fatalf("ClaimMedia: %d, %v; want both items", len(got), err)
	}
	// The second item failed a try: it waits out its backoff, unheld.
	backoff := items[1]
	backoff.Attempts, backoff.NextAttemptAt = 1, now.Add(time.Hour)
	if err := prev.UpdateMedia(ctx, backoff, now); err != nil {
		t.Fatalf("UpdateMedia: %v", err)
	}
	if err := prev.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTest(t, path, Options{Owner: true})
	if ws, err := s.Claim(ctx, store.ClaimParams{Owner: "run-2", Now: now, LeaseTTL: time.Hour}); err != nil || len(ws) != 0 {
		t.Fatalf("Claim before the take-back: %d, %v; want nothing (the previous run's leases hold)", len(ws), err)
	}
	tb, err := s.TakeBackLeases(ctx)
	if err != nil {
		t.Fatalf("TakeBackLeases: %v", err)
	}
	if tb != (TakenBack{Conversations: 2, Media: 1}) {
		t.Errorf("took back %+v, want 2 conversations and 1 media item", tb)
	}
	ws, err := s.Claim(ctx, store.ClaimParams{Owner: "run-2", Now: now, LeaseTTL: time.Hour})
	if err != nil || len(ws) != 2 || ws[0].Conversation.ID != c.ID {
		t.Fatalf("Claim after the take-back: %d, %v; want both conversations again", len(ws), err)
	}
	got, err := s.ClaimMedia(ctx, "run-2", now, now.Add(time.Hour), 10)
	if err != nil || len(got) != 1 || got[0].ID != items[0].ID {
		t.Fatalf("ClaimMedia after the take-back: %+v, %v; want item %d alone", got, err, items[0].ID)
	}
	if tb, err := s.TakeBackLeases(ctx); err != nil || tb != (TakenBack{Media: 1}) {
		t.Errorf("second take-back: %+v, %v; want the media item held, and no lease on the file", tb, err)
	}

	tool := openTest(t, path, Options{})
	if _, err := tool.TakeBackLeases(ctx); err == nil {
		t.Error("a store not opened as the owner took back leases")
	}
}
