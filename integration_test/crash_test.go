package integration_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// Shape of the crash test's traffic.
const (
	crashContacts   = 100
	crashPerContact = 20
	crashSenders    = 8
)

// crashWaID is the wa_id of contact c.
func crashWaID(c int) string { return fmt.Sprintf("3169%07d", c) }

// crashMsgID is the message id of contact c's k-th message.
func crashMsgID(c, k int) string { return fmt.Sprintf("wamid.CRASH.%03d.%02d", c, k) }

// parseCrashMsgID returns the contact and index of a crash test message id.
func parseCrashMsgID(id string) (c, k int, ok bool) {
	rest, ok := strings.CutPrefix(id, "wamid.CRASH.")
	cs, ks, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return 0, 0, false
	}
	c, err1 := strconv.Atoi(cs)
	k, err2 := strconv.Atoi(ks)
	return c, k, err1 == nil && err2 == nil
}

// TestCrashesLoseNothing sends 2,000 signed messages (100 contacts × 20,
// some deliveries carrying 2 or 3) from 8 concurrent senders that retry,
// like the platforms, until they get a 2xx; each contact's next message
// goes only after the previous one was acknowledged. Meanwhile the
// connector is killed with SIGKILL and restarted three times. In the end,
// every acknowledged message is in Salesforce exactly once, and each
// conversation's records were created in the order its messages were sent.
func TestCrashesLoseNothing(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}},
	}}})
	e.start()
	// A little latency on every Salesforce call keeps calls in flight
	// when the process is killed: their records may be written without
	// the connector learning it, and must not be duplicated or reordered
	// when they are pushed again.
	acme.SF.SetLatency(20 * time.Millisecond)

	const total = crashContacts * crashPerContact
	base := e.base()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	var (
		acked    atomic.Int64
		failed   atomic.Bool
		mu       sync.Mutex
		ackedIDs = map[string]bool{}
		errs     = make([]error, crashSenders)
		wg       sync.WaitGroup
	)
	// On a failure below, stop the senders before the test ends.
	defer func() { cancel(); wg.Wait() }()

	for s := range crashSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sender := &demo.Sender{BaseURL: base, HTTP: &http.Client{Timeout: 10 * time.Second}}
			errs[s] = sendCrashTraffic(ctx, sender, s, func(ids []string) {
				mu.Lock()
				for _, id := range ids {
					ackedIDs[id] = true
				}
				mu.Unlock()
				acked.Add(int64(len(ids)))
			})
			if errs[s] != nil {
				failed.Store(true)
			}
		}()
	}

	// Kill and restart at a quarter, half and three quarters of the
	// traffic. The senders meet refused connections while the process is
	// down, and retry.
	for i, at := range []int64{total / 4, total / 2, 3 * total / 4} {
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d acknowledged messages", at), func() (bool, string) {
			return acked.Load() >= at || failed.Load(), fmt.Sprintf("%d acknowledged", acked.Load())
		})
		if failed.Load() {
			break
		}
		code := e.stop(syscall.SIGKILL)
		t.Logf("kill %d: SIGKILL after %d acknowledged messages (exit code %d)", i+1, acked.Load(), code)
		time.Sleep(300 * time.Millisecond)
		e.start()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("senders: %v", err)
	}
	if len(ackedIDs) != total {
		t.Fatalf("%d distinct messages acknowledged, want %d", len(ackedIDs), total)
	}

	waitFor(t, 2*time.Minute, "every acknowledged message in Salesforce", func() (bool, string) {
		n := len(acme.SF.Records(msgObject))
		return n >= len(ackedIDs), fmt.Sprintf("%d message records of %d", n, len(ackedIDs))
	})
	waitFor(t, waitTimeout, "every message settled as pushed", func() (bool, string) {
		s := e.stats("acme")
		return s.Messages["pushed"] == total, fmt.Sprintf("messages %v", s.Messages)
	})

	recs := acme.SF.Records(msgObject)
	byKey, dupes := records(acme.SF, msgObject, "Message_Key__c")
	if len(dupes) > 0 {
		t.Errorf("keys on more than one record: %v", dupes)
	}
	if len(recs) != len(ackedIDs) {
		t.Errorf("%d message records, want %d (one per acknowledged message)", len(recs), len(ackedIDs))
	}
	for id := range ackedIDs {
		if _, ok := byKey[msgKey("acme", "wa", id)]; !ok {
			t.Errorf("acknowledged message %s is not in Salesforce", id)
		}
	}
	checkCrashOrder(t, recs)
	repushed := 0
	for _, r := range recs {
		repushed += min(r.UpdateCount, 1)
	}
	t.Logf("stand-in: %d collection calls; %d message records were upserted again after a kill",
		acme.SF.Stats().CollectionUpserts, repushed)
	if n := len(acme.SF.Records(convObject)); n != crashContacts {
		t.Errorf("%d conversation records, want %d (one per contact)", n, crashContacts)
	}
	if s := e.stats("acme"); s.Messages["pending"]+s.Messages["dead"]+s.Messages["excluded"] != 0 {
		t.Errorf("stats: messages %v, want every one pushed", s.Messages)
	}
}

