package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Processes is what RunProcesses needs of a driver.
type Processes struct {
	// Open returns a fresh, migrated, empty store for one test, closed when
	// that test ends (t.Cleanup), and the DSN with which the function the
	// driver gives to ChildMain opens the same store from another process.
	Open func(t *testing.T) (s store.Store, dsn string)
}

// RunProcesses runs the conformance tests that take several operating
// system processes on one store, as several replicas of the connector (or
// a second instance started by mistake) would:
//
//   - Claims: worker processes claim and settle the same outboxes at once;
//     no conversation is ever held by two of them and every message is
//     settled exactly once.
//   - Delivery: processes deliver the same webhook events at once; each
//     event is stored once, and none of them fails.
//   - CrashedLease: a process claims and dies without settling; its lease
//     holds until it expires, then another process takes the work over and
//     the dead process's lease token is refused.
//
// The child processes are the driver's own test binary, started again with
// an environment variable that its TestMain hands to ChildMain, which
// therefore must be called there:
//
//	func TestMain(m *testing.M) {
//		storetest.ChildMain(func(ctx context.Context, dsn string) (store.Store, error) {
//			return Open(ctx, dsn, Options{})
//		})
//		os.Exit(m.Run())
//	}
func RunProcesses(t *testing.T, p Processes) {
	tests := []struct {
		name string
		fn   func(t *testing.T, p Processes)
	}{
		{"Claims", testProcessClaims},
		{"Delivery", testProcessDelivery},
		{"CrashedLease", testProcessCrashedLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, p) })
	}
}

