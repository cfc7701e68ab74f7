package storetest

import (
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

func testDeliveryStatus(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	out := newMessage(c, "wamid.1", store.Pushed, at(time.Second))
	out.Direction, out.Sender = store.Outbound, "alice"
	var stored store.Message
	e.tx(func(tx store.Tx) error {
		var err error
		stored, _, err = tx.InsertMessage(e.ctx, out)
		return err
	})
	in := e.message(c, "in.1", store.Pushed, at(2*time.Second))

	set := func(tenant, channel, id, status string, when time.Time) (bool, error) {
		var changed bool
		err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
			var err error
			changed, err = tx.SetDeliveryStatus(e.ctx, tenant, channel, id, status, when)
			return err
		})
		return changed, err
	}
	mustSet := func(status string, when time.Time) bool {
		e.t.Helper()
		changed, err := set("t1", "wa", "wamid.1", status, when)
		if err != nil {
			e.t.Fatalf("SetDeliveryStatus(%s, %v): %v", status, when, err)
		}
		return changed
	}
	check := func(what, status string, when time.Time) {
		e.t.Helper()
		m := normMessage(e.messageByID(c.ID, stored.ID))
		if m.DeliveryStatus != status || m.DeliveryStatusAt != utc(when) {
			e.t.Errorf("%s: delivery status %q at %v, want %q at %v", what, m.DeliveryStatus, m.DeliveryStatusAt, status, when)
		}
	}
	check("new outbound message", "", time.Time{})

	if !mustSet("sent", at(time.Minute)) {
		e.t.Errorf("first receipt: reported no change")
	}
	check("after sent", "sent", at(time.Minute))
	if mustSet("delivered", at(30*time.Second)) {
		e.t.Errorf("older receipt: reported a change")
	}
	check("after an older receipt", "sent", at(time.Minute))
	if !mustSet("read", at(2*time.Minute)) {
		e.t.Errorf("newer receipt: reported no change")
	}
	check("after read", "read", at(2*time.Minute))
	// On a tie the receipt given wins; the same one again changes nothing.
	if !mustSet("delivered", at(2*time.Minute)) {
		e.t.Errorf("receipt as of the same time: reported no change")
	}
	check("after a receipt as of the same time", "delivered", at(2*time.Minute))
	if mustSet("delivered", at(2*time.Minute)) {
		e.t.Errorf("the stored receipt again: reported a change")
	}

	// An inbound message and an unknown one change nothing.
	if changed, err := set("t1", "wa", "in.1", "read", at(time.Hour)); err != nil || changed {
		e.t.Errorf("receipt on an inbound message: %v, %v; want false, nil", changed, err)
	}
	if m := e.messageByID(c.ID, in.ID); m.DeliveryStatus != "" || !m.DeliveryStatusAt.IsZero() {
		e.t.Errorf("inbound message after a receipt: %q at %v, want none", m.DeliveryStatus, m.DeliveryStatusAt)
	}
	for _, k := range [][3]string{{"t1", "wa", "nope"}, {"t2", "wa", "wamid.1"}, {"t1", "tg", "wamid.1"}} {
		if changed, err := set(k[0], k[1], k[2], "read", at(time.Hour)); err != nil || changed {
			e.t.Errorf("receipt on unknown message %v: %v, %v; want false, nil", k, changed, err)
		}
	}
	if changed, err := set("t1", "wa", "wamid.1", "", at(time.Hour)); err == nil || changed {
		e.t.Errorf("empty status: %v, %v; want false and an error", changed, err)
	}
	if changed, err := set("t1", "wa", "wamid.1", "read", time.Time{}); err == nil || changed {
		e.t.Errorf("receipt with no time: %v, %v; want false and an error", changed, err)
	}
	check("after refused receipts", "delivered", at(2*time.Minute))
}

func testDeliveryStatusRoundTrip(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	m := newMessage(c, "wamid.2", store.Pending, at(time.Second))
	m.Direction, m.DeliveryStatus, m.DeliveryStatusAt = store.Outbound, "sent", at(2*time.Second)
	var stored store.Message
	e.tx(func(tx store.Tx) error {
		var err error
		stored, _, err = tx.InsertMessage(e.ctx, m)
		return err
	})
	want := normMessage(m)
	want.ID = stored.ID
	if normMessage(stored) != want {
		e.t.Errorf("InsertMessage returned %+v, want %+v", stored, want)
	}
	if got := e.messages(c.ID); len(got) != 1 || normMessage(got[0]) != want {
		e.t.Errorf("ListMessages = %+v, want [%+v]", got, want)
	}
	w := e.claimOne(params("w", at(time.Minute)), c.ID)
	if len(w.Messages) != 1 || normMessage(w.Messages[0]) != normMessage(claimed(want)) {
		e.t.Errorf("claimed messages = %+v, want [%+v]", w.Messages, claimed(want))
	}
}

