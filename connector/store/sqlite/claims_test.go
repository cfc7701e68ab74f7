package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// TestClaimLeasesOnlyWhatItsSnapshotRead checks the two steps of a claim:
// candidates read on a snapshot, then leased only when they are still as
// read: by the writer, or (for the file's owner) in memory and checked on
// a fresh read. A conversation another claim took and settled meanwhile,
// or whose state changed, is not leased; one that only got a new message
// is, with the messages of the snapshot.
func TestClaimLeasesOnlyWhatItsSnapshotRead(t *testing.T) {
	for _, mode := range []struct {
		name  string
		opts  Options
		lease func(*Store) func(context.Context, store.ClaimParams, candidates) ([]store.Work, error)
	}{
		{"written", Options{}, func(s *Store) func(context.Context, store.ClaimParams, candidates) ([]store.Work, error) {
			return s.lease
		}},
		{"in memory", Options{Owner: true}, func(s *Store) func(context.Context, store.ClaimParams, candidates) ([]store.Work, error) {
			return s.leaseInMemory
		}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			s := openTest(t, filepath.Join(t.TempDir(), "connector.db"), mode.opts)
			testClaimLeasesOnlyWhatItsSnapshotRead(t, s, mode.lease(s))
		})
	}
}

func testClaimLeasesOnlyWhatItsSnapshotRead(t *testing.T, s *Store, leaseFn func(context.Context, store.ClaimParams, candidates) ([]store.Work, error)) {
	ctx := t.Context()
	c, m := seed(t, s, "u1")
	now := m.ReceivedAt.Add(time.Minute)
	p := store.ClaimParams{Owner: "a", Now: now, LeaseTTL: time.Minute}

	read := func() candidates {
		t.Helper()
		cs, err := s.candidates(ctx, p, "[]")
		if err != nil || len(cs.taken) != 1 || cs.taken[0] != c.ID {
			t.Fatalf("candidates = %+v, %v; want conversation %d", cs.taken, err, c.ID)
		}
		return cs
	}
	lease := func(cs candidates) []store.Work {
		t.Helper()
		ws, err := leaseFn(ctx, p, cs)
		if err != nil {
			t.Fatalf("lease: %v", err)
		}
		return ws
	}

	// Another claim takes the conversation and settles its message pushed.
	stale := read()
	other := p
	other.Owner = "b"
	ws, err := s.Claim(ctx, other)
	if err != nil || len(ws) != 1 {
		t.Fatalf("the other claim = %+v, %v", ws, err)
	}
	errs, err := s.SettleBatch(ctx, []store.SettleItem{{Lease: ws[0].Lease, Settlement: store.Settlement{Now: now,
		Outcomes: []store.Outcome{{MessageID: m.ID, Status: store.Pushed, SalesforceID: "a00000000000001"}}}}})
	if err != nil || errs[0] != nil {
		t.Fatalf("settle: %v %v", err, errs)
	}
	if got := lease(stale); len(got) != 0 {
		t.Fatalf("a conversation settled since the snapshot was leased with %+v", got)
	}

	// A new message: the conversation is ready again. Its state changes
	// after the snapshot: not leased.
	var m2 store.Message
	err = s.WithTx(ctx, func(tx store.Tx) error {
		m2, _, err = tx.AddMessage(ctx, store.Message{Tenant: "t1", Channel: "wa", ConversationID: c.ID,
			ContactID: c.ContactID, PlatformID: "wamid.u1.2", Direction: store.Inbound, Kind: "text", Body: "again",
			ReceivedAt: now, StateAtReceipt: statemachine.Open, PushStatus: store.Pending})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Now = now.Add(time.Minute)
	stale = read()
	err = s.WithTx(ctx, func(tx store.Tx) error {
		_, err := tx.ApplyTransition(ctx, store.Transition{ConversationID: c.ID, From: statemachine.Open,
			To: statemachine.Closed, Event: "set_state", Actor: "test", At: p.Now})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := lease(stale); len(got) != 0 {
		t.Fatalf("a conversation whose state changed since the snapshot was leased with %+v", got)
	}

	// A message stored after the snapshot: leased, with the snapshot's
	// message only; the new one waits for the next claim.
	fresh := read()
	err = s.WithTx(ctx, func(tx store.Tx) error {
		_, _, err := tx.AddMessage(ctx, store.Message{Tenant: "t1", Channel: "wa", ConversationID: c.ID,
			ContactID: c.ContactID, PlatformID: "wamid.u1.3", Direction: store.Inbound, Kind: "text", Body: "and again",
			ReceivedAt: p.Now, StateAtReceipt: statemachine.Closed, PushStatus: store.Pending})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := lease(fresh)
	if len(got) != 1 || len(got[0].Messages) != 1 || got[0].Messages[0].ID != m2.ID || got[0].Lease.Token == "" {
		t.Fatalf("lease after a new message = %+v, want conversation %d with message %d", got, c.ID, m2.ID)
	}
	// Leased: a second lease of the same snapshot takes nothing.
	if again := lease(fresh); len(again) != 0 {
		t.Fatalf("a leased conversation was leased again: %+v", again)
	}
}
