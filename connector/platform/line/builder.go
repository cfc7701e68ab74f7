package line

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// The builders below write webhook deliveries in the shape the LINE
// Platform sends, for tests, integration tests and the demo traffic
// generator. Sign the result with Sign to post it to the connector.

// Event is one webhook event, for Delivery.
type Event struct {
	// Type is message (the default), follow, unfollow, unsend or postback.
	Type string
	// UserID is the user's id ("U" and 32 hex digits). GroupID, when set,
	// makes the event come from that group chat (the user then being the
	// sender).
	UserID  string
	GroupID string
	// Time is the event's timestamp (sent as unix milliseconds).
	Time time.Time
	// WebhookEventID is the event's id (a ULID); derived from the other
	// fields when empty.
	WebhookEventID string
	// Redelivery marks a redelivered event (deliveryContext.isRedelivery).
	Redelivery bool

	// MessageID is the message's id, for type message; for type unsend,
	// the id of the message unsent.
	MessageID string
	// MessageType is text (the default), image, video, audio, file,
	// location or sticker.
	MessageType string
	// Text is a text message's text or a message sticker's text; for a
	// postback, the postback data.
	Text string
	// QuotedMessageID is the message a text or sticker quotes.
	QuotedMessageID string
	// ContentURL makes an image, video or audio externally hosted
	// (contentProvider.type "external").
	ContentURL string
	// FileName and FileSize describe a file.
	FileName string
	FileSize int64
	// Title, Address, Latitude and Longitude describe a location.
	Title, Address      string
	Latitude, Longitude float64
	// PackageID and StickerID name a sticker.
	PackageID, StickerID string
	// Unblocked marks a follow event as the user unblocking the account.
	Unblocked bool
	// Params are a postback's parameters (such as "datetime").
	Params map[string]string
}

// Delivery returns a webhook delivery to the bot destination (its user id)
// carrying events, in order.
func Delivery(destination string, events ...Event) []byte {
	w := outWebhook{Destination: destination, Events: make([]outEvent, 0, len(events))}
	for _, e := range events {
		w.Events = append(w.Events, outEventOf(e))
	}
	b, err := json.Marshal(w)
	if err != nil {
		// Only strings, numbers, booleans and string maps are marshalled:
		// this can not fail.
		panic("line: marshalling a built delivery: " + err.Error())
	}
	return b
}

// VerifyDelivery returns the delivery the LINE console posts when it
// verifies the webhook URL: no events.
func VerifyDelivery(destination string) []byte { return Delivery(destination) }

// TextDelivery returns a delivery of one text message from a user.
func TextDelivery(destination, userID, messageID, text string, ts time.Time) []byte {
	return Delivery(destination, Event{UserID: userID, MessageID: messageID, Text: text, Time: ts})
}

// ImageDelivery returns a delivery of one image sent by a user, hosted by
// LINE (fetched with its message id).
func ImageDelivery(destination, userID, messageID string, ts time.Time) []byte {
	return Delivery(destination, Event{UserID: userID, MessageID: messageID, MessageType: "image", Time: ts})
}

// FollowDelivery returns a delivery of a follow event: the user added the
// account as a friend, or unblocked it.
func FollowDelivery(destination, userID string, unblocked bool, ts time.Time) []byte {
	return Delivery(destination, Event{Type: "follow", UserID: userID, Unblocked: unblocked, Time: ts})
}

// UnfollowDelivery returns a delivery of an unfollow event: the user
// blocked the account.
func UnfollowDelivery(destination, userID string, ts time.Time) []byte {
	return Delivery(destination, Event{Type: "unfollow", UserID: userID, Time: ts})
}

// UnsendDelivery returns a delivery of an unsend event for the message
// messageID.
func UnsendDelivery(destination, userID, messageID string, ts time.Time) []byte {
	return Delivery(destination, Event{Type: "unsend", UserID: userID, MessageID: messageID, Time: ts})
}

// PostbackDelivery returns a delivery of a postback with its data.
func PostbackDelivery(destination, userID, data string, ts time.Time) []byte {
	return Delivery(destination, Event{Type: "postback", UserID: userID, Text: data, Time: ts})
}

func outEventOf(e Event) outEvent {
	typ := e.Type
	if typ == "" {
		typ = "message"
	}
	src := &outSource{Type: "user", UserID: e.UserID}
	if e.GroupID != "" {
		src = &outSource{Type: "group", GroupID: e.GroupID, UserID: e.UserID}
	}
	id := e.WebhookEventID
	if id == "" {
		id = webhookEventID(e.Time, typ+"|"+e.UserID+"|"+e.GroupID+"|"+e.MessageID+"|"+e.Text)
	}
	o := outEvent{Type: typ, Mode: "active", Timestamp: e.Time.UnixMilli(), Source: src, WebhookEventID: id}
	o.DeliveryContext.IsRedelivery = e.Redelivery
	switch typ {
	case "message":
		o.ReplyToken = replyToken(id)
		o.Message = outMessageOf(e)
	case "follow":
		o.ReplyToken = replyToken(id)
		o.Follow = &outFollow{IsUnblocked: e.Unblocked}
	case "unsend":
		o.Unsend = &outUnsend{MessageID: e.MessageID}
	case "postback":
		o.ReplyToken = replyToken(id)
		o.Postback = &outPostback{Data: e.Text, Params: e.Params}
	}
	return o
}

