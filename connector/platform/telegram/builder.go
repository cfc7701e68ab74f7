package telegram

import (
	"encoding/json"
	"time"
)

// The builders below write updates in the shape the Bot API posts to a
// webhook, for tests, integration tests and the demo traffic generator. Post
// them with the header SecretHeader set to Sign(secretToken, body).

// User is a Telegram user, for the builders. Their private chat with the
// bot has the same id as the user.
type User struct {
	ID        int64
	FirstName string
	LastName  string
	Username  string
}

// Inbound is one message from a user in their private chat with the bot,
// for MessageUpdate and EditedUpdate.
type Inbound struct {
	// UpdateID is the update's sequence number.
	UpdateID int64
	// From is the user writing.
	From User
	// MessageID is the message's id in the chat.
	MessageID int64
	// Time is the message's date (sent as unix seconds).
	Time time.Time
	// Type is text, photo, video, audio, voice, document, sticker or
	// location. Default text.
	Type string
	// Text is the text, the media caption or the sticker's emoji.
	Text string
	// FileID, MimeType and FileName describe the media; a photo is sent in
	// three sizes, FileID being the largest.
	FileID   string
	MimeType string
	FileName string
	// ReplyTo is the id of the message quoted, in the same chat (0: none).
	ReplyTo int64
	// Latitude and Longitude place a location.
	Latitude  float64
	Longitude float64
}

// MessageUpdate returns the update of a new message.
func MessageUpdate(in Inbound) []byte {
	m := outMessageOf(in)
	return marshalUpdate(outUpdate{UpdateID: in.UpdateID, Message: &m})
}

// EditedUpdate returns the update of the message in edited at editTime
// (in holds the new content).
func EditedUpdate(in Inbound, editTime time.Time) []byte {
	m := outMessageOf(in)
	m.EditDate = editTime.Unix()
	return marshalUpdate(outUpdate{UpdateID: in.UpdateID, EditedMessage: &m})
}

// TextUpdate returns the update of one text message.
func TextUpdate(updateID int64, from User, messageID int64, text string, ts time.Time) []byte {
	return MessageUpdate(Inbound{UpdateID: updateID, From: from, MessageID: messageID, Time: ts, Type: "text", Text: text})
}

// PhotoUpdate returns the update of one photo, fileID being its largest
// size, with a caption.
func PhotoUpdate(updateID int64, from User, messageID int64, fileID, caption string, ts time.Time) []byte {
	return MessageUpdate(Inbound{UpdateID: updateID, From: from, MessageID: messageID, Time: ts, Type: "photo",
		FileID: fileID, Text: caption})
}

// CallbackUpdate returns the update of the user pressing the inline button
// titled title, with callback data data, under the bot's message
// messageID.
func CallbackUpdate(updateID int64, from User, callbackID string, messageID int64, title, data string, ts time.Time) []byte {
	bot := outUser{ID: builderBotID, IsBot: true, FirstName: builderBotName, Username: builderBotUsername}
	m := outMessage{MessageID: messageID, From: &bot, Chat: privateChat(from), Date: ts.Unix(), Text: "Choose one:",
		ReplyMarkup: &outMarkup{InlineKeyboard: [][]outButton{{{Text: title, CallbackData: data}}}}}
	u := outUserOf(from)
	q := outCallback{ID: callbackID, From: &u, Message: &m, ChatInstance: builderChatInstance, Data: data}
	return marshalUpdate(outUpdate{UpdateID: updateID, CallbackQuery: &q})
}

// ReactionUpdate returns the update of the user setting emoji as their
// reaction to messageID (an empty emoji removes their reaction).
func ReactionUpdate(updateID int64, from User, messageID int64, emoji string, ts time.Time) []byte {
	u := outUserOf(from)
	r := outReaction{Chat: privateChat(from), MessageID: messageID, User: &u, Date: ts.Unix(),
		OldReaction: []outReactionType{}, NewReaction: []outReactionType{}}
	if emoji != "" {
		r.NewReaction = append(r.NewReaction, outReactionType{Type: "emoji", Emoji: emoji})
	}
	return marshalUpdate(outUpdate{UpdateID: updateID, MessageReaction: &r})
}

