package twilio

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
)

const (
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
		return []platform.Event{platform.Unusable(body, platform.ReasonOtherAccount+": AccountSid "+platform.Clip(acct, 40)+" is not the channel's")}, nil
	}
	sid := firstOf(p, "MessageSid", "SmsMessageSid", "SmsSid")
	if sid == "" {
		if call := p.Get("CallSid"); call != "" {
			return []platform.Event{platform.Ignored("voice call webhook " + platform.Clip(call, 40))}, nil
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
		detail = "error " + platform.Clip(code, 20)
		if m := firstOf(p, "ErrorMessage", "ChannelStatusMessage"); m != "" {
			detail += ": " + m
		}
	}
	ev := platform.Event{Kind: platform.KindReceipt, ID: sid + ":status:" + platform.Clip(status, 40), Contact: recipient}
	switch status {
	case "sent", "delivered", "read":
		ev.Status = status
	case "failed":
		ev.Status = "failed"
	case "undelivered":
		ev.Status, detail = "failed", platform.JoinDetail("undelivered", detail)
	default:
		// queued, accepted, scheduled, sending, canceled, partially_delivered,
		// receiving, received and statuses added later.
		ev = platform.Ignored("status " + platform.Clip(status, 40) + " of " + platform.Clip(sid, 40))
		ev.ID = sid + ":status:" + platform.Clip(status, 40)
	}
	ev.Detail = platform.Clip(platform.JoinDetail(ev.Detail, detail), platform.MaxDetail)
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
		return nil, fmt.Errorf("%w: twilio: message %s has no From", platform.ErrMalformed, platform.Clip(sid, 40))
	}
	numMedia := 0
	if s := strings.TrimSpace(p.Get("NumMedia")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: twilio: message %s: NumMedia %q is not a count", platform.ErrMalformed, platform.Clip(sid, 40), platform.Clip(s, 20))
		}
		numMedia = min(n, maxMedia)
	}
	msg, detail := inboundContent(p, numMedia)
	msg.ReplyTo = p.Get("OriginalRepliedMessageSid")
	base := platform.Event{Kind: platform.KindMessage, Contact: from, ContactName: p.Get("ProfileName")}
	first := base
	first.ID, first.Message, first.Detail = sid, msg, platform.Clip(detail, platform.MaxDetail)
	events := []platform.Event{first}
	for i := 1; i < numMedia; i++ {
		ref, typ := p.Get(fmt.Sprintf("MediaUrl%d", i)), p.Get(fmt.Sprintf("MediaContentType%d", i))
		if ref == "" {
			continue
		}
		ev := base
		ev.ID = fmt.Sprintf("%s:media:%d", sid, i)
		ev.Message = &platform.Message{Kind: mediaKind(typ, ""), MediaRef: platform.JoinMediaRef(ref, "", typ), MediaType: typ}
		ev.Detail = fmt.Sprintf("attachment %d of %d of %s", i+1, numMedia, platform.Clip(sid, 40))
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
			detail = platform.JoinDetail(detail, "payload "+platform.Clip(payload, 200))
		}
		return msg, detail
	case numMedia > 0:
		ref, mime := p.Get("MediaUrl0"), p.Get("MediaContentType0")
		msg := &platform.Message{Kind: mediaKind(mime, typ), Text: body, MediaRef: platform.JoinMediaRef(ref, "", mime), MediaType: mime}
		if numMedia > 1 {
			detail = platform.JoinDetail(detail, fmt.Sprintf("attachment 1 of %d", numMedia))
		}
		return msg, detail
	case body == "" && typ != "" && typ != "text":
		// A WhatsApp message type Twilio forwards without content
		// (unsupported, reactions, ...).
		return &platform.Message{Kind: platform.Other}, platform.JoinDetail(detail, "type "+platform.Clip(typ, 60))
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
