package meta

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/platform"
)

// Target says whose deliveries ParseMessaging reads.
type Target struct {
	// Platform names the platform in error messages ("messenger").
	Platform string
	// Object is the delivery's expected "object": "page" or "instagram".
	Object string
	// AccountIDs are the ids under which the channel's account appears as
	// entry.id (a Page id; an Instagram account id). An entry for another
	// id becomes a KindUnusable event (platform.ReasonOtherAccount) whose
	// Raw is a delivery of that entry alone. Empty: every entry is read.
	AccountIDs []string
}

// rawEntry is Entry with its messaging events kept raw, so that an event of
// a type this package does not know can be named.
type rawEntry struct {
	ID        Flex              `json:"id"`
	Time      Millis            `json:"time"`
	Messaging []json.RawMessage `json:"messaging"`
	Standby   []json.RawMessage `json:"standby"`
	Changes   []Change          `json:"changes"`
	Field     string            `json:"field"`
}

// ParseMessaging turns a verified delivery in the Messenger Platform format
// into events, in delivery order (see the package documentation for the
// mapping). A body that is not such a delivery, whose object is not
// t.Object, or with an event lacking what identifies it (a message without
// mid or sender, a reaction without mid, ...) is refused with an error
// wrapping platform.ErrMalformed that names the place.
func ParseMessaging(body []byte, t Target) ([]platform.Event, error) {
	var w delivery
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %s: body is not a webhook delivery: %w", platform.ErrMalformed, t.Platform, err)
	}
	if w.Object != t.Object {
		return nil, fmt.Errorf("%w: %s: object is %q, want %q", platform.ErrMalformed, t.Platform, platform.Clip(w.Object, 60), t.Object)
	}
	p := parser{t: t}
	events := []platform.Event{}
	for ei, raw := range w.Entry {
		where := fmt.Sprintf("entry[%d]", ei)
		var e rawEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, p.malformed(where, "%v", err)
		}
		if len(t.AccountIDs) > 0 && e.ID != "" && !p.isAccount(string(e.ID)) {
			one, err := json.Marshal(delivery{Object: w.Object, Entry: []json.RawMessage{raw}})
			if err != nil {
				return nil, p.malformed(where, "%v", err)
			}
			events = append(events, platform.Unusable(one,
				platform.ReasonOtherAccount+": entry for account "+platform.Clip(string(e.ID), 40)+" is not the channel's"))
			continue
		}
		evs, err := p.entry(&e, where)
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
	}
	return events, nil
}

// delivery is a webhook body with its entries kept raw: an entry for
// another account is kept as it came, in a delivery of its own.
type delivery struct {
	Object string            `json:"object"`
	Entry  []json.RawMessage `json:"entry"`
}

// parser maps the events of one delivery.
type parser struct {
	t Target
}

// malformed builds the error for a delivery that breaks the format at
// where.
func (p parser) malformed(where, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s: %s", platform.ErrMalformed, p.t.Platform, where, fmt.Sprintf(format, args...))
}

// isAccount reports whether id is the channel's account.
func (p parser) isAccount(id string) bool {
	return id != "" && slices.Contains(p.t.AccountIDs, id)
}

// entry maps one entry: its messaging events, its standby events, then its
// changes.
func (p parser) entry(e *rawEntry, where string) ([]platform.Event, error) {
	var events []platform.Event
	for i, raw := range e.Messaging {
		evs, err := p.messaging(raw, e.Time, fmt.Sprintf("%s.messaging[%d]", where, i))
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
	}
	// Standby items come while another app owns the conversation (the
	// handover protocol): shaped as messaging events, and a customer's
	// message there is still the customer's, stored as any other.
	for i, raw := range e.Standby {
		evs, err := p.messaging(raw, e.Time, fmt.Sprintf("%s.standby[%d]", where, i))
		if err != nil {
			return nil, err
		}
		for j := range evs {
			if evs[j].Kind == platform.KindMessage {
				evs[j].Detail = platform.Clip(platform.JoinDetail("standby: another app owns the conversation", evs[j].Detail), platform.MaxDetail)
			}
		}
		events = append(events, evs...)
	}
	for _, c := range e.Changes {
		events = append(events, platform.Ignored("field "+platform.Clip(c.Field, 60)))
	}
	if e.Field != "" {
		events = append(events, platform.Ignored("field "+platform.Clip(e.Field, 60)))
	}
	return events, nil
}