// MemberUpdate returns the my_chat_member update of the bot's status in the
// user's private chat changing from oldStatus to newStatus: "member" to
// "kicked" when the user blocks the bot, back to "member" when they
// unblock it.
func MemberUpdate(updateID int64, from User, oldStatus, newStatus string, ts time.Time) []byte {
	bot := outUser{ID: builderBotID, IsBot: true, FirstName: builderBotName, Username: builderBotUsername}
	u := outUserOf(from)
	c := outMemberUpdated{Chat: privateChat(from), From: &u, Date: ts.Unix(),
		OldChatMember: outMember{User: &bot, Status: oldStatus}, NewChatMember: outMember{User: &bot, Status: newStatus}}
	if newStatus == "kicked" {
		c.NewChatMember.UntilDate = new(int64)
	}
	return marshalUpdate(outUpdate{UpdateID: updateID, MyChatMember: &c})
}

// The bot the builders' messages and keyboards come from.
const (
	builderBotID        = 7012345678
	builderBotName      = "Acme Support"
	builderBotUsername  = "acme_support_bot"
	builderChatInstance = "-4619327182837219744"
)

func outMessageOf(in Inbound) outMessage {
	from := outUserOf(in.From)
	m := outMessage{MessageID: in.MessageID, From: &from, Chat: privateChat(in.From), Date: in.Time.Unix()}
	switch in.Type {
	case "", "text":
		m.Text = in.Text
	case "photo":
		m.Caption = in.Text
		m.Photo = []outPhoto{
			{FileID: in.FileID + "-s", FileUniqueID: uniqueID(in.FileID + "-s"), Width: 90, Height: 67, FileSize: 1462},
			{FileID: in.FileID + "-m", FileUniqueID: uniqueID(in.FileID + "-m"), Width: 320, Height: 240, FileSize: 19810},
			{FileID: in.FileID, FileUniqueID: uniqueID(in.FileID), Width: 1280, Height: 960, FileSize: 152304},
		}
	case "video":
		m.Caption = in.Text
		m.Video = &outFile{FileID: in.FileID, FileUniqueID: uniqueID(in.FileID), FileName: in.FileName, MimeType: in.MimeType, Duration: 12}
	case "audio":
		m.Caption = in.Text
		m.Audio = &outFile{FileID: in.FileID, FileUniqueID: uniqueID(in.FileID), FileName: in.FileName, MimeType: in.MimeType, Duration: 184}
	case "voice":
		m.Voice = &outFile{FileID: in.FileID, FileUniqueID: uniqueID(in.FileID), MimeType: in.MimeType, Duration: 4}
	case "document":
		m.Caption = in.Text
		m.Document = &outFile{FileID: in.FileID, FileUniqueID: uniqueID(in.FileID), FileName: in.FileName, MimeType: in.MimeType}
	case "sticker":
		m.Sticker = &outSticker{FileID: in.FileID, FileUniqueID: uniqueID(in.FileID), Type: "regular", Width: 512, Height: 512,
			Emoji: in.Text, SetName: "AcmeStickers"}
	case "location":
		m.Location = &outLocation{Latitude: in.Latitude, Longitude: in.Longitude}
	}
	if in.ReplyTo != 0 {
		m.ReplyToMessage = &outMessage{MessageID: in.ReplyTo, Chat: privateChat(in.From), Date: in.Time.Unix() - 60, Text: "…"}
	}
	return m
}

func outUserOf(u User) outUser {
	return outUser{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: "en"}
}

func privateChat(u User) *outChat {
	return &outChat{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, Type: "private"}
}

// uniqueID stands in for file_unique_id, which the adapter does not read.
func uniqueID(fileID string) string {
	if len(fileID) > 16 {
		return "AQAD" + fileID[len(fileID)-12:]
	}
	return "AQAD" + fileID
}

