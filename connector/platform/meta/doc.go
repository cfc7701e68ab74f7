// Package meta is the one Meta adapter: Messenger, Instagram Messaging and
// the WhatsApp Cloud API are each a Product of it (their packages,
// platform/messenger, platform/instagram and platform/whatsapp, hold only
// their description, configuration and builders), and a Channel serves
// any of them:
//
//   - A Product says what sets a Meta product apart: its webhook object,
//     the name of its ids in configuration and errors, the Rules that
//     classify its Graph API errors, the body of a text send and how its
//     answer names the new message, its native block endpoint (Messenger's
//     /blocked edge, Instagram's moderate_conversations, WhatsApp's
//     block_users) and, where its webhooks are not the Messenger Platform
//     format, its parser. Its zero values are a Facebook Page's.
//   - A Channel is one configured account of a product (NewChannel,
//     NewAdapter): it verifies and answers webhooks, parses deliveries,
//     sends, blocks and unblocks, and downloads Messenger and Instagram
//     attachments; the product packages' Adapter types embed it.
//   - Webhook verification: the GET handshake with hub.mode,
//     hub.verify_token and hub.challenge (VerifyToken), and the
//     X-Hub-Signature-256 header, "sha256=" followed by the hex
//     HMAC-SHA256 of the raw body keyed with the app secret, checked in
//     constant time (CheckSignature, VerifyRequest) and computed for tests
//     and demo traffic (Sign).
//   - The Graph API: Client sends JSON requests with a bearer token through
//     the platforms' HTTP client (platform/papi); a send is tried once (it
//     may have been delivered: the connector's outbox retries it), a block
//     or an unblock, being idempotent, is retried a few times on a
//     connection error, 429 or 5xx within its context (CallIdempotent).
//     ParseGraphError turns an error response into a *GraphError that
//     wraps ErrTransient (worth retrying), ErrUserBlocked (the user blocked
//     the business or can not be reached) or platform.ErrSendRejected (any
//     other permanent refusal), following the product's Rules.
//   - The Messenger Platform webhook format, which Messenger (object
//     "page") and Instagram Messaging (object "instagram") share: the wire
//     types (Webhook, Entry, Messaging, Message, ...) used both to parse
//     deliveries and to build them for tests, and ParseMessaging, which
//     turns a delivery into platform events. Builder, Inbound,
//     ReactionEvent, EditEvent, PostbackEvent, EchoEvent and BuildDelivery
//     write realistic deliveries for the products' exported builders.
//
// The package meta/metatest holds the checks the products' tests share.
//
// # Events
//
// ParseMessaging reads entry[].messaging[] in order (entry by entry, item by
// item) and maps each item by the field it carries:
//
//   - message from the user: KindMessage with ID the message id (mid) and
//     Contact the sender (its id, or its user_ref for a guest of the chat
//     plugin). Text is Kind Text. Each attachment becomes its own event, in
//     order: the first keeps the mid as ID and carries the text, if any, as
//     its caption; the next ones have ID "<mid>:attachment:<index>". image
//     is Kind Image (Sticker when payload.sticker_id is set), video and the
//     reels ig_reel/reel are Video, audio is Audio, file is Document (their
//     MediaRef is payload.url; Meta gives no MIME type), location is
//     Location with the coordinates in Text, and fallback, share,
//     story_mention, post, ig_post, template and any other type are Kind
//     Other with the attachment type in Detail and the URL as MediaRef. A
//     quick reply is Kind Button with Text the button title and Detail its
//     payload. reply_to.mid becomes ReplyTo; a reply to an Instagram story
//     names the story in Detail. is_deleted (Instagram unsend) is Kind
//     Unsend with ID "unsend:<mid>" and ReplyTo the deleted message;
//     is_unsupported is Kind Other with Detail "unsupported message".
//   - message with is_echo (a message the business sent, through the API or
//     an inbox): KindReceipt with Status "echo", ID "<mid>:status:echo",
//     Contact the recipient and the sending app_id in Detail.
//   - message_edit: Kind Edit, ID "edit:<mid>:<num_edit>" (the timestamp
//     stands in when num_edit is missing), ReplyTo the edited message, Text
//     the new text.
//   - reaction: Kind Reaction, ReplyTo the message reacted to, Text the
//     emoji (from the reaction name when Meta sends no emoji); an unreact
//     has an empty Text and Detail "reaction removed". ID is
//     "reaction:<mid>:<user>:<emoji or unreact>:<timestamp>": the same on
//     every retry of the delivery, distinct when the user reacts again
//     later.
//   - postback: Kind Postback, Text the button title, Detail its payload,
//     ID "postback:<mid>" ("postback:<user>:<timestamp>" when Meta sends no
//     mid, as for the Get Started button in old API versions).
//   - delivery: one KindReceipt per delivered message, Status "delivered",
//     ID "<mid>:status:delivered"; without mids, one receipt with ID
//     "delivered:<user>:<watermark>" meaning every message up to the
//     watermark was delivered.
//   - read: Status "read", ID "<mid>:status:read" when Meta names the
//     message (Instagram), else "read:<user>:<watermark>" (Messenger: every
//     message up to the watermark was read).
//   - standby items (sent while another app owns the conversation, under
//     the handover protocol) are read as messaging items: a customer's
//     message there is stored as any other, its Detail saying "standby".
//   - anything else (referral, optin, account_linking, the handover
//     protocol's pass/take/request_thread_control, policy_enforcement, ...),
//     an entry's changes (Instagram comments, mentions, ...), an echo of a
//     deleted message and an entry for another account than the channel's
//     become KindIgnored events naming what they were.
//
// Meta sends no follow, unfollow or block notifications on these
// platforms, and no failure receipts: a failed send is reported by the
// Send API's response.
//
// Timestamps are milliseconds since the epoch; ids are kept as text and
// never go through a float64.
package meta