// messaging maps one messaging event.
func (p parser) messaging(raw json.RawMessage, entryTime Millis, where string) ([]platform.Event, error) {
	var m Messaging
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, p.malformed(where, "%v", err)
	}
	// The event's own time; a delivery or read notice without one is
	// dated by its watermark; the entry's time stands in last.
	ts := m.Timestamp
	if ts == 0 && m.Delivery != nil {
		ts = m.Delivery.Watermark
	}
	if ts == 0 && m.Read != nil {
		ts = m.Read.Watermark
	}
	if ts == 0 {
		ts = entryTime
	}
	switch {
	case m.Message != nil:
		return p.message(&m, ts, where+".message")
	case m.MessageEdit != nil:
		ev, err := p.edit(&m, ts, where+".message_edit")
		return []platform.Event{ev}, err
	case m.Reaction != nil:
		ev, err := p.reaction(&m, ts, where+".reaction")
		return []platform.Event{ev}, err
	case m.Postback != nil:
		ev, err := p.postback(&m, ts, where+".postback")
		return []platform.Event{ev}, err
	case m.Delivery != nil:
		return p.delivery(&m, ts, where+".delivery")
	case m.Read != nil:
		ev, err := p.read(&m, ts, where+".read")
		return []platform.Event{ev}, err
	}
	return []platform.Event{platform.Ignored(eventName(&m, raw))}, nil
}

// message maps a message: an echo, an unsend, or the user's message, one
// event per attachment.
func (p parser) message(m *Messaging, ts Millis, where string) ([]platform.Event, error) {
	msg := m.Message
	if msg.MID == "" {
		return nil, p.malformed(where, "message has no mid")
	}
	if msg.IsEcho {
		if msg.IsDeleted {
			return []platform.Event{platform.Ignored("echo of a deleted message")}, nil
		}
		detail := "echo"
		if msg.AppID != "" {
			detail = "echo from app_id " + platform.Clip(string(msg.AppID), 40)
		}
		return []platform.Event{{
			Kind:      platform.KindReceipt,
			ID:        msg.MID + ":status:echo",
			Contact:   m.Recipient.Key(),
			Timestamp: ts.Time(),
			Status:    "echo",
			Detail:    detail,
		}}, nil
	}
	contact := m.Sender.Key()
	if contact == "" {
		return nil, p.malformed(where, "message %s has no sender", platform.Clip(msg.MID, 80))
	}
	base := platform.Event{Kind: platform.KindMessage, ID: msg.MID, Contact: contact, Timestamp: ts.Time()}
	if msg.IsDeleted {
		base.ID = "unsend:" + msg.MID
		base.Message = &platform.Message{Kind: platform.Unsend, ReplyTo: msg.MID}
		return []platform.Event{base}, nil
	}
	var replyTo string
	var notes []string
	if r := msg.ReplyTo; r != nil {
		replyTo = r.MID
		if r.Story != nil {
			notes = append(notes, "reply to story "+platform.Clip(string(r.Story.ID), 60))
		}
	}
	if msg.Referral != nil {
		notes = append(notes, "referral from "+platform.Clip(strings.ToLower(msg.Referral.Source), 40))
	}
	note := strings.Join(notes, "; ")
	switch {
	case msg.IsUnsupported:
		base.Message = &platform.Message{Kind: platform.Other, Text: msg.Text, ReplyTo: replyTo}
		base.Detail = platform.Clip(platform.JoinDetail("unsupported message", note), platform.MaxDetail)
		return []platform.Event{base}, nil
	case len(msg.Attachments) > 0:
		events := make([]platform.Event, 0, len(msg.Attachments))
		for i := range msg.Attachments {
			ev := base
			content, detail := attachmentContent(&msg.Attachments[i])
			content.ReplyTo = replyTo
			if i == 0 {
				if msg.Text != "" {
					content.Text = msg.Text
				}
			} else {
				ev.ID = msg.MID + ":attachment:" + strconv.Itoa(i)
			}
			ev.Message = content
			ev.Detail = platform.Clip(platform.JoinDetail(detail, note), platform.MaxDetail)
			events = append(events, ev)
		}
		return events, nil
	case msg.QuickReply != nil:
		base.Message = &platform.Message{Kind: platform.Button, Text: msg.Text, ReplyTo: replyTo}
		base.Detail = platform.Clip(platform.JoinDetail("quick_reply payload "+platform.Clip(msg.QuickReply.Payload, 200), note), platform.MaxDetail)
		return []platform.Event{base}, nil
	case msg.Text != "":
		base.Message = &platform.Message{Kind: platform.Text, Text: msg.Text, ReplyTo: replyTo}
		base.Detail = platform.Clip(note, platform.MaxDetail)
		return []platform.Event{base}, nil
	default:
		base.Message = &platform.Message{Kind: platform.Other, ReplyTo: replyTo}
		base.Detail = platform.Clip(platform.JoinDetail("message without text or attachments", note), platform.MaxDetail)
		return []platform.Event{base}, nil
	}
}

