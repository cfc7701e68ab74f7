package messenger

import (
	"time"

	"github.com/chatsync/sfconnector/connector/platform/meta"
)

// The builders below write webhook deliveries in the shape Messenger sends,
// for tests, integration tests and the demo traffic generator. Sign the
// result with Sign to post it to the connector.

// builderAppID stands for the app that sent an echoed message.
const builderAppID = meta.BuilderAppID

// builder writes Messenger's deliveries.
var builder = meta.Builder{Object: Object}

// Inbound is one message from a Messenger user, for Delivery: From is the
// PSID, ID the mid; Type is text (the default), quick_reply, image, video,
// audio, file, sticker, location or fallback. See meta.Inbound.
type Inbound = meta.Inbound

// Delivery returns a webhook delivery for pageID carrying msgs, in order,
// in one entry.
func Delivery(pageID string, msgs ...Inbound) []byte { return builder.Delivery(pageID, msgs...) }

// TextDelivery returns a delivery of one text message.
func TextDelivery(pageID, psid, mid, text string, ts time.Time) []byte {
	return builder.Text(pageID, psid, mid, text, ts)
}

// ImageDelivery returns a delivery of one image attachment at url.
func ImageDelivery(pageID, psid, mid, url string, ts time.Time) []byte {
	return builder.Image(pageID, psid, mid, url, ts)
}

// PostbackDelivery returns a delivery of psid's tap on a postback button
// with this title and payload.
func PostbackDelivery(pageID, psid, mid, title, payload string, ts time.Time) []byte {
	return builder.Postback(pageID, psid, mid, title, payload, ts)
}

// ReactionDelivery returns a delivery of psid's reaction with emoji to the
// message targetMID; an empty emoji removes the reaction.
func ReactionDelivery(pageID, psid, targetMID, emoji string, ts time.Time) []byte {
	return builder.Reaction(pageID, psid, targetMID, emoji, ts)
}

// EditDelivery returns a delivery of psid's edit number numEdit of the
// message mid, which now reads text.
func EditDelivery(pageID, psid, mid, text string, numEdit int, ts time.Time) []byte {
	return builder.Edit(pageID, psid, mid, text, numEdit, ts)
}

// DeliveryReceipt returns a delivery notice: the Page's messages mids were
// delivered to psid, and every message up to watermark.
func DeliveryReceipt(pageID, psid string, watermark time.Time, mids ...string) []byte {
	return builder.Event(pageID, psid, watermark, func(m *meta.Messaging) {
		m.Timestamp = 0
		m.Delivery = &meta.Delivery{MIDs: mids, Watermark: meta.MillisOf(watermark)}
	})
}

// ReadReceipt returns a read notice: psid read every message of the Page
// up to watermark.
func ReadReceipt(pageID, psid string, watermark time.Time) []byte {
	return builder.Event(pageID, psid, watermark, func(m *meta.Messaging) { m.Read = &meta.Read{Watermark: meta.MillisOf(watermark)} })
}

// EchoDelivery returns the echo of a text the Page sent to psid.
func EchoDelivery(pageID, psid, mid, text string, ts time.Time) []byte {
	return builder.Echo(pageID, psid, mid, text, ts)
}
