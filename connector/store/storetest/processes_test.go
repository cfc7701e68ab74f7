package storetest

import (
	"strings"
	"testing"
	"time"
)

// TestCheckHolds feeds the check of the Claims scenario logs of a store
// that keeps its leases and of stores that do not.
func TestCheckHolds(t *testing.T) {
	const conv = 7
	got := func(child int, token string, now time.Time) holdEvent {
		return holdEvent{Child: child, Event: evGot, Conversation: conv, Token: token, Now: now, ExpiresAt: now.Add(time.Minute)}
	}
	release := func(child int, token string) holdEvent {
		return holdEvent{Child: child, Event: evRelease, Conversation: conv, Token: token}
	}
	settled := func(child int, token string, ids ...int64) holdEvent {
		return holdEvent{Child: child, Event: evSettled, Conversation: conv, Token: token, Now: at(time.Hour), Messages: ids}
	}
	lost := func(child int, token string) holdEvent {
		return holdEvent{Child: child, Event: evLost, Conversation: conv, Token: token}
	}

	tests := []struct {
		name    string
		log     []holdEvent
		want    string // a problem found; "" for none
		settled int    // messages settled, when no problem
	}{
		{"one after the other", []holdEvent{
			got(0, "a", t0), release(0, "a"), got(1, "b", at(time.Second)), settled(0, "a", 1, 2),
			release(1, "b"), settled(1, "b", 3),
		}, "", 3},
		{"claimed while held", []holdEvent{
			got(0, "a", t0), got(1, "b", at(time.Second)), release(0, "a"), settled(0, "a", 1), release(1, "b"), settled(1, "b", 2),
		}, "while child 0 held it", 0},
		{"claimed just before the expiry", []holdEvent{
			got(0, "a", t0), got(1, "b", at(time.Minute-time.Microsecond)), release(1, "b"), settled(1, "b", 1),
		}, "while child 0 held it", 0},
		{"taken over at the expiry", []holdEvent{
			got(0, "a", t0), got(1, "b", at(time.Minute)), release(0, "a"), lost(0, "a"), release(1, "b"), settled(1, "b", 1),
		}, "", 1},
		{"settled after a takeover", []holdEvent{
			got(0, "a", t0), got(1, "b", at(time.Minute)), release(0, "a"), settled(0, "a", 1), release(1, "b"), lost(1, "b"),
		}, "Settle accepted child 0's lease a", 0},
		{"taken over at the expiry, after the release began", []holdEvent{
			got(0, "a", t0), release(0, "a"), lost(0, "a"), got(1, "b", at(time.Minute)), release(1, "b"), settled(1, "b", 1),
		}, "", 1},
		{"lost without a takeover", []holdEvent{
			got(0, "a", t0), release(0, "a"), lost(0, "a"),
		}, "though no claim came after it expired", 0},
		{"lost to a claim before the expiry", []holdEvent{
			got(0, "a", t0), release(0, "a"), got(1, "b", at(time.Second)), lost(0, "a"), release(1, "b"), settled(1, "b", 1),
		}, "though no claim came after it expired", 0},
		{"token handed out twice", []holdEvent{
			got(0, "a", t0), release(0, "a"), settled(0, "a", 1), got(1, "a", at(time.Second)), release(1, "a"), settled(1, "a", 2),
		}, "handed out twice", 0},
		{"message settled twice", []holdEvent{
			got(0, "a", t0), release(0, "a"), settled(0, "a", 1), got(1, "b", at(time.Second)), release(1, "b"), settled(1, "b", 1),
		}, "message 1 settled twice", 0},
		{"held at the end", []holdEvent{got(0, "a", t0)}, "still held at the end", 0},
		{"release of a lease not got", []holdEvent{release(0, "a")}, "which it did not get", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, problems := checkHolds(tc.log)
			if tc.want == "" {
				if len(problems) != 0 || len(s) != tc.settled {
					t.Errorf("checkHolds = %d settled, problems %q; want %d settled, no problem", len(s), problems, tc.settled)
				}
				return
			}
			found := false
			for _, p := range problems {
				found = found || strings.Contains(p, tc.want)
			}
			if !found {
				t.Errorf("checkHolds problems %q, want one saying %q", problems, tc.want)
			}
		})
	}
}