// sendCrashTraffic sends the messages of sender s's contacts (every
// crashSenders-th contact from s), each contact's in order, one to three
// per delivery, and calls acked with the ids of each acknowledged
// delivery.
func sendCrashTraffic(ctx context.Context, sender *demo.Sender, s int, acked func(ids []string)) error {
	rng := rand.New(rand.NewPCG(uint64(s), 2026))
	var mine []int
	for c := s; c < crashContacts; c += crashSenders {
		mine = append(mine, c)
	}
	next := make([]int, len(mine))
	sentAt := time.Now().Add(-time.Hour)
	for left := len(mine); left > 0; {
		for i, c := range mine {
			if next[i] == crashPerContact {
				continue
			}
			n := min(1+rng.IntN(3), crashPerContact-next[i])
			msgs := make([]whatsapp.Inbound, n)
			ids := make([]string, n)
			for j := range msgs {
				k := next[i] + j
				ids[j] = crashMsgID(c, k)
				msgs[j] = whatsapp.Inbound{From: crashWaID(c), Name: fmt.Sprintf("Contact %d", c), ID: ids[j],
					Time: sentAt.Add(time.Duration(k) * time.Second), Text: fmt.Sprintf("contact %d, message %d", c, k)}
			}
			if err := postUntilAcked(ctx, sender, whatsapp.Delivery(defaultPhoneNumberID, msgs...)); err != nil {
				return fmt.Errorf("sender %d, contact %d, messages from %d: %w", s, c, next[i], err)
			}
			acked(ids)
			next[i] += n
			if next[i] == crashPerContact {
				left--
			}
		}
	}
	return nil
}

// postUntilAcked posts a delivery until the connector answers 2xx, as a
// platform retries: connection errors and 5xx are retried, a 4xx is an
// error (the delivery is valid).
func postUntilAcked(ctx context.Context, sender *demo.Sender, body []byte) error {
	for {
		resp, err := sender.WhatsApp(ctx, "acme", "wa", appSecret, body)
		switch {
		case err == nil && resp.Status >= 200 && resp.Status < 300:
			return nil
		case err == nil && resp.Status < 500:
			return fmt.Errorf("refused with %d: %s", resp.Status, resp.Body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up (last answer %d, error %v): %w", resp.Status, err, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// checkCrashOrder checks, in creation order, that each conversation's
// records hold one contact's messages in the order they were sent, with
// increasing Sequence__c, and that each contact has one conversation.
func checkCrashOrder(t *testing.T, recs []standin.Record) {
	t.Helper()
	slices.SortFunc(recs, func(a, b standin.Record) int { return int(a.CreatedSeq - b.CreatedSeq) })
	type convState struct {
		contact, last int
		seq           int64
		n             int
	}
	convs := map[string]*convState{}
	contactConv := map[int]string{}
	for _, r := range recs {
		key := field(r, "Message_Key__c")
		id, ok := strings.CutPrefix(key, "acme:wa:")
		c, k, ok2 := parseCrashMsgID(id)
		if !ok || !ok2 {
			t.Errorf("unexpected message record %s", key)
			continue
		}
		seq, err := strconv.ParseInt(field(r, "Sequence__c"), 10, 64)
		if err != nil {
			t.Errorf("%s: Sequence__c %q: %v", key, field(r, "Sequence__c"), err)
		}
		parent := field(r, "Chat_Conversation__c")
		if other, ok := contactConv[c]; ok && other != parent {
			t.Errorf("contact %d has messages in two conversations, %s and %s", c, other, parent)
		}
		contactConv[c] = parent
		cs, ok := convs[parent]
		if !ok {
			convs[parent] = &convState{contact: c, last: k, seq: seq, n: 1}
			continue
		}
		if cs.contact != c {
			t.Errorf("conversation %s holds messages of contacts %d and %d", parent, cs.contact, c)
		}
		if k <= cs.last {
			t.Errorf("conversation %s: message %d of contact %d was created after message %d", parent, k, c, cs.last)
		}
		if seq <= cs.seq {
			t.Errorf("conversation %s: %s has Sequence__c %d, not above the previous record's %d", parent, key, seq, cs.seq)
		}
		cs.last, cs.seq = k, seq
		cs.n++
	}
	for parent, cs := range convs {
		if cs.n != crashPerContact {
			t.Errorf("conversation %s of contact %d has %d message records, want %d", parent, cs.contact, cs.n, crashPerContact)
		}
	}
	if len(contactConv) != crashContacts {
		t.Errorf("%d contacts have records, want %d", len(contactConv), crashContacts)
	}
}
