package sqlite

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// TestMemLeases: a lease holds its conversation until it expires; a
// settlement in progress holds it past its expiry (no claim, no rescue
// takes it) and, committed, releases it, else keeps it; a renewal extends
// only leases still held by their tokens; a dropped lease is free.
func TestMemLeases(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	m := newMemLeases()
	tokens, err := m.lease([]int64{1, 2, 3}, t0, t0.Add(time.Minute))
	if err != nil || len(tokens) != 3 || tokens[1] == tokens[2] || len(tokens[1]) != 32 {
		t.Fatalf("lease = %v, %v", tokens, err)
	}
	if again, _ := m.lease([]int64{1, 2, 3, 4}, t0.Add(time.Second), t0.Add(time.Minute)); len(again) != 1 || again[4] == "" {
		t.Fatalf("lease of held conversations = %v, want 4 alone", again)
	}
	if got, _ := m.leased(t0.Add(time.Second)); !sameIDs(got, "[1,2,3,4]") {
		t.Errorf("leased = %s", got)
	}
	l := func(id int64, tok string) store.Lease { return store.Lease{ConversationID: id, Token: tok} }

	// Settling 1 (and a wrong token for 2): past its expiry, neither a
	// claim nor a rescue takes 1.
	marked := m.beginSettle([]store.Lease{l(1, tokens[1]), l(2, "nope")})
	if !slices.Equal(marked, []bool{true, false}) {
		t.Fatalf("beginSettle = %v", marked)
	}
	late := t0.Add(2 * time.Minute)
	if got, _ := m.lease([]int64{1}, late, late.Add(time.Minute)); len(got) != 0 {
		t.Errorf("a settling lease was taken once expired: %v", got)
	}
	if n := m.rescue(late); n != 3 { // 2, 3 and 4 expired; 1 is settling
		t.Errorf("rescue = %d, want 3", n)
	}
	m.endSettle([]store.Lease{l(1, tokens[1])}, []bool{true}, []bool{false})
	if lost := m.renew([]store.Lease{l(1, tokens[1]), l(3, tokens[3])}, late.Add(time.Minute)); !slices.Equal(lost, []int64{3}) {
		t.Errorf("renew = lost %v, want [3] (rescued); 1 is held again after its failed settlement", lost)
	}
	m.beginSettle([]store.Lease{l(1, tokens[1])})
	m.endSettle([]store.Lease{l(1, tokens[1])}, []bool{true}, []bool{true})
	if got, _ := m.lease([]int64{1}, late, late.Add(time.Minute)); len(got) != 1 {
		t.Errorf("a settled conversation is not free: %v", got)
	}

	// A dropped lease is free; a drop of another token leaves the lease.
	got, _ := m.lease([]int64{5}, late, late.Add(time.Minute))
	m.drop(map[int64]string{5: "someone else's"})
	if again, _ := m.lease([]int64{5}, late, late.Add(time.Minute)); len(again) != 0 {
		t.Errorf("a drop with another token freed the lease")
	}
	m.drop(got)
	if again, _ := m.lease([]int64{5}, late, late.Add(time.Minute)); len(again) != 1 {
		t.Errorf("a dropped lease is not free")
	}
}

// sameIDs reports whether two JSON arrays of ids hold the same ids.
func sameIDs(a, b string) bool {
	var x, y []int64
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
