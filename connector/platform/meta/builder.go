package meta

import (
	"strconv"
	"time"
)

// The helpers below build messaging events in the shape Meta sends, for the
// adapters' exported builders (tests, integration tests and the demo
// traffic generator). Wrap the events with BuildDelivery and sign the result
// with Sign.

// Inbound is one message from a user.
type Inbound struct {
	// From is the user's scoped id (PSID or IGSID).
	From string
	// ID is the message id (mid).
	ID string
	// Time is the message's timestamp (sent in milliseconds).
	Time time.Time
	// Type is text (the default), quick_reply, image, video, audio, file,
	// sticker, location or any attachment type (share, story_mention,
	// ig_reel, fallback, ...).
	Type string
	// Text is the text, the quick reply's title or the location's title.
	Text string
	// URL is the attachment's URL.
	URL string
	// StickerID is the sticker's id, for Type sticker.
	StickerID string
	// Payload is the quick reply's payload.
	Payload string
	// Latitude and Longitude place a location, in decimal degrees.
	Latitude, Longitude string
	// ReplyTo is the mid of the message this one quotes.
	ReplyTo string
}

// Messaging returns the messaging event of in, sent to accountID.
func (in Inbound) Messaging(accountID string) Messaging {
	msg := &Message{MID: in.ID}
	switch in.Type {
	case "", "text":
		msg.Text = in.Text
	case "quick_reply":
		msg.Text = in.Text
		msg.QuickReply = &QuickReply{Payload: in.Payload}
	case "sticker":
		msg.Attachments = []Attachment{{Type: "image", Payload: &AttachmentPayload{URL: in.URL, StickerID: Flex(in.StickerID)}}}
	case "location":
		msg.Attachments = []Attachment{{Type: "location", Payload: &AttachmentPayload{
			Title:       in.Text,
			Coordinates: &Coordinates{Lat: Flex(in.Latitude), Long: Flex(in.Longitude)},
		}}}
	default:
		msg.Attachments = []Attachment{{Type: in.Type, Payload: &AttachmentPayload{URL: in.URL}}}
	}
	if in.ReplyTo != "" {
		msg.ReplyTo = &ReplyTo{MID: in.ReplyTo}
	}
	return Messaging{
		Sender:    Party{ID: Flex(in.From)},
		Recipient: Party{ID: Flex(accountID)},
		Timestamp: MillisOf(in.Time),
		Message:   msg,
	}
}

// emojiNames gives the reaction name Meta sends with an emoji.
var emojiNames = map[string]string{
	"👍": "like", "👎": "dislike", "❤️": "love", "❤": "love",
	"😆": "smile", "😮": "wow", "😢": "sad", "😠": "angry",
}

// ReactionEvent returns user's reaction with emoji to the message
// targetMID; an empty emoji removes the user's reaction.
func ReactionEvent(accountID, user, targetMID, emoji string, ts time.Time) Messaging {
	r := &Reaction{MID: targetMID, Action: "unreact"}
	if emoji != "" {
		r.Action, r.Emoji, r.Reaction = "react", emoji, emojiNames[emoji]
		if r.Reaction == "" {
			r.Reaction = "other"
		}
	}
	return Messaging{Sender: Party{ID: Flex(user)}, Recipient: Party{ID: Flex(accountID)}, Timestamp: MillisOf(ts), Reaction: r}
}

// EditEvent returns user's edit number numEdit of the message mid, now
// reading text.
func EditEvent(accountID, user, mid, text string, numEdit int, ts time.Time) Messaging {
	return Messaging{
		Sender: Party{ID: Flex(user)}, Recipient: Party{ID: Flex(accountID)}, Timestamp: MillisOf(ts),
		MessageEdit: &MessageEdit{MID: mid, Text: text, NumEdit: Flex(strconv.Itoa(numEdit))},
	}
}

// PostbackEvent returns user's tap on a postback button.
func PostbackEvent(accountID, user, mid, title, payload string, ts time.Time) Messaging {
	return Messaging{
		Sender: Party{ID: Flex(user)}, Recipient: Party{ID: Flex(accountID)}, Timestamp: MillisOf(ts),
		Postback: &Postback{MID: mid, Title: title, Payload: payload},
	}
}

