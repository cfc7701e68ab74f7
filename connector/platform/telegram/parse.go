package telegram

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/platform"
)

// The Update object, as far as the adapter reads it. Ids are int64: Bot API
// ids fit in 64 bits (chat ids have up to 52 significant bits) and
// encoding/json decodes an integer into an int64 exactly, never through a
// float64. Fields the adapter does not use are left out, so that a change
// in them can not make an update unreadable.
type (
	user struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	}
	chat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		Title     string `json:"title"`
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	message struct {
		MessageID      int64           `json:"message_id"`
		From           *user           `json:"from"`
		Chat           *chat           `json:"chat"`
		Date           int64           `json:"date"`
		EditDate       int64           `json:"edit_date"`
		ReplyToMessage *message        `json:"reply_to_message"`
		ForwardOrigin  json.RawMessage `json:"forward_origin"`
		ForwardDate    int64           `json:"forward_date"`
		Text           string          `json:"text"`
		Caption        string          `json:"caption"`
		Photo          []photoSize     `json:"photo"`
		Animation      *file           `json:"animation"`
		Video          *file           `json:"video"`
		VideoNote      *file           `json:"video_note"`
		Audio          *file           `json:"audio"`
		Voice          *file           `json:"voice"`
		Document       *file           `json:"document"`
		Sticker        *sticker        `json:"sticker"`
		Venue          *venue          `json:"venue"`
		Location       *location       `json:"location"`
		Contact        *sharedContact  `json:"contact"`
		Poll           *struct {
			Question string `json:"question"`
		} `json:"poll"`
		Dice *struct {
			Emoji string `json:"emoji"`
			Value int    `json:"value"`
		} `json:"dice"`
		ReplyMarkup *struct {
			InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
		} `json:"reply_markup"`
	}
	photoSize struct {
		FileID   string `json:"file_id"`
		Width    int64  `json:"width"`
		Height   int64  `json:"height"`
		FileSize int64  `json:"file_size"`
	}
	// file is a video, animation, video note, audio, voice or document.
	file struct {
		FileID    string `json:"file_id"`
		FileName  string `json:"file_name"`
		MimeType  string `json:"mime_type"`
		Title     string `json:"title"`
		Performer string `json:"performer"`
	}
	sticker struct {
		FileID     string `json:"file_id"`
		Emoji      string `json:"emoji"`
		SetName    string `json:"set_name"`
		IsAnimated bool   `json:"is_animated"`
		IsVideo    bool   `json:"is_video"`
	}
	location struct {
		Latitude  json.Number `json:"latitude"`
		Longitude json.Number `json:"longitude"`
	}
	venue struct {
		Location location `json:"location"`
		Title    string   `json:"title"`
		Address  string   `json:"address"`
	}
	sharedContact struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
	}
	inlineButton struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	callbackQuery struct {
		ID              string   `json:"id"`
		From            *user    `json:"from"`
		Message         *message `json:"message"`
		InlineMessageID string   `json:"inline_message_id"`
		Data            string   `json:"data"`
		GameShortName   string   `json:"game_short_name"`
	}
	messageReaction struct {
		Chat        *chat          `json:"chat"`
		MessageID   int64          `json:"message_id"`
		User        *user          `json:"user"`
		ActorChat   *chat          `json:"actor_chat"`
		Date        int64          `json:"date"`
		NewReaction []reactionType `json:"new_reaction"`
	}
	reactionType struct {
		Type          string `json:"type"`
		Emoji         string `json:"emoji"`
		CustomEmojiID string `json:"custom_emoji_id"`
	}
	chatMemberUpdated struct {
		Chat          *chat       `json:"chat"`
		From          *user       `json:"from"`
		Date          int64       `json:"date"`
		OldChatMember *chatMember `json:"old_chat_member"`
		NewChatMember *chatMember `json:"new_chat_member"`
	}
	chatMember struct {
		Status string `json:"status"`
	}
)

// handledUpdates are the Update fields the adapter maps, in the order it
// maps them when (against the Bot API's promise) an update holds several.
var handledUpdates = []string{"message", "edited_message", "business_message", "edited_business_message", "deleted_business_messages",
	"callback_query", "message_reaction", "my_chat_member"}

