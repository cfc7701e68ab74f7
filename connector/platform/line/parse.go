package line

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
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
		Events []event `json:"events"`
	}
	event struct {
		Type           string     `json:"type"`
		Timestamp      flexString `json:"timestamp"`
		Source         *source    `json:"source"`
		WebhookEventID string     `json:"webhookEventId"`
		Message        *message   `json:"message"`
		Unsend         *struct {
			MessageID flexString `json:"messageId"`
		} `json:"unsend"`
		Follow *struct {
			IsUnblocked bool `json:"isUnblocked"`
		} `json:"follow"`
		Postback *struct {
			Data   string                     `json:"data"`
			Params map[string]json.RawMessage `json:"params"`
		} `json:"postback"`
	}
	source struct {
		Type    string `json:"type"`
		UserID  string `json:"userId"`
		GroupID string `json:"groupId"`
		RoomID  string `json:"roomId"`
	}
	message struct {
		ID              flexString `json:"id"`
		Type            string     `json:"type"`
		Text            string     `json:"text"`
		QuotedMessageID flexString `json:"quotedMessageId"`
		ContentProvider *struct {
			Type               string `json:"type"`
			OriginalContentURL string `json:"originalContentUrl"`
		} `json:"contentProvider"`
		ImageSet *struct {
			ID    string     `json:"id"`
			Index flexString `json:"index"`
			Total flexString `json:"total"`
		} `json:"imageSet"`
		Duration            flexString `json:"duration"`
		FileName            string     `json:"fileName"`
		FileSize            flexString `json:"fileSize"`
		Title               string     `json:"title"`
		Address             string     `json:"address"`
		Latitude            flexString `json:"latitude"`
		Longitude           flexString `json:"longitude"`
		PackageID           flexString `json:"packageId"`
		StickerID           flexString `json:"stickerId"`
		StickerResourceType string     `json:"stickerResourceType"`
	}
)

// flexString is platform.FlexString: a JSON string or number kept as its text.
type flexString = platform.FlexString

// Parse turns a verified webhook body into events in delivery order (see
// the package documentation for the mapping). The request is not used.
// The console's verification delivery, with no events, gives an empty
// list.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: line: body is not a webhook delivery: %w", platform.ErrMalformed, err)
	}
	if w.Events == nil {
		// LINE always sends the list, empty when it verifies the URL.
		return nil, fmt.Errorf("%w: line: body has no events list", platform.ErrMalformed)
	}
	events := make([]platform.Event, 0, len(w.Events))
	for i := range w.Events {
		ev, err := eventOf(&w.Events[i], fmt.Sprintf("events[%d]", i))
		if err != nil {
			return nil, err
		}
		if ev.Kind == platform.KindMessage && ev.Contact == "" {
			// The customer's all the same: kept in quarantine.
			single, err := singleEvent(body, i)
			if err != nil {
				return nil, err
			}
			ev = platform.Unusable(single, platform.ReasonIDMissing+": the contact id is empty (the event names no user, group or room)")
		}
		events = append(events, ev)
	}
	return events, nil
}

// singleEvent returns body, a delivery, with its i-th event alone.
func singleEvent(body []byte, i int) ([]byte, error) {
	var d struct {
		Destination string            `json:"destination,omitempty"`
		Events      []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &d); err != nil || i >= len(d.Events) {
		return nil, fmt.Errorf("%w: line: events[%d] can not be read alone: %v", platform.ErrMalformed, i, err)
	}
	d.Events = d.Events[i : i+1]
	return json.Marshal(d)
}

