package whatsapp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
)

// The builders below write webhook deliveries in the shape the Cloud API
// sends, for tests, integration tests and the demo traffic generator. Sign
// the result with Sign to post it to the connector.

const (
	// builderAccountID and builderDisplayNumber fill entry.id and
	// metadata.display_phone_number, which the adapter does not read.
	builderAccountID     = "100200300400500"
	builderDisplayNumber = "15550100200"
)

// Inbound is one message from a WhatsApp user, for Delivery.
type Inbound struct {
	// From is the user's wa_id; Name their profile name.
	From string
	Name string
	// ID is the message id (a "wamid." string).
	ID string
	// Time is the message's timestamp (sent as unix seconds).
	Time time.Time
	// Type is text, image, video, audio, document, sticker or reaction.
	// Default text.
	Type string
	// Text is the text body, the media caption or the reaction emoji.
	Text string
	// MediaID and MimeType describe the media of image, video, audio,
	// document and sticker messages; Filename the document's file name.
	MediaID  string
	MimeType string
	Filename string
	// ReplyTo is, for a reaction, the message reacted to; for other types
	// the message quoted (context.id).
	ReplyTo string
}

// Status is one status update of an outbound message, for StatusDelivery.
type Status struct {
	// ID is the outbound message's id (wamid).
	ID string
	// Recipient is the user's wa_id.
	Recipient string
	// Status is sent, delivered, read or failed.
	Status string
	// Time is the status's timestamp (sent as unix seconds).
	Time time.Time
	// ErrorCode and ErrorTitle describe a failure (for example 131047,
	// "Re-engagement message").
	ErrorCode  int
	ErrorTitle string
}

// Delivery returns a webhook delivery for phoneNumberID carrying msgs, in
// order, in one change, with a contacts entry per distinct sender.
func Delivery(phoneNumberID string, msgs ...Inbound) []byte {
	v := outValue{MessagingProduct: "whatsapp", Metadata: outMetadata{DisplayPhoneNumber: builderDisplayNumber, PhoneNumberID: phoneNumberID}}
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m.From] {
			seen[m.From] = true
			c := outContact{WaID: m.From}
			c.Profile.Name = m.Name
			v.Contacts = append(v.Contacts, c)
		}
		v.Messages = append(v.Messages, outMessageOf(m))
	}
	return marshalDelivery(v)
}

// TextDelivery returns a delivery of one text message.
func TextDelivery(phoneNumberID, waID, name, msgID, text string, ts time.Time) []byte {
	return Delivery(phoneNumberID, Inbound{From: waID, Name: name, ID: msgID, Time: ts, Type: "text", Text: text})
}

// ImageDelivery returns a delivery of one image with its media id, MIME
// type and caption.
func ImageDelivery(phoneNumberID, waID, name, msgID, mediaID, mimeType, caption string, ts time.Time) []byte {
	return Delivery(phoneNumberID, Inbound{From: waID, Name: name, ID: msgID, Time: ts, Type: "image",
		MediaID: mediaID, MimeType: mimeType, Text: caption})
}

// ReactionDelivery returns a delivery of one reaction with emoji to the
// message targetID (an empty emoji removes a reaction).
func ReactionDelivery(phoneNumberID, waID, name, msgID, targetID, emoji string, ts time.Time) []byte {
	return Delivery(phoneNumberID, Inbound{From: waID, Name: name, ID: msgID, Time: ts, Type: "reaction",
		Text: emoji, ReplyTo: targetID})
}

// StatusDelivery returns a delivery of status updates of outbound messages.
func StatusDelivery(phoneNumberID string, statuses ...Status) []byte {
	v := outValue{MessagingProduct: "whatsapp", Metadata: outMetadata{DisplayPhoneNumber: builderDisplayNumber, PhoneNumberID: phoneNumberID}}
	for _, s := range statuses {
		o := outStatus{ID: s.ID, Status: s.Status, Timestamp: unixString(s.Time), RecipientID: s.Recipient}
		if s.Status == "failed" {
			e := outError{Code: s.ErrorCode, Title: s.ErrorTitle, Message: s.ErrorTitle}
			e.ErrorData.Details = s.ErrorTitle
			o.Errors = []outError{e}
		} else {
			o.Pricing = &outPricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: "service"}
		}
		v.Statuses = append(v.Statuses, o)
	}
	return marshalDelivery(v)
}

