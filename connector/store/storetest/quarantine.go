package storetest

import (
	"bytes"
	"errors"
	"slices"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// testQuarantine: an event is kept with its raw bytes as given (NUL and
// invalid UTF-8 included), once per tenant, channel and raw bytes (a
// retry updates the reason and time of the one kept); the list filters by
// tenant and channel and pages by ID; a deleted event is gone; an
// incomplete one is refused and changes nothing; a rolled-back one is not
// kept.
func testQuarantine(e env) {
	rawA := []byte("MessageSid=SM1&AccountSid=AC1&Body=\x00\xff")
	rawB := []byte(`{"object":"page","entry":[{"id":"9"}]}`)
	put := func(q store.Quarantined) (store.Quarantined, bool) {
		e.t.Helper()
		var got store.Quarantined
		var inserted bool
		e.tx(func(tx store.Tx) error {
			var err error
			got, inserted, err = tx.Quarantine(e.ctx, q)
			return err
		})
		return got, inserted
	}
	a := store.Quarantined{Tenant: "acme", Channel: "sms", Platform: "twilio", Reason: "other_account: AccountSid AC1",
		Raw: rawA, ReceivedAt: at(time.Minute)}
	first, inserted := put(a)
	if !inserted || first.ID == 0 || !sameQuarantined(first, a) || !first.UpdatedAt.Equal(a.ReceivedAt) {
		e.t.Fatalf("Quarantine = %+v, inserted %v; want %+v inserted", first, inserted, a)
	}
	b := store.Quarantined{Tenant: "acme", Channel: "fb", Platform: "messenger", Reason: "other_account: entry for account 9",
		Raw: rawB, ReceivedAt: at(2 * time.Minute)}
	second, _ := put(b)
	other := b
	other.Tenant = "globex"
	third, inserted := put(other)
	if !inserted || third.ID == second.ID {
		e.t.Fatalf("the same raw bytes of another tenant were not kept apart: %+v, inserted %v", third, inserted)
	}

	// A retry of the same event: kept once, with the new reason and time.
	again := a
	again.Reason, again.ReceivedAt = "no_chat: still", at(time.Hour)
	got, inserted := put(again)
	if inserted || got.ID != first.ID || got.Reason != "no_chat: still" ||
		!got.ReceivedAt.Equal(a.ReceivedAt) || !got.UpdatedAt.Equal(at(time.Hour)) || !bytes.Equal(got.Raw, rawA) {
		e.t.Fatalf("quarantined again = %+v, inserted %v; want event %d with the new reason and time", got, inserted, first.ID)
	}

	list := func(f store.QuarantineFilter) []int64 {
		e.t.Helper()
		qs, err := e.s.ListQuarantine(e.ctx, f)
		if err != nil {
			e.t.Fatalf("ListQuarantine(%+v): %v", f, err)
		}
		ids := []int64{}
		for _, q := range qs {
			ids = append(ids, q.ID)
		}
		return ids
	}
	if ids := list(store.QuarantineFilter{}); !slices.Equal(ids, []int64{first.ID, second.ID, third.ID}) {
		e.t.Errorf("every tenant's: %v", ids)
	}
	if ids := list(store.QuarantineFilter{Tenant: "acme"}); !slices.Equal(ids, []int64{first.ID, second.ID}) {
		e.t.Errorf("acme's: %v", ids)
	}
	if ids := list(store.QuarantineFilter{Tenant: "acme", Channel: "fb"}); !slices.Equal(ids, []int64{second.ID}) {
		e.t.Errorf("acme's fb: %v", ids)
	}
	if ids := list(store.QuarantineFilter{AfterID: first.ID, Limit: 1}); !slices.Equal(ids, []int64{second.ID}) {
		e.t.Errorf("a page of one after %d: %v", first.ID, ids)
	}
	qs, err := e.s.ListQuarantine(e.ctx, store.QuarantineFilter{Tenant: "acme", Channel: "sms"})
	if err != nil || len(qs) != 1 || !bytes.Equal(qs[0].Raw, rawA) || qs[0].Reason != "no_chat: still" {
		e.t.Errorf("listed = %+v, %v", qs, err)
	}

	// Incomplete events are refused.
	for _, bad := range []store.Quarantined{
		{Channel: "sms", Platform: "twilio", Reason: "r", Raw: rawB, ReceivedAt: t0},
		{Tenant: "acme", Channel: "sms", Platform: "twilio", Reason: "", Raw: rawB, ReceivedAt: t0},
		{Tenant: "acme", Channel: "sms", Platform: "twilio", Reason: "r", ReceivedAt: t0},
		{Tenant: "acme", Channel: "sms", Platform: "twilio", Reason: "r", Raw: rawB},
	} {
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			_, _, err := tx.Quarantine(e.ctx, bad)
			return err
		})
		if err == nil {
			e.t.Errorf("Quarantine(%+v) was accepted", bad)
		}
	}
	// A rolled-back quarantine is not kept.
	rollback := errors.New("roll back")
	err = e.s.WithTx(e.ctx, func(tx store.Tx) error {
		if _, _, err := tx.Quarantine(e.ctx, store.Quarantined{Tenant: "acme", Channel: "sms", Platform: "twilio",
			Reason: "r", Raw: []byte("x"), ReceivedAt: t0}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		e.t.Fatalf("WithTx = %v", err)
	}
	if ids := list(store.QuarantineFilter{}); !slices.Equal(ids, []int64{first.ID, second.ID, third.ID}) {
		e.t.Errorf("after refusals and a rollback: %v", ids)
	}

	// Get and delete.
	e.tx(func(tx store.Tx) error {
		got, err := tx.GetQuarantined(e.ctx, second.ID)
		if err != nil || !sameQuarantined(got, b) {
			e.t.Errorf("GetQuarantined = %+v, %v; want %+v", got, err, b)
		}
		if err := tx.DeleteQuarantined(e.ctx, second.ID); err != nil {
			return err
		}
		if _, err := tx.GetQuarantined(e.ctx, second.ID); !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("GetQuarantined of a deleted event: %v, want ErrNotFound", err)
		}
		if err := tx.DeleteQuarantined(e.ctx, second.ID); !errors.Is(err, store.ErrNotFound) {
			e.t.Errorf("DeleteQuarantined twice: %v, want ErrNotFound", err)
		}
		return nil
	})
	if ids := list(store.QuarantineFilter{}); !slices.Equal(ids, []int64{first.ID, third.ID}) {
		e.t.Errorf("after the delete: %v", ids)
	}
}

func sameQuarantined(got, want store.Quarantined) bool {
	return got.Tenant == want.Tenant && got.Channel == want.Channel && got.Platform == want.Platform &&
		got.Reason == want.Reason && bytes.Equal(got.Raw, want.Raw) && got.ReceivedAt.Equal(want.ReceivedAt)
}
