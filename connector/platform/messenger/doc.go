// Package messenger is the Facebook Messenger adapter: it answers Meta's
// webhook verification handshake, checks X-Hub-Signature-256, parses
// webhook deliveries of a Facebook Page into platform events, sends text
// replies through the Send API and blocks or unblocks users natively
// through the Page's blocked edge. What Messenger shares with Instagram
// Messaging lives in package meta.
//
// # Webhooks
//
// Meta verifies the callback URL with a GET carrying hub.mode=subscribe,
// hub.verify_token and hub.challenge; Handshake answers with the challenge
// when the token matches the channel's verify token.
//
// Each POST is signed: X-Hub-Signature-256 is "sha256=" followed by the hex
// HMAC-SHA256 of the raw body keyed with the app secret. Verify checks it in
// constant time.
//
// A delivery has object "page" and entries, one per Page, whose messaging
// arrays hold the events. Parse turns it into events in order, entry by
// entry and event by event; an entry for another Page than the channel's
// becomes a KindIgnored event. The mapping is meta.ParseMessaging's:
//
//   - message: KindMessage, ID the mid, Contact the sender's PSID (or the
//     user_ref of a chat plugin guest). Text; attachments of every type,
//     one event each (image, sticker, video, audio, file, location,
//     fallback links, reels and posts: MediaRef is the attachment's URL;
//     Messenger gives no MIME type); quick replies as Kind Button (Text the
//     title, Detail the payload); reply_to.mid as ReplyTo;
//     is_unsupported as Kind Other.
//   - message with is_echo (the Page's own message, sent by this connector,
//     another app or the Page inbox): KindReceipt, Status "echo".
//   - message_edit: Kind Edit, ReplyTo the edited message, Text the new
//     text.
//   - reaction: Kind Reaction, Text the emoji, ReplyTo the message; an
//     unreact has an empty Text.
//   - postback (buttons, Get Started, persistent menu): Kind Postback, Text
//     the title, Detail the payload.
//   - delivery: one KindReceipt "delivered" per mid (or one for the
//     watermark when Meta lists no mids); read: one KindReceipt "read" for
//     the watermark.
//   - standby events (while another app owns the conversation): read as
//     the events above, a message's Detail saying "standby".
//   - referral, optin, account_linking, the handover protocol's events
//     and anything else: KindIgnored, named in Detail.
//
// Messenger reports neither failures (a failed send is known from the Send
// API's answer) nor a user blocking the Page (a send to them fails with
// ErrUserBlocked); no event is ever KindContact.
//
// Event IDs, the deduplication keys, are stable across Meta's retries and
// distinct between events:
//
//	message                     <mid>
//	second, third attachment    <mid>:attachment:<index>
//	echo                        <mid>:status:echo
//	delivery                    <mid>:status:delivered   (delivered:<psid>:<watermark> without mids)
//	read                        read:<psid>:<watermark>
//	edit                        edit:<mid>:<num_edit>
//	reaction                    reaction:<mid>:<psid>:<emoji or unreact>:<timestamp>
//	postback                    postback:<mid>           (postback:<psid>:<timestamp> without mid)
//
// A body that is not JSON, whose object is not "page", or with an event
// lacking what identifies it (a message without mid or sender, a reaction
// without mid, ...) is refused with an error wrapping platform.ErrMalformed.
// Timestamps are milliseconds; ids are kept as text, never as float64.
//
// # Graph API
//
// Send posts a text to {GraphURL}/{PageID}/messages with messaging_type
// RESPONSE (a reply within the 24-hour window) and returns the new mid.
// Block posts {"psid":[<PSID>]} to {GraphURL}/{PageID}/blocked, which bans
// the user from messaging the Page and from its content; Unblock sends
// DELETE {GraphURL}/{PageID}/blocked?psid=<PSID>. A refusal is a
// *GraphError: it wraps ErrUserBlocked when the user blocked the Page or can
// not be reached (error 551, subcode 1545041), ErrTransient for rate limits,
// server errors and network failures, which are worth retrying (see
// IsTransient), and platform.ErrSendRejected otherwise. A channel configured
// without a Page access token only receives: these calls fail with
// ErrNoAccessToken. The adapter is a meta.Channel of this product (see
// package meta): a send is tried once, a block or an unblock is retried a
// few times on a connection error, 429 or 5xx before its error is returned.
//
// # Media
//
// The adapter is a platform.MediaFetcher (meta.Channel.FetchMedia): an
// attachment's URL, a signed CDN link that expires, is downloaded at once,
// with no credentials.
//
// # Test payloads
//
// Delivery, TextDelivery, ImageDelivery, ReactionDelivery, EditDelivery,
// PostbackDelivery, EchoDelivery, DeliveryReceipt and ReadReceipt build
// realistic webhook deliveries, and Sign their X-Hub-Signature-256 header,
// for tests and the demo traffic generator.
package messenger
