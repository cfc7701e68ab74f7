package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/storetest"
)

// TestConversationWrites: a claim and a heartbeat change only a
// conversation's lease, which PostgreSQL then writes as a heap-only tuple,
// with no new entry in any of the table's indexes (migration 0013); an
// index naming a lease column would make each of them an update of every
// index. A settlement writes the conversation once: its release and its
// outbox's oldest message are one row version.
func TestConversationWrites(t *testing.T) {
	_, dsn := migrated(t)
	// One session, whose statistics are flushed on demand.
	s := openStore(t, dsn, Options{MaxConns: 1})
	ctx := t.Context()
	seed(t, s, "u1") // one update of the conversation: its outbox
	ws, err := s.Claim(ctx, store.ClaimParams{Owner: "w", Now: t0, LeaseTTL: time.Minute})
	if err != nil || len(ws) != 1 {
		t.Fatalf("Claim = %v, %v", ids(ws), err)
	}
	const renewals = 3
	for i := range renewals {
		lost, err := s.RenewLeases(ctx, []store.Lease{ws[0].Lease}, t0.Add(time.Duration(i+1)*time.Second), time.Minute)
		if err != nil || len(lost) != 0 {
			t.Fatalf("RenewLeases = %v, %v", lost, err)
		}
	}
	conn := adminConn(t)
	defer func() { _ = conn.Close(context.Background()) }()
	const leases = 1 + renewals
	updates, hot := tableUpdates(t, s, conn, "conversations", 1+leases)
	if updates != 1+leases || hot != leases {
		t.Errorf("conversations: %d updates, %d of them heap-only; want %d, the %d lease writes heap-only", updates, hot, 1+leases, leases)
	}

	if err := storetest.SettleOne(ctx, s, ws[0].Lease, store.Settlement{Now: t0, Outcomes: pushedOutcomes(ws[0])}); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if after, _ := tableUpdates(t, s, conn, "conversations", updates+1); after != updates+1 {
		t.Errorf("the settlement made %d updates of the conversation, want 1", after-updates)
	}
}

// TestKnownContactNotRewritten: an inbound message of a known contact
// under the same name (or none) writes nothing to the contact's row (it
// only locks it, see TestUpsertContactLocksTheContact); a new name is one
// update. Before, every delivery made a new version of its contact's row.
func TestKnownContactNotRewritten(t *testing.T) {
	_, dsn := migrated(t)
	s := openStore(t, dsn, Options{MaxConns: 1})
	ctx := t.Context()
	key := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "u1"}
	var first store.InboundLookup
	for i, name := range []string{"Ana", "Ana", "", "Ana", "Ana B."} {
		err := s.WithTx(ctx, func(tx store.Tx) error {
			in, err := tx.Inbound(ctx, key, name, t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("wamid.%d", i))
			if err != nil {
				return err
			}
			if i == 0 {
				first = in
			}
			want := "Ana"
			if name != "" {
				want = name
			}
			if in.Contact.ID != first.Contact.ID || in.Contact.DisplayName != want {
				t.Errorf("delivery %d (name %q): contact %d %q, want %d %q", i, name, in.Contact.ID, in.Contact.DisplayName, first.Contact.ID, want)
			}
			c, err := tx.UpsertContact(ctx, key, "", t0)
			if err != nil || c.ID != first.Contact.ID || c.DisplayName != want || c.Tenant != key.Tenant {
				t.Errorf("UpsertContact with no name after delivery %d = %+v, %v", i, c, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	conn := adminConn(t)
	defer func() { _ = conn.Close(context.Background()) }()
	if updates, _ := tableUpdates(t, s, conn, "contacts", 1); updates != 1 {
		t.Errorf("contacts: %d updates for four deliveries under a known name and one renaming, want 1", updates)
	}
}

// tableUpdates returns the updates of s's table, and how many of them
// were heap-only, as the statistics count them once they reach at least
// atLeast (or after a while).
func tableUpdates(t *testing.T, s *Store, conn *pgx.Conn, table string, atLeast int64) (updates, hot int64) {
	t.Helper()
	ctx := t.Context()
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// The session reports its counts once idle after this statement.
	if _, err := s.pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := conn.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE schemaname = $1 AND relname = $2`, schema, table).Scan(&updates, &hot)
		if err != nil {
			t.Fatal(err)
		}
		if updates >= atLeast || time.Now().After(deadline) {
			return updates, hot
		}
		time.Sleep(20 * time.Millisecond)
	}
}
