// Package platform defines what every chat platform adapter offers the
// connector: checking a webhook's signature, parsing its body into events,
// and, where the platform has them, a verification handshake, sending a
// reply and a native block. One package per platform implements it
// (platform/whatsapp, platform/webchat, ...).
//
// What a platform lacks is not stubbed: an adapter implements only the
// optional interfaces (Handshaker, Sender, Blocker, MediaFetcher) it
// really supports, and CapabilitiesOf reports them as flags. A channel
// configured to receive only (without the credential of the platform's
// API) says so through ReceiveOnly: it then neither sends nor blocks, and
// SenderOf and BlockerOf, which the connector uses rather than type
// assertions, find neither. Its media downloads that need the credential
// fail, saying so; those that need none (Messenger's and Instagram's
// attachment links, LINE's external content) go on.
package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors; adapters wrap them with %w and a clear message.
var (
	// ErrBadSignature: the request is not signed by the platform (401).
	ErrBadSignature = errors.New("invalid signature")
	// ErrMalformed: the body is not what the platform sends (400).
	ErrMalformed = errors.New("malformed body")
	// ErrHandshake: a verification handshake with the wrong token (403).
	ErrHandshake = errors.New("verification handshake refused")
	// ErrSendRejected: the platform refused a send or block permanently.
	ErrSendRejected = errors.New("rejected by the platform")
	// ErrRecipientBlocked: the platform refused a send because the user
	// blocked the business, unsubscribed or opted out (Telegram's "bot was
	// blocked by the user", Twilio's 21610, Viber's receiverNotSubscribed).
	// Adapters wrap it together with ErrSendRejected; the connector records
	// it on the contact and refuses further sends.
	ErrRecipientBlocked = errors.New("the recipient blocked the business on the platform")
)

// RecipientBlocked returns the error of a send refused because the
// recipient blocked the business: it wraps ErrSendRejected and
// ErrRecipientBlocked, followed by detail.
func RecipientBlocked(detail string) error {
	return fmt.Errorf("%w: %w: %s", ErrSendRejected, ErrRecipientBlocked, detail)
}

// CheckSendArgs returns the error of a send to nobody or of an empty text,
// named for the platform: a Sender refuses them before any call.
func CheckSendArgs(platformName, to, text string) error {
	switch {
	case to == "":
		return errors.New(platformName + ": send: empty recipient")
	case text == "":
		return errors.New(platformName + ": send: empty text")
	}
	return nil
}

// Adapter is the interface every platform implements. An Adapter is built
// for one channel, with that channel's secrets, and is safe for concurrent
// use.
type Adapter interface {
	// Platform returns the platform's name, such as "whatsapp".
	Platform() string
	// Verify checks the request's signature over the raw body in constant
	// time; it returns an error wrapping ErrBadSignature when it fails.
	Verify(r *http.Request, body []byte) error
	// Parse turns a verified body into events, in the order the platform
	// sent them. It returns an error wrapping ErrMalformed when the body is
	// not valid. Event types the adapter does not know become Ignored
	// events, not errors.
	Parse(r *http.Request, body []byte) ([]Event, error)
}

// Handshaker is implemented by platforms that verify a webhook URL with a
// GET request (Meta's hub.challenge).
type Handshaker interface {
	// Handshake answers the GET request: the body to write with status 200,
	// or an error wrapping ErrHandshake.
	Handshake(r *http.Request) ([]byte, error)
}

// Sender is implemented by platforms the connector can send replies through.
type Sender interface {
	// Send sends a text to the platform user and returns the platform's
	// message id.
	Send(ctx context.Context, to string, text string) (platformID string, err error)
}

// Blocker is implemented by platforms with a native block API.
type Blocker interface {
	// Block blocks the platform user natively; Unblock lifts it.
	Block(ctx context.Context, user string) error
	Unblock(ctx context.Context, user string) error
}

// MediaFetcher is implemented by platforms whose inbound media (a photo,
// a voice note, a document) the connector can download with the channel's
// own credentials, so that it reaches Salesforce as a File. Platforms
// whose media the connector cannot download do not implement it; their
// media messages keep only the platform's reference.
type MediaFetcher interface {
	// FetchMedia downloads the media item ref (Message.MediaRef of an event
	// this adapter parsed) with at most max bytes. A larger item is an
	// error wrapping ErrMediaTooLarge; an item the platform no longer has
	// (expired, deleted) or refuses wraps ErrMediaGone; an item of a kind
	// the platform serves no content for wraps ErrNoContent; one a
	// receive-only channel lacks the token for wraps ErrMediaNoCredential;
	// other errors
	// are temporary and worth a retry.
	FetchMedia(ctx context.Context, ref string, max int64) (Media, error)
}

