package postgres

import (
	"testing"

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
		if _, err := tx.LockContact(ctx, id); err != nil {
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
