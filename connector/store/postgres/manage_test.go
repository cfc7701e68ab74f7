package postgres

import (
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// TestGetContactLocksTheContact holds a transaction that read a contact
// with Tx.GetContact open: another store's upsert of that contact waits
// for it (and fails here, as its lock_timeout is short), one of another
// contact does not, and once the first commits the upsert goes through.
func TestGetContactLocksTheContact(t *testing.T) {
	a, dsn := migrated(t)
	b := openStore(t, withParam(t, dsn, "lock_timeout", "200ms"), Options{})
	ctx := t.Context()
	held := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "held"}
	other := store.ContactKey{Tenant: "t1", Channel: "wa", ExternalID: "other"}
	var id int64
	upsert := func(s *Store, key store.ContactKey) error {
		return s.WithTx(ctx, func(tx store.Tx) error {
			c, err := tx.UpsertContact(ctx, key, "", t0)
			if key == held {
				id = c.ID
			}
			return err
		})
	}
	if err := upsert(a, held); err != nil {
		t.Fatal(err)
	}
	if err := upsert(a, other); err != nil {
		t.Fatal(err)
	}

	err := a.WithTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetContact(ctx, id); err != nil {
			return err
		}
		if err := upsert(b, held); sqlState(err) != "55P03" {
			t.Errorf("upsert of a contact another transaction read with GetContact: %v, want a lock timeout (55P03)", err)
		}
		if err := upsert(b, other); err != nil {
			t.Errorf("upsert of another contact meanwhile: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := upsert(b, held); err != nil {
		t.Errorf("upsert after the first transaction: %v", err)
	}
}

// TestMigrationKeepsBlocks upgrades a schema at version 4 holding a
// blocked and an unblocked contact and a message: the blocked contact's
// block gets its last change as its time, the other none, and the
// message no delivery status.
func TestMigrationKeepsBlocks(t *testing.T) {
	ctx := t.Context()
	s := openStore(t, newSchema(t), Options{})
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
	changed := t0.Add(time.Hour + 123456*time.Microsecond)
	var blocked, plain, conv int64
	err = s.pool.QueryRow(ctx, `INSERT INTO contacts (tenant, channel, external_id, blocked_inbound, created_at, updated_at)
		VALUES ('t1', 'wa', 'b', true, $1, $2) RETURNING id`, t0, changed).Scan(&blocked)
	if err == nil {
		err = s.pool.QueryRow(ctx, `INSERT INTO contacts (tenant, channel, external_id, created_at, updated_at)
			VALUES ('t1', 'wa', 'p', $1, $2) RETURNING id`, t0, changed).Scan(&plain)
	}
	if err == nil {
		err = s.pool.QueryRow(ctx, `INSERT INTO conversations (tenant, channel, contact_id, state, created_at, updated_at, last_activity_at)
			VALUES ('t1', 'wa', $1, 0, $2, $2, $2) RETURNING id`, plain, t0).Scan(&conv)
	}
	if err == nil {
		_, err = s.pool.Exec(ctx, `INSERT INTO messages (tenant, channel, conversation_id, contact_id, platform_id,
			direction, received_at, state_at_receipt, push_status)
			VALUES ('t1', 'wa', $1, $2, 'm1', 'outbound', $3, 0, 'pushed')`, conv, plain, t0)
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
