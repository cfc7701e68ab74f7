package store

import (
	"errors"
	"time"
)

// SyncWatermark is where the flow-back of agents' changes in one
// Salesforce org stands: the latest SystemModstamp of the polled object
// the connector has read and applied.
type SyncWatermark struct {
	// Org is the org id's first 15 characters; Object the polled object's
	// API name.
	Org, Object string
	// Modstamp is the latest SystemModstamp read.
	Modstamp time.Time
	// Seen are the Ids of the records at Modstamp read already: Salesforce
	// keeps SystemModstamp to the second, so a poll asks for the records at
	// Modstamp again, and skips these.
	Seen []string
	// WriteBack are the conversation records (by external id) whose
	// write-back of a refused change failed, each with how many attempts
	// failed: the next polls try again.
	WriteBack map[string]int
	// UpdatedAt is when the watermark was written.
	UpdatedAt time.Time
}

// CheckSyncWatermark is the drivers' check of a watermark to write.
func CheckSyncWatermark(w SyncWatermark) error {
	if w.Org == "" || w.Object == "" || w.Modstamp.IsZero() || w.UpdatedAt.IsZero() {
		return errors.New("put sync watermark: the org, the object, the modstamp and the time are required")
	}
	return nil
}