// eventOf maps one webhook event object.
func eventOf(e *event, where string) (platform.Event, error) {
	switch e.Type {
	case "message", "unsend", "follow", "unfollow", "postback":
	case "":
		return withID(platform.Ignored("event without type"), e), nil
	default:
		return withID(platform.Ignored("event "+platform.Clip(e.Type, 60)), e), nil
	}
	ts, err := millisTime(e.Timestamp)
	if err != nil {
		return platform.Event{}, fmt.Errorf("%w: line: %s (%s): %w", platform.ErrMalformed, where, e.Type, err)
	}
	contact, origin := e.contact()
	if contact == "" && (e.Type == "follow" || e.Type == "unfollow") {
		// Without a user, group or room there is no one to file the event
		// under; refusing it would also refuse the rest of the batch.
		return withID(platform.Ignored(e.Type+" event without a user, group or room id"), e), nil
	}
	// A message without one is the customer's all the same: Parse keeps it
	// in quarantine.
	ev := platform.Event{Contact: contact, Timestamp: ts}
	if e.Source != nil && contact != e.Source.UserID {
		ev.Sender = e.Source.UserID // a member of the group or room
	}
	switch e.Type {
	case "message":
		if e.Message == nil {
			return platform.Event{}, fmt.Errorf("%w: line: %s is a message event without a message", platform.ErrMalformed, where)
		}
		if e.Message.ID == "" {
			return platform.Event{}, fmt.Errorf("%w: line: %s.message has no id", platform.ErrMalformed, where)
		}
		msg, detail := messageContent(e.Message)
		ev.Kind, ev.ID, ev.Message = platform.KindMessage, string(e.Message.ID), msg
		ev.Detail = platform.JoinDetail(origin, detail)
	case "unsend":
		if e.Unsend == nil || e.Unsend.MessageID == "" {
			return platform.Event{}, fmt.Errorf("%w: line: %s is an unsend event without unsend.messageId", platform.ErrMalformed, where)
		}
		target := string(e.Unsend.MessageID)
		ev.Kind, ev.ID = platform.KindMessage, "unsend:"+target
		ev.Message = &platform.Message{Kind: platform.Unsend, ReplyTo: target}
		ev.Detail = origin
	case "follow":
		ev.Kind, ev.Status = platform.KindContact, "follow"
		if e.Follow != nil && e.Follow.IsUnblocked {
			ev.Status, ev.Detail = "unblocked", "follow after unblocking"
		}
		ev.ID = e.eventID(contact)
	case "unfollow":
		// LINE sends unfollow when the user blocks the account: the channel
		// can no longer message them.
		ev.Kind, ev.Status, ev.Detail = platform.KindContact, "blocked", "unfollow"
		ev.ID = e.eventID(contact)
	case "postback":
		if e.Postback == nil {
			return platform.Event{}, fmt.Errorf("%w: line: %s is a postback event without postback", platform.ErrMalformed, where)
		}
		text, detail := postbackContent(e.Postback.Data, e.Postback.Params)
		ev.Kind, ev.ID = platform.KindMessage, e.eventID(contact)
		ev.Message = &platform.Message{Kind: platform.Postback, Text: text}
		ev.Detail = platform.JoinDetail(origin, detail)
	}
	ev.Detail = platform.Clip(ev.Detail, platform.MaxDetail)
	return ev, nil
}

// contact returns whom the event is filed under: the user in a one-to-one
// chat, the group or room in a group chat (replies go there), and a
// description of the origin for Detail.
func (e *event) contact() (id, origin string) {
	s := e.Source
	if s == nil {
		return "", ""
	}
	switch {
	case s.GroupID != "":
		return s.GroupID, platform.JoinDetail("group chat", senderDetail(s.UserID))
	case s.RoomID != "":
		return s.RoomID, platform.JoinDetail("multi-person chat", senderDetail(s.UserID))
	}
	return s.UserID, ""
}

func senderDetail(userID string) string {
	if userID == "" {
		return ""
	}
	return "sender " + platform.Clip(userID, 60)
}

// eventID is the deduplication key of an event that carries no message id:
// its webhookEventId, which LINE keeps across redeliveries; an event
// without one (older webhook versions) falls back on its type, contact and
// timestamp, which are as stable.
func (e *event) eventID(contact string) string {
	if e.WebhookEventID != "" {
		return e.WebhookEventID
	}
	return e.Type + ":" + contact + ":" + string(e.Timestamp)
}

// withID sets an ignored event's ID to its webhookEventId, for logs.
func withID(ev platform.Event, e *event) platform.Event {
	ev.ID = e.WebhookEventID
	return ev
}