func outMessageOf(e Event) *outMessage {
	typ := e.MessageType
	if typ == "" {
		typ = "text"
	}
	m := &outMessage{ID: e.MessageID, Type: typ}
	quotable := typ == "text" || typ == "image" || typ == "video" || typ == "sticker"
	if quotable {
		m.QuoteToken = replyToken("quote|" + e.MessageID)
	}
	switch typ {
	case "text":
		m.Text = e.Text
		m.QuotedMessageID = e.QuotedMessageID
	case "image", "video", "audio":
		m.ContentProvider = &outContentProvider{Type: "line"}
		if e.ContentURL != "" {
			m.ContentProvider = &outContentProvider{Type: "external", OriginalContentURL: e.ContentURL}
		}
		if typ != "image" {
			d := int64(60000)
			m.Duration = &d
		}
	case "file":
		m.FileName, m.FileSize = e.FileName, &e.FileSize
	case "location":
		m.Title, m.Address = e.Title, e.Address
		m.Latitude, m.Longitude = json.Number(strconv.FormatFloat(e.Latitude, 'f', -1, 64)), json.Number(strconv.FormatFloat(e.Longitude, 'f', -1, 64))
	case "sticker":
		m.PackageID, m.StickerID, m.StickerResourceType = e.PackageID, e.StickerID, "STATIC"
		m.Text = e.Text
		m.QuotedMessageID = e.QuotedMessageID
	}
	return m
}

// webhookEventID derives a ULID-shaped id (26 Crockford base32 digits: the
// time in milliseconds, then 80 bits of a hash of seed).
func webhookEventID(t time.Time, seed string) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [26]byte
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = digits[ms&31]
		ms >>= 5
	}
	sum := sha256.Sum256([]byte(seed))
	var acc uint64
	bits := 0
	n := 10
	for _, c := range sum {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 && n < 26 {
			b[n] = digits[(acc>>(bits-5))&31]
			bits -= 5
			n++
		}
		if n == 26 {
			break
		}
	}
	return string(b[:])
}

// replyToken derives a reply or quote token (32 hex digits), which the
// adapter does not read.
func replyToken(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:16])
}

// The output shapes, in the field order LINE uses.
type (
	outWebhook struct {
		Destination string     `json:"destination"`
		Events      []outEvent `json:"events"`
	}
	outEvent struct {
		ReplyToken      string     `json:"replyToken,omitempty"`
		Type            string     `json:"type"`
		Mode            string     `json:"mode"`
		Timestamp       int64      `json:"timestamp"`
		Source          *outSource `json:"source"`
		WebhookEventID  string     `json:"webhookEventId"`
		DeliveryContext struct {
			IsRedelivery bool `json:"isRedelivery"`
		} `json:"deliveryContext"`
		Message  *outMessage  `json:"message,omitempty"`
		Follow   *outFollow   `json:"follow,omitempty"`
		Unsend   *outUnsend   `json:"unsend,omitempty"`
		Postback *outPostback `json:"postback,omitempty"`
	}
	outSource struct {
		Type    string `json:"type"`
		GroupID string `json:"groupId,omitempty"`
		UserID  string `json:"userId,omitempty"`
	}
	outMessage struct {
		ID                  string              `json:"id"`
		Type                string              `json:"type"`
		QuoteToken          string              `json:"quoteToken,omitempty"`
		Text                string              `json:"text,omitempty"`
		QuotedMessageID     string              `json:"quotedMessageId,omitempty"`
		Duration            *int64              `json:"duration,omitempty"`
		ContentProvider     *outContentProvider `json:"contentProvider,omitempty"`
		FileName            string              `json:"fileName,omitempty"`
		FileSize            *int64              `json:"fileSize,omitempty"`
		Title               string              `json:"title,omitempty"`
		Address             string              `json:"address,omitempty"`
		Latitude            json.Number         `json:"latitude,omitempty"`
		Longitude           json.Number         `json:"longitude,omitempty"`
		PackageID           string              `json:"packageId,omitempty"`
		StickerID           string              `json:"stickerId,omitempty"`
		StickerResourceType string              `json:"stickerResourceType,omitempty"`
	}
	outContentProvider struct {
		Type               string `json:"type"`
		OriginalContentURL string `json:"originalContentUrl,omitempty"`
	}
	outFollow struct {
		IsUnblocked bool `json:"isUnblocked"`
	}
	outUnsend struct {
		MessageID string `json:"messageId"`
	}
	outPostback struct {
		Data   string            `json:"data"`
		Params map[string]string `json:"params,omitempty"`
	}
)
