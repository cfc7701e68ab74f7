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
const builderAppID = "1517776481860111"

// Inbound is one message from an Instagram user, for Delivery: From is the
// IGSID, ID the mid; Type is text (the default), quick_reply, image, video,
// audio, file, share, story_mention, ig_reel or ig_post. See
// meta.Inbound.
type Inbound = meta.Inbound

// Delivery returns a webhook delivery for accountID carrying msgs, in
// order, in one entry.
func Delivery(accountID string, msgs ...Inbound) []byte {
	events := make([]meta.Messaging, len(msgs))
	for i, m := range msgs {
		events[i] = m.Messaging(accountID)
	}
	return meta.BuildDelivery(Object, accountID, meta.Latest(events...), events...)
}

// TextDelivery returns a delivery of one text message.
func TextDelivery(accountID, igsid, mid, text string, ts time.Time) []byte {
	return Delivery(accountID, Inbound{From: igsid, ID: mid, Time: ts, Text: text})
}

// ImageDelivery returns a delivery of one image attachment at url.
func ImageDelivery(accountID, igsid, mid, url string, ts time.Time) []byte {
	return Delivery(accountID, Inbound{From: igsid, ID: mid, Time: ts, Type: "image", URL: url})
}

// ReactionDelivery returns a delivery of igsid's reaction with emoji to the
// message targetMID; an empty emoji removes the reaction.
func ReactionDelivery(accountID, igsid, targetMID, emoji string, ts time.Time) []byte {
	return meta.BuildDelivery(Object, accountID, ts, meta.ReactionEvent(accountID, igsid, targetMID, emoji, ts))
}

// EditDelivery returns a delivery of igsid's edit number numEdit of the
// message mid, which now reads text.
func EditDelivery(accountID, igsid, mid, text string, numEdit int, ts time.Time) []byte {
	return meta.BuildDelivery(Object, accountID, ts, meta.EditEvent(accountID, igsid, mid, text, numEdit, ts))
}

// UnsendDelivery returns a delivery telling that igsid unsent the message
// mid.
func UnsendDelivery(accountID, igsid, mid string, ts time.Time) []byte {
	return meta.BuildDelivery(Object, accountID, ts, meta.Messaging{
		Sender:    meta.Party{ID: meta.Flex(igsid)},
		Recipient: meta.Party{ID: meta.Flex(accountID)},
		Timestamp: meta.MillisOf(ts),
		Message:   &meta.Message{MID: mid, IsDeleted: true},
	})
}

// PostbackDelivery returns a delivery of igsid's tap on an icebreaker or a
// template button with this title and payload.
func PostbackDelivery(accountID, igsid, mid, title, payload string, ts time.Time) []byte {
	return meta.BuildDelivery(Object, accountID, ts, meta.PostbackEvent(accountID, igsid, mid, title, payload, ts))
}

// EchoDelivery returns the echo of a text the account sent to igsid.
func EchoDelivery(accountID, igsid, mid, text string, ts time.Time) []byte {
	return meta.BuildDelivery(Object, accountID, ts, meta.EchoEvent(accountID, igsid, mid, text, builderAppID, ts))
}

// SeenDelivery returns a messaging_seen notice: igsid read the account's
// message mid.
func SeenDelivery(accountID, igsid, mid string, ts time.Time) []byte {
	return meta.BuildDelivery(Object, accountID, ts, meta.Messaging{
		Sender:    meta.Party{ID: meta.Flex(igsid)},
		Recipient: meta.Party{ID: meta.Flex(accountID)},
		Timestamp: meta.MillisOf(ts),
		Read:      &meta.Read{MID: mid},
	})
}