// envelopeFields are the Message fields that describe a message rather than
// being its content: a message whose content the adapter does not know is
// named by its first field outside this set.
var envelopeFields = map[string]bool{
	"message_id": true, "message_thread_id": true, "from": true, "sender_chat": true,
	"sender_boost_count": true, "sender_business_bot": true, "date": true, "business_connection_id": true,
	"chat": true, "forward_origin": true, "forward_from": true, "forward_from_chat": true,
	"forward_from_message_id": true, "forward_signature": true, "forward_sender_name": true,
	"forward_date": true, "is_topic_message": true, "is_automatic_forward": true, "reply_to_message": true,
	"external_reply": true, "quote": true, "reply_to_story": true, "via_bot": true, "edit_date": true,
	"has_protected_content": true, "is_from_offline": true, "is_paid_post": true, "media_group_id": true,
	"author_signature": true, "paid_star_count": true, "entities": true, "caption": true,
	"caption_entities": true, "link_preview_options": true, "effect_id": true,
	"show_caption_above_media": true, "has_media_spoiler": true, "reply_markup": true,
	"reply_to_checklist_task_id": true, "direct_messages_topic": true, "suggested_post_info": true,
}

// serviceFields mark service messages (members joining, a pinned message, a
// chat's title or photo changing, ...): Telegram's notices about the chat,
// not something a contact wrote. They become Ignored events.
var serviceFields = map[string]bool{
	"new_chat_members": true, "left_chat_member": true, "new_chat_title": true, "new_chat_photo": true,
	"delete_chat_photo": true, "group_chat_created": true, "supergroup_chat_created": true,
	"channel_chat_created": true, "message_auto_delete_timer_changed": true, "migrate_to_chat_id": true,
	"migrate_from_chat_id": true, "pinned_message": true, "write_access_allowed": true,
	"proximity_alert_triggered": true, "boost_added": true, "chat_background_set": true,
	"forum_topic_created": true, "forum_topic_edited": true, "forum_topic_closed": true,
	"forum_topic_reopened": true, "general_forum_topic_hidden": true, "general_forum_topic_unhidden": true,
	"video_chat_scheduled": true, "video_chat_started": true, "video_chat_ended": true,
	"video_chat_participants_invited": true,
}

// Parse turns a verified update into events (see the package documentation
// for the mapping). Telegram posts one Update per request, so there is one
// event, or none for an update without content. The request is not used.
func (a *Adapter) Parse(_ *http.Request, body []byte) ([]platform.Event, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("%w: telegram: body is not an Update: %w", platform.ErrMalformed, err)
	}
	if fields == nil {
		return nil, fmt.Errorf("%w: telegram: body is not an Update object", platform.ErrMalformed)
	}
	rawID, ok := fields["update_id"]
	if !ok {
		return nil, fmt.Errorf("%w: telegram: update has no update_id", platform.ErrMalformed)
	}
	var updateID int64
	if err := json.Unmarshal(rawID, &updateID); err != nil {
		return nil, fmt.Errorf("%w: telegram: update_id is not an integer", platform.ErrMalformed)
	}
	where := "update " + strconv.FormatInt(updateID, 10)

	events := []platform.Event{}
	var unknown []string
	for key, raw := range fields {
		if key != "update_id" && !isNull(raw) && !slices.Contains(handledUpdates, key) {
			unknown = append(unknown, key)
		}
	}
	for _, key := range handledUpdates {
		raw, ok := fields[key]
		if !ok || isNull(raw) {
			continue
		}
		if key == "deleted_business_messages" {
			evs, err := deletedEvents(raw, where+" "+key)
			if errors.Is(err, errNoChat) {
				return []platform.Event{platform.Unusable(body, platform.ReasonNoChat+": "+where+" "+key+" has no chat id")}, nil
			}
			if err != nil {
				return nil, err
			}
			events = append(events, evs...)
			continue
		}
		ev, err := updateEvent(key, raw, where+" "+key)
		if errors.Is(err, errNoChat) {
			// Authentic, and Telegram retries any 4xx: kept in quarantine.
			return []platform.Event{platform.Unusable(body, platform.ReasonNoChat+": "+where+" "+key+" has no chat id")}, nil
		}
		if err != nil {
			return nil, err
		}
		if (key == "edited_message" || key == "edited_business_message") && ev.Kind == platform.KindMessage {
			// Two edits of a message in one second share their edit_date;
			// the update's id tells them apart, and a retry keeps it.
			ev.ID += ":" + strconv.FormatInt(updateID, 10)
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		if len(unknown) == 0 {
			return []platform.Event{platform.Ignored("update without content")}, nil
		}
		sort.Strings(unknown)
		return []platform.Event{platform.Ignored("update " + strings.Join(unknown, ", "))}, nil
	}
	return events, nil
}