func marshalUpdate(u outUpdate) []byte {
	b, err := json.Marshal(u)
	if err != nil {
		// Only strings, numbers and booleans are marshalled: this can not
		// fail.
		panic("telegram: marshalling a built update: " + err.Error())
	}
	return b
}

// The output shapes, with the Bot API's field names.
type (
	outUpdate struct {
		UpdateID        int64             `json:"update_id"`
		Message         *outMessage       `json:"message,omitempty"`
		EditedMessage   *outMessage       `json:"edited_message,omitempty"`
		CallbackQuery   *outCallback      `json:"callback_query,omitempty"`
		MessageReaction *outReaction      `json:"message_reaction,omitempty"`
		MyChatMember    *outMemberUpdated `json:"my_chat_member,omitempty"`
	}
	outUser struct {
		ID           int64  `json:"id"`
		IsBot        bool   `json:"is_bot"`
		FirstName    string `json:"first_name"`
		LastName     string `json:"last_name,omitempty"`
		Username     string `json:"username,omitempty"`
		LanguageCode string `json:"language_code,omitempty"`
	}
	outChat struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name,omitempty"`
		LastName  string `json:"last_name,omitempty"`
		Username  string `json:"username,omitempty"`
		Type      string `json:"type"`
	}
	outMessage struct {
		MessageID      int64        `json:"message_id"`
		From           *outUser     `json:"from,omitempty"`
		Chat           *outChat     `json:"chat"`
		Date           int64        `json:"date"`
		EditDate       int64        `json:"edit_date,omitempty"`
		ReplyToMessage *outMessage  `json:"reply_to_message,omitempty"`
		Text           string       `json:"text,omitempty"`
		Caption        string       `json:"caption,omitempty"`
		Photo          []outPhoto   `json:"photo,omitempty"`
		Video          *outFile     `json:"video,omitempty"`
		Audio          *outFile     `json:"audio,omitempty"`
		Voice          *outFile     `json:"voice,omitempty"`
		Document       *outFile     `json:"document,omitempty"`
		Sticker        *outSticker  `json:"sticker,omitempty"`
		Location       *outLocation `json:"location,omitempty"`
		ReplyMarkup    *outMarkup   `json:"reply_markup,omitempty"`
	}
	outPhoto struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		FileSize     int64  `json:"file_size"`
		Width        int64  `json:"width"`
		Height       int64  `json:"height"`
	}
	outFile struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		Duration     int    `json:"duration,omitempty"`
		FileName     string `json:"file_name,omitempty"`
		MimeType     string `json:"mime_type,omitempty"`
	}
	outSticker struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		Type         string `json:"type"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		IsAnimated   bool   `json:"is_animated"`
		IsVideo      bool   `json:"is_video"`
		Emoji        string `json:"emoji,omitempty"`
		SetName      string `json:"set_name,omitempty"`
	}
	outLocation struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	}
	outMarkup struct {
		InlineKeyboard [][]outButton `json:"inline_keyboard"`
	}
	outButton struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	outCallback struct {
		ID           string      `json:"id"`
		From         *outUser    `json:"from"`
		Message      *outMessage `json:"message,omitempty"`
		ChatInstance string      `json:"chat_instance"`
		Data         string      `json:"data,omitempty"`
	}
	outReaction struct {
		Chat        *outChat          `json:"chat"`
		MessageID   int64             `json:"message_id"`
		User        *outUser          `json:"user,omitempty"`
		Date        int64             `json:"date"`
		OldReaction []outReactionType `json:"old_reaction"`
		NewReaction []outReactionType `json:"new_reaction"`
	}
	outReactionType struct {
		Type  string `json:"type"`
		Emoji string `json:"emoji,omitempty"`
	}
	outMemberUpdated struct {
		Chat          *outChat  `json:"chat"`
		From          *outUser  `json:"from"`
		Date          int64     `json:"date"`
		OldChatMember outMember `json:"old_chat_member"`
		NewChatMember outMember `json:"new_chat_member"`
	}
	outMember struct {
		User      *outUser `json:"user"`
		Status    string   `json:"status"`
		UntilDate *int64   `json:"until_date,omitempty"`
	}
)
