package instagram

import (
	"time"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// The builders below write webhook deliveries in the shape Instagram
// Messaging sends, for tests, integration tests and the demo traffic
// generator. accountID is the Instagram professional account's id (the
// entry id). Sign the result with Sign to post it to the connector.

// builderAppID stands for the app that sent an echoed message.
const builderAppID = meta.BuilderAppID

// Inbound is one message from an Instagram user, for Delivery: From is the
// IGSID, ID the mid; Type is text (the default), quick_reply, image, video,
// audio, file, share, story_mention, ig_reel or ig_post. See
// meta.Inbound.
type Inbound = meta.Inbound

// builder writes Instagram's deliveries.
var builder = meta.Builder{Object: Object}

// TextDelivery returns a delivery of one text message.
func TextDelivery(accountID, igsid, mid, text string, ts time.Time) []byte {
	return builder.Text(accountID, igsid, mid, text, ts)
}

// UnsendDelivery returns a delivery telling that igsid unsent the message
// mid.
func UnsendDelivery(accountID, igsid, mid string, ts time.Time) []byte {
	return builder.Event(accountID, igsid, ts, func(m *meta.Messaging) { m.Message = &meta.Message{MID: mid, IsDeleted: true} })
}

// Delivery returns a webhook delivery for accountID carrying msgs, in
// order, in one entry.
func Delivery(accountID string, msgs ...Inbound) []byte { return builder.Delivery(accountID, msgs...) }

// EditDelivery returns a delivery of igsid's edit number numEdit of the
// message mid, which now reads text.
func EditDelivery(accountID, igsid, mid, text string, numEdit int, ts time.Time) []byte {
	return builder.Edit(accountID, igsid, mid, text, numEdit, ts)
}

// ReactionDelivery returns a delivery of igsid's reaction with emoji to the
// message targetMID; an empty emoji removes the reaction.
func ReactionDelivery(accountID, igsid, targetMID, emoji string, ts time.Time) []byte {
	return builder.Reaction(accountID, igsid, targetMID, emoji, ts)
}

// ImageDelivery returns a delivery of one image attachment at url.
func ImageDelivery(accountID, igsid, mid, url string, ts time.Time) []byte {
	return builder.Image(accountID, igsid, mid, url, ts)
}

// SeenDelivery returns a messaging_seen notice: igsid read the account's
// message mid.
func SeenDelivery(accountID, igsid, mid string, ts time.Time) []byte {
	return builder.Event(accountID, igsid, ts, func(m *meta.Messaging) { m.Read = &meta.Read{MID: mid} })
}

// EchoDelivery returns the echo of a text the account sent to igsid.
func EchoDelivery(accountID, igsid, mid, text string, ts time.Time) []byte {
	return builder.Echo(accountID, igsid, mid, text, ts)
}

// PostbackDelivery returns a delivery of igsid's tap on an icebreaker or a
// template button with this title and payload.
func PostbackDelivery(accountID, igsid, mid, title, payload string, ts time.Time) []byte {
	return builder.Postback(accountID, igsid, mid, title, payload, ts)
}
