package whatsapp

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
)

// The webhook payload, as far as the adapter reads it. Fields it does not
// use are left out, so that a change in them can not make a delivery
// unreadable.
type (
	webhook struct {
		Object string  `json:"object"`
		Entry  []entry `json:"entry"`
	}
	entry struct {
		ID      string   `json:"id"`
		Changes []change `json:"changes"`
	}
	change struct {
		Field string `json:"field"`
		// Value is decoded only for the "messages" field: other fields have
		// shapes of their own.
		Value json.RawMessage `json:"value"`
	}
	value struct {
		Metadata struct {
			PhoneNumberID string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []contact   `json:"contacts"`
		Messages []message   `json:"messages"`
		Statuses []status    `json:"statuses"`
		Errors   []errorItem `json:"errors"`
	}
	contact struct {
		WaID    string `json:"wa_id"`
		UserID  string `json:"user_id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	messageContext struct {
		ID string `json:"id"`
	}
	message struct {
		ID         string `json:"id"`
		From       string `json:"from"`
		FromUserID string `json:"from_user_id"`
		// GroupID names the group chat the message was written in (the
		// Groups API); empty in a one-to-one chat.
		GroupID   string          `json:"group_id"`
		Timestamp flexString      `json:"timestamp"`
		Type      string          `json:"type"`
		Context   *messageContext `json:"context"`
		Errors    []errorItem     `json:"errors"`
		Reaction  *struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		} `json:"reaction"`
		Edit *struct {
			OriginalMessageID string         `json:"original_message_id"`
			Message           *editedMessage `json:"message"`
		} `json:"edit"`
		Revoke *struct {
			OriginalMessageID string `json:"original_message_id"`
		} `json:"revoke"`
		content
	}
	// editedMessage is the new content of an edited message.
	editedMessage struct {
		Type    string          `json:"type"`
		Context *messageContext `json:"context"`
		content
	}
	// content is what a message says, by type.
	content struct {
		Text *struct {
			Body string `json:"body"`
		} `json:"text"`
		Image       *media    `json:"image"`
		Video       *media    `json:"video"`
		Audio       *media    `json:"audio"`
		Document    *media    `json:"document"`
		Sticker     *media    `json:"sticker"`
		Location    *location `json:"location"`
		Interactive *struct {
			Type        string `json:"type"`
			ButtonReply *reply `json:"button_reply"`
			ListReply   *reply `json:"list_reply"`
			NfmReply    *struct {
				Name string `json:"name"`
				Body string `json:"body"`
			} `json:"nfm_reply"`
		} `json:"interactive"`
		Button *struct {
			Payload string `json:"payload"`
			Text    string `json:"text"`
		} `json:"button"`
		Contacts []sharedContact `json:"contacts"`
		Order    *struct {
			Text string `json:"text"`
		} `json:"order"`
		System *struct {
			Body string `json:"body"`
			Type string `json:"type"`
		} `json:"system"`
		Unsupported *struct {
			Type string `json:"type"`
		} `json:"unsupported"`
	}
	media struct {
		ID       string `json:"id"`
		MimeType string `json:"mime_type"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
		Voice    bool   `json:"voice"`
		Animated bool   `json:"animated"`
	}
	location struct {
		Latitude  flexString `json:"latitude"`
		Longitude flexString `json:"longitude"`
		Name      string     `json:"name"`
		Address   string     `json:"address"`
	}
	reply struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	sharedContact struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string `json:"phone"`
		} `json:"phones"`
	}
	status struct {
		ID              string      `json:"id"`
		Status          string      `json:"status"`
		Timestamp       flexString  `json:"timestamp"`
		RecipientID     string      `json:"recipient_id"`
		RecipientUserID string      `json:"recipient_user_id"`
		Errors          []errorItem `json:"errors"`
	}
	// errorItem is an error in a webhook (value, message or status errors)
	// or in a block_users failed_users entry.
	errorItem struct {
		Code      flexInt `json:"code"`
		Title     string  `json:"title"`
		Message   string  `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	}
)

// flexString is platform.FlexString: a JSON string or number kept as its text.
type flexString = platform.FlexString

// flexInt decodes an error code sent as a number or as a numeric string; a
// string that is not a number decodes as 0.
type flexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(s)))
	if err != nil {
		n = 0
	}
	*f = flexInt(n)
	return nil
}

// parse turns a verified webhook body for the phone number phoneNumberID
// into events in delivery order (see the package documentation for the
// mapping): the product's parser, Adapter.Parse.
func parse(phoneNumberID string, body []byte) ([]platform.Event, error) {
	if events, ok := parseOnePass(phoneNumberID, body); ok {
		return events, nil
	}
	return parseChanges(phoneNumberID, body)
}

// typedWebhook is a delivery decoded in one pass, every change's value as
// a "messages" value.
type typedWebhook struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Changes []struct {
			Field string `json:"field"`
			Value *value `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// parseOnePass is parse for the usual delivery, read once rather than
// change by change (which reads each value twice more). It gives up (ok
// false) where parseChanges must decide: a body it can not decode (a
// malformed one, or a change of another field whose value has a shape of
// its own), a change of another phone number (quarantined with the
// change's own bytes), an event in error.
func parseOnePass(phoneNumberID string, body []byte) (events []platform.Event, ok bool) {
	var w typedWebhook
	if err := json.Unmarshal(body, &w); err != nil || w.Object != Object {
		return nil, false
	}
	events = []platform.Event{}
	for ei, e := range w.Entry {
		for ci, ch := range e.Changes {
			if ch.Field != "messages" {
				events = append(events, platform.Ignored("field "+platform.Clip(ch.Field, 60)))
				continue
			}
			var v value
			if ch.Value != nil {
				v = *ch.Value
			}
			if id := v.Metadata.PhoneNumberID; id != "" && id != phoneNumberID {
				return nil, false
			}
			evs, err := valueEvents(&v, fmt.Sprintf("entry[%d].changes[%d].value", ei, ci))
			if err != nil || slices.ContainsFunc(evs, unnamed) {
				return nil, false
			}
			events = append(events, evs...)
		}
	}
	return events, true
}

// parseChanges is parse reading each change's value on its own: a value
// is decoded only for the "messages" field, and a change's bytes are at
// hand for the quarantine.
func parseChanges(phoneNumberID string, body []byte) ([]platform.Event, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: whatsapp: body is not a webhook delivery: %w", platform.ErrMalformed, err)
	}
	if w.Object != Object {
		return nil, fmt.Errorf("%w: whatsapp: object is %q, want %q", platform.ErrMalformed, platform.Clip(w.Object, 60), Object)
	}
	events := []platform.Event{}
	for ei, e := range w.Entry {
		for ci, ch := range e.Changes {
			where := fmt.Sprintf("entry[%d].changes[%d]", ei, ci)
			if ch.Field != "messages" {
				events = append(events, platform.Ignored("field "+platform.Clip(ch.Field, 60)))
				continue
			}
			var v value
			if len(ch.Value) > 0 {
				if err := json.Unmarshal(ch.Value, &v); err != nil {
					return nil, fmt.Errorf("%w: whatsapp: %s.value: %w", platform.ErrMalformed, where, err)
				}
			}
			if id := v.Metadata.PhoneNumberID; id != "" && id != phoneNumberID {
				events = append(events, platform.Unusable(single(w.Object, e.ID, ch),
					platform.ReasonOtherAccount+": phone_number_id "+platform.Clip(id, 40)+" is not the channel's"))
				continue
			}
			evs, err := valueEvents(&v, where+".value")
			if err != nil {
				return nil, err
			}
			for i, ev := range evs {
				if unnamed(ev) {
					// The customer's all the same: the change is kept in
					// quarantine (its other messages are stored, and are
					// duplicates when it is replayed).
					evs[i] = platform.Unusable(single(w.Object, e.ID, ch),
						platform.ReasonIDMissing+": the contact id is empty: message "+platform.Clip(ev.ID, 80)+" names neither from nor from_user_id")
				}
			}
			events = append(events, evs...)
		}
	}
	return events, nil
}