// errNoChat: an update's message, reaction or membership change names no
// chat, or chat id 0. Parse reports the update as unusable.
var errNoChat = errors.New("no chat")

// updateEvent decodes and maps one handled field of an update.
func updateEvent(key string, raw json.RawMessage, where string) (platform.Event, error) {
	switch key {
	case "message", "edited_message", "business_message", "edited_business_message":
		var m message
		if err := json.Unmarshal(raw, &m); err != nil {
			return platform.Event{}, malformed(where, err)
		}
		var keys map[string]json.RawMessage
		_ = json.Unmarshal(raw, &keys) // it decoded into a struct just above
		if !strings.Contains(key, "business") {
			return messageEvent(&m, keys, key == "edited_message", where)
		}
		// A chat of a Telegram Business account the bot is connected to:
		// the customer's messages are theirs as any other; those the
		// business sends from its own app come too, and are its echoes.
		if m.Chat != nil && m.Chat.Type == "private" && m.From != nil && m.From.ID != m.Chat.ID {
			return platform.Ignored("business message sent by the business"), nil
		}
		ev, err := messageEvent(&m, keys, key == "edited_business_message", where)
		if err == nil && ev.Kind == platform.KindMessage {
			// A business chat numbers its messages apart from the bot's
			// own chat with the same user (the same chat id): its ids have
			// a namespace of their own.
			if rest, ok := strings.CutPrefix(ev.ID, "edit:"); ok {
				ev.ID = "edit:" + businessPrefix + rest
			} else {
				ev.ID = businessPrefix + ev.ID
			}
			if ev.Message.ReplyTo != "" {
				ev.Message.ReplyTo = businessPrefix + ev.Message.ReplyTo
			}
			ev.Detail = platform.Clip(platform.JoinDetail("business chat", ev.Detail), platform.MaxDetail)
		}
		return ev, err
	case "callback_query":
		var q callbackQuery
		if err := json.Unmarshal(raw, &q); err != nil {
			return platform.Event{}, malformed(where, err)
		}
		return callbackEvent(&q, where)
	case "message_reaction":
		var r messageReaction
		if err := json.Unmarshal(raw, &r); err != nil {
			return platform.Event{}, malformed(where, err)
		}
		return reactionEvent(&r, where)
	default: // my_chat_member
		var c chatMemberUpdated
		if err := json.Unmarshal(raw, &c); err != nil {
			return platform.Event{}, malformed(where, err)
		}
		return memberEvent(&c, where)
	}
}

