package postgres

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/sqlstore"
	"github.com/chatsync/sfconnector/connector/store/storetest"
	"github.com/chatsync/sfconnector/statemachine"
)

// The tests need a PostgreSQL server where they may create and drop
// schemas. Each test works in a schema of its own, with a random name.
const (
	dsnEnv         = "CONNECTOR_TEST_POSTGRES_DSN"
	defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// testDSN is the DSN of the test server.
func testDSN() string {
	if v := os.Getenv(dsnEnv); v != "" {
		return v
	}
	return defaultTestDSN
}

// withParam returns dsn with the connection parameter key set to value,
// whether dsn is a URL or a "key=value ..." string.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s is not a valid URL: %v", dsnEnv, err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

// adminConn connects to the test server; the test fails, saying how to
// provide one, when it cannot.
func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN())
	if err != nil {
		t.Fatalf("cannot reach the test PostgreSQL server: %v\n"+
			"These tests need one where they may create and drop schemas. Start one, for example\n"+
			"  docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16\n"+
			"or set %s to the DSN of such a server (default %s).", err, dsnEnv, defaultTestDSN)
	}
	return conn
}

// newSchema creates an empty schema with a random name, dropped with its
// tables when the test ends, and returns a DSN whose search_path is it.
func newSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = crand.Read(b)
	name := "connector_test_" + hex.EncodeToString(b)
	ident := pgx.Identifier{name}.Sanitize()

	conn := adminConn(t)
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(t.Context(), "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	// Registered first, so it runs after the stores of the test are closed.
	t.Cleanup(func() {
		conn := adminConn(t)
		defer func() { _ = conn.Close(context.Background()) }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return withParam(t, testDSN(), "search_path", name)
}

// openStore opens a store on dsn, closed when the test ends.
func openStore(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// migrated returns a migrated store in a fresh schema, and the schema's DSN
// for more stores on it.
func migrated(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := newSchema(t)
	s := openStore(t, dsn, Options{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s, dsn
}

// TestMain lets storetest.RunProcesses start this test binary as a child
// process working in the parent's schema.
func TestMain(m *testing.M) {
	storetest.ChildMain(func(ctx context.Context, dsn string) (store.Store, error) {
		return Open(ctx, dsn, Options{MaxConns: 4})
	})
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := migrated(t)
		return s
	})
}

// TestProcesses runs the conformance tests of several processes (replicas)
// on one schema.
func TestProcesses(t *testing.T) {
	storetest.RunProcesses(t, storetest.Processes{Open: func(t *testing.T) (store.Store, string) {
		return migrated(t)
	}})
}

// t0 is the clock origin of the driver's own tests.
var t0 = time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)

// seed stores one conversation of contact ext with one pending message.
func seed(t *testing.T, s *Store, ext string) (store.Conversation, store.Message) {
	t.Helper()
	ctx := t.Context()
	var c store.Conversation
	var m store.Message
	err := s.WithTx(ctx, func(tx store.Tx) error {
		ct, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: ext}, "", t0)
		if err != nil {
			return err
		}
		c, err = tx.CreateConversation(ctx, store.Conversation{ContactID: ct.ID, State: statemachine.Open, CreatedAt: t0}, "system", "")
		if err != nil {
			return err
		}
		m, _, err = tx.InsertMessage(ctx, pendingMessage(c, "wamid."+ext, t0))
		return err
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return c, m
}

// pendingMessage builds a pending inbound message of c.
func pendingMessage(c store.Conversation, platformID string, received time.Time) store.Message {
	return store.Message{Tenant: c.Tenant, Channel: c.Channel, ConversationID: c.ID, ContactID: c.ContactID,
		PlatformID: platformID, Direction: store.Inbound, Kind: "text", Body: "hello",
		ReceivedAt: received, StateAtReceipt: c.State, PushStatus: store.Pending}
}

// pushedOutcomes pushes every message of w.
func pushedOutcomes(w store.Work) []store.Outcome {
	var out []store.Outcome
	for _, m := range w.Messages {
		out = append(out, store.Outcome{MessageID: m.ID, Status: store.Pushed, SalesforceID: "a0X" + m.PlatformID})
	}
	return out
}

// TestMigrateConcurrently has several stores (as replicas starting
// together would) migrate one fresh schema at once: every one succeeds and
// the migrations are applied once.
func TestMigrateConcurrently(t *testing.T) {
	dsn := newSchema(t)
	const replicas = 6
	stores := make([]*Store, replicas)
	for i := range stores {
		stores[i] = openStore(t, dsn, Options{MaxConns: 2})
	}
	errs := make([]error, replicas)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Migrate: %v", i, err)
		}
	}
	ms, err := sqlstore.Migrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := stores[0].pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
	}
	c, _ := seed(t, stores[0], "u1")
	if got, err := stores[replicas-1].GetConversation(t.Context(), c.ID); err != nil || got != c {
		t.Errorf("conversation through another replica = %+v, %v; want %+v", got, err, c)
	}
}

