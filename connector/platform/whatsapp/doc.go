// Package whatsapp is the WhatsApp Cloud API adapter: it answers Meta's
// webhook verification handshake, checks X-Hub-Signature-256, parses webhook
// deliveries into platform events, sends text replies and blocks or
// unblocks users natively through the Graph API.
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
// A delivery has object "whatsapp_business_account" and entries whose
// changes carry a value; only the field "messages" holds messages. Parse
// turns it into events, in the order they appear (entry by entry, change by
// change; within a value: messages, then statuses, then errors):
//
//   - value.messages[] become KindMessage events whose ID is the message id
//     (wamid), Contact the sender ("from", or the business-scoped user id
//     "from_user_id" when the phone number is withheld) and ContactName the
//     profile name from value.contacts[]; a group's message ("group_id",
//     the Groups API) has the group as Contact and its writer, with the
//     profile name, as Sender. A message naming neither "from" nor
//     "from_user_id" is KindUnusable (id_missing), with its change alone
//     as its bytes. Kinds: text, image, video, audio
//     (Detail "voice" for voice notes), document (Text is the caption, or
//     the file name when there is none; Detail the file name), sticker,
//     location (Text describes the place and its coordinates), reaction
//     (Text the emoji, ReplyTo the message reacted to; an empty emoji
//     removes the reaction and Detail says so), button for interactive
//     button and list replies and template quick-reply buttons (Text the
//     title, Detail the button id or payload), contacts (Text lists the
//     shared names and numbers). order, system, unsupported and any type
//     this package does not know become Kind Other with the type in Detail.
//     context.id, the message a reply quotes, becomes ReplyTo.
//   - Edits: a number onboarded from the WhatsApp Business app
//     ("Coexistence") receives type "edit" with edit.original_message_id and
//     the new content in edit.message; it becomes Kind Edit with ReplyTo the
//     original id and the new text or caption. Other numbers are not told
//     about edits, and Meta documents that edits may also arrive as type
//     "unsupported"; such a message is Kind Other, Detail naming
//     unsupported.type and the error, and carries no original id.
//   - Deletes: Coexistence numbers receive type "revoke" with
//     revoke.original_message_id: Kind Unsend with ReplyTo the deleted
//     message. The Cloud API does not otherwise report deletions; the legacy
//     On-Premises status "deleted" is mapped to Kind Unsend as well.
//   - value.statuses[] (sent, delivered, read, failed, ...) become
//     KindReceipt events for outbound messages: ID is
//     "<wamid>:status:<status>" (a status shares its id with the message it
//     reports on, the suffix keeps their deduplication keys apart), Contact
//     the recipient, Status the status and Detail the errors of a failure.
//   - value.errors[] become KindIgnored events with the error in Detail.
//   - Other fields (template status, account updates, ...) and values for
//     another phone number id than the channel's become KindIgnored events.
//
// A body that is not JSON, whose object is not whatsapp_business_account, or
// with a message lacking its id or sender, or a status lacking its id or
// status, is refused with an error wrapping platform.ErrMalformed.
//
// # Graph API
//
// Send posts a text message to {GraphURL}/{PhoneNumberID}/messages; Block
// and Unblock POST and DELETE {GraphURL}/{PhoneNumberID}/block_users (only
// users who wrote in the last 24 hours can be blocked: error 131047). A
// refusal is a *GraphError wrapping platform.ErrSendRejected, or
// ErrTransient for rate limits, server errors and network failures, which
// are worth retrying (see IsTransient). A channel configured without an
// access token only receives: these calls fail with ErrNoAccessToken (a
// permanent refusal: the reply or the native block fails at once). The
// adapter is a meta.Channel of this product (see package meta): a send is
// tried once, a block or an unblock is retried a few times on a connection
// error, 429 or 5xx before its error is returned.
//
// # Media
//
// A media message's MediaRef is its media id (a document's followed by
// "#name=" and its file name, platform.JoinMediaRef). The adapter is a
// platform.MediaFetcher: FetchMedia resolves the id with GET
// {GraphURL}/{media-id} (the download URL, valid for five minutes, the
// MIME type, size and checksum) and downloads the URL, both with the
// access token; see FetchMedia for the errors.
//
// # Test payloads
//
// Delivery, TextDelivery, ImageDelivery, ReactionDelivery and
// StatusDelivery build realistic webhook deliveries, and Sign their
// X-Hub-Signature-256 header, for tests and the demo traffic generator.
package whatsapp