// messageEvent maps a new or an edited message.
func messageEvent(m *message, keys map[string]json.RawMessage, edited bool, where string) (platform.Event, error) {
	if m.Chat == nil || m.Chat.ID == 0 {
		return platform.Event{}, fmt.Errorf("telegram: %s: %w", where, errNoChat)
	}
	if m.MessageID == 0 {
		return platform.Event{}, fmt.Errorf("%w: telegram: %s has no message_id", platform.ErrMalformed, where)
	}
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	id := MessageID(m.Chat.ID, m.MessageID)
	msg, typ, detail := contentOf(m, keys)
	if msg == nil {
		return platform.Ignored("service message " + platform.Clip(typ, 60)), nil
	}
	if m.ReplyToMessage != nil && m.ReplyToMessage.MessageID != 0 {
		// reply_to_message is always in the same chat (replies to other
		// chats come as external_reply, which has no usable id here).
		msg.ReplyTo = MessageID(m.Chat.ID, m.ReplyToMessage.MessageID)
	}
	if (len(m.ForwardOrigin) > 0 && !isNull(m.ForwardOrigin)) || m.ForwardDate != 0 {
		detail = platform.JoinDetail(detail, "forwarded")
	}
	var sender string
	if m.Chat.Type != "" && m.Chat.Type != "private" && m.From != nil {
		sender = fmt.Sprintf("%s (%d)", userName(m.From), m.From.ID)
		detail = platform.JoinDetail(detail, "from "+sender)
	}
	ev := platform.Event{
		Kind:        platform.KindMessage,
		ID:          id,
		Contact:     chatID,
		ContactName: chatName(m.Chat, m.From),
		Sender:      sender,
		Timestamp:   unixTime(m.Date),
		Message:     msg,
		Detail:      platform.Clip(detail, platform.MaxDetail),
	}
	if edited {
		// The original message's id is the edit's target; the edit's own
		// id adds the edit time, which Telegram keeps across retries (Parse
		// adds the update's id: two edits in one second share the time).
		editDate := m.EditDate
		if editDate == 0 {
			editDate = m.Date
		}
		ev.ID = "edit:" + id + ":" + strconv.FormatInt(editDate, 10)
		ev.Timestamp = unixTime(editDate)
		msg.Kind, msg.ReplyTo = platform.Edit, id
		ev.Detail = platform.Clip(platform.JoinDetail("edit of "+typ, detail), platform.MaxDetail)
	}
	return ev, nil
}

// contentOf maps a message's content. It returns the message (nil for a
// service message), its Telegram type and a detail.
func contentOf(m *message, keys map[string]json.RawMessage) (*platform.Message, string, string) {
	switch {
	case m.Photo != nil:
		msg := &platform.Message{Kind: platform.Image, Text: m.Caption}
		if p := largestPhoto(m.Photo); p != nil {
			msg.MediaRef = p.FileID
		}
		return msg, "photo", ""
	case m.Animation != nil:
		// An animation also fills "document", for older clients: test it
		// first.
		return fileMessage(platform.Video, m.Animation, m.Caption), "animation", "animation"
	case m.Video != nil:
		return fileMessage(platform.Video, m.Video, m.Caption), "video", ""
	case m.VideoNote != nil:
		return fileMessage(platform.Video, m.VideoNote, m.Caption), "video_note", "video note"
	case m.Voice != nil:
		return fileMessage(platform.Audio, m.Voice, m.Caption), "voice", "voice"
	case m.Audio != nil:
		detail := strings.TrimSpace(strings.Join(nonEmpty(m.Audio.Performer, m.Audio.Title), " - "))
		if detail == "" {
			detail = m.Audio.FileName
		}
		return fileMessage(platform.Audio, m.Audio, m.Caption), "audio", detail
	case m.Document != nil:
		msg := fileMessage(platform.Document, m.Document, m.Caption)
		if msg.Text == "" {
			msg.Text = m.Document.FileName
		}
		return msg, "document", m.Document.FileName
	case m.Sticker != nil:
		msg := &platform.Message{Kind: platform.Sticker, Text: m.Sticker.Emoji, MediaRef: m.Sticker.FileID}
		var detail string
		switch {
		case m.Sticker.IsAnimated:
			detail = "animated"
		case m.Sticker.IsVideo:
			detail = "video"
		}
		if m.Sticker.SetName != "" {
			detail = platform.JoinDetail(detail, "set "+m.Sticker.SetName)
		}
		return msg, "sticker", detail
	case m.Venue != nil:
		// A venue also fills "location": test it first.
		text := strings.Join(nonEmpty(strings.TrimSpace(m.Venue.Title), strings.TrimSpace(m.Venue.Address)), ", ")
		return &platform.Message{Kind: platform.Location, Text: withCoordinates(text, &m.Venue.Location)}, "venue", "venue"
	case m.Location != nil:
		return &platform.Message{Kind: platform.Location, Text: withCoordinates("", m.Location)}, "location", ""
	case m.Contact != nil:
		text := strings.Join(nonEmpty(m.Contact.FirstName, m.Contact.LastName), " ")
		switch {
		case text == "":
			text = m.Contact.PhoneNumber
		case m.Contact.PhoneNumber != "":
			text += " (" + m.Contact.PhoneNumber + ")"
		}
		return &platform.Message{Kind: platform.Contacts, Text: text}, "contact", ""
	case m.Poll != nil:
		return &platform.Message{Kind: platform.Other, Text: m.Poll.Question}, "poll", "poll"
	case m.Dice != nil:
		return &platform.Message{Kind: platform.Other, Text: m.Dice.Emoji}, "dice", fmt.Sprintf("dice %d", m.Dice.Value)
	}
	if _, ok := keys["text"]; ok {
		return &platform.Message{Kind: platform.Text, Text: m.Text}, "text", ""
	}
	typ, service := contentField(keys)
	switch {
	case service:
		return nil, typ, ""
	case typ == "":
		return &platform.Message{Kind: platform.Other, Text: m.Caption}, "message", "message without content"
	}
	return &platform.Message{Kind: platform.Other, Text: m.Caption}, typ, "type " + platform.Clip(typ, 60)
}

