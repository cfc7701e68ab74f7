package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// TestMigrationKeepsBlocks upgrades a database at schema version 4
// holding a blocked and an unblocked contact and a message: the blocked
// contact's block gets its last change as its time, the other none, and
// the message no delivery status.
func TestMigrationKeepsBlocks(t *testing.T) {
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
		if m.Version < 5 {
			before = append(before, m)
		}
	}
	if err := s.migrate(ctx, before); err != nil {
		t.Fatalf("migrate to version 4: %v", err)
	}
	created := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	changed := created.Add(time.Hour + 123456*time.Microsecond)
	var blocked, plain, conv int64
	err = s.w.QueryRowContext(ctx, `INSERT INTO contacts (tenant, channel, external_id, blocked_inbound, created_at, updated_at)
		VALUES ('t1', 'wa', 'b', 1, ?, ?) RETURNING id`, created.UnixMicro(), changed.UnixMicro()).Scan(&blocked)
	if err == nil {
		err = s.w.QueryRowContext(ctx, `INSERT INTO contacts (tenant, channel, external_id, created_at, updated_at)
			VALUES ('t1', 'wa', 'p', ?, ?) RETURNING id`, created.UnixMicro(), changed.UnixMicro()).Scan(&plain)
	}
	if err == nil {
		err = s.w.QueryRowContext(ctx, `INSERT INTO conversations (tenant, channel, contact_id, state, created_at, updated_at, last_activity_at)
			VALUES ('t1', 'wa', ?1, 0, ?2, ?2, ?2) RETURNING id`, plain, created.UnixMicro()).Scan(&conv)
	}
	if err == nil {
		_, err = s.w.ExecContext(ctx, `INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id,
			direction, received_at, state_at_receipt, push_status)
			VALUES ('t1', 'wa', ?, ?, 'm1', 'outbound', ?, 0, 'pushed')`, conv, plain, created.UnixMicro())
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 4: %v", err)
	}

	b, err := s.GetContact(ctx, blocked)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.BlockInfo{At: changed}); !b.BlockedInbound || b.Block != want {
		t.Errorf("blocked contact after the migration: inbound %v, block %+v; want blocked with %+v", b.BlockedInbound, b.Block, want)
	}
	if b.Native != (store.NativeBlock{}) || b.Tags == nil || len(b.Tags) != 0 {
		t.Errorf("blocked contact after the migration: native %+v, tags %#v; want none", b.Native, b.Tags)
	}
	p, err := s.GetContact(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Block != (store.BlockInfo{}) {
		t.Errorf("unblocked contact after the migration: block %+v, want none", p.Block)
	}
	msgs, err := s.ListMessages(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].DeliveryStatus != "" || !msgs[0].DeliveryStatusAt.IsZero() {
		t.Errorf("messages after the migration = %+v, want one with no delivery status", msgs)
	}
}