// attachmentContent maps one attachment; the string is the detail.
func attachmentContent(a *Attachment) (*platform.Message, string) {
	var pl AttachmentPayload
	if a.Payload != nil {
		pl = *a.Payload
	}
	url := pl.URL
	if url == "" {
		url = a.URL
	}
	title := pl.Title
	if title == "" {
		title = a.Title
	}
	typ := platform.Clip(a.Type, 60)
	switch a.Type {
	case "image":
		if pl.StickerID != "" {
			return &platform.Message{Kind: platform.Sticker, MediaRef: url}, "sticker_id " + platform.Clip(string(pl.StickerID), 40)
		}
		return &platform.Message{Kind: platform.Image, MediaRef: url}, ""
	case "video":
		return &platform.Message{Kind: platform.Video, MediaRef: url}, ""
	case "audio":
		return &platform.Message{Kind: platform.Audio, MediaRef: url}, ""
	case "file":
		return &platform.Message{Kind: platform.Document, MediaRef: url}, ""
	case "reel", "ig_reel":
		return &platform.Message{Kind: platform.Video, MediaRef: url, Text: title}, typ
	case "location":
		return &platform.Message{Kind: platform.Location, Text: describeLocation(title, pl.Coordinates)}, ""
	case "":
		return &platform.Message{Kind: platform.Other, MediaRef: url, Text: title}, "attachment without type"
	default:
		// fallback (a shared link), share, story_mention, post, ig_post,
		// template, appointment_booking and types to come.
		return &platform.Message{Kind: platform.Other, MediaRef: url, Text: title}, typ
	}
}

// describeLocation writes a shared location as "title (lat, long)".
func describeLocation(title string, c *Coordinates) string {
	title = strings.TrimSpace(title)
	if c == nil || (c.Lat == "" && c.Long == "") {
		return title
	}
	coords := fmt.Sprintf("(%s, %s)", c.Lat, c.Long)
	if title == "" {
		return coords
	}
	return title + " " + coords
}

// edit maps a message_edit.
func (p parser) edit(m *Messaging, ts Millis, where string) (platform.Event, error) {
	e := m.MessageEdit
	if e.MID == "" {
		return platform.Event{}, p.malformed(where, "message_edit has no mid")
	}
	contact := m.Sender.Key()
	if contact == "" {
		return platform.Event{}, p.malformed(where, "message_edit of %s has no sender", platform.Clip(e.MID, 80))
	}
	if p.isAccount(contact) {
		return platform.Ignored("edit of the business's own message"), nil
	}
	version := string(e.NumEdit)
	detail := "edit " + platform.Clip(version, 20)
	if version == "" {
		version = "t" + ts.String()
		detail = "edit"
	}
	return platform.Event{
		Kind:      platform.KindMessage,
		ID:        "edit:" + e.MID + ":" + version,
		Contact:   contact,
		Timestamp: ts.Time(),
		Message:   &platform.Message{Kind: platform.Edit, Text: e.Text, ReplyTo: e.MID},
		Detail:    platform.Clip(detail, platform.MaxDetail),
	}, nil
}

// reactionEmoji stands in for the emoji when Meta sends only the
// reaction's name.
var reactionEmoji = map[string]string{
	"like":    "👍",
	"dislike": "👎",
	"love":    "❤️",
	"smile":   "😆",
	"laugh":   "😆",
	"wow":     "😮",
	"sad":     "😢",
	"angry":   "😠",
}

