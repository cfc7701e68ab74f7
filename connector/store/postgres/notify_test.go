package postgres

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/storetest"
	"github.com/chatsync/sfconnector/statemachine"
)

// eventWait bounds every wait for something that must happen.
const eventWait = 10 * time.Second

// wakes counts the calls of a Listen's wake.
type wakes struct {
	n      atomic.Int64
	signal chan struct{}
}

func newWakes() *wakes { return &wakes{signal: make(chan struct{}, 1)} }

func (w *wakes) wake() {
	w.n.Add(1)
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// waitFor waits until wake was called at least n times in all.
func (w *wakes) waitFor(t *testing.T, n int64, what string) {
	t.Helper()
	deadline := time.NewTimer(eventWait)
	defer deadline.Stop()
	for w.n.Load() < n {
		select {
		case <-w.signal:
		case <-deadline.C:
			t.Fatalf("%s: %d wakes after %s, want %d", what, w.n.Load(), eventWait, n)
		}
	}
}

// listen runs s.Listen until the test ends or stop is called, and returns
// the wake counter and a channel closed when Listen has returned, after
// storing its result in *result.
func listen(t *testing.T, s *Store, result *error) (w *wakes, stop context.CancelFunc, done <-chan struct{}) {
	t.Helper()
	w = newWakes()
	ctx, stop := context.WithCancel(t.Context())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		*result = s.Listen(ctx, w.wake)
	}()
	t.Cleanup(func() {
		stop()
		<-ended
	})
	return w, stop, ended
}

// insert stores messages of c with the given statuses in one transaction,
// with AddMessage for the ids ending in ".add", with InsertMessage for the
// others.
func insert(t *testing.T, s *Store, c store.Conversation, statuses map[string]store.PushStatus) {
	t.Helper()
	if err := s.WithTx(t.Context(), func(tx store.Tx) error { return storeMessages(t.Context(), tx, c, statuses) }); err != nil {
		t.Fatalf("insert %v: %v", statuses, err)
	}
}

