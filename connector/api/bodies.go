package api

import (
	"time"

	"github.com/chatsync/sfconnector/connector/manage"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// The JSON bodies of the API; openapi.yaml describes each.

// Conversation is a conversation in a list or an answer.
type Conversation struct {
	ID             int64              `json:"id"`
	Tenant         string             `json:"tenant"`
	Channel        string             `json:"channel"`
	ContactID      int64              `json:"contact_id"`
	Contact        string             `json:"contact"`
	State          statemachine.State `json:"state"`
	StateName      string             `json:"state_name"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	LastActivityAt time.Time          `json:"last_activity_at"`
	InSalesforce   bool               `json:"in_salesforce"`
}

// ConversationDetail is one conversation with its history and messages.
type ConversationDetail struct {
	Conversation
	History  []HistoryEntry `json:"history"`
	Messages []Message      `json:"messages"`
}

// StateChanged answers a change_state.
type StateChanged struct {
	Conversation
	Changed bool `json:"changed"`
}

// HistoryEntry is one transition of a conversation; From is null for the
// creation entry.
type HistoryEntry struct {
	From     *statemachine.State `json:"from"`
	FromName string              `json:"from_name"`
	To       statemachine.State  `json:"to"`
	ToName   string              `json:"to_name"`
	Event    string              `json:"event"`
	Actor    string              `json:"actor"`
	Reason   string              `json:"reason"`
	At       time.Time           `json:"at"`
}

// Message is one message of a conversation.
type Message struct {
	ID               int64              `json:"id"`
	PlatformID       string             `json:"platform_id"`
	Direction        string             `json:"direction"`
	Kind             string             `json:"kind"`
	Body             string             `json:"body"`
	MediaURL         string             `json:"media_url"`
	MediaType        string             `json:"media_type"`
	ReplyTo          string             `json:"reply_to"`
	Sender           string             `json:"sender"`
	SentAt           time.Time          `json:"sent_at"`
	ReceivedAt       time.Time          `json:"received_at"`
	StateAtReceipt   statemachine.State `json:"state_at_receipt"`
	PushStatus       string             `json:"push_status"`
	PushReason       string             `json:"push_reason"`
	LastError        string             `json:"last_error"`
	Attempts         int                `json:"attempts"`
	DeliveryStatus   string             `json:"delivery_status"`
	DeliveryStatusAt *time.Time         `json:"delivery_status_at,omitempty"`
	SentID           string             `json:"sent_id"`
	SendAttempts     int                `json:"send_attempts"`
	SendError        string             `json:"send_error"`
	// Media is the message's media item, when the connector downloads
	// its media (conversation details only).
	Media *MessageMedia `json:"media,omitempty"`
}

// MessageMedia is where a message's media stands.
type MessageMedia struct {
	ID int64 `json:"id"`
	// Status: pending, fetched, uploaded, "failed: <reason>", "skipped:
	// <reason>".
	Status      string `json:"status"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	FileName    string `json:"file_name"`
	// FileID is the Salesforce File's ContentDocument id, once uploaded.
	FileID string `json:"file_id"`
}

// Contact is a contact in a list or an answer.
type Contact struct {
	ID               int64       `json:"id"`
	Tenant           string      `json:"tenant"`
	Channel          string      `json:"channel"`
	ExternalID       string      `json:"external_id"`
	DisplayName      string      `json:"display_name"`
	CreatedAt        time.Time   `json:"created_at"`
	UpdatedAt        time.Time   `json:"updated_at"`
	Blocked          *Blocked    `json:"blocked"`
	OptOut           *OptOut     `json:"opt_out"`
	NativeBlock      NativeBlock `json:"native_block"`
	PlatformStatus   string      `json:"platform_status"`
	PlatformStatusAt *time.Time  `json:"platform_status_at,omitempty"`
	Reachable        bool        `json:"reachable"`
	Tags             []string    `json:"tags"`
}

// ContactDetail is one contact with its notes.
type ContactDetail struct {
	Contact
	Notes []Note `json:"notes"`
}

// Blocked is a contact's local block.
type Blocked struct {
	Inbound  bool      `json:"inbound"`
	Outbound bool      `json:"outbound"`
	Note     string    `json:"note"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// OptOut is a contact's opt-out: the keyword it wrote, and when. Nothing
// is sent to it until DELETE .../opt-out lifts it.
type OptOut struct {
	Keyword string    `json:"keyword"`
	At      time.Time `json:"at"`
}

// OptOutAnswer answers DELETE .../opt-out.
type OptOutAnswer struct {
	Contact Contact `json:"contact"`
}

// NativeBlock is where the platform's own block of a contact stands.
type NativeBlock struct {
	// Status is "applied", "pending", "failed: <reason>", "unsupported",
	// or "" when nothing was asked of the platform.
	Status        string     `json:"status"`
	Want          string     `json:"want"`
	Error         string     `json:"error,omitempty"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
}

// Note is a note on a contact. EditedBy and EditedAt say who changed its
// text last, and when (absent for a note never edited).
type Note struct {
	ID        int64      `json:"id"`
	Text      string     `json:"text"`
	Author    string     `json:"author"`
	CreatedAt time.Time  `json:"created_at"`
	EditedBy  string     `json:"edited_by,omitempty"`
	EditedAt  *time.Time `json:"edited_at,omitempty"`
}

// BlockAnswer answers PUT and DELETE .../block.
type BlockAnswer struct {
	Contact     Contact     `json:"contact"`
	NativeBlock NativeBlock `json:"native_block"`
	// BlockedConversations became BLOCKED; UnblockedConversations left it.
	BlockedConversations   []int64 `json:"blocked_conversations"`
	UnblockedConversations []int64 `json:"unblocked_conversations"`
}

// Settings is a tenant's settings.
type Settings struct {
	Tenant          string     `json:"tenant"`
	BlockingEnabled bool       `json:"blocking_enabled"`
	Source          string     `json:"source"`
	UpdatedBy       string     `json:"updated_by"`
	UpdatedAt       *time.Time `json:"updated_at,omitempty"`
	// OptOutKeywords are the tenant's opt-out keywords; OptOutSource is
	// "api" when an admin set them, else "config".
	OptOutKeywords  []string   `json:"opt_out_keywords"`
	OptOutSource    string     `json:"opt_out_source"`
	OptOutUpdatedBy string     `json:"opt_out_updated_by"`
	OptOutUpdatedAt *time.Time `json:"opt_out_updated_at,omitempty"`
}

// Exclusions are an org's excluded states.
type Exclusions struct {
	OrgID          string      `json:"org_id"`
	ExcludedStates []StateName `json:"excluded_states"`
	Source         string      `json:"source"`
	UpdatedBy      string      `json:"updated_by"`
	UpdatedAt      *time.Time  `json:"updated_at,omitempty"`
}

// StateName is a state with its name.
type StateName struct {
	State statemachine.State `json:"state"`
	Name  string             `json:"name"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func ids(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

func conversationBody(c store.Conversation) Conversation {
	return Conversation{ID: c.ID, Tenant: c.Tenant, Channel: c.Channel, ContactID: c.ContactID, Contact: c.ContactExternalID,
		State: c.State, StateName: c.State.String(), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		LastActivityAt: c.LastActivityAt.UTC(), InSalesforce: c.InSalesforce()}
}

func conversationDetailBody(d manage.ConversationDetail) ConversationDetail {
	out := ConversationDetail{Conversation: conversationBody(d.Conversation), History: []HistoryEntry{}, Messages: []Message{}}
	for _, t := range d.History {
		e := HistoryEntry{To: t.To, ToName: t.To.String(), Event: t.Event, Actor: t.Actor, Reason: t.Reason, At: t.At.UTC()}
		if t.From != store.NoState {
			from := t.From
			e.From, e.FromName = &from, from.String()
		}
		out.History = append(out.History, e)
	}
	for _, m := range d.Messages {
		out.Messages = append(out.Messages, messageBody(m))
	}
	return out
}

func messageBody(m store.Message) Message {
	return Message{ID: m.ID, PlatformID: m.PlatformID, Direction: string(m.Direction), Kind: m.Kind, Body: m.Body,
		MediaURL: m.MediaURL, MediaType: m.MediaType, ReplyTo: m.ReplyTo, Sender: m.Sender, SentAt: m.SentAt.UTC(),
		ReceivedAt: m.ReceivedAt.UTC(), StateAtReceipt: m.StateAtReceipt, PushStatus: string(m.PushStatus),
		PushReason: m.PushReason, LastError: m.LastError, Attempts: m.Attempts, DeliveryStatus: m.DeliveryStatus,
		DeliveryStatusAt: timePtr(m.DeliveryStatusAt), SentID: m.SentID, SendAttempts: m.SendAttempts, SendError: m.SendError}
}

// nativeStatus is the status as users read it.
func nativeStatus(nb store.NativeBlock) string {
	if nb.Status == store.NativeFailed {
		return "failed: " + nb.Error
	}
	return nb.Status
}

func nativeBody(nb store.NativeBlock) NativeBlock {
	out := NativeBlock{Status: nativeStatus(nb), Want: nb.Want, Attempts: nb.Attempts, UpdatedAt: timePtr(nb.UpdatedAt)}
	if nb.Status == store.NativePending {
		out.Error, out.NextAttemptAt = nb.Error, timePtr(nb.NextAttemptAt)
	}
	if nb.Status == store.NativeFailed {
		out.Error = nb.Error
	}
	return out
}

func contactBody(c store.Contact) Contact {
	out := Contact{ID: c.ID, Tenant: c.Tenant, Channel: c.Channel, ExternalID: c.ExternalID, DisplayName: c.DisplayName,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(), NativeBlock: nativeBody(c.Native),
		PlatformStatus: c.PlatformStatus, PlatformStatusAt: timePtr(c.PlatformStatusAt),
		Reachable: !c.UnreachableOnPlatform(), Tags: c.Tags}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if c.BlockedInbound || c.BlockedOutbound {
		out.Blocked = &Blocked{Inbound: c.BlockedInbound, Outbound: c.BlockedOutbound, Note: c.Block.Note, By: c.Block.By, At: c.Block.At.UTC()}
	}
	if c.OptedOut() {
		out.OptOut = &OptOut{Keyword: c.OptOut.Keyword, At: c.OptOut.At.UTC()}
	}
	return out
}

func contactDetailBody(d manage.ContactDetail) ContactDetail {
	out := ContactDetail{Contact: contactBody(d.Contact), Notes: []Note{}}
	for _, n := range d.Notes {
		out.Notes = append(out.Notes, noteBody(n))
	}
	return out
}

func noteBody(n store.Note) Note {
	return Note{ID: n.ID, Text: n.Text, Author: n.Author, CreatedAt: n.CreatedAt.UTC(), EditedBy: n.EditedBy, EditedAt: timePtr(n.EditedAt)}
}

func settingsBody(tenant string, b manage.Blocking, o manage.OptOut) Settings {
	kw := o.Keywords
	if kw == nil {
		kw = []string{}
	}
	return Settings{Tenant: tenant, BlockingEnabled: b.Enabled, Source: b.Source, UpdatedBy: b.UpdatedBy, UpdatedAt: timePtr(b.UpdatedAt),
		OptOutKeywords: kw, OptOutSource: o.Source, OptOutUpdatedBy: o.UpdatedBy, OptOutUpdatedAt: timePtr(o.UpdatedAt)}
}

func exclusionsBody(e manage.Exclusions) Exclusions {
	return Exclusions{OrgID: e.OrgID, ExcludedStates: stateNames(e.States), Source: e.Source, UpdatedBy: e.UpdatedBy, UpdatedAt: timePtr(e.UpdatedAt)}
}

func stateNames(set statemachine.Set) []StateName {
	out := []StateName{}
	for _, s := range set.States() {
		out = append(out, StateName{State: s, Name: s.String()})
	}
	return out
}