// single returns a delivery that holds one change of one entry: the raw
// bytes of an event kept in quarantine, which Parse reads again on replay.
func single(object, entryID string, c change) []byte {
	b, err := json.Marshal(webhook{Object: object, Entry: []entry{{ID: entryID, Changes: []change{c}}}})
	if err != nil {
		// Strings and a RawMessage that decoded: marshalling cannot fail.
		panic(fmt.Sprintf("whatsapp: re-encoding a change: %v", err))
	}
	return b
}

// valueEvents maps one "messages" value: its messages, then its statuses,
// then its errors.
func valueEvents(v *value, where string) ([]platform.Event, error) {
	names := make(map[string]string, 2*len(v.Contacts))
	for _, c := range v.Contacts {
		if c.WaID != "" {
			names[c.WaID] = c.Profile.Name
		}
		if c.UserID != "" {
			names[c.UserID] = c.Profile.Name
		}
	}
	var events []platform.Event
	for i := range v.Messages {
		ev, err := messageEvent(&v.Messages[i], fmt.Sprintf("%s.messages[%d]", where, i))
		if err != nil {
			return nil, err
		}
		if ev.Sender != "" { // a group's message: the writer is the sender
			if name := names[ev.Sender]; name != "" {
				ev.Sender = name + " (" + ev.Sender + ")"
			}
			events = append(events, ev)
			continue
		}
		ev.ContactName = names[ev.Contact]
		if ev.Contact != "" && ev.ContactName == "" && len(v.Contacts) == 1 {
			// Meta may normalise the number in "from" differently from
			// wa_id (some countries' mobile prefixes); with one contact in
			// the value there is no doubt whose name it is.
			ev.ContactName = v.Contacts[0].Profile.Name
		}
		events = append(events, ev)
	}
	for i := range v.Statuses {
		ev, err := statusEvent(&v.Statuses[i], fmt.Sprintf("%s.statuses[%d]", where, i))
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	for _, e := range v.Errors {
		events = append(events, platform.Ignored(errorsDetail([]errorItem{e})))
	}
	return events, nil
}

// messageEvent maps one inbound message.
func messageEvent(m *message, where string) (platform.Event, error) {
	if m.ID == "" {
		return platform.Event{}, fmt.Errorf("%w: whatsapp: %s has no id", platform.ErrMalformed, where)
	}
	from := m.From
	if from == "" {
		from = m.FromUserID
	}
	ts, err := unixTime(m.Timestamp)
	if err != nil {
		return platform.Event{}, fmt.Errorf("%w: whatsapp: %s (%s): %w", platform.ErrMalformed, where, platform.Clip(m.ID, 80), err)
	}
	msg, detail := messageContent(m)
	if msg.ReplyTo == "" && m.Context != nil {
		msg.ReplyTo = m.Context.ID
	}
	if len(m.Errors) > 0 {
		detail = platform.JoinDetail(detail, errorsDetail(m.Errors))
	}
	ev := platform.Event{
		Kind:      platform.KindMessage,
		ID:        m.ID,
		Contact:   from, // empty when the message names no one: see unnamed
		Timestamp: ts,
		Message:   msg,
		Detail:    platform.Clip(detail, platform.MaxDetail),
	}
	if m.GroupID != "" {
		// Filed under the group, where replies go; its writer is the
		// sender.
		ev.Contact, ev.Sender = m.GroupID, from
		ev.Detail = platform.Clip(platform.JoinDetail("group chat", detail), platform.MaxDetail)
	}
	return ev, nil
}

// unnamed reports whether ev is a message that names no one to file it
// under (neither from nor from_user_id): kept in quarantine.
func unnamed(ev platform.Event) bool {
	return ev.Kind == platform.KindMessage && ev.Contact == ""
}

// messageContent maps the types that need more than the content itself
// (reactions, edits, revokes) and hands the others to contentOf.
func messageContent(m *message) (*platform.Message, string) {
	switch m.Type {
	case "reaction":
		if m.Reaction == nil || m.Reaction.MessageID == "" {
			return &platform.Message{Kind: platform.Other}, "reaction without message_id"
		}
		msg := &platform.Message{Kind: platform.Reaction, Text: m.Reaction.Emoji, ReplyTo: m.Reaction.MessageID}
		if m.Reaction.Emoji == "" {
			return msg, "reaction removed"
		}
		return msg, ""
	case "edit":
		if m.Edit == nil || m.Edit.OriginalMessageID == "" {
			return &platform.Message{Kind: platform.Other}, "edit without original_message_id"
		}
		msg := &platform.Message{Kind: platform.Edit}
		detail := "edit"
		if nm := m.Edit.Message; nm != nil {
			inner, innerDetail := contentOf(nm.Type, &nm.content)
			msg.Text, msg.MediaRef, msg.MediaType = inner.Text, inner.MediaRef, inner.MediaType
			detail = platform.JoinDetail("edit of "+platform.Clip(nm.Type, 40), innerDetail)
		}
		msg.ReplyTo = m.Edit.OriginalMessageID
		return msg, detail
	case "revoke":
		if m.Revoke == nil || m.Revoke.OriginalMessageID == "" {
			return &platform.Message{Kind: platform.Other}, "revoke without original_message_id"
		}
		return &platform.Message{Kind: platform.Unsend, ReplyTo: m.Revoke.OriginalMessageID}, ""
	}
	return contentOf(m.Type, &m.content)
}

// contentOf maps a message's content by its type; the string is the detail.
func contentOf(typ string, c *content) (*platform.Message, string) {
	switch typ {
	case "text":
		msg := &platform.Message{Kind: platform.Text}
		if c.Text != nil {
			msg.Text = c.Text.Body
		}
		return msg, ""
	case "image":
		return mediaMessage(platform.Image, c.Image), ""
	case "video":
		return mediaMessage(platform.Video, c.Video), ""
	case "audio":
		msg := mediaMessage(platform.Audio, c.Audio)
		if c.Audio != nil && c.Audio.Voice {
			return msg, "voice"
		}
		return msg, ""
	case "document":
		msg := mediaMessage(platform.Document, c.Document)
		if c.Document == nil {
			return msg, ""
		}
		if msg.Text == "" {
			msg.Text = c.Document.Filename
		}
		return msg, platform.Clip(c.Document.Filename, platform.MaxDetail)
	case "sticker":
		msg := mediaMessage(platform.Sticker, c.Sticker)
		if c.Sticker != nil && c.Sticker.Animated {
			return msg, "animated"
		}
		return msg, ""
	case "location":
		return &platform.Message{Kind: platform.Location, Text: describeLocation(c.Location)}, ""
	case "interactive":
		return interactiveMessage(c)
	case "button":
		msg := &platform.Message{Kind: platform.Button}
		if c.Button == nil {
			return msg, ""
		}
		msg.Text = c.Button.Text
		return msg, "payload " + platform.Clip(c.Button.Payload, 200)
	case "contacts":
		return &platform.Message{Kind: platform.Contacts, Text: describeContacts(c.Contacts)}, ""
	case "order":
		msg := &platform.Message{Kind: platform.Other}
		if c.Order != nil {
			msg.Text = c.Order.Text
		}
		return msg, "order"
	case "system":
		msg := &platform.Message{Kind: platform.Other}
		if c.System == nil {
			return msg, "system"
		}
		msg.Text = c.System.Body
		return msg, platform.JoinDetail("system", platform.Clip(c.System.Type, 60))
	case "unsupported":
		if c.Unsupported != nil && c.Unsupported.Type != "" {
			return &platform.Message{Kind: platform.Other}, "unsupported " + platform.Clip(c.Unsupported.Type, 60)
		}
		return &platform.Message{Kind: platform.Other}, "unsupported"
	case "":
		return &platform.Message{Kind: platform.Other}, "message without type"
	default:
		return &platform.Message{Kind: platform.Other}, "type " + platform.Clip(typ, 60)
	}
}

// mediaMessage maps image, video, audio, document and sticker content.
func mediaMessage(kind string, m *media) *platform.Message {
	msg := &platform.Message{Kind: kind}
	if m != nil {
		// A document's file name is not given again by the download: the
		// reference carries it (platform.JoinMediaRef).
		msg.MediaRef, msg.MediaType, msg.Text = platform.JoinMediaRef(m.ID, m.Filename, ""), m.MimeType, m.Caption
	}
	return msg
}

// interactiveMessage maps replies to interactive messages: buttons and
// list rows become Button messages, the rest Other.
func interactiveMessage(c *content) (*platform.Message, string) {
	in := c.Interactive
	if in == nil {
		return &platform.Message{Kind: platform.Other}, "interactive"
	}
	var r *reply
	switch in.Type {
	case "button_reply":
		r = in.ButtonReply
	case "list_reply":
		r = in.ListReply
	case "nfm_reply":
		msg := &platform.Message{Kind: platform.Other}
		if in.NfmReply != nil {
			msg.Text = in.NfmReply.Body
			return msg, "interactive nfm_reply " + platform.Clip(in.NfmReply.Name, 60)
		}
		return msg, "interactive nfm_reply"
	default:
		return &platform.Message{Kind: platform.Other}, "interactive " + platform.Clip(in.Type, 60)
	}
	if r == nil {
		return &platform.Message{Kind: platform.Button}, in.Type
	}
	return &platform.Message{Kind: platform.Button, Text: r.Title}, in.Type + " id " + platform.Clip(r.ID, 200)
}

// describeLocation writes a shared location as text: name, address and
// coordinates, whichever are present.
func describeLocation(l *location) string {
	if l == nil {
		return ""
	}
	var parts []string
	for _, s := range []string{l.Name, l.Address} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	text := strings.Join(parts, ", ")
	if l.Latitude != "" || l.Longitude != "" {
		coords := fmt.Sprintf("(%s, %s)", l.Latitude, l.Longitude)
		if text == "" {
			return coords
		}
		text += " " + coords
	}
	return text
}

// describeContacts writes shared contact cards as "Name (phone), ...".
func describeContacts(cs []sharedContact) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		s := c.Name.FormattedName
		if len(c.Phones) > 0 && c.Phones[0].Phone != "" {
			if s == "" {
				s = c.Phones[0].Phone
			} else {
				s += " (" + c.Phones[0].Phone + ")"
			}
		}
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// statusEvent maps the status of an outbound message.
func statusEvent(s *status, where string) (platform.Event, error) {
	switch {
	case s.ID == "":
		return platform.Event{}, fmt.Errorf("%w: whatsapp: %s has no id", platform.ErrMalformed, where)
	case s.Status == "":
		return platform.Event{}, fmt.Errorf("%w: whatsapp: %s (%s) has no status", platform.ErrMalformed, where, platform.Clip(s.ID, 80))
	}
	ts, err := unixTime(s.Timestamp)
	if err != nil {
		return platform.Event{}, fmt.Errorf("%w: whatsapp: %s (%s): %w", platform.ErrMalformed, where, platform.Clip(s.ID, 80), err)
	}
	recipient := s.RecipientID
	if recipient == "" {
		recipient = s.RecipientUserID
	}
	ev := platform.Event{
		Kind:      platform.KindReceipt,
		ID:        s.ID + ":status:" + s.Status,
		Contact:   recipient,
		Timestamp: ts,
		Status:    s.Status,
		Detail:    platform.Clip(errorsDetail(s.Errors), platform.MaxDetail),
	}
	if s.Status == "deleted" && recipient != "" {
		// The legacy On-Premises API reported a user deleting their own
		// message as a status on that message.
		ev.Kind, ev.Status = platform.KindMessage, ""
		ev.Message = &platform.Message{Kind: platform.Unsend, ReplyTo: s.ID}
	}
	return ev, nil
}

// unixTime parses a unix-seconds timestamp; empty is the zero time.
func unixTime(s flexString) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not unix seconds", platform.Clip(string(s), 40))
	}
	return time.Unix(n, 0).UTC(), nil
}

// errorsDetail describes webhook errors as "error <code>: <title>: <details>".
func errorsDetail(errs []errorItem) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		s := fmt.Sprintf("error %d", e.Code)
		title := e.Title
		if title == "" {
			title = e.Message
		}
		if title != "" {
			s += ": " + title
		}
		if d := e.ErrorData.Details; d != "" && d != title {
			s += ": " + d
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