// reaction maps a reaction or its removal.
func (p parser) reaction(m *Messaging, ts Millis, where string) (platform.Event, error) {
	r := m.Reaction
	if r.MID == "" {
		return platform.Event{}, p.malformed(where, "reaction has no mid")
	}
	contact := m.Sender.Key()
	if contact == "" {
		return platform.Event{}, p.malformed(where, "reaction to %s has no sender", platform.Clip(r.MID, 80))
	}
	msg := &platform.Message{Kind: platform.Reaction, ReplyTo: r.MID}
	var detail, key string
	if r.Action == "unreact" {
		detail, key = "reaction removed", "unreact"
	} else {
		msg.Text = r.Emoji
		if msg.Text == "" {
			msg.Text = reactionEmoji[r.Reaction]
		}
		if msg.Text == "" {
			msg.Text = r.Reaction
		}
		if r.Reaction != "" {
			detail = "reaction " + platform.Clip(r.Reaction, 40)
		}
		key = msg.Text
		if key == "" {
			key = "react"
		}
	}
	return platform.Event{
		Kind:      platform.KindMessage,
		ID:        "reaction:" + r.MID + ":" + contact + ":" + key + ":" + ts.String(),
		Contact:   contact,
		Timestamp: ts.Time(),
		Message:   msg,
		Detail:    detail,
	}, nil
}

// postback maps a postback.
func (p parser) postback(m *Messaging, ts Millis, where string) (platform.Event, error) {
	pb := m.Postback
	contact := m.Sender.Key()
	if contact == "" {
		return platform.Event{}, p.malformed(where, "postback has no sender")
	}
	id := "postback:" + pb.MID
	if pb.MID == "" {
		if ts == 0 {
			return platform.Event{}, p.malformed(where, "postback has neither mid nor timestamp")
		}
		id = "postback:" + contact + ":" + ts.String()
	}
	return platform.Event{
		Kind:      platform.KindMessage,
		ID:        id,
		Contact:   contact,
		Timestamp: ts.Time(),
		Message:   &platform.Message{Kind: platform.Postback, Text: pb.Title},
		Detail:    "payload " + platform.Clip(pb.Payload, 200),
	}, nil
}

// delivery maps a delivery notice: one receipt per message, or one for the
// watermark.
func (p parser) delivery(m *Messaging, ts Millis, where string) ([]platform.Event, error) {
	d := m.Delivery
	contact := m.Sender.Key()
	if len(d.MIDs) == 0 {
		if d.Watermark == 0 {
			return nil, p.malformed(where, "delivery has neither mids nor watermark")
		}
		return []platform.Event{{
			Kind:      platform.KindReceipt,
			ID:        "delivered:" + contact + ":" + d.Watermark.String(),
			Contact:   contact,
			Timestamp: ts.Time(),
			Status:    "delivered",
			Detail:    "every message up to the watermark " + d.Watermark.String(),
		}}, nil
	}
	events := make([]platform.Event, 0, len(d.MIDs))
	for i, mid := range d.MIDs {
		if mid == "" {
			return nil, p.malformed(fmt.Sprintf("%s.mids[%d]", where, i), "empty message id")
		}
		events = append(events, platform.Event{
			Kind:      platform.KindReceipt,
			ID:        mid + ":status:delivered",
			Contact:   contact,
			Timestamp: ts.Time(),
			Status:    "delivered",
		})
	}
	return events, nil
}

// read maps a read notice.
func (p parser) read(m *Messaging, ts Millis, where string) (platform.Event, error) {
	r := m.Read
	contact := m.Sender.Key()
	ev := platform.Event{Kind: platform.KindReceipt, Contact: contact, Status: "read"}
	switch {
	case r.MID != "":
		ev.ID = r.MID + ":status:read"
	case r.Watermark != 0:
		ev.ID = "read:" + contact + ":" + r.Watermark.String()
		ev.Detail = "every message up to the watermark " + r.Watermark.String()
	default:
		return platform.Event{}, p.malformed(where, "read has neither mid nor watermark")
	}
	ev.Timestamp = ts.Time()
	return ev, nil
}

// eventName names a messaging event this package does not map: its keys
// other than sender, recipient and timestamp ("referral", "optin", ...).
func eventName(m *Messaging, raw json.RawMessage) string {
	switch {
	case m.Message != nil:
		if m.Message.IsEcho {
			return "message echo"
		}
		return "message"
	case m.MessageEdit != nil:
		return "message_edit"
	case m.Reaction != nil:
		return "reaction"
	case m.Postback != nil:
		return "postback"
	case m.Delivery != nil:
		return "delivery"
	case m.Read != nil:
		return "read"
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "messaging event"
	}
	var names []string
	for k := range fields {
		switch k {
		case "sender", "recipient", "timestamp":
		default:
			names = append(names, platform.Clip(k, 40))
		}
	}
	if len(names) == 0 {
		return "empty messaging event"
	}
	sort.Strings(names)
	return platform.Clip(strings.Join(names, ", "), platform.MaxDetail)
}