func TestMigrateWithoutSchema(t *testing.T) {
	s := openStore(t, withParam(t, testDSN(), "search_path", "connector_test_no_such_schema"), Options{})
	if err := s.Migrate(t.Context()); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("Migrate with no schema to create tables in: %v, want an error saying so", err)
	}
}

// TestTimesKeepMicroseconds: times come back to the microsecond (the
// nanoseconds cut off, not rounded), in UTC, and a zero time is NULL.
func TestTimesKeepMicroseconds(t *testing.T) {
	s, _ := migrated(t)
	c, _ := seed(t, s, "u1")
	received := time.Date(2025, 6, 1, 11, 0, 0, 123456999, time.FixedZone("CEST", 2*3600))
	var m store.Message
	err := s.WithTx(t.Context(), func(tx store.Tx) error {
		var err error
		m, _, err = tx.InsertMessage(t.Context(), pendingMessage(c, "wamid.time", received))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 6, 1, 9, 0, 0, 123456000, time.UTC)
	if m.ReceivedAt != want {
		t.Errorf("ReceivedAt = %v, want %v", m.ReceivedAt, want)
	}
	var micros int64
	var sentNull, pushedNull bool
	err = s.pool.QueryRow(t.Context(), `
		SELECT (extract(epoch FROM received_at) * 1000000)::bigint, sent_at IS NULL, pushed_at IS NULL
		FROM messages WHERE id = $1`, m.ID).Scan(&micros, &sentNull, &pushedNull)
	if err != nil {
		t.Fatal(err)
	}
	if micros != want.UnixMicro() || !sentNull || !pushedNull {
		t.Errorf("stored received_at %d µs, sent_at NULL %v, pushed_at NULL %v; want %d, true, true",
			micros, sentNull, pushedNull, want.UnixMicro())
	}
	got, err := s.ListMessages(t.Context(), c.ID)
	if err != nil || len(got) != 2 || got[1] != m {
		t.Errorf("ListMessages = %+v, %v; want the message as inserted last %+v", got, err, m)
	}
}

func TestArgumentsChecked(t *testing.T) {
	s, _ := migrated(t)
	for _, p := range []store.ClaimParams{
		{Owner: "w", LeaseTTL: time.Minute},
		{Owner: "w", Now: t0},
	} {
		if _, err := s.Claim(t.Context(), p); err == nil {
			t.Errorf("Claim(%+v) succeeded, want an error", p)
		}
	}
	if _, err := s.Replay(t.Context(), "", nil, t0); err == nil {
		t.Errorf("Replay without a tenant succeeded, want an error")
	}
	c, _ := seed(t, s, "u1")
	bad := map[string]func(tx store.Tx) error{
		"contact without tenant": func(tx store.Tx) error {
			_, err := tx.UpsertContact(t.Context(), store.ContactKey{Channel: "wa", ExternalID: "x"}, "", t0)
			return err
		},
		"contact without external id": func(tx store.Tx) error {
			_, err := tx.UpsertContact(t.Context(), store.ContactKey{Tenant: "t1", Channel: "wa"}, "", t0)
			return err
		},
		"message without platform id": func(tx store.Tx) error {
			_, _, err := tx.InsertMessage(t.Context(), pendingMessage(c, "", t0))
			return err
		},
		"message without channel": func(tx store.Tx) error {
			m := pendingMessage(c, "wamid.x", t0)
			m.Channel = ""
			_, _, err := tx.InsertMessage(t.Context(), m)
			return err
		},
		"conversation without CreatedAt": func(tx store.Tx) error {
			_, err := tx.CreateConversation(t.Context(), store.Conversation{ContactID: c.ContactID, State: statemachine.Expired}, "system", "")
			return err
		},
	}
	for name, fn := range bad {
		if err := s.WithTx(t.Context(), fn); err == nil {
			t.Errorf("%s: succeeded, want an error", name)
		}
	}
}

// TestOpenErrorsHideThePassword: neither a DSN that cannot be parsed nor a
// server that cannot be reached gets the password into the error.
func TestOpenErrorsHideThePassword(t *testing.T) {
	const secret = "s3cret-pw-value"
	for _, dsn := range []string{
		"postgres://connector:" + secret + "@127.0.0.1:notaport/db",
		"host=127.0.0.1 port=notaport user=connector password=" + secret,
		"postgres://connector:" + secret + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5",
	} {
		s, err := Open(t.Context(), dsn, Options{})
		if err == nil {
			_ = s.Close()
			t.Errorf("Open of a bad DSN succeeded")
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

func TestOptions(t *testing.T) {
	dsn := newSchema(t)
	cases := []struct {
		name string
		dsn  string
		opts Options
		want int32
	}{
		{"default", dsn, Options{}, DefaultMaxConns},
		{"from the DSN", withParam(t, dsn, "pool_max_conns", "5"), Options{}, 5},
		{"from Options over the DSN", withParam(t, dsn, "pool_max_conns", "5"), Options{MaxConns: 3}, 3},
	}
	for _, tc := range cases {
		s := openStore(t, tc.dsn, tc.opts)
		if got := s.pool.Config().MaxConns; got != tc.want {
			t.Errorf("%s: MaxConns = %d, want %d", tc.name, got, tc.want)
		}
	}
	s := openStore(t, dsn, Options{})
	var app string
	if err := s.pool.QueryRow(t.Context(), `SELECT current_setting('application_name')`).Scan(&app); err != nil {
		t.Fatal(err)
	}
	if app != applicationName {
		t.Errorf("application_name = %q, want %q", app, applicationName)
	}
	if s.txAttempts != DefaultTxAttempts {
		t.Errorf("TxAttempts = %d, want %d", s.txAttempts, DefaultTxAttempts)
	}
}

// TestUpsertContactLocksTheContact holds a transaction that upserted a
// contact open: another store's upsert of that contact waits for it (and
// fails here, as its lock_timeout is short), one of another contact does
// not, and once the first commits the second goes through.
func TestUpsertContactLocksTheContact(t *testing.T) {
	a, dsn := migrated(t)
	b := openStore(t, withParam(t, dsn, "lock_timeout", "200ms"), Options{})
	ctx := t.Context()
	existing := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "existing"}
	fresh := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "fresh"}
	other := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "other"}
	upsert := func(s *Store, key store.ContactKey, name string) error {
		return s.WithTx(ctx, func(tx store.Tx) error {
			_, err := tx.UpsertContact(ctx, key, name, t0.Add(time.Minute))
			return err
		})
	}
	named := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "named"}
	for _, key := range []store.ContactKey{existing, named} {
		if err := upsert(a, key, "Ana"); err != nil {
			t.Fatal(err)
		}
	}

	err := a.WithTx(ctx, func(tx store.Tx) error {
		// Unchanged (no name given), yet locked.
		if _, err := tx.UpsertContact(ctx, existing, "", t0); err != nil {
			return err
		}
		if _, err := tx.UpsertContact(ctx, fresh, "", t0); err != nil {
			return err
		}
		// A delivery under the name it has: unchanged too, yet locked.
		if _, err := tx.Inbound(ctx, named, "Ana", t0, "wamid.1"); err != nil {
			return err
		}
		for _, key := range []store.ContactKey{existing, fresh, named} {
			if err := upsert(b, key, "Bea"); sqlState(err) != "55P03" {
				t.Errorf("upsert of %s while another transaction holds it: %v, want a lock timeout (55P03)", key.ExternalID, err)
			}
		}
		if err := upsert(b, other, "Bea"); err != nil {
			t.Errorf("upsert of another contact meanwhile: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []store.ContactKey{existing, fresh, named} {
		if err := upsert(b, key, "Bea"); err != nil {
			t.Errorf("upsert of %s after the first transaction: %v", key.ExternalID, err)
		}
	}
}

// TestClaimSkipsLockedConversations: a conversation whose row another
// transaction holds is passed over at once (its lock_timeout would fail a
// claim that waited), and claimed once that transaction ends.
func TestClaimSkipsLockedConversations(t *testing.T) {
	a, dsn := migrated(t)
	b := openStore(t, withParam(t, dsn, "lock_timeout", "200ms"), Options{})
	ctx := t.Context()
	held, _ := seed(t, a, "held")
	free, _ := seed(t, a, "free")
	p := store.ClaimParams{Owner: "b", Now: t0.Add(time.Hour), LeaseTTL: time.Minute}
	err := a.WithTx(ctx, func(tx store.Tx) error {
		if err := tx.TouchConversation(ctx, held.ID, t0.Add(time.Second)); err != nil {
			return err
		}
		ws, err := b.Claim(ctx, p)
		if err != nil {
			t.Errorf("Claim beside a locked conversation: %v", err)
		}
		if got := ids(ws); !slices.Equal(got, []int64{free.ID}) {
			t.Errorf("Claim beside a locked conversation = %v, want [%d]", got, free.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := b.Claim(ctx, p)
	if err != nil || !slices.Equal(ids(ws), []int64{held.ID}) {
		t.Errorf("Claim once the lock is gone = %v, %v; want [%d]", ids(ws), err, held.ID)
	}
}

func ids(ws []store.Work) []int64 {
	out := []int64{}
	for _, w := range ws {
		out = append(out, w.Conversation.ID)
	}
	return out
}

// TestWithTxRetriesDeadlock makes two transactions, on two stores, lock
// two contacts in opposite orders. PostgreSQL aborts one of them with a
// deadlock; WithTx runs it again and both succeed.
func TestWithTxRetriesDeadlock(t *testing.T) {
	a, dsn := migrated(t)
	b := openStore(t, dsn, Options{})
	ctx := t.Context()
	x, _ := seed(t, a, "x")
	y, _ := seed(t, a, "y")

	var runs atomic.Int32
	aLocked, bLocked := make(chan struct{}), make(chan struct{})
	aDone, bDone := make(chan struct{}), make(chan struct{})
	lockBoth := func(s *Store, first, second int64, mine, theirs, done, otherDone chan struct{}) error {
		defer close(done)
		var once sync.Once
		var myRuns int
		return s.WithTx(ctx, func(tx store.Tx) error {
			runs.Add(1)
			if myRuns++; myRuns > 1 {
				// The victim's retry waits for the winner: locking its
				// first row again before the winner got it would make a
				// second deadlock.
				select {
				case <-otherDone:
				case <-time.After(time.Minute):
					return errors.New("both transactions were run again: neither won")
				}
			}
			if err := tx.SetContactBlock(ctx, first, store.Block{Inbound: false, Outbound: false}, t0); err != nil {
				return err
			}
			// The first run waits until both hold their first row.
			once.Do(func() {
				close(mine)
				<-theirs
			})
			return tx.SetContactBlock(ctx, second, store.Block{Inbound: true, Outbound: false}, t0)
		})
	}
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { errA = lockBoth(a, x.ContactID, y.ContactID, aLocked, bLocked, aDone, bDone) })
	wg.Go(func() { errB = lockBoth(b, y.ContactID, x.ContactID, bLocked, aLocked, bDone, aDone) })
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("transactions locking in opposite orders: %v; %v; want both to succeed", errA, errB)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("the transactions ran %d times in all, want 3 (one deadlock victim run again)", n)
	}

	// Other errors are not retried.
	runs.Store(0)
	boom := errors.New("boom")
	if err := a.WithTx(ctx, func(store.Tx) error { runs.Add(1); return boom }); !errors.Is(err, boom) || runs.Load() != 1 {
		t.Errorf("WithTx with a failing fn: %v after %d runs, want boom after 1", err, runs.Load())
	}
}

// TestConflictsLeaveTheTransactionUsable: a second live conversation,
// whether created or revived, is ErrConflict, and the transaction goes on
// and commits.
func TestConflictsLeaveTheTransactionUsable(t *testing.T) {
	s, _ := migrated(t)
	ctx := t.Context()
	old, _ := seed(t, s, "u1")
	err := s.WithTx(ctx, func(tx store.Tx) error {
		if _, err := tx.ApplyTransition(ctx, store.Transition{ConversationID: old.ID, From: statemachine.Open,
			To: statemachine.Expired, Event: "inactivity", Actor: "timer", At: t0.Add(time.Hour)}); err != nil {
			return err
		}
		live, err := tx.CreateConversation(ctx, store.Conversation{ContactID: old.ContactID, State: statemachine.Open,
			CreatedAt: t0.Add(2 * time.Hour)}, "system", "")
		if err != nil {
			return err
		}
		_, err = tx.CreateConversation(ctx, store.Conversation{ContactID: old.ContactID, State: statemachine.Open,
			CreatedAt: t0.Add(2 * time.Hour)}, "system", "")
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("second live conversation: %v, want ErrConflict", err)
		}
		_, err = tx.ApplyTransition(ctx, store.Transition{ConversationID: old.ID, From: statemachine.Expired,
			To: statemachine.Open, Event: "set_state", Actor: "api", At: t0.Add(3 * time.Hour)})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("reviving the EXPIRED conversation beside a live one: %v, want ErrConflict", err)
		}
		return tx.TouchConversation(ctx, live.ID, t0.Add(4*time.Hour))
	})
	if err != nil {
		t.Fatalf("transaction after the conflicts: %v", err)
	}
	if got, err := s.GetConversation(ctx, old.ID); err != nil || got.State != statemachine.Expired {
		t.Errorf("revived conversation = %+v, %v; want it EXPIRED still", got, err)
	}
	h, err := s.History(ctx, old.ID)
	if err != nil || len(h) != 2 {
		t.Errorf("history of the conversation = %+v, %v; want creation and expiry only", h, err)
	}
}

// TestSettleRejectsOutcomeTwice: a settlement naming one message twice
// changes nothing and leaves the lease.
func TestSettleRejectsOutcomeTwice(t *testing.T) {
	s, _ := migrated(t)
	ctx := t.Context()
	c, m := seed(t, s, "u1")
	ws, err := s.Claim(ctx, store.ClaimParams{Owner: "w", Now: t0, LeaseTTL: time.Minute})
	if err != nil || len(ws) != 1 {
		t.Fatalf("Claim = %v, %v", ids(ws), err)
	}
	err = storetest.SettleOne(ctx, s, ws[0].Lease, store.Settlement{Now: t0, Outcomes: []store.Outcome{
		{MessageID: m.ID, Status: store.Pushed, SalesforceID: "a0X1"},
		{MessageID: m.ID, Status: store.Dead, Error: "INVALID_FIELD"},
	}})
	if err == nil || errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Settle naming a message twice: %v, want an error other than ErrLeaseLost", err)
	}
	if ms, err := s.ListMessages(ctx, c.ID); err != nil || len(ms) != 1 || ms[0] != m {
		t.Errorf("message after the refused settlement = %+v, %v; want it untouched", ms, err)
	}
	if err := storetest.SettleOne(ctx, s, ws[0].Lease, store.Settlement{Now: t0, Outcomes: pushedOutcomes(ws[0])}); err != nil {
		t.Errorf("Settle with the lease kept: %v", err)
	}
}

// TestInsertMessageHoldsTheConversation: storing a pending message locks
// its conversation's row until commit, even when the message is not the
// oldest of the outbox, so that a settlement emptying the outbox at the
// same time waits for it and then counts it. Were the row not locked, the
// settlement would find no pending message left, clear pending_since, and
// the new message would wait in an outbox no claim reads.
func TestInsertMessageHoldsTheConversation(t *testing.T) {
	a, dsn := migrated(t)
	b := openStore(t, withParam(t, dsn, "lock_timeout", "200ms"), Options{})
	ctx := t.Context()
	c, old := seed(t, a, "u1")
	p := store.ClaimParams{Owner: "w", Now: t0.Add(time.Hour), LeaseTTL: time.Minute}
	ws, err := a.Claim(ctx, p)
	if err != nil || !slices.Equal(ids(ws), []int64{c.ID}) {
		t.Fatalf("Claim = %v, %v; want [%d]", ids(ws), err, c.ID)
	}
	settle := store.Settlement{Now: t0.Add(time.Hour), Outcomes: pushedOutcomes(ws[0])}

	var fresh store.Message
	err = a.WithTx(ctx, func(tx store.Tx) error {
		var err error
		fresh, _, err = tx.InsertMessage(ctx, pendingMessage(c, "wamid.fresh", t0.Add(time.Minute)))
		if err != nil {
			return err
		}
		if err := storetest.SettleOne(ctx, b, ws[0].Lease, settle); sqlState(err) != "55P03" {
			t.Errorf("Settle while a message is being stored: %v, want a lock timeout (55P03)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := storetest.SettleOne(ctx, b, ws[0].Lease, settle); err != nil {
		t.Fatalf("Settle once the message is stored: %v", err)
	}
	ws, err = a.Claim(ctx, p)
	if err != nil || len(ws) != 1 || !slices.Equal(messageIDs(ws[0].Messages), []int64{fresh.ID}) {
		t.Fatalf("Claim after the settlement = %+v, %v; want conversation %d with message %d only (not %d)",
			ws, err, c.ID, fresh.ID, old.ID)
	}
}

func messageIDs(ms []store.Message) []int64 {
	out := []int64{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestUpgrades(t *testing.T) {
	storetest.RunUpgrades(t, migrationFiles, func(t *testing.T) storetest.Upgrade {
		s := openStore(t, newSchema(t), Options{})
		return storetest.Upgrade{Store: s, Migrate: s.migrate, Raw: sqlstore.Conn{D: dialect, Q: sqlstore.Std(s.db)}}
	})
}

// TestBatchDoesNotWaitLongForARow: a call of a batch that meets a row
// another transaction holds fails with store.ErrLockWait after
// BatchLockTimeout, rolled back alone; its neighbours commit meanwhile.
// (The store's DSN sets no lock_timeout: the batch's own holds.)
func TestBatchDoesNotWaitLongForARow(t *testing.T) {
	a, dsn := migrated(t)
	b := openStore(t, dsn, Options{})
	ctx := t.Context()
	held := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "held"}
	other := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "other"}
	upsert := func(key store.ContactKey) func(store.Tx) error {
		return func(tx store.Tx) error {
			_, err := tx.UpsertContact(ctx, key, "Bea", t0.Add(time.Minute))
			return err
		}
	}
	if err := a.WithTx(ctx, upsert(held)); err != nil {
		t.Fatal(err)
	}
	err := a.WithTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UpsertContact(ctx, held, "Ana", t0.Add(time.Hour)); err != nil {
			return err
		}
		// Bounded, so that a batch that waits fails the test rather than
		// waiting for this transaction forever.
		bctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		errs, err := b.WithTxBatch(bctx, []func(store.Tx) error{upsert(held), upsert(other)})
		if err != nil {
			t.Fatalf("batch beside a held row: %v", err)
		}
		if !errors.Is(errs[0], store.ErrLockWait) || sqlState(errs[0]) != codeLockNotAvailable {
			t.Errorf("the call on the held row: %v, want store.ErrLockWait wrapping a lock timeout", errs[0])
		}
		if errs[1] != nil {
			t.Errorf("the call on another row: %v", errs[1])
		}
		// Committed while the row is still held.
		cs, err := b.ListContacts(ctx, store.ContactFilter{Tenant: "t1"})
		if err != nil {
			return err
		}
		names := map[string]string{}
		for _, c := range cs {
			names[c.ExternalID] = c.DisplayName
		}
		if names["other"] != "Bea" || names["held"] != "Bea" {
			t.Errorf("contacts while the row is held: %v, want other stored and held as it was", names)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := b.WithTxBatch(ctx, []func(store.Tx) error{upsert(held), upsert(other)})
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatalf("the same calls once the row is free: %v, %v", errs, err)
	}
}
