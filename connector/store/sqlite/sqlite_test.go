package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	check := func(pool string, q sqlstore.Querier, pragma, want string) {
		t.Helper()
		var got string
		if err := q.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("%s: PRAGMA %s: %v", pool, pragma, err)
		}
		if got != want {
			t.Errorf("%s: PRAGMA %s = %q, want %q", pool, pragma, got, want)
		}
	}
	for pool, q := range map[string]sqlstore.Querier{"writer": s.w, "reader": s.r} {
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

func TestMigrationsRecorded(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := s.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n := count(); n != len(ms) {
		t.Errorf("after a second Migrate schema_migrations has %d rows, want %d", n, len(ms))
	}

	// A database migrated by a newer connector is refused.
	if _, err := s.w.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err == nil {
		t.Errorf("Migrate of a database from a newer connector succeeded, want an error")
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

func TestLeaseTokensAreRandomHex(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), Options{})
	seed(t, s, "u1")
	seed(t, s, "u2")
	ws, err := s.Claim(t.Context(), store.ClaimParams{Owner: "w", Now: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC), LeaseTTL: time.Minute})
	if err != nil || len(ws) != 2 {
		t.Fatalf("Claim = %d works, %v; want 2", len(ws), err)
	}
	for _, w := range ws {
		if len(w.Lease.Token) != 32 || strings.Trim(w.Lease.Token, "0123456789abcdef") != "" {
			t.Errorf("token %q is not 32 hex digits", w.Lease.Token)
		}
	}
	if ws[0].Lease.Token == ws[1].Lease.Token {
		t.Errorf("two leases share token %q", ws[0].Lease.Token)
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

// TestMigrationAddsPlatformStatus upgrades a database at schema version 2
// holding a contact: the contact gets no platform status, a status set
// afterwards is stored as unix microseconds, and a status without its time
// is refused by the table.
func TestMigrationAddsPlatformStatus(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "connector.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []migration
	for _, m := range ms {
		if m.Version < 3 {
			before = append(before, m)
		}
	}
	if err := s.migrate(ctx, before); err != nil {
		t.Fatalf("migrate to version 2: %v", err)
	}
	created := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO contacts (tenant, channel, external_id, display_name, created_at, updated_at)
		VALUES ('t1', 'line', 'U1', 'Ana', ?1, ?1)`, created.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 2: %v", err)
	}

	key := store.ContactKey{Tenant: "t1", Channel: "line", ExternalID: "U1"}
	blockedAt := created.Add(time.Minute)
	var old, now store.Contact
	err = s.WithTx(ctx, func(tx store.Tx) error {
		var err error
		if old, err = tx.UpsertContact(ctx, key, "", created); err != nil {
			return err
		}
		if _, err := tx.SetContactPlatformStatus(ctx, old.ID, "blocked", blockedAt); err != nil {
			return err
		}
		now, err = tx.UpsertContact(ctx, key, "", created)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if old.DisplayName != "Ana" || old.PlatformStatus != "" || !old.PlatformStatusAt.IsZero() {
		t.Errorf("contact from before the migration = %+v, want Ana with no platform status", old)
	}
	if now.PlatformStatus != "blocked" || now.PlatformStatusAt != blockedAt {
		t.Errorf("contact after SetContactPlatformStatus = %+v, want blocked as of %v", now, blockedAt)
	}
	var stored int64
	if err := s.r.QueryRowContext(ctx, `SELECT platform_status_at FROM contacts WHERE id = ?`, old.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != blockedAt.UnixMicro() {
		t.Errorf("stored platform_status_at %d, want %d", stored, blockedAt.UnixMicro())
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE contacts SET platform_status_at = 0 WHERE id = ?`, old.ID); err == nil {
		t.Errorf("a platform status with no time was stored, want a CHECK failure")
	}
}

// TestMigrationBackfillsPendingSince upgrades a database at version 3
// holding an outbox: each conversation's pending_since becomes the
// received_at of its oldest pending message (NULL when it has none), and
// Claim then takes the work oldest first, as before the upgrade.
func TestMigrationBackfillsPendingSince(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "connector.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []migration
	for _, m := range ms {
		if m.Version < 4 {
			before = append(before, m)
		}
	}
	if err := s.migrate(ctx, before); err != nil {
		t.Fatalf("migrate to version 3: %v", err)
	}
	t0 := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	sec := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }
	// Conversations by external id; the "behind" one has a Salesforce
	// record missing its state change of 1.5s.
	ids := map[string]int64{}
	for _, ext := range []string{"mixed", "dead", "done", "empty", "behind"} {
		res, err := s.w.ExecContext(ctx, `INSERT INTO contacts (tenant, channel, external_id, created_at, updated_at)
			VALUES ('t1', 'wa', ?1, ?2, ?2)`, ext, t0.UnixMicro())
		if err != nil {
			t.Fatal(err)
		}
		contact, err := res.LastInsertId()
		if err != nil {
			t.Fatal(err)
		}
		behind := int64(0)
		if ext == "behind" {
			behind = 1
		}
		var id int64
		err = s.w.QueryRowContext(ctx, `
			INSERT INTO conversations (tenant, channel, contact_id, state, version, synced_version,
				created_at, updated_at, last_activity_at)
			VALUES ('t1', 'wa', ?1, 0, ?2, ?3, ?4, ?5, ?4)
			RETURNING id`, contact, 1+behind, behind, t0.UnixMicro(), sec(1.5).UnixMicro()).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids[ext] = id
	}
	for i, m := range []struct {
		conv     string
		status   store.PushStatus
		received time.Time
	}{
		{"mixed", store.Pushed, sec(0)},
		{"mixed", store.Pending, sec(3)},
		{"mixed", store.Pending, sec(1)}, // stored after a younger one
		{"dead", store.Dead, sec(0.5)},
		{"dead", store.Pending, sec(2)},
		{"done", store.Pushed, sec(0)},
		{"done", store.Excluded, sec(0)},
	} {
		_, err := s.w.ExecContext(ctx, `
			INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id, direction,
				received_at, state_at_receipt, push_status)
			SELECT 't1', 'wa', id, contact_id, ?2, 'inbound', ?3, 0, ?4 FROM conversations WHERE id = ?1`,
			ids[m.conv], fmt.Sprintf("wamid.%d", i), m.received.UnixMicro(), string(m.status))
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 3: %v", err)
	}

	want := map[string]time.Time{"mixed": sec(1), "dead": sec(2)}
	for ext, id := range ids {
		var since sql.NullInt64
		if err := s.r.QueryRowContext(ctx, `SELECT pending_since FROM conversations WHERE id = ?`, id).Scan(&since); err != nil {
			t.Fatal(err)
		}
		if w, ok := want[ext]; since.Valid != ok || (ok && since.Int64 != w.UnixMicro()) {
			t.Errorf("pending_since of %s = %+v, want %v (NULL when zero)", ext, since, w)
		}
	}
	ws, err := s.Claim(ctx, store.ClaimParams{Owner: "w", Now: sec(60), LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, w := range ws {
		got = append(got, w.Conversation.ID)
	}
	if wantIDs := []int64{ids["mixed"], ids["behind"], ids["dead"]}; !slices.Equal(got, wantIDs) {
		t.Errorf("claim after the migration = %v, want %v (mixed, behind, dead: oldest work first)", got, wantIDs)
	}
}

type migration = sqlstore.Migration

// migrations lists the embedded migrations in version order.
func migrations() ([]migration, error) { return sqlstore.Migrations(migrationFiles) }
