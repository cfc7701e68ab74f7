package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// testConcurrentClaims runs several workers claiming and settling at once:
// no conversation is ever held by two of them, and every message is settled
// exactly once.
func testConcurrentClaims(e env) {
	const conversations, perConversation, workers = 12, 4, 8
	var all []int64
	for i := range conversations {
		c := e.conversation("t1", "wa", fmt.Sprintf("u%d", i), statemachine.Open, t0)
		for j := range perConversation {
			m := e.message(c, fmt.Sprintf("m%d-%d", i, j), store.Pending, at(time.Duration(j)*time.Second))
			all = append(all, m.ID)
		}
	}

	// A guard against a driver that never hands the work out: the test then
	// fails instead of hanging.
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	var (
		mu      sync.Mutex
		held    = map[int64]string{} // conversation -> worker holding it
		settled = map[int64]int{}    // message -> settlements
		done    atomic.Int64
		wg      sync.WaitGroup
	)
	for i := range workers {
		owner := fmt.Sprintf("worker-%d", i)
		wg.Go(func() {
			for done.Load() < int64(len(all)) {
				if ctx.Err() != nil {
					e.t.Errorf("%s: gave up with %d of %d messages settled", owner, done.Load(), len(all))
					return
				}
				ws, err := e.s.Claim(ctx, store.ClaimParams{Owner: owner, Now: at(time.Minute),
					LeaseTTL: time.Hour, MaxConversations: 2, MaxMessages: 2})
				if err != nil {
					e.t.Errorf("%s: Claim: %v", owner, err)
					return
				}
				if len(ws) == 0 {
					time.Sleep(time.Millisecond) // the rest is held by others
					continue
				}
				mu.Lock()
				for _, w := range ws {
					if other, ok := held[w.Conversation.ID]; ok {
						e.t.Errorf("conversation %d claimed by %s while %s holds it", w.Conversation.ID, owner, other)
					}
					held[w.Conversation.ID] = owner
				}
				mu.Unlock()
				for _, w := range ws {
					// Released in the bookkeeping first: once Settle commits,
					// another worker may rightly claim the conversation.
					mu.Lock()
					delete(held, w.Conversation.ID)
					mu.Unlock()
					if err := SettleOne(ctx, e.s, w.Lease, store.Settlement{Now: at(time.Minute),
						Outcomes: outcomes(w, store.Pushed, "")}); err != nil {
						e.t.Errorf("%s: Settle: %v", owner, err)
						return
					}
					mu.Lock()
					for _, m := range w.Messages {
						settled[m.ID]++
					}
					mu.Unlock()
					done.Add(int64(len(w.Messages)))
				}
			}
		})
	}
	wg.Wait()

	for _, id := range all {
		if settled[id] != 1 {
			e.t.Errorf("message %d settled %d times, want once", id, settled[id])
		}
	}
	if st, ok := e.stats("t1"); ok && (st.Messages[store.Pushed] != len(all) || st.Messages[store.Pending] != 0) {
		e.t.Errorf("after the workers: %v, want all %d pushed", st.Messages, len(all))
	}
}

// testConcurrentInsertMessage delivers the same message from several
// goroutines at once, each in its own transaction: it is stored once.
func testConcurrentInsertMessage(e env) {
	const n = 8
	c := e.conversation("t1", "wa", "u1", statemachine.Open, t0)
	var (
		inserted atomic.Int32
		ids      [n]int64
		start    = make(chan struct{})
		wg       sync.WaitGroup
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := e.s.WithTx(e.ctx, func(tx store.Tx) error {
				m, ok, err := tx.InsertMessage(e.ctx, newMessage(c, "wamid.same", store.Pending, t0))
				if err != nil {
					return err
				}
				if ok {
					inserted.Add(1)
				}
				ids[i] = m.ID
				return nil
			})
			if err != nil {
				e.t.Errorf("delivery %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := inserted.Load(); got != 1 {
		e.t.Errorf("%d deliveries reported an insert, want 1", got)
	}
	for i := range n {
		if ids[i] == 0 || ids[i] != ids[0] {
			e.t.Errorf("delivery %d got message id %d, delivery 0 got %d: want one message", i, ids[i], ids[0])
		}
	}
	if ms := e.messages(c.ID); len(ms) != 1 {
		e.t.Errorf("%d messages stored, want 1", len(ms))
	}
}
