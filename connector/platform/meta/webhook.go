package meta

import (
	"encoding/json"
	"fmt"
	"github.com/chatsync/sfconnector/connector/platform"
	"strconv"
	"time"
)

// The Messenger Platform webhook format, shared by Messenger and Instagram
// Messaging, as far as the adapters read and write it. ParseMessaging
// decodes deliveries into these types and the builders marshal them, so
// that what the tests send is what the parser reads. Fields the adapters
// do not use are left out: a change in them can not make a delivery
// unreadable.

// Webhook is one delivery: a POST body.
type Webhook struct {
	// Object is "page" for Messenger and "instagram" for Instagram.
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is the part of a delivery about one account (a Page or an
// Instagram professional account).
type Entry struct {
	// ID is the account's id: the Page id, or the Instagram professional
	// account id.
	ID Flex `json:"id"`
	// Time is when Meta sent the entry.
	Time Millis `json:"time,omitempty"`
	// Messaging holds the messaging events; Standby those received while
	// another app owned the conversation (handover protocol).
	Messaging []Messaging `json:"messaging,omitempty"`
	Standby   []Messaging `json:"standby,omitempty"`
	// Changes are the entry's other notifications (Instagram comments and
	// mentions, Page feed changes); Field is the same for a delivery that
	// carries one change in the entry itself.
	Changes []Change `json:"changes,omitempty"`
	Field   string   `json:"field,omitempty"`
}

// Change is a notification that is not a messaging event.
type Change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value,omitempty"`
}

// Party is the sender or the recipient of a messaging event.
type Party struct {
	// ID is the user's page- or Instagram-scoped id (PSID, IGSID), or the
	// account's id.
	ID Flex `json:"id,omitempty"`
	// UserRef identifies a guest of the Messenger chat plugin, who has no
	// PSID yet.
	UserRef string `json:"user_ref,omitempty"`
}

// Key returns the id of the party, or its user_ref when it has no id.
func (p Party) Key() string {
	if p.ID != "" {
		return string(p.ID)
	}
	return p.UserRef
}

// Messaging is one messaging event; one of its pointer fields says what it
// is.
type Messaging struct {
	Sender    Party  `json:"sender"`
	Recipient Party  `json:"recipient"`
	Timestamp Millis `json:"timestamp,omitempty"`

	Message     *Message     `json:"message,omitempty"`
	MessageEdit *MessageEdit `json:"message_edit,omitempty"`
	Reaction    *Reaction    `json:"reaction,omitempty"`
	Postback    *Postback    `json:"postback,omitempty"`
	Delivery    *Delivery    `json:"delivery,omitempty"`
	Read        *Read        `json:"read,omitempty"`
}

// Message is a message from the user, or an echo of the business's own.
type Message struct {
	MID  string `json:"mid"`
	Text string `json:"text,omitempty"`
	// IsEcho marks a message the business sent; AppID is the app that sent
	// it.
	IsEcho bool `json:"is_echo,omitempty"`
	AppID  Flex `json:"app_id,omitempty"`
	// IsDeleted marks an Instagram message its sender unsent.
	IsDeleted bool `json:"is_deleted,omitempty"`
	// IsUnsupported marks content Meta does not pass on (Instagram GIFs,
	// stickers, ...).
	IsUnsupported bool           `json:"is_unsupported,omitempty"`
	QuickReply    *QuickReply    `json:"quick_reply,omitempty"`
	ReplyTo       *ReplyTo       `json:"reply_to,omitempty"`
	Attachments   []Attachment   `json:"attachments,omitempty"`
	Referral      *MessageOrigin `json:"referral,omitempty"`
}

// QuickReply is the quick-reply button a message answers.
type QuickReply struct {
	Payload string `json:"payload"`
}

// ReplyTo is the message, or the Instagram story, a message answers.
type ReplyTo struct {
	MID   string `json:"mid,omitempty"`
	Story *Story `json:"story,omitempty"`
}

// Story is an Instagram story a message replies to.
type Story struct {
	ID  Flex   `json:"id,omitempty"`
	URL string `json:"url,omitempty"`
}

// MessageOrigin tells where a conversation started (an ad, a link, ...).
type MessageOrigin struct {
	Source string `json:"source,omitempty"`
	Type   string `json:"type,omitempty"`
	Ref    string `json:"ref,omitempty"`
}

// Attachment is a media file, a location, a share or a template of a
// message.
type Attachment struct {
	// Type is image, video, audio, file, location, fallback, template,
	// share, story_mention, reel, ig_reel, post, ig_post, ...
	Type    string             `json:"type"`
	Payload *AttachmentPayload `json:"payload,omitempty"`
	// Title and URL describe a fallback attachment (a shared link).
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
}

// AttachmentPayload is what an attachment holds.
type AttachmentPayload struct {
	URL         string       `json:"url,omitempty"`
	Title       string       `json:"title,omitempty"`
	StickerID   Flex         `json:"sticker_id,omitempty"`
	ReelVideoID Flex         `json:"reel_video_id,omitempty"`
	Coordinates *Coordinates `json:"coordinates,omitempty"`
}

// Coordinates are a shared location's.
type Coordinates struct {
	Lat  Flex `json:"lat"`
	Long Flex `json:"long"`
}

// MessageEdit is a user's edit of a message they sent.
type MessageEdit struct {
	MID     string `json:"mid"`
	Text    string `json:"text,omitempty"`
	NumEdit Flex   `json:"num_edit,omitempty"`
}

// Reaction is a user's reaction to a message, or its removal.
type Reaction struct {
	MID string `json:"mid"`
	// Action is "react" or "unreact".
	Action string `json:"action"`
	// Reaction names it (love, like, smile, wow, sad, angry, ...); Emoji is
	// the emoji itself.
	Reaction string `json:"reaction,omitempty"`
	Emoji    string `json:"emoji,omitempty"`
}

// Postback is a tap on a postback button, the Get Started button, a
// persistent menu item or an Instagram icebreaker.
type Postback struct {
	MID     string `json:"mid,omitempty"`
	Title   string `json:"title,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// Delivery reports messages of the business delivered to the user.
type Delivery struct {
	MIDs      []string `json:"mids,omitempty"`
	Watermark Millis   `json:"watermark,omitempty"`
}

// Read reports messages of the business read by the user: up to Watermark
// (Messenger) or the message MID (Instagram).
type Read struct {
	Watermark Millis `json:"watermark,omitempty"`
	MID       string `json:"mid,omitempty"`
}

// Flex is platform.FlexString: a JSON string or number kept as its text.
type Flex = platform.FlexString

// Millis is a Meta timestamp: milliseconds since the epoch, sent as a JSON
// integer (or, in some samples, a string). It is written as a JSON integer.
type Millis int64

// UnmarshalJSON implements json.Unmarshaler. Only integers are accepted:
// a timestamp never needs a fraction or an exponent.
func (m *Millis) UnmarshalJSON(b []byte) error {
	var f Flex
	if err := f.UnmarshalJSON(b); err != nil {
		return err
	}
	if f == "" {
		*m = 0
		return nil
	}
	n, err := strconv.ParseInt(string(f), 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not an integer", platform.Clip(string(f), 40))
	}
	*m = Millis(n)
	return nil
}

// secondsBelow: a timestamp below it is taken as seconds, not
// milliseconds. 1e11 ms is March 1973; 1e11 s is the year 5138. Meta's
// samples sometimes give seconds.
const secondsBelow = 100_000_000_000

// Time returns the timestamp as a UTC time; zero stays the zero time.
func (m Millis) Time() time.Time {
	switch {
	case m == 0:
		return time.Time{}
	case m > -secondsBelow && m < secondsBelow:
		return time.Unix(int64(m), 0).UTC()
	default:
		return time.UnixMilli(int64(m)).UTC()
	}
}

// String writes the timestamp as its integer.
func (m Millis) String() string { return strconv.FormatInt(int64(m), 10) }

// MillisOf returns t as a Millis; the zero time is 0.
func MillisOf(t time.Time) Millis {
	if t.IsZero() {
		return 0
	}
	return Millis(t.UnixMilli())
}

// JSON returns w marshalled as Meta writes deliveries, for tests and the
// demo traffic generator; sign it with Sign.
func (w Webhook) JSON() []byte {
	b, err := json.Marshal(w)
	if err != nil {
		// Only strings, integers and booleans are marshalled: this can not
		// fail.
		panic("meta: marshalling a built delivery: " + err.Error())
	}
	return b
}
