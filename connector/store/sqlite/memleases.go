package sqlite

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// memLeases holds the conversations' leases of a store opened as the
// file's owner (Options.Owner). One process owns the file, so its leases
// need not be written to it: a claim reads its candidates on a snapshot,
// leases them here, then checks on a fresh read that they are still as the
// snapshot read them (as a written lease's guard does), all without the
// writer, the store's one bottleneck; a settlement releases its leases
// here once its transaction committed. They die with the process, as the
// leases a previous run wrote die at start-up (TakeBackLeases).
type memLeases struct {
	mu   sync.Mutex
	held map[int64]memLease
}

type memLease struct {
	token   string
	expires time.Time
	// settling: a settlement of this lease is being written; no claim or
	// rescue takes the conversation until it ends, expired or not.
	settling bool
}

func newMemLeases() *memLeases {
	return &memLeases{held: map[int64]memLease{}}
}

// leased returns the JSON array of the conversations leased at now.
func (m *memLeases) leased(now time.Time) (string, error) {
	m.mu.Lock()
	ids := make([]int64, 0, len(m.held))
	for id, l := range m.held {
		if l.settling || l.expires.After(now) {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	b, err := json.Marshal(ids)
	return string(b), err
}

// lease leases until expires those of ids not leased at now, and returns
// their tokens.
func (m *memLeases) lease(ids []int64, now, expires time.Time) (map[int64]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tokens := make(map[int64]string, len(ids))
	for _, id := range ids {
		if l, ok := m.held[id]; ok && (l.settling || l.expires.After(now)) {
			continue
		}
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		tok := hex.EncodeToString(b[:])
		m.held[id] = memLease{token: tok, expires: expires}
		tokens[id] = tok
	}
	return tokens, nil
}

// beginSettle marks settling those of leases still held by their tokens (as a
// written lease, one expired but not taken still is), and reports which.
func (m *memLeases) beginSettle(leases []store.Lease) []bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	held := make([]bool, len(leases))
	for i, l := range leases {
		h, ok := m.held[l.ConversationID]
		if !ok || l.Token == "" || h.token != l.Token || h.settling {
			continue
		}
		h.settling = true
		m.held[l.ConversationID] = h
		held[i] = true
	}
	return held
}

// endSettle ends the settlements beginSettle marked: the leases of those
// that committed are released, the others held again.
func (m *memLeases) endSettle(leases []store.Lease, marked, committed []bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, l := range leases {
		switch {
		case !marked[i]:
		case committed[i]:
			delete(m.held, l.ConversationID)
		default:
			h := m.held[l.ConversationID]
			h.settling = false
			m.held[l.ConversationID] = h
		}
	}
}

// drop releases the leases of tokens that a claim took and gives up.
func (m *memLeases) drop(tokens map[int64]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, tok := range tokens {
		if h, ok := m.held[id]; ok && h.token == tok {
			delete(m.held, id)
		}
	}
}

// renew extends to until the leases still held, and returns the ids of
// the others.
func (m *memLeases) renew(leases []store.Lease, until time.Time) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var lost []int64
	for _, l := range leases {
		h, ok := m.held[l.ConversationID]
		if !ok || l.Token == "" || h.token != l.Token {
			lost = append(lost, l.ConversationID)
			continue
		}
		h.expires = until
		m.held[l.ConversationID] = h
	}
	return lost
}

// rescue drops the leases expired at or before now, and returns how many.
func (m *memLeases) rescue(now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, l := range m.held {
		if !l.settling && !l.expires.After(now) {
			delete(m.held, id)
			n++
		}
	}
	return n
}
