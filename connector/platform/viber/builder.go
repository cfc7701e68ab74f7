package viber

import (
	"encoding/json"
	"strconv"
	"time"
)

// The builders below write callbacks in the shape the Viber REST bot API
// posts, for tests, integration tests and the demo traffic generator. Sign
// the result with Sign to post it to the connector.

// Inbound is one message from a Viber user, for MessageCallback.
type Inbound struct {
	// Token is the message_token, a decimal integer (sent as a JSON
	// number, as Viber does; anything else is sent as a string).
	Token string
	// UserID is the sender's id; Name their name.
	UserID string
	Name   string
	// Time is the callback's timestamp (sent as epoch milliseconds).
	Time time.Time
	// Type is text, picture, video, file, sticker, contact, url or
	// location. Default text.
	Type string
	// Text is the text, or a picture's or video's caption.
	Text string
	// Media is the URL of a picture, video, file, sticker or url message.
	Media string
	// FileName and FileSize describe a file.
	FileName string
	FileSize int64
	// StickerID identifies a sticker.
	StickerID int64
	// Latitude and Longitude place a location.
	Latitude  float64
	Longitude float64
	// ContactName and ContactPhone describe a shared contact.
	ContactName  string
	ContactPhone string
}

// MessageCallback returns the callback of a message from a user.
func MessageCallback(in Inbound) []byte {
	typ := in.Type
	if typ == "" {
		typ = "text"
	}
	m := outMessage{Type: typ}
	switch typ {
	case "text":
		m.Text = in.Text
	case "picture":
		m.Text, m.Media = in.Text, in.Media
	case "video":
		m.Text, m.Media, m.Size, m.Duration = in.Text, in.Media, in.FileSize, 14
	case "file":
		m.Media, m.FileName, m.Size = in.Media, in.FileName, in.FileSize
	case "sticker":
		m.Media, m.StickerID = in.Media, in.StickerID
	case "contact":
		m.Contact = &outContact{Name: in.ContactName, PhoneNumber: in.ContactPhone}
	case "url":
		m.Media = in.Media
	case "location":
		m.Location = &outLocation{Lat: in.Latitude, Lon: in.Longitude}
	}
	sender := userOf(in.UserID, in.Name)
	return marshalCallback(outCallback{Event: "message", Timestamp: in.Time.UnixMilli(), ChatHostname: builderHostname,
		MessageToken: tokenJSON(in.Token), Sender: &sender, Message: &m, Silent: new(bool)})
}

// TextCallback returns the callback of one text message.
func TextCallback(token, userID, name, text string, ts time.Time) []byte {
	return MessageCallback(Inbound{Token: token, UserID: userID, Name: name, Time: ts, Type: "text", Text: text})
}

// PictureCallback returns the callback of one picture at mediaURL with a
// caption.
func PictureCallback(token, userID, name, mediaURL, caption string, ts time.Time) []byte {
	return MessageCallback(Inbound{Token: token, UserID: userID, Name: name, Time: ts, Type: "picture",
		Media: mediaURL, Text: caption})
}

// ReceiptCallback returns a delivered, seen or failed callback for the
// bot's message token sent to userID; desc describes a failure.
func ReceiptCallback(event, token, userID string, ts time.Time, desc string) []byte {
	c := outCallback{Event: event, Timestamp: ts.UnixMilli(), ChatHostname: builderHostname,
		MessageToken: tokenJSON(token), UserID: userID}
	if event == "failed" {
		c.Desc = desc
	}
	return marshalCallback(c)
}

// SubscribedCallback returns the callback of a user subscribing to the bot.
func SubscribedCallback(token, userID, name string, ts time.Time) []byte {
	u := userOf(userID, name)
	return marshalCallback(outCallback{Event: "subscribed", Timestamp: ts.UnixMilli(), ChatHostname: builderHostname,
		User: &u, MessageToken: tokenJSON(token)})
}