// MediaReleaser is implemented by platforms whose media the connector
// itself keeps until it is fetched (the web chat's uploads).
type MediaReleaser interface {
	// ReleaseMedia says that the item ref (as given to FetchMedia) is
	// fetched and kept by the connector, or will never be fetched (its
	// message excluded or refused), and no other message waits for it:
	// the platform's copy may go. An item already gone is not an error.
	ReleaseMedia(ctx context.Context, ref string) error
}

// Media is a downloaded media item.
type Media struct {
	// Data is the item's bytes.
	Data []byte
	// ContentType is its MIME type as the platform gives it (or as sniffed
	// from the bytes when the platform gives none).
	ContentType string
	// FileName is the platform's file name when it has one; empty otherwise.
	FileName string
}

// Media errors; FetchMedia wraps them with %w and a clear message.
var (
	// ErrMediaTooLarge: the item is larger than the limit it was fetched with.
	ErrMediaTooLarge = errors.New("media larger than the limit")
	// ErrMediaGone: the platform no longer has the item or refuses it for
	// good (expired link, unknown id, no permission); retrying cannot help.
	ErrMediaGone = errors.New("media no longer available from the platform")
	// ErrNoContent: the platform serves no content for this kind of item
	// (a LINE sticker): there is nothing to fetch, and nothing failed.
	ErrNoContent = errors.New("the platform serves no content for this item")
	// ErrMediaNoCredential: the channel receives only (see ReceiveOnly)
	// and the download needs the token it lacks; retrying cannot help
	// until the token is configured (then a replay can).
	ErrMediaNoCredential = errors.New("the channel receives only")
)

// BlockedRefuser is implemented by channels whose platform is the
// connector itself (the web chat). Their native block is the connector's:
// a contact blocked for inbound is refused where its messages arrive
// (at the door), instead of being recorded, and the delivery's answer
// names the refused events, so that the site can tell the visitor.
type BlockedRefuser interface {
	// RefusesBlocked reports whether the messages of contacts blocked for
	// inbound are refused where they arrive.
	RefusesBlocked() bool
}

// Acknowledger is implemented by platforms that expect a particular body
// in the 2xx answer to a delivery (Twilio reads TwiML). Others get the
// connector's JSON summary.
type Acknowledger interface {
	// Acknowledgement returns the content type and body of the answer.
	Acknowledgement() (contentType string, body []byte)
}

// AccountScoped is implemented by adapters of platforms where one webhook
// URL may carry deliveries for several accounts (a Meta app posts every
// Page's or phone number's events to its one callback URL). Such an adapter
// keeps only its own account's events and reports the others as ignored;
// the connector lets every channel of the same platform and tenant read
// its own account's events from a delivery posted to any of them.
type AccountScoped interface {
	// Account is the account the adapter reads: a phone number id, a Page
	// id, an Instagram account id.
	Account() string
}

// ReceiveOnly is implemented by adapters whose channel may be configured
// without the credential of the platform's API (a WhatsApp access token, a
// Telegram bot token, a LINE channel access token): such a channel
// receives webhooks, and sends and blocks nothing. MissingCredential says
// what is missing ("no access token configured"), or "" when the channel
// has it.
type ReceiveOnly interface {
	MissingCredential() string
}

// MissingCredential returns what a receive-only channel lacks to call its
// platform, or "" when it can (or its adapter makes no such distinction).
func MissingCredential(a Adapter) string {
	if r, ok := a.(ReceiveOnly); ok {
		return r.MissingCredential()
	}
	return ""
}

// SenderOf returns a's Sender, unless a has none or its channel is
// receive only.
func SenderOf(a Adapter) (Sender, bool) {
	s, ok := a.(Sender)
	return s, ok && MissingCredential(a) == ""
}

// BlockerOf returns a's Blocker, unless a has none or its channel is
// receive only.
func BlockerOf(a Adapter) (Blocker, bool) {
	b, ok := a.(Blocker)
	return b, ok && MissingCredential(a) == ""
}

// Capabilities are what an adapter supports beyond verify and parse.
type Capabilities struct {
	Handshake   bool `json:"handshake"`
	Send        bool `json:"send"`
	NativeBlock bool `json:"native_block"`
	Media       bool `json:"media"`
}

