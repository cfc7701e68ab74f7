package storetest

import (
	"errors"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// setStatus records a platform status and fails the test on error.
func (e env) setStatus(contactID int64, status string, when time.Time) bool {
	e.t.Helper()
	var changed bool
	e.tx(func(tx store.Tx) error {
		var err error
		changed, err = tx.SetContactPlatformStatus(e.ctx, contactID, status, when)
		return err
	})
	return changed
}

// readContact reads a contact back through UpsertContact, which returns it
// unchanged when given no display name.
func (e env) readContact(key store.ContactKey) store.Contact {
	e.t.Helper()
	var c store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		c, err = tx.UpsertContact(e.ctx, key, "", at(time.Hour))
		return err
	})
	return normContact(c)
}

func testContactPlatformStatus(e env) {
	c := e.contact("t1", "line", "U1")
	other := e.contact("t1", "line", "U2")
	want := normContact(c)
	if want.PlatformStatus != "" || !want.PlatformStatusAt.IsZero() || want.UnreachableOnPlatform() {
		e.t.Fatalf("new contact = %+v, want no platform status", c)
	}

	// Set, and read back in the same transaction and in a later one.
	var changed bool
	var inTx store.Contact
	e.tx(func(tx store.Tx) error {
		var err error
		if changed, err = tx.SetContactPlatformStatus(e.ctx, c.ID, "blocked", at(time.Minute)); err != nil {
			return err
		}
		inTx, err = tx.UpsertContact(e.ctx, c.ContactKey, "", at(time.Hour))
		return err
	})
	want.PlatformStatus, want.PlatformStatusAt = "blocked", at(time.Minute)
	if !changed {
		e.t.Errorf("first status: reported no change")
	}
	if !sameContact(normContact(inTx), want) {
		e.t.Errorf("contact in the transaction that set the status = %+v, want %+v", inTx, want)
	}
	if got := e.readContact(c.ContactKey); !sameContact(got, want) || !got.UnreachableOnPlatform() {
		e.t.Errorf("contact after blocked = %+v (unreachable %v), want %+v (unreachable)", got, got.UnreachableOnPlatform(), want)
	}

	// An older event (a platform's retry) changes nothing.
	if e.setStatus(c.ID, "unblocked", at(30*time.Second)) {
		e.t.Errorf("older status: reported a change")
	}
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("contact after an older status = %+v, want it unchanged %+v", got, want)
	}

	// A newer one replaces it.
	if !e.setStatus(c.ID, "unblocked", at(2*time.Minute)) {
		e.t.Errorf("newer status: reported no change")
	}
	want.PlatformStatus, want.PlatformStatusAt = "unblocked", at(2*time.Minute)
	if got := e.readContact(c.ContactKey); !sameContact(got, want) || got.UnreachableOnPlatform() {
		e.t.Errorf("contact after a newer status = %+v (unreachable %v), want %+v (reachable)", got, got.UnreachableOnPlatform(), want)
	}

	// On a tie the status delivered last wins.
	if !e.setStatus(c.ID, "unfollow", at(2*time.Minute)) {
		e.t.Errorf("status as of the same time: reported no change")
	}
	want.PlatformStatus = "unfollow"
	if got := e.readContact(c.ContactKey); !sameContact(got, want) || !got.UnreachableOnPlatform() {
		e.t.Errorf("contact after a status as of the same time = %+v, want %+v", got, want)
	}

	// The same status as of the same time (a redelivery) changes nothing.
	if e.setStatus(c.ID, "unfollow", at(2*time.Minute)) {
		e.t.Errorf("the stored status again: reported a change")
	}
	// The same status as of a later time moves its time.
	if !e.setStatus(c.ID, "unfollow", at(3*time.Minute)) {
		e.t.Errorf("the stored status as of a later time: reported no change")
	}
	want.PlatformStatusAt = at(3 * time.Minute)
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("contact after the same status later = %+v, want %+v", got, want)
	}

	// Another contact is untouched.
	if got, w := e.readContact(other.ContactKey), normContact(other); !sameContact(got, w) {
		e.t.Errorf("other contact = %+v, want it unchanged %+v", got, w)
	}
}

func testContactPlatformStatusErrors(e env) {
	c := e.contact("t1", "tg", "42")
	e.setStatus(c.ID, "follow", at(time.Minute))
	want := e.readContact(c.ContactKey)

	set := func(id int64, status string, when time.Time) (bool, error) {
		var changed bool
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			changed, err = tx.SetContactPlatformStatus(e.ctx, id, status, when)
			return err
		})
		return changed, err
	}
	if changed, err := set(c.ID+1000, "blocked", at(2*time.Minute)); !errors.Is(err, store.ErrNotFound) || changed {
		e.t.Errorf("status of an unknown contact: %v, %v; want false, ErrNotFound", changed, err)
	}
	if changed, err := set(c.ID, "", at(2*time.Minute)); err == nil || errors.Is(err, store.ErrNotFound) || changed {
		e.t.Errorf("empty status: %v, %v; want false and an error", changed, err)
	}
	if changed, err := set(c.ID, "blocked", time.Time{}); err == nil || changed {
		e.t.Errorf("status with no time: %v, %v; want false and an error", changed, err)
	}
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("contact after refused statuses = %+v, want it unchanged %+v", got, want)
	}

	// A status recorded in a transaction that fails is rolled back.
	boom := errors.New("boom")
	var changed bool
	err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
		var err error
		if changed, err = tx.SetContactPlatformStatus(e.ctx, c.ID, "blocked", at(5*time.Minute)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || !changed {
		e.t.Fatalf("WithTx = %v with changed %v, want fn's error after a change", err, changed)
	}
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("contact after a rolled back status = %+v, want it unchanged %+v", got, want)
	}
	// The rolled back time does not hold back an older status.
	if !e.setStatus(c.ID, "unfollow", at(4*time.Minute)) {
		e.t.Errorf("status older than a rolled back one: reported no change")
	}
	want.PlatformStatus, want.PlatformStatusAt = "unfollow", at(4*time.Minute)
	if got := e.readContact(c.ContactKey); !sameContact(got, want) {
		e.t.Errorf("contact after a status older than a rolled back one = %+v, want %+v", got, want)
	}
}