// contentField names a message's content: a service field if it has one
// (the answer is then true), else its first field, in sorted order, that is
// not part of the envelope.
func contentField(keys map[string]json.RawMessage) (string, bool) {
	var names []string
	for k, v := range keys {
		if !envelopeFields[k] && !isNull(v) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if serviceFields[n] {
			return n, true
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return names[0], false
}

// fileMessage maps a video, animation, audio, voice or document. Its
// MediaRef is the file_id followed by the file's name and MIME type, which
// the download (FetchMedia) does not give again (platform.JoinMediaRef).
func fileMessage(kind string, f *file, caption string) *platform.Message {
	return &platform.Message{Kind: kind, Text: caption, MediaRef: platform.JoinMediaRef(f.FileID, f.FileName, f.MimeType), MediaType: f.MimeType}
}

// largestPhoto picks the biggest of the sizes Telegram sends of a photo
// (by pixels, then bytes; the last of equals, as Telegram lists them from
// the smallest).
func largestPhoto(sizes []photoSize) *photoSize {
	var best *photoSize
	for i := range sizes {
		p := &sizes[i]
		if p.FileID == "" {
			continue
		}
		if best == nil || p.Width*p.Height > best.Width*best.Height ||
			(p.Width*p.Height == best.Width*best.Height && p.FileSize >= best.FileSize) {
			best = p
		}
	}
	return best
}

// withCoordinates appends "(lat, lon)" to a place's description.
func withCoordinates(text string, l *location) string {
	if l == nil || (l.Latitude == "" && l.Longitude == "") {
		return text
	}
	coords := fmt.Sprintf("(%s, %s)", l.Latitude, l.Longitude)
	if text == "" {
		return coords
	}
	return text + " " + coords
}

// callbackEvent maps the press of an inline keyboard button.
func callbackEvent(q *callbackQuery, where string) (platform.Event, error) {
	if q.ID == "" {
		return platform.Event{}, fmt.Errorf("%w: telegram: %s has no id", platform.ErrMalformed, where)
	}
	if q.From == nil || q.From.ID == 0 {
		return platform.Event{}, fmt.Errorf("%w: telegram: %s (%s) has no from", platform.ErrMalformed, where, platform.Clip(q.ID, 80))
	}
	contact := q.From.ID
	msg := &platform.Message{Kind: platform.Button}
	if m := q.Message; m != nil && m.Chat != nil && m.Chat.ID != 0 {
		contact = m.Chat.ID
		if m.MessageID != 0 {
			msg.ReplyTo = MessageID(m.Chat.ID, m.MessageID)
		}
	}
	var detail string
	switch {
	case q.GameShortName != "":
		msg.Text, detail = q.GameShortName, "game "+platform.Clip(q.GameShortName, 100)
	default:
		msg.Text = buttonTitle(q.Message, q.Data)
		if msg.Text == "" {
			msg.Text = q.Data
		}
		detail = "callback data " + platform.Clip(q.Data, 200)
	}
	if q.InlineMessageID != "" {
		detail = platform.JoinDetail(detail, "inline message "+platform.Clip(q.InlineMessageID, 80))
	}
	return platform.Event{
		Kind:        platform.KindMessage,
		ID:          "callback:" + q.ID,
		Contact:     strconv.FormatInt(contact, 10),
		ContactName: userName(q.From),
		Message:     msg,
		Detail:      platform.Clip(detail, platform.MaxDetail),
	}, nil
}

// buttonTitle finds the text of the inline button whose callback data is
// data, in the keyboard of the message the button was on.
func buttonTitle(m *message, data string) string {
	if m == nil || m.ReplyMarkup == nil || data == "" {
		return ""
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.CallbackData == data {
				return b.Text
			}
		}
	}
	return ""
}

// reactionEvent maps a change of a user's reactions to a message.
func reactionEvent(r *messageReaction, where string) (platform.Event, error) {
	if r.Chat == nil || r.Chat.ID == 0 {
		return platform.Event{}, fmt.Errorf("telegram: %s: %w", where, errNoChat)
	}
	if r.MessageID == 0 {
		return platform.Event{}, fmt.Errorf("%w: telegram: %s has no message_id", platform.ErrMalformed, where)
	}
	actor, name := "anonymous", ""
	switch {
	case r.User != nil && r.User.ID != 0:
		actor, name = strconv.FormatInt(r.User.ID, 10), userName(r.User)
	case r.ActorChat != nil && r.ActorChat.ID != 0:
		actor, name = strconv.FormatInt(r.ActorChat.ID, 10), chatName(r.ActorChat, nil)
	}
	if name == "" {
		name = chatName(r.Chat, nil)
	}
	text, key, detail := describeReactions(r.NewReaction)
	target := MessageID(r.Chat.ID, r.MessageID)
	return platform.Event{
		Kind:        platform.KindMessage,
		ID:          "reaction:" + target + ":" + actor + ":" + key + ":" + strconv.FormatInt(r.Date, 10),
		Contact:     strconv.FormatInt(r.Chat.ID, 10),
		ContactName: name,
		Timestamp:   unixTime(r.Date),
		Message:     &platform.Message{Kind: platform.Reaction, Text: text, ReplyTo: target},
		Detail:      platform.Clip(detail, platform.MaxDetail),
	}, nil
}

// describeReactions writes a user's new reactions as the text of a
// Reaction message, a key for the event id and a detail. No reaction is an
// un-react: empty text, key "unreact".
func describeReactions(rs []reactionType) (text, key, detail string) {
	if len(rs) == 0 {
		return "", "unreact", "reaction removed"
	}
	var texts, keys, details []string
	for _, r := range rs {
		switch r.Type {
		case "emoji":
			texts, keys = append(texts, r.Emoji), append(keys, r.Emoji)
		case "custom_emoji":
			texts, keys = append(texts, "(custom emoji)"), append(keys, "custom_emoji="+r.CustomEmojiID)
			details = append(details, "custom emoji "+platform.Clip(r.CustomEmojiID, 40))
		case "paid":
			texts, keys = append(texts, "⭐"), append(keys, "paid")
			details = append(details, "paid reaction")
		default:
			texts, keys = append(texts, "("+platform.Clip(r.Type, 40)+")"), append(keys, platform.Clip(r.Type, 40))
			details = append(details, "reaction type "+platform.Clip(r.Type, 40))
		}
	}
	return strings.Join(texts, ""), strings.Join(keys, ","), strings.Join(details, "; ")
}

// memberEvent maps a change of the bot's own membership in a chat. In a
// private chat, "kicked" is the user blocking the bot and "member" the user
// unblocking or (re)starting it.
func memberEvent(c *chatMemberUpdated, where string) (platform.Event, error) {
	if c.Chat == nil || c.Chat.ID == 0 {
		return platform.Event{}, fmt.Errorf("telegram: %s: %w", where, errNoChat)
	}
	if c.NewChatMember == nil || c.NewChatMember.Status == "" {
		return platform.Event{}, fmt.Errorf("%w: telegram: %s has no new_chat_member.status", platform.ErrMalformed, where)
	}
	oldStatus, newStatus := "", c.NewChatMember.Status
	if c.OldChatMember != nil {
		oldStatus = c.OldChatMember.Status
	}
	detail := platform.Clip(fmt.Sprintf("my_chat_member %s -> %s", orNone(oldStatus), newStatus), platform.MaxDetail)
	var status string
	switch newStatus {
	case "kicked":
		status = "blocked"
	case "left":
		status = "unfollow"
	case "member":
		status = "follow"
		if oldStatus == "kicked" {
			status = "unblocked"
		}
	default:
		// Promotions and restrictions in groups change nothing of the
		// contact.
		return platform.Ignored(detail), nil
	}
	chatID := strconv.FormatInt(c.Chat.ID, 10)
	return platform.Event{
		Kind:        platform.KindContact,
		ID:          "member:" + chatID + ":" + newStatus + ":" + strconv.FormatInt(c.Date, 10),
		Contact:     chatID,
		ContactName: chatName(c.Chat, c.From),
		Timestamp:   unixTime(c.Date),
		Status:      status,
		Detail:      detail,
	}, nil
}

// MessageID is the platform id the adapter gives a Telegram message:
// "<chat id>:<message id>" (message ids are only unique within a chat).
// Message events, ReplyTo and Send use it.
func MessageID(chatID, messageID int64) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(messageID, 10)
}

