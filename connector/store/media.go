package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MediaStatus says where a message's media item stands.
type MediaStatus string

// Media statuses.
const (
	// MediaPending: the item is to be downloaded from the platform.
	MediaPending MediaStatus = "pending"
	// MediaFetched: the bytes are kept by the connector (Location) and
	// wait for their upload to Salesforce, which follows the message
	// record's push.
	MediaFetched MediaStatus = "fetched"
	// MediaUploaded: Salesforce has the File (ContentVersionID,
	// ContentDocumentID) and the message record names it.
	MediaUploaded MediaStatus = "uploaded"
	// MediaFailed: the item failed for good (Reason says why: too large,
	// gone from the platform, refused by Salesforce). It can be replayed.
	MediaFailed MediaStatus = "failed"
	// MediaSkipped: the item is recorded and never fetched (Reason: the
	// message is excluded, or its contact is blocked).
	MediaSkipped MediaStatus = "skipped"
)

// Where a media item's bytes are kept (MediaItem.Location).
const (
	// MediaNowhere: the connector keeps no bytes of the item (not
	// fetched yet, or deleted after the upload).
	MediaNowhere = ""
	// MediaInStore: the bytes are in the store itself (PutMediaData), the
	// choice for PostgreSQL, which every replica reads.
	MediaInStore = "store"
	// MediaInSpool: the bytes are a file of the spool directory named
	// after the item's id, the choice for SQLite.
	MediaInSpool = "spool"
)

// MediaItem is the media (photo, voice note, document) of one inbound
// message: at most one per message.
type MediaItem struct {
	ID             int64
	MessageID      int64
	ConversationID int64
	Tenant         string
	Channel        string
	// Ref is the platform's reference (Message.MediaURL) the fetch uses.
	Ref string
	// Status is where the item stands; Reason says why it failed or was
	// skipped.
	Status MediaStatus
	Reason string
	// Size (bytes), SHA256 (hex) and ContentType, FileName are known once
	// it is fetched.
	Size        int64
	SHA256      string
	ContentType string
	FileName    string
	// Location is where its bytes are (MediaNowhere, MediaInStore,
	// MediaInSpool).
	Location string
	// ContentVersionID and ContentDocumentID are Salesforce's ids of the
	// File once uploaded.
	ContentVersionID  string
	ContentDocumentID string
	// Attempts counts the failed tries of the current step; NextAttemptAt
	// is when the media worker may take the item next (a claim also sets
	// it, as a lease).
	Attempts      int
	NextAttemptAt time.Time
	// HeldBy is the owner of the claim that holds the item (ClaimMedia),
	// until an UpdateMedia releases it (empty) or keeps it (the same
	// owner, for a worker that goes on with the item at once).
	HeldBy    string
	CreatedAt time.Time
	UpdatedAt time.Time

	// Read-only, joined from the message: its platform id, push status
	// and Salesforce record id.
	MessagePlatformID   string
	MessagePushStatus   PushStatus
	MessageSalesforceID string
}

// StatusText is the status as the API shows it: "failed: <reason>" and
// "skipped: <reason>" carry their reason.
func (m MediaItem) StatusText() string {
	if m.Reason != "" && (m.Status == MediaFailed || m.Status == MediaSkipped) {
		return string(m.Status) + ": " + m.Reason
	}
	return string(m.Status)
}

// ErrMediaTooLarge is returned by PutMediaData for bytes larger than
// MaxMediaBytes.
var ErrMediaTooLarge = errors.New("media item too large for the store")

// MaxMediaBytes bounds one item kept in the store (PutMediaData): 1 GiB,
// PostgreSQL's limit of one bytea value.
const MaxMediaBytes = 1 << 30

// Validate reports what a MediaItem to insert lacks.
func (m MediaItem) Validate() error {
	var errs []error
	if m.MessageID == 0 {
		errs = append(errs, errors.New("the message id is required"))
	}
	if m.Tenant == "" || m.Channel == "" {
		errs = append(errs, errors.New("the tenant and channel are required"))
	}
	if m.Ref == "" {
		errs = append(errs, errors.New("the platform's reference is required"))
	}
	if m.Status != MediaPending && m.Status != MediaSkipped {
		errs = append(errs, fmt.Errorf("a new media item is pending or skipped, not %q", m.Status))
	}
	if m.CreatedAt.IsZero() {
		errs = append(errs, errors.New("CreatedAt is required"))
	}
	return errors.Join(errs...)
}