// testSends: an outbound message stored as sending is claimed when due,
// held back by the claim's lease, retried, and settled sent (receipts
// then find it by the platform's id) or failed with the reason.
func testSends(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	insert := func(id string, received time.Time) store.Message {
		e.t.Helper()
		m := newMessage(c, id, store.Pending, received)
		m.Direction, m.Sender = store.Outbound, "alice"
		m.DeliveryStatus, m.DeliveryStatusAt = store.DeliverySending, received
		var stored store.Message
		e.tx(func(tx store.Tx) error {
			var err error
			stored, _, err = tx.InsertMessage(e.ctx, m)
			return err
		})
		return stored
	}
	claim := func(now, until time.Time) []int64 {
		e.t.Helper()
		var ids []int64
		e.tx(func(tx store.Tx) error {
			ms, err := tx.ClaimSends(e.ctx, now, until, 10)
			for _, m := range ms {
				if m.DeliveryStatus != store.DeliverySending || m.Direction != store.Outbound {
					e.t.Errorf("claimed %+v", m)
				}
				ids = append(ids, m.ID)
			}
			return err
		})
		return ids
	}
	settle := func(id int64, o store.SendOutcome) bool {
		e.t.Helper()
		var ok bool
		e.tx(func(tx store.Tx) error {
			var err error
			ok, err = tx.SettleSend(e.ctx, id, o)
			return err
		})
		return ok
	}
	a := insert("out-a", at(time.Second))
	b := insert("out-b", at(2*time.Second))
	_ = insert("out-later", at(time.Hour))
	e.message(c, "in-1", store.Pending, at(3*time.Second)) // inbound: never claimed

	if got := claim(at(time.Minute), at(2*time.Minute)); !reflect.DeepEqual(got, []int64{a.ID, b.ID}) {
		e.t.Fatalf("first claim = %v, want [%d %d] (due ones only, oldest first)", got, a.ID, b.ID)
	}
	if got := claim(at(90*time.Second), at(3*time.Minute)); len(got) != 0 {
		e.t.Fatalf("claim within the lease = %v, want none", got)
	}
	// a: a transient failure, retried later; b: sent.
	if !settle(a.ID, store.SendOutcome{Error: "timeout", RetryAt: at(5 * time.Minute), At: at(time.Minute)}) {
		e.t.Fatal("SettleSend(retry) changed nothing")
	}
	if !settle(b.ID, store.SendOutcome{SentID: "wamid.B", At: at(time.Minute)}) {
		e.t.Fatal("SettleSend(sent) changed nothing")
	}
	if settle(b.ID, store.SendOutcome{SentID: "wamid.B2", At: at(time.Minute)}) {
		e.t.Error("SettleSend of a message no longer sending changed it")
	}
	if got := claim(at(4*time.Minute), at(10*time.Minute)); len(got) != 0 {
		e.t.Fatalf("claim before the retry is due = %v, want none", got)
	}
	if got := claim(at(5*time.Minute), at(10*time.Minute)); !reflect.DeepEqual(got, []int64{a.ID}) {
		e.t.Fatalf("claim when the retry is due = %v, want [%d]", got, a.ID)
	}
	if !settle(a.ID, store.SendOutcome{Error: "the platform refused: 131047", At: at(6 * time.Minute)}) {
		e.t.Fatal("SettleSend(failed) changed nothing")
	}
	// A receipt names the message by the platform's id.
	e.tx(func(tx store.Tx) error {
		ok, err := tx.SetDeliveryStatus(e.ctx, "t1", "wa", "wamid.B", "delivered", at(2*time.Minute))
		if err == nil && !ok {
			e.t.Error("a receipt by the platform's id changed nothing")
		}
		return err
	})
	byID := map[int64]store.Message{}
	for _, m := range e.messages(c.ID) {
		byID[m.ID] = m
	}
	if m := byID[a.ID]; m.DeliveryStatus != store.DeliveryFailed || m.SendError != "the platform refused: 131047" || m.SendAttempts != 2 || m.SentID != "" {
		e.t.Errorf("failed message %+v", m)
	}
	if m := byID[b.ID]; m.DeliveryStatus != "delivered" || m.SentID != "wamid.B" || m.SendAttempts != 1 || m.SendError != "" || m.PlatformID != "out-b" {
		e.t.Errorf("sent message %+v", m)
	}
}

