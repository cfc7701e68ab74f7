package integration_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
)

// TestRestartTakesBackLeasesAtOnce kills the connector (SQLite) with
// SIGKILL while a Salesforce call of its is in flight, with a lease time
// far longer than the test waits: the restarted process owns the file and
// takes the leases of its previous run back at once, so the message is
// pushed right away rather than after the lease expires.
func TestRestartTakesBackLeasesAtOnce(t *testing.T) {
	t.Parallel()
	watch := &callWatch{}
	acme := newOrg(t, "", func(h http.Handler) http.Handler { watch.next = h; return watch })
	e := newEnv(t, envOptions{
		LeaseTTL:       time.Hour,
		RequestTimeout: time.Hour,
		Tenants: []tenantSpec{{ID: "acme", Org: acme,
			Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}}},
	})
	e.start()
	acme.SF.SetLatency(time.Hour) // the call never answers
	id := "wamid.RESTART.1"
	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, "31600000077", "", id, "hello", time.Now()))
	waitFor(t, waitTimeout, "the message's call to reach the stand-in", func() (bool, string) {
		_, ok := watch.firstCall()
		return ok, ""
	})
	e.stop(syscall.SIGKILL)

	st := e.openStore()
	c := onlyConversation(t, st, "acme", "wa", "31600000077")
	st.Close()
	if c.ID == 0 {
		t.Fatal("no conversation")
	}
	acme.SF.SetLatency(0)
	e.start()
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", id))
	st = e.openStore()
	defer st.Close()
	waitFor(t, waitTimeout, "the message pushed in the store", func() (bool, string) {
		ms := messagesOf(t, st, c.ID)
		return len(ms) == 1 && ms[0].PushStatus == store.Pushed, fmt.Sprintf("%+v", ms)
	})
}

// TestReplicaHeartbeatAndRescueOnPostgres runs two replicas on PostgreSQL
// with a lease of 2 s and Salesforce calls of 4 s: the heartbeat keeps each
// round's leases while its call is in flight (no lease is lost, no record
// is written twice); then the replica with a call in flight is killed and
// the other one pushes its conversation once the lease runs out.
func TestReplicaHeartbeatAndRescueOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	watch := &callWatch{}
	acme := newOrg(t, "", func(h http.Handler) http.Handler { watch.next = h; return watch })
	tenants := []tenantSpec{{ID: "acme", Org: acme, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}}}
	opts := envOptions{Tenants: tenants, PostgresDSN: dsn, LeaseTTL: 2 * time.Second, RequestTimeout: time.Minute}
	a, b := newEnv(t, opts), newEnv(t, opts)
	a.start()
	b.start()
	acme.SF.SetLatency(4 * time.Second)

	// Phase 1: calls longer than the lease, both replicas running.
	var ids []string
	for c := range 4 {
		id := fmt.Sprintf("wamid.HB.%d", c)
		ids = append(ids, id)
		r := a
		if c%2 == 1 {
			r = b
		}
		r.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, fmt.Sprintf("3160000090%d", c), "", id, "hello "+id, time.Now()))
	}
	waitFor(t, 2*waitTimeout, "every message of phase 1 in Salesforce", func() (bool, string) {
		msgs := messageRecords(t, acme.SF)
		for _, id := range ids {
			if _, ok := msgs[msgKey("acme", "wa", id)]; !ok {
				return false, fmt.Sprintf("%d of %d", len(msgs), len(ids))
			}
		}
		return true, ""
	})
	for name, r := range map[string]*env{"a": a, "b": b} {
		if n := metricValue(t, r, "connector_leases_lost_total"); n != 0 {
			t.Errorf("replica %s lost %v leases although its heartbeat renews them", name, n)
		}
		// Each replica committed its two deliveries, one after the other.
		if n, waits := metricValue(t, r, "connector_ingest_group_deliveries_sum"), metricValue(t, r, "connector_ingest_lock_waits_total"); n != 2 || waits != 0 {
			t.Errorf("replica %s: %v deliveries in its group commits, %v lock waits; want 2 and 0", name, n, waits)
		}
	}
	if st := acme.SF.Stats(); st.RecordsUpdated != 0 {
		t.Errorf("%d records were written twice (a lease taken while its call was in flight)", st.RecordsUpdated)
	}

	// Phase 2: b stops; a takes a call that never answers, and dies.
	b.stop(syscall.SIGTERM)
	acme.SF.SetLatency(time.Hour)
	calls := len(watch.calls)
	id := "wamid.HB.rescue"
	a.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, "31600000099", "", id, "rescue me", time.Now()))
	waitFor(t, waitTimeout, "a's call to reach the stand-in", func() (bool, string) {
		watch.mu.Lock()
		defer watch.mu.Unlock()
		return len(watch.calls) > calls, ""
	})
	a.stop(syscall.SIGKILL)
	acme.SF.SetLatency(0)
	b.start()
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", id))
}

// metricValue reads an unlabelled counter or gauge of a running replica.
func metricValue(t *testing.T, e *env, name string) float64 {
	t.Helper()
	code, body := e.api("GET", "/metrics", nil)
	if code != http.StatusOK {
		t.Fatalf("metrics: status %d: %s", code, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("metrics line %q", line)
			}
			return v
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