// messageContent maps a message object by its type; the string is the
// detail.
func messageContent(m *message) (*platform.Message, string) {
	msg := &platform.Message{ReplyTo: string(m.QuotedMessageID)}
	var detail string
	switch m.Type {
	case "text":
		msg.Kind, msg.Text = platform.Text, m.Text
	case "image":
		msg.Kind = platform.Image
		msg.MediaRef, detail = m.mediaRef()
		if s := m.ImageSet; s != nil && s.ID != "" {
			set := "image set " + platform.Clip(s.ID, 80)
			if s.Index != "" && s.Total != "" {
				set = fmt.Sprintf("image %s of %s in set %s", s.Index, s.Total, platform.Clip(s.ID, 80))
			}
			detail = platform.JoinDetail(detail, set)
		}
	case "video", "audio":
		msg.Kind = platform.Video
		if m.Type == "audio" {
			msg.Kind = platform.Audio
		}
		msg.MediaRef, detail = m.mediaRef()
		if m.Duration != "" {
			detail = platform.JoinDetail(detail, "duration "+string(m.Duration)+" ms")
		}
	case "file":
		msg.Kind, msg.Text, msg.MediaRef = platform.Document, m.FileName, platform.JoinMediaRef(string(m.ID), m.FileName, "")
		detail = platform.Clip(m.FileName, 200)
		if m.FileSize != "" {
			detail = platform.JoinDetail(detail, string(m.FileSize)+" bytes")
		}
	case "location":
		msg.Kind, msg.Text = platform.Location, describeLocation(m)
	case "sticker":
		msg.Kind, msg.Text = platform.Sticker, m.Text
		msg.MediaRef = string(m.PackageID) + "/" + string(m.StickerID)
		detail = fmt.Sprintf("sticker package %s id %s", platform.Clip(string(m.PackageID), 40), platform.Clip(string(m.StickerID), 40))
		if m.StickerResourceType != "" {
			detail += " " + platform.Clip(m.StickerResourceType, 40)
		}
	case "":
		msg.Kind, detail = platform.Other, "message without type"
	default:
		msg.Kind, detail = platform.Other, "type "+platform.Clip(m.Type, 60)
	}
	return msg, detail
}

// mediaRef is the reference of an image, video or audio: the URL of
// externally hosted content, or the message id, which fetches LINE-hosted
// content from the Get content endpoint.
func (m *message) mediaRef() (ref, detail string) {
	if p := m.ContentProvider; p != nil && p.Type == "external" && p.OriginalContentURL != "" {
		return p.OriginalContentURL, "external content"
	}
	return string(m.ID), ""
}

// describeLocation writes a shared location as text: title, address and
// coordinates, whichever are present.
func describeLocation(m *message) string {
	var parts []string
	for _, s := range []string{m.Title, m.Address} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	text := strings.Join(parts, ", ")
	if m.Latitude != "" || m.Longitude != "" {
		coords := fmt.Sprintf("(%s, %s)", m.Latitude, m.Longitude)
		if text == "" {
			return coords
		}
		text += " " + coords
	}
	return text
}

// postbackContent maps a postback: its text is what the user chose (the
// date or time of a date-time picker, the rich menu switched to) or else
// the postback data; the detail carries the data and every parameter.
func postbackContent(data string, params map[string]json.RawMessage) (text, detail string) {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	values := make(map[string]string, len(params))
	parts := []string{"data " + platform.Clip(data, 200)}
	for _, k := range names {
		v := paramText(params[k])
		values[k] = v
		parts = append(parts, platform.Clip(k, 40)+"="+platform.Clip(v, 80))
	}
	for _, k := range []string{"datetime", "date", "time", "newRichMenuAliasId"} {
		if v := values[k]; v != "" {
			return v, strings.Join(parts, "; ")
		}
	}
	return data, strings.Join(parts, "; ")
}

// paramText is a postback parameter's text: a string unquoted, anything
// else as its JSON.
func paramText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// millisTime parses a unix-milliseconds timestamp; empty is the zero time.
func millisTime(s flexString) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q is not unix milliseconds", platform.Clip(string(s), 40))
	}
	return time.UnixMilli(n).UTC(), nil
}