// EchoEvent returns the echo of a text the business sent to user from the
// app appID.
func EchoEvent(accountID, user, mid, text, appID string, ts time.Time) Messaging {
	return Messaging{
		Sender: Party{ID: Flex(accountID)}, Recipient: Party{ID: Flex(user)}, Timestamp: MillisOf(ts),
		Message: &Message{MID: mid, Text: text, IsEcho: true, AppID: Flex(appID)},
	}
}

// BuildDelivery returns a delivery of object ("page" or "instagram") with one
// entry for accountID, sent at ts, carrying events in order.
func BuildDelivery(object, accountID string, ts time.Time, events ...Messaging) []byte {
	return Webhook{Object: object, Entry: []Entry{{ID: Flex(accountID), Time: MillisOf(ts), Messaging: events}}}.JSON()
}

// Latest returns the latest timestamp of events, for an entry's time.
func Latest(events ...Messaging) time.Time {
	var latest Millis
	for _, e := range events {
		latest = max(latest, e.Timestamp)
	}
	return latest.Time()
}

// BuilderAppID stands for the app that sent an echoed message, in built
// deliveries.
const BuilderAppID = "1517776481860111"

// Builder writes the webhook deliveries of one messaging product (Object
// "page" or "instagram"), each with one entry for the account accountID,
// for the product packages' exported builders.
type Builder struct {
	Object string
}

// Delivery returns a delivery carrying msgs, in order, in one entry.
func (b Builder) Delivery(accountID string, msgs ...Inbound) []byte {
	events := make([]Messaging, len(msgs))
	for i, m := range msgs {
		events[i] = m.Messaging(accountID)
	}
	return BuildDelivery(b.Object, accountID, Latest(events...), events...)
}

// Text returns a delivery of one text message from user.
func (b Builder) Text(accountID, user, mid, text string, ts time.Time) []byte {
	return b.Delivery(accountID, Inbound{From: user, ID: mid, Time: ts, Text: text})
}

// Image returns a delivery of one image from user.
func (b Builder) Image(accountID, user, mid, url string, ts time.Time) []byte {
	return b.Delivery(accountID, Inbound{From: user, ID: mid, Time: ts, Type: "image", URL: url})
}

// Reaction returns a delivery of user's reaction with emoji to the
// message targetMID; an empty emoji removes the user's reaction.
func (b Builder) Reaction(accountID, user, targetMID, emoji string, ts time.Time) []byte {
	return BuildDelivery(b.Object, accountID, ts, ReactionEvent(accountID, user, targetMID, emoji, ts))
}

// Edit returns a delivery of user's edit number numEdit of the message
// mid, now reading text.
func (b Builder) Edit(accountID, user, mid, text string, numEdit int, ts time.Time) []byte {
	return BuildDelivery(b.Object, accountID, ts, EditEvent(accountID, user, mid, text, numEdit, ts))
}

// Postback returns a delivery of user's tap on a postback button with this
// title and payload.
func (b Builder) Postback(accountID, user, mid, title, payload string, ts time.Time) []byte {
	return BuildDelivery(b.Object, accountID, ts, PostbackEvent(accountID, user, mid, title, payload, ts))
}

// Echo returns the echo of a text the account sent to user from the app
// BuilderAppID.
func (b Builder) Echo(accountID, user, mid, text string, ts time.Time) []byte {
	return BuildDelivery(b.Object, accountID, ts, EchoEvent(accountID, user, mid, text, BuilderAppID, ts))
}

// Event returns a delivery of one messaging event of user, at ts, built
// by fill on an event from user to accountID.
func (b Builder) Event(accountID, user string, ts time.Time, fill func(*Messaging)) []byte {
	m := Messaging{Sender: Party{ID: Flex(user)}, Recipient: Party{ID: Flex(accountID)}, Timestamp: MillisOf(ts)}
	fill(&m)
	return BuildDelivery(b.Object, accountID, ts, m)
}
