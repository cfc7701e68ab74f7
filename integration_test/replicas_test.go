package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/postgres"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// Shape of the replicas test's traffic.
const (
	replicaCount       = 3
	replicaContacts    = 200
	replicaPerContact  = 25
	replicaSenders     = 8
	replicaInactivity  = 3 * time.Second
	defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// postgresSchema creates a schema of its own on the test server and
// returns a DSN whose search_path is that schema; the schema is dropped
// when the test ends.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CONNECTOR_TEST_POSTGRES_DSN")
	if base == "" {
		base = defaultPostgresDSN
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is needed on 127.0.0.1:5432 (or set CONNECTOR_TEST_POSTGRES_DSN); .ci/postgres.sh starts one: %v", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "it_replicas_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func replicaWaID(c int) string     { return fmt.Sprintf("3170%07d", c) }
func replicaMsgID(c, k int) string { return fmt.Sprintf("wamid.REPL.%03d.%02d", c, k) }

// TestReplicasShareTheWorkOnPostgres runs three connector processes on one
// PostgreSQL schema, spreads 5,000 signed webhooks for 200 contacts over
// them, kills one with SIGKILL midway and restarts it. Every acknowledged
// message is in Salesforce exactly once and in order per contact; the
// work was shared; and once every conversation has been idle past the
// inactivity limit, each expired exactly once — the timer ran once per due
// conversation, not once per replica.
func TestReplicasShareTheWorkOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	acme := newOrg(t, "", nil)
	acme.SF.SetLatency(10 * time.Millisecond)
	tenants := []tenantSpec{{ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", InactivityTimeout: replicaInactivity}}}}
	replicas := make([]*env, replicaCount)
	for i := range replicas {
		replicas[i] = newEnv(t, envOptions{Tenants: tenants, PostgresDSN: dsn})
	}

	// Every replica migrates at once, as a rolling deploy would.
	var mwg sync.WaitGroup
	migrateErrs := make([]error, replicaCount)
	for i, r := range replicas {
		mwg.Add(1)
		go func() {
			defer mwg.Done()
			out, err := exec.Command(connectorBin, "migrate", "-config", r.cfgPath).CombinedOutput()
			if err != nil {
				migrateErrs[i] = fmt.Errorf("replica %d: %v: %s", i, err, out)
			}
		}()
	}
	mwg.Wait()
	if err := errors.Join(migrateErrs...); err != nil {
		t.Fatalf("concurrent migrate: %v", err)
	}
	for _, r := range replicas {
		r.start()
	}

	const total = replicaContacts * replicaPerContact
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	var (
		acked    atomic.Int64
		failed   atomic.Bool
		mu       sync.Mutex
		ackedIDs = map[string]bool{}
		errs     = make([]error, replicaSenders)
		wg       sync.WaitGroup
	)
	defer func() { cancel(); wg.Wait() }()
	senders := make([]*demo.Sender, replicaCount)
	for i, r := range replicas {
		senders[i] = &demo.Sender{BaseURL: r.base(), HTTP: &http.Client{Timeout: 10 * time.Second}}
	}
	for s := range replicaSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[s] = sendReplicaTraffic(ctx, senders, s, func(id string) {
				mu.Lock()
				ackedIDs[id] = true
				mu.Unlock()
				acked.Add(1)
			})
			if errs[s] != nil {
				failed.Store(true)
			}
		}()
	}
	waitFor(t, 3*time.Minute, "half of the messages acknowledged", func() (bool, string) {
		return acked.Load() >= total/2 || failed.Load(), fmt.Sprintf("%d acknowledged", acked.Load())
	})
	if !failed.Load() {
		code := replicas[1].stop(syscall.SIGKILL)
		t.Logf("replica 1: SIGKILL after %d acknowledged messages (exit code %d)", acked.Load(), code)
		time.Sleep(500 * time.Millisecond)
		replicas[1].start()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("senders: %v", err)
	}
	if len(ackedIDs) != total {
		t.Fatalf("%d distinct messages acknowledged, want %d", len(ackedIDs), total)
	}

	waitFor(t, 3*time.Minute, "every acknowledged message in Salesforce", func() (bool, string) {
		n := len(acme.SF.Records(msgObject))
		return n >= total, fmt.Sprintf("%d of %d message records", n, total)
	})
	recs := acme.SF.Records(msgObject)
	byKey := map[string]int{}
	for _, r := range recs {
		byKey[field(r, "Message_Key__c")]++
	}
	for key, n := range byKey {
		if n > 1 {
			t.Errorf("%s is on %d records", key, n)
		}
	}
	for id := range ackedIDs {
		if byKey["acme:wa:"+id] != 1 {
			t.Errorf("acknowledged message %s is not in Salesforce exactly once", id)
		}
	}
	if len(recs) != total {
		t.Errorf("%d message records, want %d", len(recs), total)
	}
	checkReplicaOrder(t, recs)

	// Every conversation expires once the traffic stops: exactly one
	// inactivity expiry each, whichever replica's timer ran it.
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitFor(t, time.Minute, "every conversation EXPIRED", func() (bool, string) {
		s, err := st.Stats(context.Background(), "acme")
		if err != nil {
			return false, err.Error()
		}
		live := 0
		for state, n := range s.Conversations {
			if state.Live() {
				live += n
			}
		}
		return live == 0 && s.Messages[store.Pending] == 0, fmt.Sprintf("%d live conversations, %d pending messages", live, s.Messages[store.Pending])
	})
	convs := acme.SF.Records(convObject)
	if len(convs) < replicaContacts {
		t.Fatalf("%d conversation records for %d contacts", len(convs), replicaContacts)
	}
	for _, c := range convs {
		key := field(c, "Conversation_Key__c")
		id, err := strconv.ParseInt(key[strings.LastIndex(key, ":")+1:], 10, 64)
		if err != nil {
			t.Fatalf("conversation key %q", key)
		}
		hist, err := st.History(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		expiries := 0
		for _, h := range hist {
			if h.Event == statemachine.InactivityExpiry.String() {
				expiries++
			}
		}
		if expiries != 1 {
			t.Errorf("conversation %d expired %d times, want once: %+v", id, expiries, hist)
		}
	}
	// The EXPIRED state is mirrored onto every record.
	waitFor(t, time.Minute, "every conversation record EXPIRED", func() (bool, string) {
		notYet := 0
		for _, c := range acme.SF.Records(convObject) {
			if field(c, "State__c") != "EXPIRED" {
				notYet++
			}
		}
		return notYet == 0, fmt.Sprintf("%d records not EXPIRED yet", notYet)
	})

	// The work was shared: more than one replica pushed messages.
	pushers := 0
	for i, r := range replicas {
		if n := pushedCounter(t, r); n > 0 {
			pushers++
			t.Logf("replica %d pushed %d messages since its last start", i, n)
		}
	}
	if pushers < 2 {
		t.Errorf("only %d replica(s) pushed messages; the work was not shared", pushers)
	}
}

// sendReplicaTraffic sends the messages of sender s's contacts, each
// contact's in order, one per delivery, spreading deliveries over the
// replicas; a delivery a replica does not acknowledge (it is down) goes to
// the next one, as a load balancer would send it.
func sendReplicaTraffic(ctx context.Context, senders []*demo.Sender, s int, acked func(id string)) error {
	sentAt := time.Now().Add(-time.Hour)
	turn := s
	for k := 0; k < replicaPerContact; k++ {
		for c := s; c < replicaContacts; c += replicaSenders {
			id := replicaMsgID(c, k)
			body := whatsapp.Delivery(defaultPhoneNumberID, whatsapp.Inbound{From: replicaWaID(c), Name: fmt.Sprintf("Contact %d", c), ID: id,
				Time: sentAt.Add(time.Duration(k) * time.Second), Text: fmt.Sprintf("contact %d, message %d", c, k)})
			for {
				turn++
				resp, err := senders[turn%len(senders)].WhatsApp(ctx, "acme", "wa", appSecret, body)
				if err == nil && resp.Status/100 == 2 {
					break
				}
				if err == nil && resp.Status < 500 {
					return fmt.Errorf("message %s refused with %d: %s", id, resp.Status, resp.Body)
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("message %s: gave up (last error %v): %w", id, err, ctx.Err())
				case <-time.After(10 * time.Millisecond):
				}
			}
			acked(id)
		}
	}
	return nil
}

// checkReplicaOrder checks that each contact's records were created in the
// order its messages were sent, across all its conversations.
func checkReplicaOrder(t *testing.T, recs []standin.Record) {
	t.Helper()
	slices.SortFunc(recs, func(a, b standin.Record) int { return int(a.CreatedSeq - b.CreatedSeq) })
	last := map[int]int{}
	for _, r := range recs {
		id := strings.TrimPrefix(field(r, "Message_Key__c"), "acme:wa:")
		var c, k int
		if _, err := fmt.Sscanf(id, "wamid.REPL.%03d.%02d", &c, &k); err != nil {
			t.Errorf("unexpected record %s", id)
			continue
		}
		if prev, ok := last[c]; ok && k <= prev {
			t.Errorf("contact %d: message %d was created after message %d", c, k, prev)
		}
		last[c] = k
	}
}

// pushedCounter reads connector_messages_pushed_total of a running replica.
func pushedCounter(t *testing.T, e *env) int {
	t.Helper()
	code, b := e.api("GET", "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: status %d: %s", code, b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, `connector_messages_pushed_total{tenant="acme"}`) {
			f := strings.Fields(line)
			n, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metrics line %q", line)
			}
			return int(n)
		}
	}
	return 0
}
