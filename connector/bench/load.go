package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// The bench's tenant, channel and WhatsApp account.
const (
	tenantID      = "bench"
	channelID     = "whatsapp"
	phoneNumberID = "100000000000001"
	verifyToken   = "bench-verify-token"
)

// delivery is what the generator learnt of one delivery.
type delivery struct {
	sent     time.Time // just before it was posted
	answered time.Time
	replica  int // the target it was sent to
	accepted bool
}

// generator posts signed WhatsApp deliveries, one text message each, to
// its targets in turn.
type generator struct {
	targets     []string // base URLs
	appSecret   string
	idPrefix    string // platform message ids are idPrefix + index
	contacts    int
	messages    int
	rate        float64 // deliveries per second, 0 for as fast as possible
	concurrency int

	// Filled in while it runs.
	deliveries []delivery
	accepted   atomic.Int64
	failed     atomic.Int64
	firstError atomic.Pointer[string]
	start, end time.Time // first send, last answer
}

// messageID is the platform message id of delivery i.
func (g *generator) messageID(i int) string { return fmt.Sprintf("%s%d", g.idPrefix, i) }

// run sends every delivery and returns when each has its answer (or ctx
// ends).
func (g *generator) run(ctx context.Context) {
	g.deliveries = make([]delivery, g.messages)
	transport := &http.Transport{MaxIdleConns: g.concurrency * 2, MaxIdleConnsPerHost: g.concurrency, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	senders := make([]*demo.Sender, len(g.targets))
	for i, t := range g.targets {
		senders[i] = &demo.Sender{BaseURL: t, HTTP: client}
	}
	var next atomic.Int64
	var mu sync.Mutex
	var last time.Time
	g.start = time.Now()
	var wg sync.WaitGroup
	for range g.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= g.messages {
					return
				}
				if g.rate > 0 {
					due := g.start.Add(time.Duration(float64(i) / g.rate * float64(time.Second)))
					if wait := time.Until(due); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
							return
						}
					}
				}
				contact := i % g.contacts
				body := whatsapp.TextDelivery(phoneNumberID, fmt.Sprintf("31%010d", contact), fmt.Sprintf("Contact %d", contact),
					g.messageID(i), fmt.Sprintf("bench message %d", i), time.Now())
				d := &g.deliveries[i]
				d.replica = i % len(g.targets)
				d.sent = time.Now()
				resp, err := senders[d.replica].WhatsApp(ctx, tenantID, channelID, g.appSecret, body)
				d.answered = time.Now()
				switch {
				case err != nil:
					g.fail(err.Error())
				case resp.Status/100 != 2:
					g.fail(fmt.Sprintf("answer %d: %.200s", resp.Status, resp.Body))
				default:
					d.accepted = true
					g.accepted.Add(1)
				}
				mu.Lock()
				if d.answered.After(last) {
					last = d.answered
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	g.end = last
}

func (g *generator) fail(msg string) {
	g.failed.Add(1)
	g.firstError.CompareAndSwap(nil, &msg)
}

// perSecond is the rate of accepted deliveries from the first send to the
// last answer.
func (g *generator) perSecond() float64 {
	d := g.end.Sub(g.start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(g.accepted.Load()) / d
}

// noop is the handler the generator is measured against: it reads the body
// and answers 200.
func noop(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusOK)
}
