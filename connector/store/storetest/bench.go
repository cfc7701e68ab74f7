package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Backlog is the shape of the outbox RunClaimBenchmark builds: Tenants
// tenants share Conversations conversations (round robin), each with
// Messages pending messages.
type Backlog struct {
	Tenants       int
	Conversations int
	Messages      int
}

// DefaultBacklog is a long Salesforce outage's outbox: 100,000 pending
// messages in 2,000 conversations of 4 tenants.
var DefaultBacklog = Backlog{Tenants: 4, Conversations: 2000, Messages: 50}

// backlogBatch is how many conversations (with their messages) one
// transaction of the set-up stores.
const backlogBatch = 100

// fillers is how many transactions of the set-up run at once.
const fillers = 4

// fillBacklog stores b into s through the Tx API, backlogBatch
// conversations per transaction (a few transactions at once), and returns
// the tenants' names. Conversation i belongs to tenant i mod b.Tenants, and
// its message j is received at t0 + j minutes + i milliseconds: every
// conversation has old work, and the oldest is spread over the tenants.
func fillBacklog(ctx context.Context, s store.Store, b Backlog) ([]string, error) {
	tenants := make([]string, b.Tenants)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("bench-%d", i)
	}
	// A few transactions at once: a server-based driver then spends less
	// of the set-up waiting for round trips (SQLite runs them in turn).
	batches := make(chan int)
	errs := make(chan error, fillers)
	var wg sync.WaitGroup
	for range fillers {
		wg.Go(func() {
			for first := range batches {
				last := min(first+backlogBatch, b.Conversations)
				err := s.WithTx(ctx, func(tx store.Tx) error {
					for i := first; i < last; i++ {
						if err := fillConversation(ctx, tx, tenants[i%len(tenants)], i, b.Messages); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("fill the backlog: %w", err)
					return
				}
			}
		})
	}
	var err error
feed:
	for first := 0; first < b.Conversations; first += backlogBatch {
		select {
		case batches <- first:
		case err = <-errs:
			break feed
		}
	}
	close(batches)
	wg.Wait()
	close(errs)
	if err != nil {
		return nil, err
	}
	if err := <-errs; err != nil {
		return nil, err
	}
	return tenants, nil
}

// fillConversation stores conversation i of tenant with n pending messages.
func fillConversation(ctx context.Context, tx store.Tx, tenant string, i, n int) error {
	ext := fmt.Sprintf("user-%d", i)
	ct, err := tx.UpsertContact(ctx, store.ContactKey{Tenant: tenant, Channel: "wa", ExternalID: ext}, "", t0)
	if err != nil {
		return err
	}
	c, err := tx.CreateConversation(ctx, store.Conversation{ContactID: ct.ID, State: statemachine.Open, CreatedAt: t0},
		"system", "backlog")
	if err != nil {
		return err
	}
	for j := range n {
		received := at(time.Duration(j)*time.Minute + time.Duration(i)*time.Millisecond)
		m := newMessage(c, fmt.Sprintf("wamid.%d.%d", i, j), store.Pending, received)
		if _, _, err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// RunClaimBenchmark fills s, a fresh and migrated store, with bl and
// measures these sub-benchmarks on it:
//
//   - backlog: one Claim of 50 conversations with up to 200 messages each
//     (the dispatcher's defaults), then a Settle of each lease with no
//     outcome, which releases the conversations as they were: every
//     iteration finds the same backlog. Beside ns/op, claim-ns/op is the
//     time of the Claim alone (the settlements are one commit each).
//   - backlog-1: the same with one message per conversation, which leaves
//     the claim little to do but find its conversations.
//   - one-paused: as backlog, skipping the tenant that holds the oldest
//     work (one org paused, the others not).
//   - paused: one Claim that skips every tenant (their orgs are paused, as
//     during an outage): it finds no work.
//
// It fails the benchmark when a claim does not return what the backlog
// holds; it asserts nothing about time.
func RunClaimBenchmark(b *testing.B, s store.Store, bl Backlog) {
	ctx := b.Context()
	start := time.Now()
	tenants, err := fillBacklog(ctx, s, bl)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("backlog of %d conversations × %d messages stored in %v",
		bl.Conversations, bl.Messages, time.Since(start).Round(time.Millisecond))
	now := at(time.Duration(bl.Messages) * time.Minute)
	p := store.ClaimParams{Owner: "bench", Now: now, LeaseTTL: time.Minute, MaxConversations: 50, MaxMessages: 200}

	b.Run("backlog", func(b *testing.B) { benchClaimRelease(b, s, p, bl) })
	one := p
	one.MaxMessages = 1
	b.Run("backlog-1", func(b *testing.B) { benchClaimRelease(b, s, one, bl) })
	skipOne := p
	skipOne.SkipTenants = tenants[:1]
	b.Run("one-paused", func(b *testing.B) { benchClaimRelease(b, s, skipOne, bl) })

	paused := p
	paused.SkipTenants = tenants
	b.Run("paused", func(b *testing.B) {
		for b.Loop() {
			ws, err := s.Claim(b.Context(), paused)
			if err != nil {
				b.Fatalf("Claim: %v", err)
			}
			if len(ws) != 0 {
				b.Fatalf("Claim skipping every tenant returned %d conversations, want none", len(ws))
			}
		}
	})
}

// benchClaimRelease claims with p and releases every conversation claimed
// with a Settle without outcome, b.N times, checking that each claim takes
// as much of bl as p allows, outside p.SkipTenants. Beside ns/op, it
// reports claim-ns/op: the claims alone.
func benchClaimRelease(b *testing.B, s store.Store, p store.ClaimParams, bl Backlog) {
	ctx := b.Context()
	wantConv := min(p.MaxConversations, bl.Conversations)
	wantMsgs := min(p.MaxMessages, bl.Messages)
	var claiming time.Duration
	for b.Loop() {
		began := time.Now()
		ws, err := s.Claim(ctx, p)
		claiming += time.Since(began)
		if err != nil {
			b.Fatalf("Claim: %v", err)
		}
		if len(ws) != wantConv {
			b.Fatalf("Claim returned %d conversations, want %d", len(ws), wantConv)
		}
		for _, w := range ws {
			if len(w.Messages) != wantMsgs {
				b.Fatalf("Claim returned %d messages of conversation %d, want %d",
					len(w.Messages), w.Conversation.ID, wantMsgs)
			}
			if slices.Contains(p.SkipTenants, w.Conversation.Tenant) {
				b.Fatalf("Claim skipping %v returned conversation %d of %s",
					p.SkipTenants, w.Conversation.ID, w.Conversation.Tenant)
			}
			if err := SettleOne(ctx, s, w.Lease, store.Settlement{Now: p.Now}); err != nil {
				b.Fatalf("Settle: %v", err)
			}
		}
	}
	b.ReportMetric(float64(claiming.Nanoseconds())/float64(b.N), "claim-ns/op")
}
