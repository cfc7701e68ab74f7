// Package telegram is the Telegram Bot API adapter: it checks the webhook's
// secret token, parses the updates Telegram posts into platform events and
// sends text replies with sendMessage.
//
// # Webhooks
//
// Telegram has no verification handshake: the bot registers its URL with
// setWebhook, passing a secret_token, and Telegram sends that token back in
// the X-Telegram-Bot-Api-Secret-Token header of every update. Verify
// compares the header with the channel's secret token in constant time;
// Telegram does not sign the body.
//
// Each POST carries one Update object. Parse turns it into one event:
//
//   - message: a KindMessage event. Contact is the chat id (the user's id in
//     a private chat, the group's in a group), ContactName the user's name
//     (a group's title), Timestamp the message date. Kinds: text; image for
//     a photo (MediaRef the file_id of the largest size; Telegram gives no
//     MIME type for photos); video, also for animations and video notes
//     (Detail says which); audio, also for voice notes (Detail "voice");
//     document (Text the caption, or the file name, which is also in
//     Detail); sticker (Text its emoji, MediaRef its file_id); location,
//     and venue (Text the venue's title and address and the coordinates);
//     contacts for a shared contact (Text "Name (phone)"). MediaRef is a
//     file_id, to be resolved with getFile, followed for a video, audio,
//     voice or document by its file_name and mime_type as a fragment
//     ("#name=cv.pdf&type=application%2Fpdf", platform.JoinMediaRef), which
//     the download does not give again; MediaType the mime_type where
//     Telegram gives one. reply_to_message becomes ReplyTo. Polls, dice and
//     content types this package does not know are Kind Other with the type
//     in Detail; service messages (members joining or leaving, a pinned
//     message, a new chat title, ...) are KindIgnored.
//   - edited_message: Kind Edit with the new text or caption and media,
//     ReplyTo the id of the message edited, Timestamp the edit date. Live
//     location updates arrive this way too.
//   - callback_query (an inline keyboard button pressed): Kind Button, Text
//     the button's label, looked up by its callback data in the keyboard of
//     the message it was on (the data itself when the message is not
//     given), Detail "callback data <data>", ReplyTo the message with the
//     keyboard. The contact is that message's chat, or the user.
//   - message_reaction: Kind Reaction, Text the user's new reactions
//     (emoji; "(custom emoji)" and "⭐" stand for custom emoji and paid
//     reactions, which Detail describes), ReplyTo the message reacted to.
//     A reaction removed leaves no new reaction: Text is empty and Detail
//     "reaction removed". Telegram sends these only to a bot that asks for
//     them in allowed_updates.
//   - my_chat_member (the bot's own membership): KindContact. New status
//     "kicked" is Status "blocked" (in a private chat, the user blocked the
//     bot; in a group, the bot was removed and banned); "left" is
//     "unfollow"; "member" is "unblocked" after "kicked", else "follow" (the
//     bot was added to a group, or a user restarted it). Other changes
//     (promotions, restrictions) are KindIgnored.
//   - business_message and edited_business_message (the chats of a Telegram
//     Business account the bot is connected to) are read as message and
//     edited_message, Detail "business chat"; a message the business
//     itself sent there (from is not the private chat's user) is its echo,
//     KindIgnored. A business chat numbers its messages apart from the
//     bot's own chat with the same user (same chat id), so its ids have a
//     namespace: "business:<chat id>:<message id>", edits
//     "edit:business:...". deleted_business_messages gives one Unsend
//     message per message id, ID "unsend:business:<chat id>:<message
//     id>". A reply is sent by
//     the bot, not through the business connection: Telegram refuses it
//     unless the customer started the bot too.
//   - Every other update (channel posts, inline queries, polls,
//     chat_member, ...) is KindIgnored with the update's field in Detail.
//
// A body that is not a JSON object with an integer update_id, or whose
// handled field lacks what identifies it (a message without chat or
// message_id, a callback query without id or from, ...), or has a field of
// the wrong type, is refused with an error wrapping platform.ErrMalformed.
//
// # Ids
//
// Telegram's message ids are unique only within a chat, so a message's id
// is "<chat id>:<message id>" (MessageID); ids are decoded as 64-bit
// integers, never through a float64. The event IDs, the deduplication keys,
// are stable across Telegram's retries of an update and distinct between
// updates:
//
//   - message: "<chat id>:<message id>";
//   - edited_message: "edit:<chat id>:<message id>:<edit_date>:<update_id>"
//     (two edits in one second share their edit_date);
//   - callback_query: "callback:<callback query id>";
//   - message_reaction: "reaction:<chat id>:<message id>:<user or actor
//     chat id>:<emoji, comma-separated, or unreact>:<date>";
//   - my_chat_member: "member:<chat id>:<new status>:<date>".
//
// Ignored events have no ID.
//
// # Sending
//
// Send posts {"chat_id": ..., "text": ...} to
// {APIURL}/bot<token>/sendMessage and returns the sent message's id in the
// form above. A refusal is an *APIError: 403 "Forbidden: bot was blocked by
// the user" (or "bot was kicked from the ... chat") wraps ErrUserBlocked,
// which wraps platform.ErrSendRejected; 429 and server errors, and network
// failures, wrap ErrTransient (see IsTransient); the rest wraps
// platform.ErrSendRejected. The bot token is part of the URL and is kept
// out of every error. A channel configured without a bot token only
// receives: Send fails with ErrNoBotToken.
//
// # Media
//
// The adapter is a platform.MediaFetcher: FetchMedia resolves a message's
// MediaRef with getFile (the file_path and size; the Bot API serves files
// of up to 20 MB) and downloads {APIURL}/file/bot<token>/<file_path> with
// the bot token. See FetchMedia for the errors, the name and the type.
//
// # Blocking
//
// A bot can not block a private user: the Bot API's banChatMember works in
// groups and channels only. The adapter therefore does not implement
// platform.Blocker; a block is the connector's own (local) block, and a
// user blocking the bot arrives as a my_chat_member update (Status
// "blocked").
//
// # Test payloads
//
// MessageUpdate, EditedUpdate, TextUpdate, PhotoUpdate, CallbackUpdate,
// ReactionUpdate and MemberUpdate build realistic updates, and Sign gives
// their X-Telegram-Bot-Api-Secret-Token header, for tests and the demo
// traffic generator.
package telegram
