// Package instagram is the Instagram Messaging adapter (the Messenger
// Platform's API for Instagram, through the Facebook Page linked to an
// Instagram professional account): it answers Meta's webhook verification
// handshake, checks X-Hub-Signature-256, parses webhook deliveries into
// platform events, sends text replies and blocks or unblocks users natively
// through the Moderate Conversations API. What Instagram shares with
// Messenger lives in package meta.
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
// A delivery has object "instagram" and entries, one per Instagram
// account, whose messaging arrays hold the events. Parse turns it into
// events in order, entry by entry and event by event; with Config.AccountID
// set, an entry for another account becomes a KindIgnored event. The
// mapping is meta.ParseMessaging's:
//
//   - message (field messages): KindMessage, ID the mid, Contact the
//     sender's IGSID. Text; attachments of every type, one event each
//     (image, video, audio, file; ig_reel and reel as Video; share,
//     story_mention, ig_post and others as Kind Other with the type in
//     Detail; MediaRef is the attachment's CDN URL, and Instagram gives no
//     MIME type); quick replies as Kind Button (Text the title, Detail the
//     payload); reply_to.mid as ReplyTo, a reply to a story named in
//     Detail. is_deleted (the user unsent a message) is Kind Unsend with
//     ReplyTo the unsent message; is_unsupported (GIFs, stickers and other
//     content Meta does not pass on) is Kind Other.
//   - message with is_echo (the account's own message, sent by this
//     connector, another app or the Instagram app): KindReceipt, Status
//     "echo".
//   - message_edit: Kind Edit, ReplyTo the edited message, Text the new
//     text.
//   - reaction (field message_reactions): Kind Reaction, Text the emoji,
//     ReplyTo the message; an unreact has an empty Text.
//   - postback (icebreakers, template buttons): Kind Postback, Text the
//     title, Detail the payload.
//   - read (field messaging_seen): a KindReceipt "read" for the message it
//     names. Instagram sends no delivery receipts.
//   - standby events (while another app owns the conversation): read as
//     the events above, a message's Detail saying "standby".
//   - referral (ig.me links), an entry's changes (comments, live_comments,
//     mentions, story insights) and anything else: KindIgnored, named in
//     Detail.
//
// Instagram reports neither failures (a failed send is known from the Send
// API's answer) nor a user blocking the account (a send to them fails with
// ErrUserBlocked); no event is ever KindContact.
//
// Event IDs, the deduplication keys, are stable across Meta's retries and
// distinct between events:
//
//	message                     <mid>
//	second, third attachment    <mid>:attachment:<index>
//	unsend                      unsend:<mid>
//	echo                        <mid>:status:echo
//	read                        <mid>:status:read
//	edit                        edit:<mid>:<num_edit>
//	reaction                    reaction:<mid>:<igsid>:<emoji or unreact>:<timestamp>
//	postback                    postback:<mid>           (postback:<igsid>:<timestamp> without mid)
//
// A body that is not JSON, whose object is not "instagram", or with an event
// lacking what identifies it (a message without mid or sender, a reaction
// without mid, ...) is refused with an error wrapping platform.ErrMalformed.
// Timestamps are milliseconds; ids are kept as text, never as float64.
//
// # Graph API
//
// Send posts {"recipient":{"id":<IGSID>},"message":{"text":...}} to
// {GraphURL}/{PageID}/messages and returns the new message id. Block and
// Unblock post {"user_ids":[{"id":<IGSID>}],"actions":["block_user"]} (or
// "unblock_user") to {GraphURL}/{PageID}/moderate_conversations; a
// conversation with the user must exist. A refusal is a *GraphError: it
// wraps ErrUserBlocked when the user blocked the account or can not be
// reached (error 551), ErrTransient for rate limits, server errors and
// network failures, which are worth retrying (see IsTransient), and
// platform.ErrSendRejected otherwise. A channel configured without a Page
// access token only receives: these calls fail with ErrNoAccessToken. The
// adapter is a meta.Channel of this product (see package meta): a send is
// tried once, a block or an unblock is retried a few times on a connection
// error, 429 or 5xx before its error is returned.
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
// UnsendDelivery, PostbackDelivery, EchoDelivery and SeenDelivery build
// realistic webhook deliveries, and Sign their X-Hub-Signature-256 header,
// for tests and the demo traffic generator.
package instagram
