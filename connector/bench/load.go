package bench

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// generator posts signed WhatsApp deliveries of perDelivery text messages
// each (the last one may have fewer), to its targets in turn. Message i
// is from contact i % contacts, so a delivery's messages are from as many
// consecutive contacts.
type generator struct {
	targets     []string // base URLs
	appSecret   string
	idPrefix    string // platform message ids are idPrefix + index
	contacts    int
	messages    int
	perDelivery int
	rate        float64 // deliveries per second, 0 for as fast as possible
	concurrency int

	// Filled in while it runs.
	deliveries []delivery
	accepted   atomic.Int64
	failed     atomic.Int64
	firstError atomic.Pointer[string]
	start, end time.Time // first send, last answer
}

// messageID is the platform message id of message i.
func (g *generator) messageID(i int) string { return g.idPrefix + strconv.Itoa(i) }

// deliveryCount is how many deliveries carry the generator's messages.
func (g *generator) deliveryCount() int { return (g.messages + g.perDelivery - 1) / g.perDelivery }

// messagesOf returns the messages of delivery j: first to end, end
// excluded.
func (g *generator) messagesOf(j int) (first, end int) {
	first = j * g.perDelivery
	return first, min(first+g.perDelivery, g.messages)
}

// deliveryOf returns what the generator learnt of the delivery that
// carried message i.
func (g *generator) deliveryOf(i int) *delivery { return &g.deliveries[i/g.perDelivery] }

// acceptedMessages counts the messages of the accepted deliveries.
func (g *generator) acceptedMessages() int {
	n := 0
	for j, d := range g.deliveries {
		if d.accepted {
			first, end := g.messagesOf(j)
			n += end - first
		}
	}
	return n
}

// The fields of message i, from contact i % contacts: the contact's
// wa_id and profile name, and the message's text.
func waID(contact int) string        { return fmt.Sprintf("31%010d", contact) }
func contactName(contact int) string { return "Contact " + strconv.Itoa(contact) }
func messageText(i int) string       { return "bench message " + strconv.Itoa(i) }

