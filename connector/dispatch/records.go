package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/sanitize"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/statemachine"
)

// ConversationKey is the conversation record's external id:
// <tenant>:<channel>:<conversation id>.
func ConversationKey(c store.Conversation) string {
	return c.Tenant + ":" + c.Channel + ":" + strconv.FormatInt(c.ID, 10)
}

// MaxKeyLength is the most characters of a Salesforce text field, an
// external id's included.
const MaxKeyLength = 255

// MessageKey is the message record's external id:
// <tenant>:<channel>:<platform message id>. A key longer than
// MaxKeyLength (a long platform id behind long tenant and channel ids)
// ends instead with "sha256:" and the hex of the first 16 bytes of the
// platform id's SHA-256, which still names one message.
func MessageKey(m store.Message) string {
	key := m.Tenant + ":" + m.Channel + ":" + m.PlatformID
	if sanitize.Length(key) <= MaxKeyLength {
		return key
	}
	sum := sha256.Sum256([]byte(m.PlatformID))
	return m.Tenant + ":" + m.Channel + ":sha256:" + hex.EncodeToString(sum[:16])
}

// latestSent is the last message time a round writes on its
// conversation's record (when mapped): the latest SentAt of the messages
// it pushes, as the roll-up summary over Sent_At__c computes it; zero
// (the field left as it is) for a round that pushes none, such as one
// mirroring a state change.
func latestSent(msgs []store.Message) time.Time {
	var t time.Time
	for _, m := range msgs {
		if m.SentAt.After(t) {
			t = m.SentAt
		}
	}
	return t
}

// conversationRecord maps a conversation onto its Salesforce record. A
// mapping field left empty is not written.
func conversationRecord(mp config.ConversationMapping, c store.Conversation, lastMessageAt time.Time) sfclient.Record {
	r := sfclient.Record{}
	put(r, mp.ExternalID, ConversationKey(c))
	put(r, mp.State, c.State.String())
	put(r, mp.Channel, c.Channel)
	put(r, mp.Contact, c.ContactExternalID)
	if !lastMessageAt.IsZero() {
		put(r, mp.LastMessageAt, lastMessageAt.UTC().Format(time.RFC3339))
	}
	put(r, mp.Blocked, c.State == statemachine.Blocked)
	return r
}

// messageRecord maps a message onto its Salesforce record, with its parent
// referenced by the conversation's external id.
func messageRecord(mp config.Mapping, c store.Conversation, m store.Message) sfclient.Record {
	mm := mp.Message
	r := sfclient.Record{}
	put(r, mm.ExternalID, MessageKey(m))
	put(r, mm.Body, sanitize.Truncate(m.Body, mm.MaxBody()))
	put(r, mm.Direction, string(m.Direction))
	put(r, mm.SentAt, m.SentAt.UTC().Format(time.RFC3339))
	put(r, mm.Sender, m.Sender)
	if m.MediaURL != "" {
		put(r, mm.MediaURL, m.MediaURL)
		put(r, mm.MediaType, m.MediaType)
	}
	put(r, mm.Kind, m.Kind)
	put(r, mm.State, m.StateAtReceipt.String())
	put(r, mm.Sequence, m.ID)
	if m.Direction == store.Outbound && m.DeliveryStatus != "" {
		put(r, mm.DeliveryStatus, sanitize.Truncate(DeliveryStatus(m), MaxKeyLength))
	}
	if mm.Parent != "" && mp.Conversation.ExternalID != "" {
		r[mm.Parent] = map[string]any{mp.Conversation.ExternalID: ConversationKey(c)}
	}
	return r
}

// DeliveryStatus is an outbound message's status as its record shows it:
// the status, and for a failed one its reason ("failed: <reason>").
func DeliveryStatus(m store.Message) string {
	if m.DeliveryStatus == store.DeliveryFailed && m.SendError != "" {
		return "failed: " + m.SendError
	}
	return m.DeliveryStatus
}

func put(r sfclient.Record, field string, v any) {
	if field != "" {
		r[field] = v
	}
}

// recordHash fingerprints a record: the hex SHA-256 of its JSON (whose
// object keys encoding/json sorts), so that the same fields and values
// always give the same hash.
func recordHash(r sfclient.Record) string {
	data, err := json.Marshal(r)
	if err != nil {
		return "" // never equal to a stored hash: the record is written
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}
