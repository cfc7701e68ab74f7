// Package line is the LINE Messaging API adapter: it checks
// X-Line-Signature, parses webhook deliveries into platform events and
// pushes text replies.
//
// # Webhooks
//
// LINE has no GET handshake. The console's "Verify" button posts a signed
// delivery whose events list is empty; it is verified and parsed like any
// other delivery and gives no events, so the connector answers it 200.
//
// Each POST is signed: X-Line-Signature is the base64 HMAC-SHA256 of the
// raw body keyed with the channel secret. Verify checks it in constant
// time.
//
// A delivery is {"destination": <bot user id>, "events": [...]}. Parse turns
// the events into platform events, in the order they appear:
//
//   - message events become KindMessage events. Contact is the user for a
//     one-to-one chat, and the group or room id for a group or multi-person
//     chat (replies are pushed there; Detail names the chat and the
//     sender). LINE gives no display name in webhooks: ContactName is
//     empty. Kinds: text; image, video and audio (MediaRef is the message
//     id, which fetches LINE-hosted content from
//     https://api-data.line.me/v2/bot/message/{id}/content, or the URL of
//     externally hosted content; LINE gives no MIME type; Detail names an
//     image set and a duration); file as Document (Text and Detail the
//     file name, MediaRef the message id followed by "#name=" and the file
//     name, platform.JoinMediaRef); location (Text describes the
//     title, address and coordinates); sticker (Text a message sticker's
//     text, MediaRef "<packageId>/<stickerId>"). Other message types become
//     Kind Other with the type in Detail. quotedMessageId, the message a
//     text or sticker quotes, becomes ReplyTo.
//   - unsend events become KindMessage events of Kind Unsend with ReplyTo
//     the unsent message.
//   - postback events (buttons, quick replies, rich menus, date-time
//     pickers) become KindMessage events of Kind Postback: Text is the date
//     or time picked or the rich menu switched to when there is one, else
//     the postback data; Detail carries the data and the parameters.
//   - follow becomes a KindContact event with Status "follow", or
//     "unblocked" when follow.isUnblocked says the user unblocked the
//     account. unfollow, which LINE sends when the user blocks the account,
//     becomes Status "blocked" (Detail "unfollow").
//   - join, leave, memberJoined, memberLeft, beacon, accountLink,
//     videoPlayComplete, membership and any other type become KindIgnored
//     events with the type in Detail, as do follow and unfollow events
//     whose source has no user, group or room id. A message, unsend or
//     postback without one is KindUnusable (id_missing), kept in
//     quarantine with the delivery's envelope around it alone.
//
// LINE does not report edits, reactions, delivery or read receipts, or
// echoes of the account's own messages in webhooks.
//
// A body that is not a JSON object with an events list, or a message event
// without a message or message id, an unsend without its message id, a
// postback without its postback object or a timestamp that is not unix
// milliseconds, is refused with an error wrapping platform.ErrMalformed.
// Ids and timestamps are read as text (json.Number), never through
// float64.
//
// # Event ids
//
// Event.ID, the deduplication key, is stable across LINE's redeliveries
// (which keep webhookEventId and message ids):
//
//   - message: the message id;
//   - unsend: "unsend:<unsent message id>";
//   - follow, unfollow, postback: the webhookEventId, or
//     "<type>:<contact>:<timestamp>" for an event without one;
//   - ignored events carry their webhookEventId, for logs.
//
// # Sending
//
// Send pushes a text message with POST {APIURL}/v2/bot/message/push and
// the channel access token, and returns the sent message's id. Every push
// carries X-Line-Retry-Key: the key set with WithRetryKey (RetryKeyFrom
// derives one from a stable name), or a random UUID. LINE accepts a key
// once in 24 hours, so a retry with the same key after a timeout or a 5xx
// can not deliver twice; its 409 answer carries the id of the message
// first sent, which Send returns. A refusal is an *APIError wrapping
// platform.ErrSendRejected, or ErrTransient for 408, 429 (except the
// monthly quota) and 5xx responses and for network failures (see
// IsTransient). A channel configured without an access token only
// receives: Send fails with ErrNoAccessToken.
//
// LINE answers 200 to a push to a user who blocked the account (and does
// not deliver it), so a block is learnt from the unfollow event, never
// from Send; ErrUserBlocked exists for symmetry with other adapters.
//
// # Media
//
// The adapter is a platform.MediaFetcher: FetchMedia downloads a message's
// content from {DataAPIURL}/v2/bot/message/{id}/content with the channel
// access token (LINE keeps it for a limited time), or externally hosted
// content from its URL, without the token. See FetchMedia for the errors.
//
// # Blocking
//
// The Messaging API has no block endpoint: the adapter does not implement
// platform.Blocker, and blocking a LINE contact is local to the connector.
// The user's own block of the account arrives as an unfollow event.
//
// # Test payloads
//
// Delivery, VerifyDelivery, TextDelivery, ImageDelivery, FollowDelivery,
// UnfollowDelivery, UnsendDelivery and PostbackDelivery build realistic
// webhook deliveries, and Sign their X-Line-Signature header, for tests and
// the demo traffic generator.
package line
