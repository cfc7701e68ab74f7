package twilio

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
)

// The builders below write webhook bodies in the shape Twilio posts
// (application/x-www-form-urlencoded), for tests, integration tests and
// the demo traffic generator. Sign them with SignBody (or Sign on the
// parameters) for the URL they are posted to.

// Inbound is one incoming message, for InboundBody.
type Inbound struct {
	// AccountSID is the account that owns the number.
	AccountSID string
	// MessageSID is the message's SID ("SM" or "MM" and 32 hex digits);
	// derived from the other fields when empty.
	MessageSID string
	// From is the sender ("+14155550100", or "whatsapp:+14155550100"); To
	// the channel's number or WhatsApp sender.
	From, To string
	// Body is the text or a media caption.
	Body string
	// ProfileName is the WhatsApp profile name.
	ProfileName string
	// Media are the attachments.
	Media []Media
	// ReplyTo is the SID of the message a WhatsApp reply quotes
	// (OriginalRepliedMessageSid).
	ReplyTo string
	// ButtonText and ButtonPayload describe a WhatsApp button reply.
	ButtonText, ButtonPayload string
	// Latitude, Longitude, Address and Label describe a WhatsApp location.
	Latitude, Longitude, Address, Label string
	// OptOutType is STOP, START or HELP for a keyword Twilio recognised
	// (Advanced Opt-Out).
	OptOutType string
}

// Media is one attachment: its URL on api.twilio.com and its MIME type.
type Media struct {
	URL, ContentType string
}

// Status is one status callback of an outbound message, for StatusBody.
type Status struct {
	// AccountSID is the account that sent the message.
	AccountSID string
	// MessageSID is the outbound message's SID.
	MessageSID string
	// From is the channel's sender; To the recipient.
	From, To string
	// Status is queued, sent, delivered, read, failed or undelivered.
	Status string
	// ErrorCode describes a failure (for example 21610 or 30003); zero for
	// none.
	ErrorCode int
}

// InboundBody returns the body Twilio posts to the incoming message webhook
// for m.
func InboundBody(m Inbound) []byte {
	sid := m.MessageSID
	if sid == "" {
		prefix := "SM"
		if len(m.Media) > 0 {
			prefix = "MM"
		}
		sid = derivedSID(prefix, m.From+"|"+m.To+"|"+m.Body+"|"+m.ButtonPayload)
	}
	v := url.Values{}
	v.Set("AccountSid", m.AccountSID)
	v.Set("ApiVersion", "2010-04-01")
	v.Set("Body", m.Body)
	v.Set("From", m.From)
	v.Set("MessageSid", sid)
	v.Set("NumMedia", strconv.Itoa(len(m.Media)))
	v.Set("NumSegments", "1")
	v.Set("SmsMessageSid", sid)
	v.Set("SmsSid", sid)
	v.Set("SmsStatus", "received")
	v.Set("To", m.To)
	for i, md := range m.Media {
		v.Set("MediaUrl"+strconv.Itoa(i), md.URL)
		v.Set("MediaContentType"+strconv.Itoa(i), md.ContentType)
	}
	if waID, ok := strings.CutPrefix(m.From, WhatsAppPrefix); ok {
		v.Set("WaId", strings.TrimPrefix(waID, "+"))
		v.Set("ProfileName", m.ProfileName)
		v.Set("MessageType", whatsAppType(m))
		v.Set("ReferralNumMedia", "0")
		v.Set("Forwarded", "false")
	} else {
		v.Set("FromCountry", "US")
		v.Set("ToCountry", "US")
	}
	setIf := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	setIf("OriginalRepliedMessageSid", m.ReplyTo)
	setIf("ButtonText", m.ButtonText)
	setIf("ButtonPayload", m.ButtonPayload)
	setIf("Latitude", m.Latitude)
	setIf("Longitude", m.Longitude)
	setIf("Address", m.Address)
	setIf("Label", m.Label)
	setIf("OptOutType", m.OptOutType)
	return []byte(v.Encode())
}

// whatsAppType is the MessageType Twilio gives a WhatsApp message.
func whatsAppType(m Inbound) string {
	switch {
	case m.Latitude != "" || m.Longitude != "":
		return "location"
	case m.ButtonText != "" || m.ButtonPayload != "":
		return "button"
	case len(m.Media) > 0:
		t := m.Media[0].ContentType
		switch {
		case strings.HasPrefix(t, "image/"):
			return "image"
		case strings.HasPrefix(t, "video/"):
			return "video"
		case strings.HasPrefix(t, "audio/"):
			return "audio"
		}
		return "document"
	}
	return "text"
}

// StatusBody returns the body Twilio posts to a message's status callback
// URL for s.
func StatusBody(s Status) []byte {
	v := url.Values{}
	v.Set("AccountSid", s.AccountSID)
	v.Set("ApiVersion", "2010-04-01")
	v.Set("From", s.From)
	v.Set("MessageSid", s.MessageSID)
	v.Set("MessageStatus", s.Status)
	v.Set("SmsSid", s.MessageSID)
	v.Set("SmsStatus", s.Status)
	v.Set("To", s.To)
	if s.ErrorCode != 0 {
		v.Set("ErrorCode", strconv.Itoa(s.ErrorCode))
	}
	if strings.HasPrefix(s.From, WhatsAppPrefix) {
		v.Set("ChannelPrefix", "whatsapp")
		v.Set("ChannelToAddress", strings.TrimPrefix(s.To, WhatsAppPrefix))
	}
	return []byte(v.Encode())
}

// derivedSID makes a SID-shaped id (prefix and 32 hex digits) from seed.
func derivedSID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return prefix + hex.EncodeToString(sum[:16])
}