func outMessageOf(m Inbound) outMessage {
	typ := m.Type
	if typ == "" {
		typ = "text"
	}
	o := outMessage{From: m.From, ID: m.ID, Timestamp: unixString(m.Time), Type: typ}
	media := &outMedia{Caption: m.Text, MimeType: m.MimeType, SHA256: fakeSHA256(m.MediaID), ID: m.MediaID}
	switch typ {
	case "text":
		o.Text = &outText{Body: m.Text}
	case "image":
		o.Image = media
	case "video":
		o.Video = media
	case "audio":
		media.Caption = ""
		o.Audio = media
	case "document":
		media.Filename = m.Filename
		o.Document = media
	case "sticker":
		media.Caption = ""
		o.Sticker = media
	case "reaction":
		o.Reaction = &outReaction{MessageID: m.ReplyTo, Emoji: m.Text}
		return o
	}
	if m.ReplyTo != "" {
		o.Context = &outContext{From: m.From, ID: m.ReplyTo}
	}
	return o
}

func marshalDelivery(v outValue) []byte {
	w := outWebhook{Object: Object, Entry: []outEntry{{ID: builderAccountID, Changes: []outChange{{Value: v, Field: "messages"}}}}}
	b, err := json.Marshal(w)
	if err != nil {
		// Only strings, numbers and booleans are marshalled: this can not
		// fail.
		panic("whatsapp: marshalling a built delivery: " + err.Error())
	}
	return b
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// fakeSHA256 stands in for the media file's hash, which the adapter does
// not read.
func fakeSHA256(mediaID string) string {
	if mediaID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(mediaID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// The output shapes, in the field order Meta uses.
type (
	outWebhook struct {
		Object string     `json:"object"`
		Entry  []outEntry `json:"entry"`
	}
	outEntry struct {
		ID      string      `json:"id"`
		Changes []outChange `json:"changes"`
	}
	outChange struct {
		Value outValue `json:"value"`
		Field string   `json:"field"`
	}
	outValue struct {
		MessagingProduct string       `json:"messaging_product"`
		Metadata         outMetadata  `json:"metadata"`
		Contacts         []outContact `json:"contacts,omitempty"`
		Messages         []outMessage `json:"messages,omitempty"`
		Statuses         []outStatus  `json:"statuses,omitempty"`
	}
	outMetadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	outContact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	}
	outMessage struct {
		Context   *outContext  `json:"context,omitempty"`
		From      string       `json:"from"`
		ID        string       `json:"id"`
		Timestamp string       `json:"timestamp"`
		Type      string       `json:"type"`
		Text      *outText     `json:"text,omitempty"`
		Image     *outMedia    `json:"image,omitempty"`
		Video     *outMedia    `json:"video,omitempty"`
		Audio     *outMedia    `json:"audio,omitempty"`
		Document  *outMedia    `json:"document,omitempty"`
		Sticker   *outMedia    `json:"sticker,omitempty"`
		Reaction  *outReaction `json:"reaction,omitempty"`
	}
	outContext struct {
		From string `json:"from"`
		ID   string `json:"id"`
	}
	outText struct {
		Body string `json:"body"`
	}
	outMedia struct {
		Caption  string `json:"caption,omitempty"`
		Filename string `json:"filename,omitempty"`
		MimeType string `json:"mime_type"`
		SHA256   string `json:"sha256"`
		ID       string `json:"id"`
	}
	outReaction struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	}
	outStatus struct {
		ID          string      `json:"id"`
		Status      string      `json:"status"`
		Timestamp   string      `json:"timestamp"`
		RecipientID string      `json:"recipient_id"`
		Pricing     *outPricing `json:"pricing,omitempty"`
		Errors      []outError  `json:"errors,omitempty"`
	}
	outPricing struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Type         string `json:"type"`
		Category     string `json:"category"`
	}
	outError struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	}
)