// storeMessages stores messages as insert does, in tx.
func storeMessages(ctx context.Context, tx store.Tx, c store.Conversation, statuses map[string]store.PushStatus) error {
	for id, status := range statuses {
		m := pendingMessage(c, id, t0.Add(time.Minute))
		m.PushStatus = status
		add := tx.InsertMessage
		if strings.HasSuffix(id, ".add") {
			add = tx.AddMessage
		}
		if _, _, err := add(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// transition applies from -> to on a conversation through s.
func transition(t *testing.T, s *Store, c store.Conversation, from, to statemachine.State) store.Conversation {
	t.Helper()
	var out store.Conversation
	err := s.WithTx(t.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ApplyTransition(t.Context(), store.Transition{ConversationID: c.ID, From: from, To: to,
			Event: "set_state", Actor: "tester", At: t0.Add(2 * time.Minute)})
		return err
	})
	if err != nil {
		t.Fatalf("transition %v -> %v: %v", from, to, err)
	}
	return out
}

// TestListenWakesOnOutboxWork: a store listening is woken when a store on
// the same schema commits outbox work (a pending message, a state change a
// Salesforce record misses, a replay), once per transaction, and not by
// work rolled back, by changes that are no outbox work, nor by another
// schema. It reconnects after its connection is killed, and returns when
// its context ends.
func TestListenWakesOnOutboxWork(t *testing.T) {
	_, dsn := migrated(t)
	listenErrs := make(chan error, 10)
	a := openStore(t, dsn, Options{OnListenError: func(err error) {
		select {
		case listenErrs <- err:
		default: // more than the test looks at
		}
	}})
	b := openStore(t, dsn, Options{})
	c, _ := migrated(t) // another schema of the same database
	ctx := t.Context()

	// Before anyone listens: cv1 has a Salesforce record, cv2 a dead
	// message, cv3 neither.
	cv1, _ := seed(t, b, "u1")
	cv2, dead := seed(t, b, "u2")
	ws, err := b.Claim(ctx, store.ClaimParams{Owner: "w", Now: t0.Add(time.Hour), LeaseTTL: time.Minute})
	if err != nil || len(ws) != 2 {
		t.Fatalf("Claim = %d works, %v; want 2", len(ws), err)
	}
	for _, w := range ws {
		st := store.Settlement{Now: t0.Add(time.Hour), Outcomes: pushedOutcomes(w), SyncedVersion: w.Conversation.Version}
		if w.Conversation.ID == cv2.ID {
			st = store.Settlement{Now: t0.Add(time.Hour), Outcomes: []store.Outcome{
				{MessageID: dead.ID, Status: store.Dead, Error: "INVALID_FIELD"}}}
		}
		if err := storetest.SettleOne(ctx, b, w.Lease, st); err != nil {
			t.Fatalf("Settle: %v", err)
		}
	}
	var cv3 store.Conversation
	err = b.WithTx(ctx, func(tx store.Tx) error {
		ct, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "u3"}, "", t0)
		if err != nil {
			return err
		}
		cv3, err = tx.CreateConversation(ctx, store.Conversation{ContactID: ct.ID, State: statemachine.Open, CreatedAt: t0}, "system", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	var resultA, resultC error
	wa, stopA, doneA := listen(t, a, &resultA)
	wc, _, _ := listen(t, c, &resultC)
	// The first wake says Listen is listening.
	wa.waitFor(t, 1, "a's wake on connecting")
	wc.waitFor(t, 1, "c's wake on connecting")

	// No outbox work committed: rolled back, excluded, a state change with
	// no record to mirror it on or no change at all, nothing to replay;
	// and outbox work in another schema.
	errRollback := errors.New("roll back")
	for _, id := range []string{"wamid.rolledback", "wamid.rolledback.add"} {
		err = b.WithTx(ctx, func(tx store.Tx) error {
			if err := storeMessages(ctx, tx, cv3, map[string]store.PushStatus{id: store.Pending}); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("rolled-back WithTx: %v", err)
		}
	}
	insert(t, b, cv3, map[string]store.PushStatus{"wamid.excluded": store.Excluded, "wamid.excluded.add": store.Excluded})
	transition(t, b, cv3, statemachine.Open, statemachine.AutoBot)
	transition(t, b, cv1, statemachine.Open, statemachine.Open)
	if got, err := b.Replay(ctx, "t1", []int64{cv1.ID + 1000}, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) || len(got) != 0 {
		t.Fatalf("Replay of an unknown id = %v, %v; want ErrNotFound and nothing replayed", got, err)
	}
	seed(t, c, "u1")
	wc.waitFor(t, 2, "c's wake by work in its schema")

	// Then outbox work: three pending messages in one transaction, one of
	// them stored by AddMessage. Had anything above woken a, its
	// notification would have come first.
	insert(t, b, cv3, map[string]store.PushStatus{
		"wamid.p1": store.Pending, "wamid.p2.add": store.Pending, "wamid.p3": store.Pending})
	// That nothing else woke a (the commits above, a second wake for the
	// same transaction) is checked once Listen has returned, on the exact
	// count of its wakes.
	wa.waitFor(t, 2, "a's wake by pending messages")

	transition(t, b, cv1, statemachine.Open, statemachine.Closed)
	wa.waitFor(t, 3, "a's wake by a state change to mirror")
	if got, err := b.Replay(ctx, "t1", []int64{dead.ID}, t0.Add(time.Hour)); err != nil || len(got) != 1 {
		t.Fatalf("Replay = %v, %v; want [%d]", got, err, dead.ID)
	}
	wa.waitFor(t, 4, "a's wake by a replay")
	insert(t, a, cv2, map[string]store.PushStatus{"wamid.own.add": store.Pending})
	wa.waitFor(t, 5, "a's wake by its own pending message")

	// The listening connection dies: a reports it, connects again and
	// wakes, then hears the next commits.
	var channel string
	if err := a.pool.QueryRow(ctx, `SELECT `+channelExpr).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	admin := adminConn(t)
	defer func() { _ = admin.Close(context.Background()) }()
	var killed int
	err = admin.QueryRow(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = $1 AND pid <> pg_backend_pid()`, `LISTEN `+pgx.Identifier{channel}.Sanitize()).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate a's listening session: %d terminated, %v; want 1", killed, err)
	}
	select {
	case err := <-listenErrs:
		if err == nil {
			t.Errorf("OnListenError got a nil error")
		}
	case <-time.After(eventWait):
		t.Fatalf("the listening session's end was not reported")
	}
	wa.waitFor(t, 6, "a's wake on reconnecting")
	insert(t, b, cv2, map[string]store.PushStatus{"wamid.after": store.Pending})
	wa.waitFor(t, 7, "a's wake after reconnecting")

	stopA()
	select {
	case <-doneA:
		if !errors.Is(resultA, context.Canceled) {
			t.Errorf("Listen returned %v when its context ended, want context.Canceled", resultA)
		}
	case <-time.After(eventWait):
		t.Fatalf("Listen did not return when its context ended")
	}
	// Listen has returned: every wake it made is counted. One per event
	// waited for above, and none for the commits that had no outbox work.
	if n := wa.n.Load(); n != 7 {
		t.Errorf("a was woken %d times, want 7: on connecting, by the pending messages (once for their one transaction), the state change, the replay, its own message, on reconnecting and after it; never by the commits without outbox work", n)
	}
}

// TestListenWakesAfterAnAnnouncementRolledBack: in a batch, a delivery
// that stored a pending message and then failed is rolled back to its
// savepoint; the next delivery's pending message is announced once the
// batch committed all the same.
func TestListenWakesAfterAnAnnouncementRolledBack(t *testing.T) {
	s, _ := migrated(t)
	ctx := t.Context()
	cv, _ := seed(t, s, "u1")
	var result error
	w, _, _ := listen(t, s, &result)
	w.waitFor(t, 1, "the wake on connecting")

	errFailed := errors.New("the delivery fails after its insert")
	errs, err := s.WithTxBatch(ctx, []func(store.Tx) error{
		func(tx store.Tx) error {
			if err := storeMessages(ctx, tx, cv, map[string]store.PushStatus{"wamid.failed.add": store.Pending}); err != nil {
				return err
			}
			return errFailed
		},
		func(tx store.Tx) error {
			return storeMessages(ctx, tx, cv, map[string]store.PushStatus{"wamid.kept": store.Pending})
		},
	})
	if err != nil || !errors.Is(errs[0], errFailed) || errs[1] != nil {
		t.Fatalf("WithTxBatch = %v, %v; want the first delivery failed and the second stored", errs, err)
	}
	w.waitFor(t, 2, "the wake by the second delivery's pending message")
}

// TestCloseEndsListen: Close stops a running Listen (returning ErrClosed)
// rather than waiting for its connection, and Listen on a closed store
// fails at once.
func TestCloseEndsListen(t *testing.T) {
	_, dsn := migrated(t)
	s := openStore(t, dsn, Options{})
	w := newWakes()
	done := make(chan error, 1)
	go func() { done <- s.Listen(t.Context(), w.wake) }()
	w.waitFor(t, 1, "the wake on connecting")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Listen returned %v when the store closed, want ErrClosed", err)
		}
	case <-time.After(eventWait):
		t.Fatalf("Listen did not return when the store closed")
	}
	if err := s.Listen(t.Context(), w.wake); !errors.Is(err, ErrClosed) {
		t.Errorf("Listen on a closed store: %v, want ErrClosed", err)
	}
}

// TestNotifyFollowsTheCommits: the listeners are notified by a NOTIFY of
// the store's own, sent once a transaction that stored outbox work
// committed, not by the transactions (whose commits PostgreSQL would
// serialise): with an interval of an hour, five commits make one NOTIFY
// at once, and one more when the store closes, for the commits since.
func TestNotifyFollowsTheCommits(t *testing.T) {
	b, dsn := migrated(t)
	a := openStore(t, dsn, Options{})
	a.announce.close()
	a.announce = newAnnouncer(a.db, func(err error) { t.Errorf("notify: %v", err) }, time.Hour)
	cv, _ := seed(t, b, "u1")
	// b announces its seed's message from a goroutine of its own: that
	// NOTIFY must be sent before the test listens, or it counts as a's.
	b.announce.close()
	ctx := t.Context()

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var channel string
	if err := conn.QueryRow(ctx, `SELECT `+channelExpr).Scan(&channel); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `LISTEN "`+channel+`"`); err != nil {
		t.Fatal(err)
	}
	next := func(what string) string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, eventWait)
		defer cancel()
		n, err := conn.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return n.Payload
	}

	insert(t, a, cv, map[string]store.PushStatus{"wamid.n1": store.Pending})
	if p := next("the first commit's NOTIFY"); p != "" {
		t.Fatalf("notification %q, want the store's", p)
	}
	for _, id := range []string{"wamid.n2", "wamid.n3.add", "wamid.n4", "wamid.n5.add"} {
		insert(t, a, cv, map[string]store.PushStatus{id: store.Pending})
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.ExecContext(ctx, `SELECT pg_notify(`+channelExpr+`, 'end')`); err != nil {
		t.Fatal(err)
	}
	var flushed int
	for next("the notifications up to the test's own") != "end" {
		flushed++
	}
	if flushed != 1 {
		t.Errorf("%d NOTIFYs for the four commits within the interval, want 1 (at Close)", flushed)
	}
}
