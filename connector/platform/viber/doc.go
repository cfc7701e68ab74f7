// Package viber is the Viber REST bot API adapter: it checks
// X-Viber-Content-Signature, parses the callbacks Viber posts into platform
// events and sends text replies with send_message.
//
// # Callbacks
//
// Viber has no verification handshake of its own: when the bot calls
// set_webhook, Viber posts a "webhook" callback to the URL, which Parse
// accepts and ignores.
//
// Every callback is signed: X-Viber-Content-Signature is the hex
// HMAC-SHA256 of the raw body keyed with the bot's auth token. Verify
// checks it in constant time.
//
// Each POST carries one callback, named by its "event". Parse turns it
// into one event, Timestamp being the callback's timestamp (epoch
// milliseconds):
//
//   - message: a KindMessage event; Contact is sender.id, ContactName
//     sender.name. Kinds by message.type: text; picture → image and video
//     → video (Text the caption, MediaRef the media URL, which Viber keeps
//     for an hour; Viber gives no MIME type); file → document (Text the
//     file name, also in Detail; MediaRef the URL followed by "#name=" and
//     the file name, platform.JoinMediaRef); sticker (MediaRef its image URL, Detail
//     its sticker_id); contact → contacts ("Name (phone)"); url → text (Text
//     the URL, Detail "url"); location (Text "(lat, lon)"). Other types are
//     Kind Other with the type in Detail. Keyboard button presses arrive as
//     ordinary messages with the button's ActionBody as text. The REST bot
//     API reports no replies, edits, deletions or reactions.
//   - delivered, seen and failed: KindReceipt events for the bot's own
//     messages, Status "delivered", "read" and "failed" (Detail the
//     failure's desc), Contact user_id.
//   - subscribed and conversation_started (the user opened the bot's chat,
//     which is not a message): KindContact with Status "follow"; Contact
//     user.id, ContactName user.name; Detail names the event and, for
//     conversation_started, its type, context and subscribed flag.
//   - unsubscribed: KindContact with Status "blocked" (the bot can no
//     longer write to the user), Contact user_id.
//   - webhook (the set_webhook check) and any event this package does not
//     know: KindIgnored with the event in Detail.
//
// A body that is not a JSON object, has no event, a timestamp that is not
// an integer, a message_token that is not an integer, or lacks what
// identifies its event (a message's message_token or sender.id, a
// receipt's message_token, subscribed's user.id, unsubscribed's user_id)
// is refused with an error wrapping platform.ErrMalformed.
//
// # Ids
//
// message_token is a 64-bit integer that exceeds 2^53, so it is decoded
// from its JSON text, never through a float64, and kept as a decimal
// string. The event IDs, the deduplication keys, are stable across Viber's
// retries (it retries an unanswered callback for up to an hour) and
// distinct between events:
//
//   - message: "<message_token>";
//   - delivered, seen, failed: "<message_token of the bot's message>:status:<delivered|read|failed>";
//   - subscribed, conversation_started, unsubscribed: "<event>:<message_token>"
//     ("<event>:<user id>:<timestamp>" for a callback without token).
//
// Ignored events have no ID.
//
// # Sending
//
// Send posts {"receiver", "type": "text", "text", "sender": {"name",
// "avatar"}} to {APIURL}/pa/send_message with the X-Viber-Auth-Token
// header and returns the message_token. Viber answers HTTP 200 with a
// status in the body; a non-zero status is an *APIError: status 6
// (receiverNotSubscribed) wraps ErrUserBlocked, which wraps
// platform.ErrSendRejected; status 12 (tooManyRequests), HTTP 429 and
// server errors, and network failures, wrap ErrTransient (see
// IsTransient); the rest wraps platform.ErrSendRejected.
//
// # Media
//
// The adapter is a platform.MediaFetcher: FetchMedia downloads a message's
// media URL (no credentials: the URL is the grant), at once, since Viber
// keeps it for a limited time.
//
// # Blocking
//
// The REST bot API has no way to block a user, so the adapter does not
// implement platform.Blocker: a block is the connector's own (local) block.
// A user leaving the bot arrives as unsubscribed (Status "blocked").
//
// # Test payloads
//
// MessageCallback, TextCallback, PictureCallback, ReceiptCallback,
// SubscribedCallback, UnsubscribedCallback, ConversationStartedCallback
// and WebhookCallback build realistic callbacks, and Sign their
// X-Viber-Content-Signature header, for tests and the demo traffic
// generator.
package viber
