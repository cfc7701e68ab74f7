package ingest

import "errors"

// ErrNoConversation is returned for an outbound message to a contact
// without a conversation to record it in.
var ErrNoConversation = errors.New("the contact has no conversation")