// UnsubscribedCallback returns the callback of a user unsubscribing from
// the bot.
func UnsubscribedCallback(token, userID string, ts time.Time) []byte {
	return marshalCallback(outCallback{Event: "unsubscribed", Timestamp: ts.UnixMilli(), ChatHostname: builderHostname,
		UserID: userID, MessageToken: tokenJSON(token)})
}

// ConversationStartedCallback returns the callback of a user opening the
// bot's chat, with the deep link's context and whether they are
// subscribed.
func ConversationStartedCallback(token, userID, name, context string, subscribed bool, ts time.Time) []byte {
	u := userOf(userID, name)
	return marshalCallback(outCallback{Event: "conversation_started", Timestamp: ts.UnixMilli(), ChatHostname: builderHostname,
		MessageToken: tokenJSON(token), Type: "open", Context: context, User: &u, Subscribed: &subscribed})
}

// WebhookCallback returns the callback Viber posts to check the URL given
// to set_webhook.
func WebhookCallback(token string, ts time.Time) []byte {
	return marshalCallback(outCallback{Event: "webhook", Timestamp: ts.UnixMilli(), ChatHostname: builderHostname,
		MessageToken: tokenJSON(token)})
}

// builderHostname fills chat_hostname, which the adapter does not read.
const builderHostname = "SN-CHAT-07_"

func userOf(id, name string) outUser {
	return outUser{ID: id, Name: name, Avatar: "https://media-direct.cdn.viber.com/download_photo?dlid=0&fltp=jpg&imsz=0000",
		Language: "en", Country: "DE", APIVersion: 10}
}

// tokenJSON writes a message token as a JSON number when it is an integer,
// else as a string.
func tokenJSON(t string) json.RawMessage {
	if t == "" {
		return nil
	}
	if isInteger(t) {
		return json.RawMessage(t)
	}
	return json.RawMessage(strconv.Quote(t))
}

func marshalCallback(c outCallback) []byte {
	b, err := json.Marshal(c)
	if err != nil {
		// Only strings, numbers, booleans and checked tokens are
		// marshalled: this can not fail.
		panic("viber: marshalling a built callback: " + err.Error())
	}
	return b
}

// The output shapes, with Viber's field names.
type (
	outCallback struct {
		Event        string          `json:"event"`
		Timestamp    int64           `json:"timestamp"`
		ChatHostname string          `json:"chat_hostname,omitempty"`
		MessageToken json.RawMessage `json:"message_token,omitempty"`
		UserID       string          `json:"user_id,omitempty"`
		Type         string          `json:"type,omitempty"`
		Context      string          `json:"context,omitempty"`
		User         *outUser        `json:"user,omitempty"`
		Subscribed   *bool           `json:"subscribed,omitempty"`
		Sender       *outUser        `json:"sender,omitempty"`
		Message      *outMessage     `json:"message,omitempty"`
		Desc         string          `json:"desc,omitempty"`
		Silent       *bool           `json:"silent,omitempty"`
	}
	outUser struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Avatar     string `json:"avatar,omitempty"`
		Language   string `json:"language,omitempty"`
		Country    string `json:"country,omitempty"`
		APIVersion int    `json:"api_version,omitempty"`
	}
	outMessage struct {
		Type      string       `json:"type"`
		Text      string       `json:"text,omitempty"`
		Media     string       `json:"media,omitempty"`
		FileName  string       `json:"file_name,omitempty"`
		Size      int64        `json:"file_size,omitempty"`
		Duration  int          `json:"duration,omitempty"`
		StickerID int64        `json:"sticker_id,omitempty"`
		Contact   *outContact  `json:"contact,omitempty"`
		Location  *outLocation `json:"location,omitempty"`
	}
	outContact struct {
		Name        string `json:"name"`
		PhoneNumber string `json:"phone_number"`
	}
	outLocation struct {
		Lat float64 `json:"lat"`
		Lon float64 `json:"lon"`
	}
)
