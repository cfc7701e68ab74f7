package viber

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
)

// The callback, as far as the adapter reads it. Fields the adapter does not
// use are left out, so that a change in them can not make a callback
// unreadable.
type (
	callback struct {
		Event        string        `json:"event"`
		Timestamp    json.Number   `json:"timestamp"`
		MessageToken token         `json:"message_token"`
		UserID       string        `json:"user_id"`
		Sender       *viberUser    `json:"sender"`
		User         *viberUser    `json:"user"`
		Message      *viberMessage `json:"message"`
		Desc         string        `json:"desc"`
		Type         string        `json:"type"`
		Context      string        `json:"context"`
		Subscribed   *bool         `json:"subscribed"`
	}
	viberUser struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	viberMessage struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		Media    string `json:"media"`
		FileName string `json:"file_name"`
		Location *struct {
			Lat json.Number `json:"lat"`
			Lon json.Number `json:"lon"`
		} `json:"location"`
		Contact *struct {
			Name        string `json:"name"`
			PhoneNumber string `json:"phone_number"`
		} `json:"contact"`
		StickerID json.Number `json:"sticker_id"`
	}
)

// token is a message_token: a 64-bit integer that can exceed 2^53, kept
// exact as its decimal text. It decodes from a JSON integer or a string of
// digits; null is the empty token.
type token string

// UnmarshalJSON implements json.Unmarshaler.
func (t *token) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	switch {
	case s == "null":
		*t = ""
		return nil
	case strings.HasPrefix(s, `"`):
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if !isInteger(s) {
		return fmt.Errorf("message_token %s is not an integer", platform.Clip(s, 40))
	}
	*t = token(s)
	return nil
}

// isInteger reports whether s is a decimal integer of at most 20 digits,
// optionally negative.
func isInteger(s string) bool {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 20 {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// receiptStatus maps the receipt events onto platform statuses.
var receiptStatus = map[string]string{"delivered": "delivered", "seen": "read", "failed": "failed"}

// Parse turns a verified callback into events (see the package
// documentation for the mapping). Viber posts one event per callback. The
// request is not used.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	var c callback
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: viber: body is not a callback: %w", platform.ErrMalformed, err)
	}
	if c.Event == "" {
		return nil, fmt.Errorf("%w: viber: callback has no event", platform.ErrMalformed)
	}
	where := platform.Clip(c.Event, 40) + " callback"
	ts, err := milliTime(c.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("%w: viber: %s: %w", platform.ErrMalformed, where, err)
	}
	var ev platform.Event
	switch c.Event {
	case "message":
		ev, err = messageEvent(&c, where)
	case "delivered", "seen", "failed":
		ev, err = receiptEvent(&c, where)
	case "subscribed", "conversation_started":
		ev, err = followEvent(&c, where)
	case "unsubscribed":
		ev, err = unsubscribedEvent(&c, where)
	case "webhook":
		ev = platform.Ignored("webhook: set_webhook check")
	default:
		ev = platform.Ignored("event " + c.Event)
	}
	if err != nil {
		return nil, err
	}
	ev.Timestamp = ts
	return []platform.Event{ev}, nil
}

// messageEvent maps a message from a user.
func messageEvent(c *callback, where string) (platform.Event, error) {
	if c.MessageToken == "" {
		return platform.Event{}, fmt.Errorf("%w: viber: %s has no message_token", platform.ErrMalformed, where)
	}
	if c.Sender == nil || c.Sender.ID == "" {
		return platform.Event{}, fmt.Errorf("%w: viber: %s (%s) has no sender.id", platform.ErrMalformed, where, c.MessageToken)
	}
	msg, detail := contentOf(c.Message)
	return platform.Event{
		Kind:        platform.KindMessage,
		ID:          string(c.MessageToken),
		Contact:     c.Sender.ID,
		ContactName: c.Sender.Name,
		Message:     msg,
		Detail:      platform.Clip(detail, platform.MaxDetail),
	}, nil
}