// ValidMediaStatus reports whether s is a media status.
func ValidMediaStatus(s MediaStatus) bool {
	switch s {
	case MediaPending, MediaFetched, MediaUploaded, MediaFailed, MediaSkipped:
		return true
	}
	return false
}

// MediaFilter selects media items for ListMedia. Zero fields do not
// filter.
type MediaFilter struct {
	Tenant         string
	Status         MediaStatus
	ConversationID int64
	MessageID      int64
	// Channel and RefPrefix, when set, keep the items of that channel whose
	// reference starts with RefPrefix (the same upload named by several
	// messages).
	Channel   string
	RefPrefix string
	AfterID   int64 // paging
	Limit     int   // 0 for 100
}

// MediaTx is what a transaction offers for media items.
type MediaTx interface {
	// InsertMedia records the media item of a message stored in the same
	// transaction (ID, UpdatedAt set by the store; NextAttemptAt is
	// CreatedAt when zero). A message has at most one: inserting another
	// for the same message changes nothing and returns the stored one.
	InsertMedia(ctx context.Context, m MediaItem) (MediaItem, error)
}

// MediaStore is what the store offers the media worker and the API.
type MediaStore interface {
	// GetMedia returns one media item, or ErrNotFound.
	GetMedia(ctx context.Context, id int64) (MediaItem, error)
	// ListMedia lists media items by ID.
	ListMedia(ctx context.Context, f MediaFilter) ([]MediaItem, error)
	// ClaimMedia returns up to limit items with work due at now, oldest
	// due first: pending ones (to fetch), and fetched ones whose message
	// is pushed (to upload). Each is held back from other claims until
	// until (its NextAttemptAt), and held by owner (required) until its
	// next UpdateMedia: a worker that dies before updating it is replaced
	// once that passes, or at once by a SQLite owner that restarts (the
	// held items are its previous run's, see sqlite.Store.TakeBackLeases).
	ClaimMedia(ctx context.Context, owner string, now, until time.Time, limit int) ([]MediaItem, error)
	// RenewMedia holds until until those of ids that owner's claim still
	// holds (the media worker's heartbeat), and returns the others: lost,
	// updated since (by owner, or by another claimer once the hold had
	// passed) or deleted.
	RenewMedia(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error)
	// UpdateMedia writes the item's Status, Reason, Size, SHA256,
	// ContentType, FileName, Location, ContentVersionID,
	// ContentDocumentID, Attempts, NextAttemptAt and HeldBy, with
	// UpdatedAt = now. A Location other than MediaInStore drops bytes kept by
	// PutMediaData. An unknown item (deleted with its message) is
	// ErrNotFound; an invalid status is an error and changes nothing.
	UpdateMedia(ctx context.Context, m MediaItem, now time.Time) error
	// UpdateHeldMedia is UpdateMedia for an item owner's claim holds (the
	// media worker's updates): it writes only while the item is held by
	// owner, and returns ErrLeaseLost, changing nothing, once it is not
	// (another claimer took it after the hold passed, or an update
	// released it). An unknown item is ErrNotFound.
	UpdateHeldMedia(ctx context.Context, owner string, m MediaItem, now time.Time) error
	// PutMediaData keeps an item's bytes in the store (Location is not
	// changed: UpdateMedia sets it). Bytes over MaxMediaBytes are
	// ErrMediaTooLarge; an unknown item ErrNotFound.
	PutMediaData(ctx context.Context, id int64, data []byte) error
	// MediaData returns the bytes kept by PutMediaData, or ErrNotFound
	// when the item or its bytes are gone.
	MediaData(ctx context.Context, id int64) ([]byte, error)
	// ReplayMedia puts failed items of tenant back to work, ready at now
	// with no attempts: fetched again when no bytes are kept, else
	// uploaded again. With no ids, every failed item of tenant. It returns
	// the ids replayed: items that are not failed are left out. When some
	// of ids are no media items of tenant, it replays none and returns an
	// error wrapping ErrNotFound that names them.
	ReplayMedia(ctx context.Context, tenant string, ids []int64, now time.Time) ([]int64, error)
}
