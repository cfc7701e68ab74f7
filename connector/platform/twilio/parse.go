package twilio

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/connector/platform"
)

const (
	// maxDetail bounds Event.Detail and the platform-provided text quoted
	// in error messages.
	maxDetail = 300
	// maxMedia is the most attachments Twilio puts on one message.
	maxMedia = 10
	// CodeUnsubscribed is Twilio's error 21610: the recipient replied STOP
	// (or another opt-out keyword) and can not be messaged until they opt
	// back in.
	CodeUnsubscribed = 21610
)

// Parse turns a verified webhook body (form-encoded, the raw body given:
// r.Body is not read) into events (see the package documentation for the
// mapping). The request is not used.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	p, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: twilio: body is not form-encoded: %w", platform.ErrMalformed, err)
	}
	if acct := p.Get("AccountSid"); acct != "" && acct != a.accountSID {
		return []platform.Event{platform.Unusable(body, platform.ReasonOtherAccount+": AccountSid "+clip(acct, 40)+" is not the channel's")}, nil
	}
	sid := firstOf(p, "MessageSid", "SmsMessageSid", "SmsSid")
	if sid == "" {
		if call := p.Get("CallSid"); call != "" {
			return []platform.Event{ignored("voice call webhook " + clip(call, 40))}, nil
		}
		return nil, fmt.Errorf("%w: twilio: body has no MessageSid", platform.ErrMalformed)
	}
	if status := p.Get("MessageStatus"); status != "" {
		return statusEvents(p, sid, status), nil
	}
	return inboundEvents(p, sid)
}

// statusEvents maps a status callback of an outbound message: a receipt,
// plus a "blocked" contact event when the error says the recipient opted
// out.
func statusEvents(p url.Values, sid, status string) []platform.Event {
	recipient := p.Get("To")
	code := strings.TrimSpace(p.Get("ErrorCode"))
	detail := ""
	if code != "" && code != "0" {
		detail = "error " + clip(code, 20)
		if m := firstOf(p, "ErrorMessage", "ChannelStatusMessage"); m != "" {
			detail += ": " + m
		}
	}
	ev := platform.Event{Kind: platform.KindReceipt, ID: sid + ":status:" + clip(status, 40), Contact: recipient}
	switch status {
	case "sent", "delivered", "read":
		ev.Status = status
	case "failed":
		ev.Status = "failed"
	case "undelivered":
		ev.Status, detail = "failed", joinDetail("undelivered", detail)
	default:
		// queued, accepted, scheduled, sending, canceled, partially_delivered,
		// receiving, received and statuses added later.
		ev = ignored("status " + clip(status, 40) + " of " + clip(sid, 40))
		ev.ID = sid + ":status:" + clip(status, 40)
	}
	ev.Detail = clip(joinDetail(ev.Detail, detail), maxDetail)
	events := []platform.Event{ev}
	if code == strconv.Itoa(CodeUnsubscribed) && recipient != "" {
		events = append(events, platform.Event{
			Kind:    platform.KindContact,
			ID:      sid + ":contact:blocked",
			Contact: recipient,
			Status:  "blocked",
			Detail:  "error 21610: the recipient opted out (STOP)",
		})
	}
	return events
}

