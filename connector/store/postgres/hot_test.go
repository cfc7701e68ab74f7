package postgres

import (
	"context"
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
	updates, hot := conversationUpdates(t, s, conn, 1+leases)
	if updates != 1+leases || hot != leases {
		t.Errorf("conversations: %d updates, %d of them heap-only; want %d, the %d lease writes heap-only", updates, hot, 1+leases, leases)
	}

	if err := storetest.SettleOne(ctx, s, ws[0].Lease, store.Settlement{Now: t0, Outcomes: pushedOutcomes(ws[0])}); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if after, _ := conversationUpdates(t, s, conn, updates+1); after != updates+1 {
		t.Errorf("the settlement made %d updates of the conversation, want 1", after-updates)
	}
}

// conversationUpdates returns the updates of s's conversations table, and
// how many of them were heap-only, as the statistics count them once they
// reach at least atLeast (or after a while).
func conversationUpdates(t *testing.T, s *Store, conn *pgx.Conn, atLeast int64) (updates, hot int64) {
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
			WHERE schemaname = $1 AND relname = 'conversations'`, schema).Scan(&updates, &hot)
		if err != nil {
			t.Fatal(err)
		}
		if updates >= atLeast || time.Now().After(deadline) {
			return updates, hot
		}
		time.Sleep(20 * time.Millisecond)
	}
}