// userName is a user's full name, or @username when they have none.
func userName(u *user) string {
	if u == nil {
		return ""
	}
	if n := strings.Join(nonEmpty(u.FirstName, u.LastName), " "); n != "" {
		return n
	}
	if u.Username != "" {
		return "@" + u.Username
	}
	return ""
}

// chatName is a group's title or a private chat's user name, falling back
// to the sender's name, then to whatever names the chat.
func chatName(c *chat, from *user) string {
	if c != nil {
		if c.Type != "private" && c.Title != "" {
			return c.Title
		}
		if n := strings.Join(nonEmpty(c.FirstName, c.LastName), " "); n != "" {
			return n
		}
	}
	if n := userName(from); n != "" {
		return n
	}
	if c != nil {
		if c.Title != "" {
			return c.Title
		}
		if c.Username != "" {
			return "@" + c.Username
		}
	}
	return ""
}

// unixTime converts unix seconds; 0 is the zero time.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

func malformed(where string, err error) error {
	return fmt.Errorf("%w: telegram: %s: %w", platform.ErrMalformed, where, err)
}

func isNull(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "null" }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// nonEmpty returns the non-empty strings among ss.
func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// businessPrefix starts the ids of a business chat's messages:
// "business:<chat id>:<message id>".
const businessPrefix = "business:"