// inboundEvents maps an incoming message: the message, one more message
// per extra attachment, and a contact event for an opt-out or opt-in
// keyword.
func inboundEvents(p url.Values, sid string) ([]platform.Event, error) {
	from := p.Get("From")
	if from == "" {
		return nil, fmt.Errorf("%w: twilio: message %s has no From", platform.ErrMalformed, clip(sid, 40))
	}
	numMedia := 0
	if s := strings.TrimSpace(p.Get("NumMedia")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: twilio: message %s: NumMedia %q is not a count", platform.ErrMalformed, clip(sid, 40), clip(s, 20))
		}
		numMedia = min(n, maxMedia)
	}
	msg, detail := inboundContent(p, numMedia)
	msg.ReplyTo = p.Get("OriginalRepliedMessageSid")
	base := platform.Event{Kind: platform.KindMessage, Contact: from, ContactName: p.Get("ProfileName")}
	first := base
	first.ID, first.Message, first.Detail = sid, msg, clip(detail, maxDetail)
	events := []platform.Event{first}
	for i := 1; i < numMedia; i++ {
		ref, typ := p.Get(fmt.Sprintf("MediaUrl%d", i)), p.Get(fmt.Sprintf("MediaContentType%d", i))
		if ref == "" {
			continue
		}
		ev := base
		ev.ID = fmt.Sprintf("%s:media:%d", sid, i)
		ev.Message = &platform.Message{Kind: mediaKind(typ, ""), MediaRef: ref, MediaType: typ}
		ev.Detail = fmt.Sprintf("attachment %d of %d of %s", i+1, numMedia, clip(sid, 40))
		events = append(events, ev)
	}
	switch strings.ToUpper(p.Get("OptOutType")) {
	case "STOP":
		events = append(events, platform.Event{Kind: platform.KindContact, ID: sid + ":contact:blocked", Contact: from,
			ContactName: base.ContactName, Status: "blocked", Detail: "opt-out keyword (OptOutType STOP)"})
	case "START":
		events = append(events, platform.Event{Kind: platform.KindContact, ID: sid + ":contact:unblocked", Contact: from,
			ContactName: base.ContactName, Status: "unblocked", Detail: "opt-in keyword (OptOutType START)"})
	}
	return events, nil
}

// inboundContent maps what an incoming message says; the string is the
// detail.
func inboundContent(p url.Values, numMedia int) (*platform.Message, string) {
	body, typ := p.Get("Body"), p.Get("MessageType")
	var detail string
	if p.Get("Forwarded") == "true" {
		detail = "forwarded"
	}
	switch {
	case p.Get("Latitude") != "" || p.Get("Longitude") != "":
		return &platform.Message{Kind: platform.Location, Text: describeLocation(p)}, detail
	case p.Get("ButtonText") != "" || p.Get("ButtonPayload") != "":
		msg := &platform.Message{Kind: platform.Button, Text: p.Get("ButtonText")}
		if payload := p.Get("ButtonPayload"); payload != "" {
			detail = joinDetail(detail, "payload "+clip(payload, 200))
		}
		return msg, detail
	case numMedia > 0:
		ref, mime := p.Get("MediaUrl0"), p.Get("MediaContentType0")
		msg := &platform.Message{Kind: mediaKind(mime, typ), Text: body, MediaRef: ref, MediaType: mime}
		if numMedia > 1 {
			detail = joinDetail(detail, fmt.Sprintf("attachment 1 of %d", numMedia))
		}
		return msg, detail
	case body == "" && typ != "" && typ != "text":
		// A WhatsApp message type Twilio forwards without content
		// (unsupported, reactions, ...).
		return &platform.Message{Kind: platform.Other}, joinDetail(detail, "type "+clip(typ, 60))
	}
	return &platform.Message{Kind: platform.Text, Text: body}, detail
}

// mediaKind maps an attachment's MIME type (and WhatsApp's MessageType,
// which names stickers) to a message kind.
func mediaKind(mime, messageType string) string {
	if messageType == "sticker" {
		return platform.Sticker
	}
	switch {
	case strings.HasPrefix(mime, "image/"):
		return platform.Image
	case strings.HasPrefix(mime, "video/"):
		return platform.Video
	case strings.HasPrefix(mime, "audio/"):
		return platform.Audio
	}
	return platform.Document
}

// describeLocation writes a shared WhatsApp location as text: label,
// address and coordinates, whichever are present.
func describeLocation(p url.Values) string {
	var parts []string
	for _, s := range []string{p.Get("Label"), p.Get("Address")} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	text := strings.Join(parts, ", ")
	coords := fmt.Sprintf("(%s, %s)", p.Get("Latitude"), p.Get("Longitude"))
	if text == "" {
		return coords
	}
	return text + " " + coords
}

// firstOf returns the first non-empty value of the named parameters.
func firstOf(p url.Values, names ...string) string {
	for _, n := range names {
		if v := p.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// ignored builds a KindIgnored event.
func ignored(detail string) platform.Event {
	return platform.Event{Kind: platform.KindIgnored, Detail: clip(detail, maxDetail)}
}

// joinDetail joins two detail fragments, skipping empty ones.
func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
