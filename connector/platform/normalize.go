package platform

import (
	"fmt"
	"net/http"

	"github.com/chatsync/sfconnector/connector/sanitize"
)

// MaxIDBytes bounds the ids the connector stores: an event's id (a
// message's deduplication key), a contact's id and a quoted message's id.
// Salesforce's text fields, external ids included, hold 255 characters at
// most, and no platform's ids come near it.
const MaxIDBytes = 255

// maxNameBytes bounds a contact's display name and the short descriptive
// fields of an event (kind, MIME type, status, detail).
const maxNameBytes = 255

// Reasons Normalize gives an event it makes KindUnusable.
const (
	// ReasonIDTooLong: the event's id or its contact's id is longer than
	// MaxIDBytes.
	ReasonIDTooLong = "id_too_long"
	// ReasonIDMissing: a message or contact event without an id or a
	// contact id (or one made only of NUL characters).
	ReasonIDMissing = "id_missing"
)

// Parse verifies nothing: it parses body with a's Parse and normalises the
// events (Normalize). Every path that hands a delivery's events to
// ingestion parses through it.
func Parse(a Adapter, r *http.Request, body []byte) ([]Event, error) {
	events, err := a.Parse(r, body)
	if err != nil {
		return nil, err
	}
	return Normalize(events, body), nil
}

// Normalize cleans the events an adapter parsed from raw, in place, the
// same way for every platform, and returns them:
//
//   - every text (ids, names, message text, media reference, ...) has its
//     NUL characters removed and its invalid UTF-8 replaced with U+FFFD
//     (sanitize.Text);
//   - a message whose id or contact id is empty, or a message or contact
//     event whose id or contact id is longer than MaxIDBytes, becomes
//     KindUnusable (reason ReasonIDMissing or ReasonIDTooLong) with raw,
//     the delivery's body, as its bytes, for quarantine (a replay parses
//     it again: its other events are duplicates by then);
//   - a quoted message id (ReplyTo) longer than MaxIDBytes is dropped: the
//     message is kept without its reference;
//   - a display name, kind, MIME type, status or detail longer than 255
//     bytes is clipped, with "…".
//
// Message texts are not bounded here: the store keeps them whole (the
// delivery's size limit bounds them) and the dispatcher cuts what it
// writes to the Salesforce field's length. Events an adapter already made
// KindUnusable are left as they are.
func Normalize(events []Event, raw []byte) []Event {
	for i := range events {
		ev := &events[i]
		if ev.Kind == KindUnusable {
			continue
		}
		ev.ID = sanitize.Text(ev.ID)
		ev.Contact = sanitize.Text(ev.Contact)
		ev.ContactName = Clip(sanitize.Text(ev.ContactName), maxNameBytes)
		ev.Sender = Clip(sanitize.Text(ev.Sender), maxNameBytes)
		ev.Status = Clip(sanitize.Text(ev.Status), maxNameBytes)
		ev.Detail = Clip(sanitize.Text(ev.Detail), maxNameBytes)
		if m := ev.Message; m != nil {
			m.Kind = Clip(sanitize.Text(m.Kind), maxNameBytes)
			m.Text = sanitize.Text(m.Text)
			m.MediaRef = sanitize.Text(m.MediaRef)
			m.MediaType = Clip(sanitize.Text(m.MediaType), maxNameBytes)
			m.ReplyTo = sanitize.Text(m.ReplyTo)
			if len(m.ReplyTo) > MaxIDBytes {
				m.ReplyTo = ""
			}
		}
		if reason := idProblem(ev); reason != "" {
			*ev = Unusable(raw, reason)
		}
	}
	return events
}

// idProblem returns why the ids a stored event needs are unusable, or "".
// A contact event without a contact changes nothing and is counted by
// ingestion as before; a message needs both ids.
func idProblem(ev *Event) string {
	type id struct{ name, v string }
	var ids []id
	switch {
	case ev.Kind == KindMessage && ev.Message != nil:
		ids = []id{{"event id", ev.ID}, {"contact id", ev.Contact}}
	case ev.Kind == KindContact && ev.Contact != "":
		ids = []id{{"contact id", ev.Contact}}
	}
	for _, id := range ids {
		switch {
		case id.v == "":
			return ReasonIDMissing + ": the " + id.name + " is empty"
		case len(id.v) > MaxIDBytes:
			return fmt.Sprintf("%s: the %s has %d bytes, over the limit of %d", ReasonIDTooLong, id.name, len(id.v), MaxIDBytes)
		}
	}
	return ""
}