// ChildMain makes the test binary a child process of RunProcesses when the
// environment says it is one: it opens the store with open, does the work
// its parent asked for, and exits (status 0 when the work went well; 1,
// saying why on stderr, otherwise). In any other run it returns at once.
// Call it first thing in TestMain.
func ChildMain(open func(ctx context.Context, dsn string) (store.Store, error)) {
	raw, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	if err := runChild(raw, open); err != nil {
		fmt.Fprintf(os.Stderr, "storetest child process: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// childEnv is the environment variable that makes a test binary a child
// process; its value is the child's job, in JSON.
const childEnv = "CONNECTOR_STORETEST_CHILD"

// readyLine is what a child prints once its store is open. It then waits
// for its standard input to close: the parent closes every child's at once,
// so that the children start their work together.
const readyLine = "storetest child ready"

// Roles of the child processes.
const (
	roleClaim   = "claim"
	roleDeliver = "deliver"
	roleCrash   = "crash"
)

// childJob is the work a parent gives a child.
type childJob struct {
	Role string `json:"role"`
	// ID tells the children of one scenario apart.
	ID  int    `json:"id"`
	DSN string `json:"dsn"`
	// Dir is the directory in which the child writes its results.
	Dir string `json:"dir"`
	// Deadline is when the child gives up.
	Deadline time.Time `json:"deadline"`
}

// owner names a child as the owner of its leases.
func (j childJob) owner() string { return fmt.Sprintf("process-%d", j.ID) }

// childRoles maps a role to its work.
var childRoles = map[string]func(ctx context.Context, s store.Store, job childJob) error{
	roleClaim:   childClaim,
	roleDeliver: childDeliver,
	roleCrash:   childCrash,
}

// runChild is the body of ChildMain.
func runChild(raw string, open func(ctx context.Context, dsn string) (store.Store, error)) (err error) {
	var job childJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		return fmt.Errorf("read the job in %s: %w", childEnv, err)
	}
	work, ok := childRoles[job.Role]
	if !ok {
		return fmt.Errorf("unknown role %q", job.Role)
	}
	ctx, cancel := context.WithDeadline(context.Background(), job.Deadline)
	defer cancel()
	s, err := open(ctx, job.DSN)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	if job.Role != roleCrash {
		defer func() {
			if cerr := s.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close the store: %w", cerr))
			}
		}()
	} // else the store is left open: the process ends as a crash would end it.

	if _, err := fmt.Println(readyLine); err != nil {
		return fmt.Errorf("tell the parent: %w", err)
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fmt.Errorf("wait for the parent: %w", err)
	}
	if err := work(ctx, s, job); err != nil {
		return fmt.Errorf("%s %s: %w", job.Role, job.owner(), err)
	}
	return nil
}

// clock is the children's and the parent's clock: the time now, to the
// microsecond that the drivers keep, so that a lease's ExpiresAt is exactly
// the claim's Now plus its LeaseTTL.
func clock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// childTimeout bounds a scenario's children (and the test binary's own
// -test.timeout bounds it further).
const childTimeout = time.Minute

// runChildren starts n child processes of role on the store at dsn, waits
// until every one has opened the store, lets them all start at once, and
// waits for them to exit. It fails the test for every child that did not
// exit well, and reports whether all did.
func runChildren(t *testing.T, role string, n int, dsn, dir string) bool {
	t.Helper()
	deadline := time.Now().Add(childTimeout)
	if d, ok := t.Deadline(); ok && d.Add(-5*time.Second).Before(deadline) {
		deadline = d.Add(-5 * time.Second) // time left to report
	}
	// The children end by themselves at the deadline; they are killed a
	// little later if they do not.
	ctx, cancel := context.WithDeadline(t.Context(), deadline.Add(5*time.Second))
	defer cancel()

	type child struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		ready  chan bool     // whether the child said it was ready
		read   chan struct{} // closed once stdout is read to its end
		stdout bytes.Buffer  // what the child printed after the ready line
		stderr bytes.Buffer
	}
	children := make([]*child, 0, n)
	kill := func() {
		cancel()
		for _, c := range children {
			_ = c.stdin.Close()
			<-c.read
			_ = c.cmd.Wait() // killed: its error says so and nothing more
		}
	}
	for i := range n {
		job, err := json.Marshal(childJob{Role: role, ID: i, DSN: dsn, Dir: dir, Deadline: deadline})
		if err != nil {
			kill()
			t.Fatalf("child job: %v", err)
		}
		// ChildMain takes the child over before any test runs; -test.run
		// makes a binary whose TestMain does not call it run no test and
		// exit without saying it is ready.
		c := &child{
			cmd:   exec.CommandContext(ctx, os.Args[0], "-test.run=^$"),
			ready: make(chan bool, 1),
			read:  make(chan struct{}),
		}
		c.cmd.Env = append(os.Environ(), childEnv+"="+string(job), childGORACE())
		c.cmd.Stderr = &c.stderr
		c.cmd.WaitDelay = 5 * time.Second
		stdout, err := c.cmd.StdoutPipe()
		if err == nil {
			c.stdin, err = c.cmd.StdinPipe()
		}
		if err == nil {
			err = c.cmd.Start()
		}
		if err != nil {
			kill()
			t.Fatalf("start child process %d: %v", i, err)
		}
		go func() {
			defer close(c.read)
			r := bufio.NewReader(stdout)
			line, err := r.ReadString('\n')
			c.ready <- err == nil && line == readyLine+"\n"
			if err != nil || line != readyLine+"\n" {
				c.stdout.WriteString(line)
			}
			_, _ = io.Copy(&c.stdout, r) // ends when the child exits
		}()
		children = append(children, c)
	}

	allReady := true
	for i, c := range children {
		select {
		case ok := <-c.ready:
			if !ok {
				t.Errorf("child process %d did not say it was ready (does the driver's TestMain call storetest.ChildMain first?)", i)
				allReady = false
			}
		case <-ctx.Done():
			t.Errorf("child process %d did not get ready: %v", i, ctx.Err())
			allReady = false
		}
		if !allReady {
			break
		}
	}
	if !allReady {
		cancel()
	}
	for _, c := range children {
		_ = c.stdin.Close() // go
	}
	ok := allReady
	for i, c := range children {
		<-c.read
		if err := c.cmd.Wait(); err != nil || !allReady {
			t.Errorf("child process %d (%s): %v\nstdout:\n%s\nstderr:\n%s", i, role, err, &c.stdout, &c.stderr)
			ok = false
		}
	}
	return ok
}

// childGORACE returns the GORACE setting of the children: the parent's,
// with the race detector's pause at exit turned off unless the parent sets
// it. The pause (one second by default) gives goroutines still running a
// chance to report a race; a child's work is over when it exits. Builds
// without the race detector ignore GORACE.
func childGORACE() string {
	v := os.Getenv("GORACE")
	if !strings.Contains(v, "atexit_sleep_ms") {
		v = strings.TrimSpace(v + " atexit_sleep_ms=0")
	}
	return "GORACE=" + v
}