// run sends every delivery and returns when each has its answer (or ctx
// ends).
func (g *generator) run(ctx context.Context) {
	g.deliveries = make([]delivery, g.deliveryCount())
	// Keep-alive connections, as many as there are senders. A minute
	// without an answer fails the delivery: the answer's headers are
	// waited for that long (a client-wide Timeout would fork each request
	// and give it a context with a deadline of its own).
	transport := &http.Transport{MaxIdleConns: g.concurrency * 2, MaxIdleConnsPerHost: g.concurrency, IdleConnTimeout: time.Minute,
		ResponseHeaderTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	urls := make([]string, len(g.targets))
	for i, t := range g.targets {
		urls[i] = t + "/webhooks/" + tenantID + "/" + channelID
	}
	tmpl := newDeliveryTemplate()
	var next atomic.Int64
	var mu sync.Mutex
	var last time.Time
	g.start = time.Now()
	var wg sync.WaitGroup
	for range g.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &poster{client: client, mac: hmac.New(sha256.New, []byte(g.appSecret))}
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(g.deliveries) {
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
				body := g.body(tmpl, i, time.Now())
				d := &g.deliveries[i]
				d.replica = i % len(g.targets)
				d.sent = time.Now()
				status, err := p.post(ctx, urls[d.replica], body)
				d.answered = time.Now()
				switch {
				case err != nil:
					g.fail(err.Error())
				case status/100 != 2:
					g.fail(fmt.Sprintf("answer %d: %.200s", status, p.answer.Bytes()))
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

// poster posts one sender's deliveries, signed as Meta signs them
// (whatsapp.Sign), reusing its HMAC and its buffer for the answers.
type poster struct {
	client *http.Client
	mac    hash.Hash // HMAC-SHA256 with the app secret
	sum    []byte
	answer bytes.Buffer // the last answer's body
}

// post posts body to url and returns the answer's status; its body is in
// p.answer.
func (p *poster) post(ctx context.Context, url string, body []byte) (int, error) {
	p.mac.Reset()
	p.mac.Write(body)
	p.sum = p.mac.Sum(p.sum[:0])
	sig := make([]byte, len(signaturePrefix)+hex.EncodedLen(len(p.sum)))
	hex.Encode(sig[copy(sig, signaturePrefix):], p.sum)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = http.Header{"Content-Type": jsonContentType, signatureHeader: {string(sig)}}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post to %s/%s: %w", tenantID, channelID, err)
	}
	defer resp.Body.Close()
	p.answer.Reset()
	if _, err := p.answer.ReadFrom(io.LimitReader(resp.Body, 1<<20)); err != nil {
		return 0, fmt.Errorf("read answer of %s/%s: %w", tenantID, channelID, err)
	}
	return resp.StatusCode, nil
}

// signaturePrefix starts the value of whatsapp.SignatureHeader.
const signaturePrefix = "sha256="

var (
	signatureHeader = http.CanonicalHeaderKey(whatsapp.SignatureHeader)
	jsonContentType = []string{"application/json"}
)

// deliveryTemplate writes the bodies whatsapp.TextDelivery writes for the
// bench's deliveries, byte for byte, without encoding/json: it is
// TextDelivery's output for marker values, split at the markers.
type deliveryTemplate struct {
	parts  []string // literal text; each but the last is followed by fields[i]
	fields []int    // a field* constant
	size   int      // of the literal text
}

// The fields of a delivery, with the markers they are written as.
const (
	fieldWaID = iota
	fieldName
	fieldMessageID
	fieldText
	fieldTime
)

var fieldMarkers = [...]string{"@@waid@@", "@@name@@", "@@msgid@@", "@@text@@", "8642097531"}

// markerTime is the time written as fieldMarkers[fieldTime].
var markerTime = time.Unix(8642097531, 0)

// body is delivery j at ts: through tmpl when it carries one message.
func (g *generator) body(tmpl *deliveryTemplate, j int, ts time.Time) []byte {
	if g.perDelivery == 1 {
		return tmpl.delivery(g, j, ts)
	}
	first, end := g.messagesOf(j)
	msgs := make([]whatsapp.Inbound, 0, end-first)
	for i := first; i < end; i++ {
		contact := i % g.contacts
		msgs = append(msgs, whatsapp.Inbound{From: waID(contact), Name: contactName(contact), ID: g.messageID(i),
			Time: ts, Text: messageText(i)})
	}
	return whatsapp.Delivery(phoneNumberID, msgs...)
}

// textDelivery is the delivery of message i alone, as
// whatsapp.TextDelivery writes it.
func textDelivery(g *generator, i int, ts time.Time) []byte {
	contact := i % g.contacts
	return whatsapp.TextDelivery(phoneNumberID, waID(contact), contactName(contact), g.messageID(i), messageText(i), ts)
}

// newDeliveryTemplate splits TextDelivery's output at the markers. It
// returns nil when that output is not what the template expects (then
// delivery falls back to TextDelivery).
func newDeliveryTemplate() *deliveryTemplate {
	out := string(whatsapp.TextDelivery(phoneNumberID, fieldMarkers[fieldWaID], fieldMarkers[fieldName],
		fieldMarkers[fieldMessageID], fieldMarkers[fieldText], markerTime))
	t := &deliveryTemplate{}
	for {
		at, field := -1, -1
		for f, m := range fieldMarkers {
			if j := strings.Index(out, m); j >= 0 && (at < 0 || j < at) {
				at, field = j, f
			}
		}
		if at < 0 {
			break
		}
		t.parts = append(t.parts, out[:at])
		t.fields = append(t.fields, field)
		t.size += at
		out = out[at+len(fieldMarkers[field]):]
	}
	t.parts = append(t.parts, out)
	t.size += len(out)
	// It writes what TextDelivery writes.
	sample := &generator{idPrefix: "wamid.sample.", contacts: 7}
	ts := time.Unix(1700000000, 0)
	if !bytes.Equal(t.delivery(sample, 123, ts), textDelivery(sample, 123, ts)) {
		return nil
	}
	return t
}

// delivery returns the delivery of message i alone at ts.
func (t *deliveryTemplate) delivery(g *generator, i int, ts time.Time) []byte {
	if t == nil {
		return textDelivery(g, i, ts)
	}
	contact := i % g.contacts
	b := make([]byte, 0, t.size+len(g.idPrefix)+96)
	for k, f := range t.fields {
		b = append(b, t.parts[k]...)
		switch f {
		case fieldWaID:
			b = append(b, "31"...)
			b = appendPadded(b, contact, 10)
		case fieldName:
			b = append(b, "Contact "...)
			b = strconv.AppendInt(b, int64(contact), 10)
		case fieldMessageID:
			b = appendJSONText(b, g.idPrefix)
			b = strconv.AppendInt(b, int64(i), 10)
		case fieldText:
			b = append(b, "bench message "...)
			b = strconv.AppendInt(b, int64(i), 10)
		case fieldTime:
			b = strconv.AppendInt(b, ts.Unix(), 10)
		}
	}
	return append(b, t.parts[len(t.parts)-1]...)
}

// appendPadded appends n in decimal, zero-padded to width digits, as
// fmt's %0*d does (n is not negative).
func appendPadded(b []byte, n, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendJSONText appends s as encoding/json writes it inside a string's
// quotes.
func appendJSONText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q[1:len(q)-1]...)
		}
	}
	return append(b, s...)
}

// noop is the handler the generator is measured against: it reads the body
// and answers 200.
func noop(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.WriteHeader(http.StatusOK)
}