// CapabilitiesOf reports the optional interfaces a implements, sending
// and blocking only when its channel is not receive only.
func CapabilitiesOf(a Adapter) Capabilities {
	_, hs := a.(Handshaker)
	_, snd := SenderOf(a)
	_, blk := BlockerOf(a)
	_, med := a.(MediaFetcher)
	return Capabilities{Handshake: hs, Send: snd, NativeBlock: blk, Media: med}
}

// EventKind says what an event is.
type EventKind string

// Event kinds.
const (
	// KindMessage is a message from the contact: it is stored and may be
	// pushed to Salesforce.
	KindMessage EventKind = "message"
	// KindReceipt is a delivery, read or failure receipt of an outbound
	// message; it is accepted and never turned into a message.
	KindReceipt EventKind = "receipt"
	// KindContact is an event about the contact (follow, unfollow, the user
	// blocked the business, ...); it is not a message.
	KindContact EventKind = "contact"
	// KindIgnored is anything else the platform sends by design and the
	// connector does not handle (an event type it does not read, a receipt
	// of a message it never sent): accepted, counted by Detail, dropped.
	KindIgnored EventKind = "ignored"
	// KindUnusable is an event of an authentic delivery that the connector
	// cannot use as it is configured: another account's event, a chat id of
	// 0, an id too long to be a deduplication key. It is accepted and kept
	// in quarantine with Raw and Reason, for an operator to list and replay
	// once the configuration is fixed.
	KindUnusable EventKind = "unusable"
)

// Event is one thing a webhook delivery reports.
type Event struct {
	Kind EventKind
	// ID is the platform's id for the event, the deduplication key. For a
	// message it is the platform's message id.
	ID string
	// Contact is the platform user the event is about: for a message in a
	// group chat, the group (replies go there).
	Contact     string
	ContactName string
	// Sender is who wrote a message in a group chat, when the platform
	// says: "<name> (<id>)", or the id alone. Empty in a one-to-one chat,
	// where the writer is Contact.
	Sender string
	// Timestamp is the platform's time for the event (zero when it gives none).
	Timestamp time.Time
	// Message is set for KindMessage.
	Message *Message
	// Status is set for KindReceipt ("sent", "delivered", "read", "failed")
	// and KindContact ("unfollow", "blocked", ...).
	Status string
	// Detail is a short description for logs (an error code, the type of an
	// ignored event); never a secret.
	Detail string
	// Raw is set for KindUnusable: a body the adapter's Parse accepts that
	// holds this event alone (the whole body when the platform sends one
	// event per delivery; otherwise the delivery's envelope around this one
	// entry or update). Replay re-parses it with the channel's adapter as
	// configured then; it is kept verbatim, never logged.
	Raw []byte
	// Reason is set for KindUnusable: a short, stable, machine-readable
	// reason ("account_mismatch", "unknown_account", "chat_id_zero",
	// "id_too_long", ...) optionally followed by ": " and a detail; never a
	// secret.
	Reason string
}

// Reasons an adapter gives for a KindUnusable event. A reason may be
// followed by ": " and a detail (the account id, where in the body).
const (
	// ReasonOtherAccount: the event is for an account (a Twilio account, a
	// WhatsApp phone number id, a Page, an Instagram account) that is not
	// the channel's, and no channel of the tenant reads it.
	ReasonOtherAccount = "other_account"
	// ReasonNoChat: the event names no chat or a chat id of 0 (Telegram).
	ReasonNoChat = "no_chat"
)

// ReasonCode returns the reason without its detail: the metric's label.
func ReasonCode(reason string) string {
	code, _, _ := strings.Cut(reason, ":")
	return code
}

// Unusable returns a KindUnusable event for raw, with the reason.
func Unusable(raw []byte, reason string) Event {
	return Event{Kind: KindUnusable, Raw: append([]byte(nil), raw...), Reason: reason, Detail: reason}
}

// Message kinds. Platforms may add their own.
const (
	Text     = "text"
	Image    = "image"
	Video    = "video"
	Audio    = "audio"
	Document = "document"
	Sticker  = "sticker"
	Location = "location"
	Reaction = "reaction"
	Edit     = "edit"
	Unsend   = "unsend"
	Postback = "postback"
	Button   = "button"
	Contacts = "contacts"
	Other    = "other"
)

// Message is the content of a KindMessage event.
type Message struct {
	Kind string
	// Text is the message's text, a media caption, an emoji for a reaction,
	// a button's title or a location's description.
	Text string
	// MediaRef is the platform's media id or URL; MediaType its MIME type.
	MediaRef  string
	MediaType string
	// ReplyTo is the platform id of the message this one quotes, reacts to
	// or edits.
	ReplyTo string
}
