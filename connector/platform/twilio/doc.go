// Package twilio is the Twilio Programmable Messaging adapter, for SMS/MMS
// numbers and WhatsApp senders: it checks X-Twilio-Signature, parses
// incoming message webhooks and status callbacks into platform events and
// sends text replies through the REST API.
//
// # Webhooks
//
// Twilio has no verification handshake. It posts form-encoded bodies
// (application/x-www-form-urlencoded); configure the number, the WhatsApp
// sender or the Messaging Service to POST (not GET) to the channel's
// webhook URL, for incoming messages and for status callbacks alike.
//
// Each request is signed: X-Twilio-Signature is the base64 HMAC-SHA1,
// keyed with the account's auth token, of the full URL Twilio called
// (scheme, host, path and query) followed by every POST parameter's name
// and value, sorted by name. The URL is the public one: behind a proxy
// that changes it, set Config.PublicBaseURL (such as
// "https://connector.example.com"), and the signed URL is that base
// followed by the request's path and query; otherwise it is built from the
// request (https when it came over TLS or X-Forwarded-Proto says so). Verify
// checks it in constant time, also accepting the URL with the default port
// added or removed, as Twilio's own validators do. Parse reads the raw body
// it is given, never r.Body.
//
// Incoming messages (no MessageStatus parameter) become KindMessage events
// whose ID is the MessageSid, Contact the From address as Twilio gives it
// ("+14155550100", or "whatsapp:+14155550100" for WhatsApp; Send accepts
// it back as is) and ContactName the WhatsApp ProfileName. Twilio gives no
// timestamp: Timestamp is zero.
//
//   - A location (Latitude/Longitude, WhatsApp) is Kind Location, Text its
//     Label, Address and coordinates.
//   - A button reply (ButtonText/ButtonPayload, WhatsApp) is Kind Button,
//     Text the button's title, Detail its payload.
//   - Attachments (NumMedia, MediaUrlN, MediaContentTypeN) make the message
//     an image, video, audio or document by MIME type (a sticker when
//     MessageType says so), MediaRef the first attachment's URL followed
//     by "#type=" and its MIME type (platform.JoinMediaRef: the download
//     needs it), MediaType its MIME type and Text the Body (the caption). Each further
//     attachment becomes its own KindMessage event with ID
//     "<MessageSid>:media:<n>" (n from 1).
//   - Anything else is Kind Text with the Body; a WhatsApp MessageType
//     Twilio forwards without a body or media is Kind Other with the type
//     in Detail.
//   - OriginalRepliedMessageSid, the message a WhatsApp reply quotes,
//     becomes ReplyTo.
//   - OptOutType (sent with Advanced Opt-Out when the body is an opt-out or
//     opt-in keyword) adds a KindContact event after the message: STOP
//     gives Status "blocked" (ID "<MessageSid>:contact:blocked"), START
//     gives "unblocked" (ID "<MessageSid>:contact:unblocked").
//
// Status callbacks (with MessageStatus) become KindReceipt events for the
// outbound message: ID "<MessageSid>:status:<MessageStatus>", Contact the
// recipient (To), Status "sent", "delivered", "read" or "failed" (failed
// and undelivered; Detail says "undelivered" and carries "error
// <ErrorCode>"). Other statuses (queued, accepted, scheduled, sending,
// canceled, received, ...) become KindIgnored events. A callback with
// ErrorCode 21610 (the recipient opted out with STOP) adds a KindContact
// event with Status "blocked" for the recipient, ID
// "<MessageSid>:contact:blocked".
//
// A body for another account than the channel's, and a voice call webhook
// (CallSid without MessageSid), become one KindIgnored event. A body that
// is not form-encoded, that has no MessageSid, an incoming message without
// From or a NumMedia that is not a count is refused with an error wrapping
// platform.ErrMalformed.
//
// Twilio does not report edits, unsends or WhatsApp reactions through
// these webhooks.
//
// # Event ids
//
// Event.ID, the deduplication key, is built from Twilio's SIDs, which a
// retried webhook repeats: the MessageSid for a message,
// "<MessageSid>:media:<n>" for its further attachments,
// "<MessageSid>:status:<status>" for a status callback and
// "<MessageSid>:contact:<blocked|unblocked>" for a contact event.
//
// # Sending
//
// Send posts To, From (Config.From) and Body, form-encoded, to
// {APIURL}/2010-04-01/Accounts/{AccountSID}/Messages.json with basic
// authentication (account SID, auth token) and returns the message SID. On
// a WhatsApp sender a bare number gets the "whatsapp:" prefix. A refusal
// is an *APIError: it wraps ErrUserBlocked (and so
// platform.ErrSendRejected) for error 21610, the recipient having opted
// out; ErrTransient for HTTP 408, 429 and 5xx; platform.ErrSendRejected
// otherwise. Network failures wrap ErrTransient (see IsTransient).
//
// # Media
//
// The adapter is a platform.MediaFetcher: FetchMedia downloads a MediaUrl
// with the account's credentials (HTTP basic auth, needed when the
// account's media authentication is on), sent only to the REST API's host.
//
// # Blocking
//
// Twilio has no API to block a user: the adapter does not implement
// platform.Blocker, and blocking a Twilio contact is local to the
// connector. A user's own opt-out (STOP) arrives as OptOutType on the
// keyword message and as error 21610 on later sends and status callbacks.
//
// # Test payloads
//
// InboundBody and StatusBody build realistic webhook bodies, and Sign and
// SignBody their X-Twilio-Signature header, for tests and the demo traffic
// generator.
package twilio