// deletedBusinessMessages is the update a Business account's deletion of
// messages comes as.
type deletedBusinessMessages struct {
	Chat       *chat   `json:"chat"`
	MessageIDs []int64 `json:"message_ids"`
}

// deletedEvents maps the messages a Business chat deleted: one unsend
// event each, "unsend:business:<chat id>:<message id>".
func deletedEvents(raw json.RawMessage, where string) ([]platform.Event, error) {
	var d deletedBusinessMessages
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, malformed(where, err)
	}
	if d.Chat == nil || d.Chat.ID == 0 {
		return nil, fmt.Errorf("telegram: %s: %w", where, errNoChat)
	}
	events := make([]platform.Event, 0, len(d.MessageIDs))
	for _, id := range d.MessageIDs {
		target := businessPrefix + MessageID(d.Chat.ID, id)
		events = append(events, platform.Event{Kind: platform.KindMessage, ID: "unsend:" + target,
			Contact: strconv.FormatInt(d.Chat.ID, 10), ContactName: chatName(d.Chat, nil),
			Message: &platform.Message{Kind: platform.Unsend, ReplyTo: target}, Detail: "business chat"})
	}
	if len(events) == 0 {
		return []platform.Event{platform.Ignored("deleted_business_messages without message ids")}, nil
	}
	return events, nil
}