// writeJSON writes v to the file name in dir.
func writeJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// readJSON reads the file name of dir into v and fails the test when it
// cannot.
func readJSON(t *testing.T, dir, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("result of a child process: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("result of a child process, %s: %v", name, err)
	}
}

// The Claims scenario.
const (
	claimChildren      = 3
	claimConversations = 16
	claimPerConv       = 3
	// claimLeaseTTL is far longer than the scenario: leases end by Settle.
	// The check would still tell a takeover after expiry from a double
	// hold.
	claimLeaseTTL = time.Minute
	// claimPushTime stands for the push to Salesforce between a claim and
	// its settlement. Without it, a SQLite child that just committed tends
	// to take the file's write lock again before the others, waiting in
	// the busy handler, and does all the work.
	claimPushTime = 5 * time.Millisecond
	// holdsFile is the log the claim children append to.
	holdsFile = "holds.log"
)

// Events of the holds log.
const (
	// evGot: Claim returned the lease (logged after Claim).
	evGot = "got"
	// evRelease: the child is about to Settle (logged before Settle).
	evRelease = "release"
	// evSettled: Settle accepted the settlement.
	evSettled = "settled"
	// evLost: Settle returned ErrLeaseLost.
	evLost = "lost"
)

// holdEvent is one line of the holds log. The children append the lines to
// one file opened with O_APPEND: each line is one write, so the file's
// order is the order in which the writes happened, across processes.
type holdEvent struct {
	Child        int    `json:"child"`
	Event        string `json:"event"`
	Conversation int64  `json:"conversation"`
	Token        string `json:"token"`
	// Now is the claim's Now (got) or the settlement's (settled).
	Now       time.Time `json:"now,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // got
	Messages  []int64   `json:"messages,omitempty"`  // settled
}

// childClaim claims and settles, pushing every message, until no message
// of the tenant is pending, logging each hold in the holds log.
func childClaim(ctx context.Context, s store.Store, job childJob) (err error) {
	f, err := os.OpenFile(filepath.Join(job.Dir, holdsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open the holds log: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close the holds log: %w", cerr))
		}
	}()
	record := func(ev holdEvent) error {
		ev.Child = job.ID
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("encode a hold: %w", err)
		}
		if _, err := f.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("log a hold: %w", err)
		}
		return nil
	}
	for {
		now := clock()
		ws, err := s.Claim(ctx, store.ClaimParams{Owner: job.owner(), Now: now, LeaseTTL: claimLeaseTTL,
			MaxConversations: 2, MaxMessages: 2})
		if err != nil {
			return fmt.Errorf("store.Claim: %w", err)
		}
		if len(ws) == 0 {
			st, err := s.Stats(ctx, "t1")
			if err != nil {
				return fmt.Errorf("store.Stats: %w", err)
			}
			if st.Messages[store.Pending] == 0 {
				return nil
			}
			// The rest is held by the other children.
			select {
			case <-ctx.Done():
				return fmt.Errorf("%d messages still pending: %w", st.Messages[store.Pending], ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
			continue
		}
		for _, w := range ws {
			if err := record(holdEvent{Event: evGot, Conversation: w.Conversation.ID, Token: w.Lease.Token,
				Now: now, ExpiresAt: w.Lease.ExpiresAt}); err != nil {
				return err
			}
		}
		// The push to Salesforce, which leaves the store to the others.
		select {
		case <-ctx.Done():
			return fmt.Errorf("push: %w", ctx.Err())
		case <-time.After(claimPushTime):
		}
		for _, w := range ws {
			if err := record(holdEvent{Event: evRelease, Conversation: w.Conversation.ID, Token: w.Lease.Token}); err != nil {
				return err
			}
			now := clock()
			err := SettleOne(ctx, s, w.Lease, store.Settlement{Now: now, Outcomes: outcomes(w, store.Pushed, "")})
			ev := holdEvent{Event: evSettled, Conversation: w.Conversation.ID, Token: w.Lease.Token, Now: now,
				Messages: messageIDs(w.Messages)}
			switch {
			case errors.Is(err, store.ErrLeaseLost):
				ev = holdEvent{Event: evLost, Conversation: w.Conversation.ID, Token: w.Lease.Token}
			case err != nil:
				return fmt.Errorf("store.Settle of conversation %d: %w", w.Conversation.ID, err)
			}
			if err := record(ev); err != nil {
				return err
			}
		}
	}
}

// lostAt is a lease that Settle refused, and the line that says so.
type lostAt struct {
	line int
	got  holdEvent // the lease's got event
}

// checkHolds reads a holds log in order. A child logs got once Claim has
// returned and release before it calls Settle, so while a store keeps its
// leases the got and the release of one lease fall within the time the
// store gives that lease the conversation: the got of another lease of the
// conversation between them is a double hold, unless that claim's Now is
// at or after the first lease's ExpiresAt, which makes it a takeover of an
// expired lease.
//
// It returns, for every message settled, the settlement that did it, and
// the problems found: a lease token handed out twice, a double hold, a
// settlement accepted for a lease taken over before its release, a
// settlement refused though no claim came after the lease expired, a
// message settled twice, a conversation held at the end.
func checkHolds(events []holdEvent) (settled map[int64]holdEvent, problems []string) {
	settled = map[int64]holdEvent{}
	var (
		got        = map[string]holdEvent{} // token -> its got event
		holder     = map[int64]holdEvent{}  // conversation -> the got event of its holder
		released   = map[string]bool{}      // tokens whose Settle began
		supersedes = map[string]string{}    // expired token -> the token that took over before its release
		lost       []lostAt                 // leases Settle refused
	)
	problem := func(i int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("holds log line %d: ", i+1)+fmt.Sprintf(format, args...))
	}
	for i, ev := range events {
		g, known := got[ev.Token]
		if ev.Event != evGot && (!known || g.Conversation != ev.Conversation) {
			problem(i, "child %d: %s of lease %s on conversation %d, which it did not get", ev.Child, ev.Event, ev.Token, ev.Conversation)
			continue
		}
		switch ev.Event {
		case evGot:
			if known {
				problem(i, "lease token %s handed out twice (conversations %d and %d)", ev.Token, g.Conversation, ev.Conversation)
				continue
			}
			got[ev.Token] = ev
			if h, held := holder[ev.Conversation]; held {
				if ev.Now.Before(h.ExpiresAt) {
					problem(i, "conversation %d claimed by child %d (lease %s, claim at %s) while child %d held it (lease %s, until %s, not settled)",
						ev.Conversation, ev.Child, ev.Token, ev.Now.Format(time.RFC3339Nano), h.Child, h.Token, h.ExpiresAt.Format(time.RFC3339Nano))
				} else {
					supersedes[h.Token] = ev.Token
				}
			}
			holder[ev.Conversation] = ev
		case evRelease:
			if released[ev.Token] {
				problem(i, "child %d settled lease %s twice", ev.Child, ev.Token)
			}
			released[ev.Token] = true
			if holder[ev.Conversation].Token == ev.Token {
				delete(holder, ev.Conversation)
			}
		case evSettled, evLost:
			if !released[ev.Token] {
				problem(i, "child %d: %s of lease %s before its release", ev.Child, ev.Event, ev.Token)
			}
			if ev.Event == evLost {
				// Checked at the end: the claim that took the lease over
				// may be logged after this.
				lost = append(lost, lostAt{line: i, got: g})
				continue
			}
			if next, takenOver := supersedes[ev.Token]; takenOver {
				problem(i, "Settle accepted child %d's lease %s on conversation %d after lease %s took the conversation over",
					ev.Child, ev.Token, ev.Conversation, next)
			}
			for _, id := range ev.Messages {
				if first, twice := settled[id]; twice {
					problem(i, "message %d settled twice (leases %s and %s)", id, first.Token, ev.Token)
					continue
				}
				settled[id] = ev
			}
		default:
			problem(i, "unknown event %q", ev.Event)
		}
	}
	// Settle refuses a lease of a store that keeps its leases only when
	// another claim took the conversation over after the lease expired.
	for _, l := range lost {
		if !slices.ContainsFunc(events, func(ev holdEvent) bool {
			return ev.Event == evGot && ev.Conversation == l.got.Conversation && ev.Token != l.got.Token && !ev.Now.Before(l.got.ExpiresAt)
		}) {
			problem(l.line, "Settle refused child %d's lease %s on conversation %d, though no claim came after it expired at %s",
				l.got.Child, l.got.Token, l.got.Conversation, l.got.ExpiresAt.Format(time.RFC3339Nano))
		}
	}
	for _, conv := range slices.Sorted(maps.Keys(holder)) {
		h := holder[conv]
		problems = append(problems, fmt.Sprintf("conversation %d still held at the end by child %d (lease %s)", conv, h.Child, h.Token))
	}
	return settled, problems
}

// testProcessClaims has claim children push the same outboxes at once.
func testProcessClaims(t *testing.T, p Processes) {
	s, dsn := p.Open(t)
	e := env{t: t, s: s, ctx: t.Context()}
	want := map[int64]store.Message{}
	for i := range claimConversations {
		c := e.conversation("t1", "wa", fmt.Sprintf("u%d", i), statemachine.Open, t0)
		for j := range claimPerConv {
			m := e.message(c, fmt.Sprintf("m%d-%d", i, j), store.Pending, at(time.Duration(j)*time.Second))
			want[m.ID] = m
		}
	}
	dir := t.TempDir()
	if !runChildren(t, roleClaim, claimChildren, dsn, dir) {
		return
	}

	b, err := os.ReadFile(filepath.Join(dir, holdsFile))
	if err != nil {
		t.Fatalf("holds log: %v", err)
	}
	var events []holdEvent
	claims := map[int]int{}
	for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		var ev holdEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("holds log line %d: %v", i+1, err)
		}
		events = append(events, ev)
		if ev.Event == evGot {
			claims[ev.Child]++
		}
	}
	t.Logf("claims per child process: %v", claims)
	settled, problems := checkHolds(events)
	for _, pr := range problems {
		t.Error(pr)
	}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		ev, ok := settled[id]
		if !ok {
			t.Errorf("message %d was never settled", id)
			continue
		}
		m := normMessage(e.messageByID(want[id].ConversationID, id))
		if m.PushStatus != store.Pushed || m.Attempts != 1 || m.SalesforceID != "a0X"+m.PlatformID || !m.PushedAt.Equal(ev.Now) {
			t.Errorf("message %d = %s, %d attempts, %q, pushed at %v; want pushed once with a0X%s at %v (lease %s)",
				id, m.PushStatus, m.Attempts, m.SalesforceID, m.PushedAt, m.PlatformID, ev.Now, ev.Token)
		}
	}
	for id := range settled {
		if _, ok := want[id]; !ok {
			t.Errorf("message %d settled, but it is not one of the test's", id)
		}
	}
}

// The Delivery scenario: every child delivers every event; the events are
// spread over a few contacts, so that the children also race to create
// each contact's conversation.
const (
	deliveryChildren = 3
	deliveryEvents   = 50
	deliveryContacts = 10
)

// delivery is what a child reports of one event.
type delivery struct {
	Inserted       bool  `json:"inserted"`
	MessageID      int64 `json:"message_id"`
	ConversationID int64 `json:"conversation_id"`
}

// deliveryFile names a delivery child's result file.
func deliveryFile(child int) string { return fmt.Sprintf("delivery-%d.json", child) }

// childDeliver stores every event the way a webhook does: upsert the
// contact, find or create its live conversation, insert the message, touch
// the conversation, all in one transaction. It writes what each delivery
// returned to its result file.
func childDeliver(ctx context.Context, s store.Store, job childJob) error {
	out := make([]delivery, deliveryEvents)
	for i := range deliveryEvents {
		key := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: fmt.Sprintf("u%d", i%deliveryContacts)}
		received := at(time.Duration(i) * time.Second)
		err := s.WithTx(ctx, func(tx store.Tx) error {
			ct, err := tx.UpsertContact(ctx, key, "Ana", received)
			if err != nil {
				return fmt.Errorf("Tx.UpsertContact: %w", err)
			}
			conv, err := tx.LiveConversation(ctx, ct.ID)
			if errors.Is(err, store.ErrNotFound) {
				conv, err = tx.CreateConversation(ctx, store.Conversation{Tenant: key.Tenant, Channel: key.Channel,
					ContactID: ct.ID, State: statemachine.Open, CreatedAt: received}, "system", "inbound")
			}
			if err != nil {
				return fmt.Errorf("the live conversation: %w", err)
			}
			m, inserted, err := tx.InsertMessage(ctx, newMessage(conv, fmt.Sprintf("wamid.%d", i), store.Pending, received))
			if err != nil {
				return fmt.Errorf("Tx.InsertMessage: %w", err)
			}
			// Set on every run: a driver may run fn again.
			out[i] = delivery{Inserted: inserted, MessageID: m.ID, ConversationID: conv.ID}
			return tx.TouchConversation(ctx, conv.ID, received)
		})
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return writeJSON(job.Dir, deliveryFile(job.ID), out)
}

// testProcessDelivery has delivery children store the same events at once.
func testProcessDelivery(t *testing.T, p Processes) {
	s, dsn := p.Open(t)
	e := env{t: t, s: s, ctx: t.Context()}
	dir := t.TempDir()
	if !runChildren(t, roleDeliver, deliveryChildren, dsn, dir) {
		return
	}
	results := make([][]delivery, deliveryChildren)
	for c := range results {
		readJSON(t, dir, deliveryFile(c), &results[c])
		if len(results[c]) != deliveryEvents {
			t.Fatalf("child process %d reported %d deliveries, want %d", c, len(results[c]), deliveryEvents)
		}
	}

	convOf := map[int]int64{} // contact -> its conversation
	for i := range deliveryEvents {
		inserted := 0
		first := results[0][i]
		for c := range results {
			d := results[c][i]
			if d.Inserted {
				inserted++
			}
			if d.MessageID == 0 || d.MessageID != first.MessageID || d.ConversationID != first.ConversationID {
				t.Errorf("event %d: child process %d got message %d in conversation %d, child process 0 message %d in conversation %d; want one message",
					i, c, d.MessageID, d.ConversationID, first.MessageID, first.ConversationID)
			}
		}
		if inserted != 1 {
			t.Errorf("event %d: %d child processes inserted it, want 1", i, inserted)
		}
		contact := i % deliveryContacts
		if conv, ok := convOf[contact]; ok && conv != first.ConversationID {
			t.Errorf("event %d of contact u%d went to conversation %d, an earlier one to %d; want one conversation per contact",
				i, contact, first.ConversationID, conv)
		}
		convOf[contact] = first.ConversationID
	}

	stored := 0
	for contact, conv := range convOf {
		for _, m := range e.messages(conv) {
			stored++
			var event int
			if _, err := fmt.Sscanf(m.PlatformID, "wamid.%d", &event); err != nil || event%deliveryContacts != contact ||
				m.PushStatus != store.Pending {
				t.Errorf("conversation %d of contact u%d holds message %q (%s)", conv, contact, m.PlatformID, m.PushStatus)
			}
		}
	}
	if stored != deliveryEvents {
		t.Errorf("%d messages stored, want %d", stored, deliveryEvents)
	}
	if st, ok := e.stats("t1"); ok && (st.Messages[store.Pending] != deliveryEvents || st.Conversations[statemachine.Open] != deliveryContacts) {
		t.Errorf("after the deliveries: %v messages, %v conversations; want %d pending in %d OPEN conversations",
			st.Messages, st.Conversations, deliveryEvents, deliveryContacts)
	}
}

// The CrashedLease scenario.
const (
	// crashLeaseTTL is the crashed child's lease. The parent moves the
	// store's clock (Now) instead of waiting, so its length costs nothing.
	crashLeaseTTL = 5 * time.Minute
	crashFile     = "crash.json"
)

// childCrash claims every ready conversation, writes the leases to its
// result file, and returns without settling; runChild then exits without
// closing the store.
func childCrash(ctx context.Context, s store.Store, job childJob) error {
	ws, err := s.Claim(ctx, store.ClaimParams{Owner: job.owner(), Now: clock(), LeaseTTL: crashLeaseTTL,
		MaxConversations: 10, MaxMessages: 10})
	if err != nil {
		return fmt.Errorf("store.Claim: %w", err)
	}
	return writeJSON(job.Dir, crashFile, ws)
}

// testProcessCrashedLease has a child claim two conversations and die; the
// parent takes one over at the lease's expiry and rescues the other.
func testProcessCrashedLease(t *testing.T, p Processes) {
	s, dsn := p.Open(t)
	e := env{t: t, s: s, ctx: t.Context()}
	c1 := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	m1 := e.message(c1, "m1", store.Pending, at(time.Second))
	c2 := e.conversation("t1", "wa", "u2", statemachine.Open, t0)
	m2 := e.message(c2, "m2", store.Pending, at(2*time.Second))
	dir := t.TempDir()
	if !runChildren(t, roleCrash, 1, dsn, dir) {
		return
	}
	var crashed []store.Work
	readJSON(t, dir, crashFile, &crashed)
	if got := workIDs(crashed); !slices.Equal(got, []int64{c1.ID, c2.ID}) {
		t.Fatalf("the child process claimed %v, want [%d %d]", got, c1.ID, c2.ID)
	}
	expiry := crashed[0].Lease.ExpiresAt
	if !crashed[1].Lease.ExpiresAt.Equal(expiry) || !expiry.After(time.Now()) {
		t.Fatalf("the child's leases expire at %v and %v, want one time in the future", expiry, crashed[1].Lease.ExpiresAt)
	}

	// Before the expiry, the dead child's leases hold.
	for _, now := range []time.Time{clock(), expiry.Add(-time.Microsecond)} {
		if ws := e.claim(store.ClaimParams{Owner: "parent", Now: now, LeaseTTL: time.Minute}); len(ws) != 0 {
			t.Fatalf("claim at %v, before the child's leases expire at %v = %v, want none", now, expiry, workIDs(ws))
		}
		if n, err := s.RescueLeases(e.ctx, now); err != nil || n != 0 {
			t.Fatalf("RescueLeases at %v, before the child's leases expire at %v = %d, %v; want 0", now, expiry, n, err)
		}
	}

	// At the expiry, c1 (the older work) is taken over by a claim.
	taken := e.claimOne(store.ClaimParams{Owner: "parent", Now: expiry, LeaseTTL: time.Minute, MaxConversations: 1}, c1.ID)
	if taken.Lease.Token == crashed[0].Lease.Token {
		t.Errorf("the takeover of conversation %d kept the child's token", c1.ID)
	}
	if got := messageIDs(taken.Messages); !slices.Equal(got, []int64{m1.ID}) {
		t.Errorf("the takeover of conversation %d returned messages %v, want [%d]", c1.ID, got, m1.ID)
	}
	// c2 is rescued; c1 is the parent's now.
	if n, err := s.RescueLeases(e.ctx, expiry.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("RescueLeases after the expiry = %d, %v; want 1", n, err)
	}

	// The child's tokens are refused, and change nothing.
	for _, w := range crashed {
		err := SettleOne(e.ctx, s, w.Lease, store.Settlement{Now: expiry.Add(2 * time.Second),
			Outcomes: outcomes(w, store.Pushed, ""), SyncedVersion: 1})
		if !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("settlement of conversation %d with the dead child's lease: %v, want ErrLeaseLost", w.Conversation.ID, err)
		}
	}
	for _, want := range []store.Message{m1, m2} {
		if got := normMessage(e.messageByID(want.ConversationID, want.ID)); got != normMessage(want) {
			t.Errorf("message after the refused settlements = %+v, want it untouched %+v", got, want)
		}
	}
	for _, c := range []store.Conversation{c1, c2} {
		if got := e.get(c.ID); got.SyncedVersion != 0 {
			t.Errorf("conversation %d after the refused settlements has SyncedVersion %d, want 0", c.ID, got.SyncedVersion)
		}
	}

	rescued := e.claimOne(store.ClaimParams{Owner: "parent", Now: expiry.Add(3 * time.Second), LeaseTTL: time.Minute}, c2.ID)
	for _, w := range []store.Work{taken, rescued} {
		e.settle(w.Lease, store.Settlement{Now: expiry.Add(4 * time.Second), Outcomes: outcomes(w, store.Pushed, "")})
	}
	if st, ok := e.stats("t1"); ok && (st.Messages[store.Pushed] != 2 || st.Messages[store.Pending] != 0) {
		t.Errorf("after the parent's settlements: %v, want 2 pushed", st.Messages)
	}
}