// testStatusChangeRepushes: an outbound message already pushed whose
// status changes (a send's outcome, a newer receipt) is pending again and
// claimable; an unchanged or older receipt, inbound, excluded and dead
// messages are not; a push that showed an older status leaves the
// message pending.
func testStatusChangeRepushes(e env) {
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	outbound := func(id string, status store.PushStatus, received time.Time) store.Message {
		e.t.Helper()
		m := newMessage(c, id, status, received)
		m.Direction, m.Sender = store.Outbound, "alice"
		m.DeliveryStatus, m.DeliveryStatusAt = store.DeliverySending, received
		var stored store.Message
		e.tx(func(tx store.Tx) error {
			var err error
			stored, _, err = tx.InsertMessage(e.ctx, m)
			return err
		})
		return stored
	}
	receipt := func(id, status string, when time.Time) bool {
		e.t.Helper()
		var ok bool
		e.tx(func(tx store.Tx) error {
			var err error
			ok, err = tx.SetDeliveryStatus(e.ctx, "t1", "wa", id, status, when)
			return err
		})
		return ok
	}
	pushAll := func(now time.Time, want ...int64) {
		e.t.Helper()
		w := e.claimOne(params("w", now), c.ID)
		if got := messageIDs(w.Messages); !reflect.DeepEqual(got, want) {
			e.t.Fatalf("claimed messages %v, want %v", got, want)
		}
		os := outcomes(w, store.Pushed, "")
		for i, m := range w.Messages {
			os[i].DeliveryStatus = m.DeliveryStatus
		}
		e.settle(w.Lease, store.Settlement{Now: now, Outcomes: os})
	}
	pushStatus := func(id int64) store.PushStatus {
		e.t.Helper()
		return e.messageByID(c.ID, id).PushStatus
	}

	reply := outbound("out-1", store.Pending, at(time.Second))
	excluded := outbound("out-x", store.Excluded, at(2*time.Second))
	dead := outbound("out-d", store.Dead, at(3*time.Second))
	in := e.message(c, "in-1", store.Pending, at(4*time.Second))
	pushAll(at(time.Minute), reply.ID, in.ID)
	if ws := e.claim(params("w", at(time.Minute+time.Second))); len(ws) != 0 {
		e.t.Fatalf("claim after the push = %v, want none", workIDs(ws))
	}

	// The send's outcome: pending again, from its own received time.
	e.tx(func(tx store.Tx) error {
		for _, id := range []int64{reply.ID, excluded.ID, dead.ID} {
			if ok, err := tx.SettleSend(e.ctx, id, store.SendOutcome{SentID: "wamid." + strconv.FormatInt(id, 10), At: at(2 * time.Minute)}); err != nil || !ok {
				return fmt.Errorf("SettleSend(%d) = %v, %w", id, ok, err)
			}
		}
		return nil
	})
	if st := pushStatus(reply.ID); st != store.Pending {
		e.t.Fatalf("pushed reply after its send = %s, want pending", st)
	}
	if st := pushStatus(excluded.ID); st != store.Excluded {
		e.t.Errorf("excluded reply after its send = %s", st)
	}
	if st := pushStatus(dead.ID); st != store.Dead {
		e.t.Errorf("dead reply after its send = %s", st)
	}

	// A push that showed "sending" while the message is "sent" now leaves
	// it pending; the push showing "sent" settles it.
	w := e.claimOne(params("w", at(3*time.Minute)), c.ID)
	if got := messageIDs(w.Messages); !reflect.DeepEqual(got, []int64{reply.ID}) || w.Messages[0].DeliveryStatus != store.DeliverySent {
		e.t.Fatalf("claimed %+v, want the reply as sent", w.Messages)
	}
	os := outcomes(w, store.Pushed, "")
	os[0].DeliveryStatus = store.DeliverySending
	e.settle(w.Lease, store.Settlement{Now: at(3 * time.Minute), Outcomes: os})
	if st := pushStatus(reply.ID); st != store.Pending {
		e.t.Fatalf("reply pushed with an older status = %s, want pending", st)
	}
	pushAll(at(4*time.Minute), reply.ID)
	if st := pushStatus(reply.ID); st != store.Pushed {
		e.t.Fatalf("reply pushed with its status = %s, want pushed", st)
	}

	// A newer receipt: pending again; the same one or an older one: no.
	if !receipt("wamid."+strconv.FormatInt(reply.ID, 10), "delivered", at(5*time.Minute)) {
		e.t.Fatal("the delivered receipt changed nothing")
	}
	if st := pushStatus(reply.ID); st != store.Pending {
		e.t.Fatalf("pushed reply after a receipt = %s, want pending", st)
	}
	pushAll(at(6*time.Minute), reply.ID)
	if receipt("wamid."+strconv.FormatInt(reply.ID, 10), "delivered", at(5*time.Minute)) {
		e.t.Error("the same receipt again reported a change")
	}
	if receipt("out-1", "sent", at(4*time.Minute)) {
		e.t.Error("an older receipt reported a change")
	}
	if st := pushStatus(reply.ID); st != store.Pushed {
		e.t.Errorf("reply after an unchanged and an older receipt = %s, want pushed", st)
	}
	if ws := e.claim(params("w", at(7*time.Minute))); len(ws) != 0 {
		e.t.Errorf("claim after an unchanged and an older receipt = %v, want none", workIDs(ws))
	}
	if st := pushStatus(in.ID); st != store.Pushed {
		e.t.Errorf("inbound message = %s, want pushed", st)
	}
}