// contentOf maps a message's content by its type; the string is the
// detail.
func contentOf(m *viberMessage) (*platform.Message, string) {
	if m == nil {
		return &platform.Message{Kind: platform.Other}, "message without content"
	}
	switch m.Type {
	case "text":
		return &platform.Message{Kind: platform.Text, Text: m.Text}, ""
	case "picture":
		return &platform.Message{Kind: platform.Image, Text: m.Text, MediaRef: m.Media}, ""
	case "video":
		return &platform.Message{Kind: platform.Video, Text: m.Text, MediaRef: m.Media}, ""
	case "file":
		text := m.Text
		if text == "" {
			text = m.FileName
		}
		return &platform.Message{Kind: platform.Document, Text: text, MediaRef: platform.JoinMediaRef(m.Media, m.FileName, "")}, m.FileName
	case "sticker":
		detail := ""
		if m.StickerID != "" {
			detail = "sticker_id " + m.StickerID.String()
		}
		return &platform.Message{Kind: platform.Sticker, MediaRef: m.Media}, detail
	case "contact":
		text := ""
		if m.Contact != nil {
			text = m.Contact.Name
			switch {
			case text == "":
				text = m.Contact.PhoneNumber
			case m.Contact.PhoneNumber != "":
				text += " (" + m.Contact.PhoneNumber + ")"
			}
		}
		return &platform.Message{Kind: platform.Contacts, Text: text}, ""
	case "url":
		text := m.Media
		if text == "" {
			text = m.Text
		}
		return &platform.Message{Kind: platform.Text, Text: text}, "url"
	case "location":
		text := strings.TrimSpace(m.Text)
		if l := m.Location; l != nil && (l.Lat != "" || l.Lon != "") {
			coords := fmt.Sprintf("(%s, %s)", l.Lat, l.Lon)
			if text == "" {
				text = coords
			} else {
				text += " " + coords
			}
		}
		return &platform.Message{Kind: platform.Location, Text: text}, ""
	case "":
		return &platform.Message{Kind: platform.Other, Text: m.Text}, "message without type"
	}
	return &platform.Message{Kind: platform.Other, Text: m.Text, MediaRef: m.Media}, "type " + platform.Clip(m.Type, 60)
}

// receiptEvent maps delivered, seen and failed: receipts of the bot's own
// messages, identified by the message_token send_message returned.
func receiptEvent(c *callback, where string) (platform.Event, error) {
	if c.MessageToken == "" {
		return platform.Event{}, fmt.Errorf("%w: viber: %s has no message_token", platform.ErrMalformed, where)
	}
	status := receiptStatus[c.Event]
	ev := platform.Event{
		Kind:    platform.KindReceipt,
		ID:      string(c.MessageToken) + ":status:" + status,
		Contact: c.UserID,
		Status:  status,
	}
	if c.Event == "failed" {
		ev.Detail = platform.Clip(c.Desc, platform.MaxDetail)
	}
	return ev, nil
}

// followEvent maps subscribed and conversation_started (a user opening the
// bot's chat, which is not a message): the user can be written to.
func followEvent(c *callback, where string) (platform.Event, error) {
	if c.User == nil || c.User.ID == "" {
		return platform.Event{}, fmt.Errorf("%w: viber: %s has no user.id", platform.ErrMalformed, where)
	}
	detail := c.Event
	if c.Event == "conversation_started" {
		if c.Type != "" {
			detail += "; type " + c.Type
		}
		if c.Context != "" {
			detail += "; context " + c.Context
		}
		if c.Subscribed != nil {
			detail += "; subscribed " + strconv.FormatBool(*c.Subscribed)
		}
	}
	return platform.Event{
		Kind:        platform.KindContact,
		ID:          contactEventID(c, c.User.ID),
		Contact:     c.User.ID,
		ContactName: c.User.Name,
		Status:      "follow",
		Detail:      platform.Clip(detail, platform.MaxDetail),
	}, nil
}

// unsubscribedEvent maps unsubscribed: the user left the bot, which can no
// longer write to them.
func unsubscribedEvent(c *callback, where string) (platform.Event, error) {
	if c.UserID == "" {
		return platform.Event{}, fmt.Errorf("%w: viber: %s has no user_id", platform.ErrMalformed, where)
	}
	return platform.Event{
		Kind:    platform.KindContact,
		ID:      contactEventID(c, c.UserID),
		Contact: c.UserID,
		Status:  "blocked",
		Detail:  "unsubscribed",
	}, nil
}

// contactEventID is "<event>:<message_token>", or "<event>:<user
// id>:<timestamp>" for a callback without token.
func contactEventID(c *callback, user string) string {
	if c.MessageToken != "" {
		return c.Event + ":" + string(c.MessageToken)
	}
	return c.Event + ":" + user + ":" + c.Timestamp.String()
}

// milliTime parses Viber's epoch milliseconds; absent is the zero time.
func milliTime(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %s is not epoch milliseconds", platform.Clip(n.String(), 40))
	}
	return time.UnixMilli(ms).UTC(), nil
}
