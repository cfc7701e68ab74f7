package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

const contactColumns = `id, tenant, channel, external_id, display_name,
	blocked_inbound, blocked_outbound, created_at, updated_at, platform_status, platform_status_at,
	block_note, block_by, block_at, native_want, native_status, native_error, native_attempts,
	native_next_attempt_at, native_updated_at, opt_out_keyword, opt_out_at`

func scanContact(sc Scanner) (store.Contact, error) {
	var c store.Contact
	err := sc.Scan(&c.ID, &c.Tenant, &c.Channel, &c.ExternalID, &c.DisplayName,
		&c.BlockedInbound, &c.BlockedOutbound, T(&c.CreatedAt), T(&c.UpdatedAt), &c.PlatformStatus, T(&c.PlatformStatusAt),
		&c.Block.Note, &c.Block.By, T(&c.Block.At), &c.Native.Want, &c.Native.Status, &c.Native.Error, &c.Native.Attempts,
		T(&c.Native.NextAttemptAt), T(&c.Native.UpdatedAt), &c.OptOut.Keyword, T(&c.OptOut.At))
	return c, err
}

// qUpsertContact inserts a contact or, when it exists, updates its display
// name (and UpdatedAt) when a different non-empty one is given. Otherwise
// it writes nothing and returns no row: most deliveries come from a known
// contact under the same name, and on PostgreSQL a write would make a new
// version of the row each time (WAL, and dead rows for vacuum). There its
// ON CONFLICT locks the contact's row until the transaction ends even when
// nothing is written: another transaction upserting the same contact
// waits for this one.
var qUpsertContact = Q(`
	INSERT INTO contacts (tenant, channel, external_id, display_name, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $5)
	ON CONFLICT (tenant, channel, external_id) DO UPDATE SET display_name = $4, updated_at = $5
	WHERE $4 <> '' AND $4 <> contacts.display_name
	RETURNING ` + contactColumns)

var qContactByKey = Q(`SELECT ` + contactColumns + ` FROM contacts WHERE tenant = $1 AND channel = $2 AND external_id = $3`)

// UpsertContact returns the contact for key, creating it when new.
func (x *Tx) UpsertContact(ctx context.Context, key store.ContactKey, displayName string, now time.Time) (store.Contact, error) {
	if key.Tenant == "" || key.Channel == "" || key.ExternalID == "" {
		return store.Contact{}, errors.New("upsert contact: tenant, channel and external id are required")
	}
	if now.IsZero() {
		return store.Contact{}, errors.New("upsert contact: the time is required")
	}
	if x.D.Style == SQLite {
		// Most deliveries come from a known contact under the same name:
		// on SQLite (one writer, nothing to lock) a read then, not a write.
		c, err := scanContact(x.Row(ctx, qContactByKey, key.Tenant, key.Channel, key.ExternalID))
		switch {
		case err == nil && (displayName == "" || displayName == c.DisplayName):
			return c, nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return store.Contact{}, fmt.Errorf("upsert contact: %w", err)
		}
	}
	c, written, err := x.upsertContact(ctx, key, displayName, now)
	if err != nil || written {
		return c, err
	}
	// Known under that name, and locked on PostgreSQL: this statement's
	// snapshot, taken after the lock, reads the contact as it stays.
	if c, err = scanContact(x.Row(ctx, qContactByKey, key.Tenant, key.Channel, key.ExternalID)); err != nil {
		return store.Contact{}, fmt.Errorf("upsert contact: read it: %w", err)
	}
	return c, nil
}

// upsertContact is UpsertContact's write, for a caller that validated its
// arguments. It returns written false, and no contact, when the contact
// exists under that name (or displayName is empty): nothing is written,
// and on PostgreSQL the row is locked, so that a statement run after it
// reads the contact as it stays until the transaction ends.
func (x *Tx) upsertContact(ctx context.Context, key store.ContactKey, displayName string, now time.Time) (c store.Contact, written bool, err error) {
	c, err = scanContact(x.Row(ctx, qUpsertContact, key.Tenant, key.Channel, key.ExternalID, displayName, x.D.Time(now)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Contact{}, false, nil
	case err != nil:
		return store.Contact{}, false, fmt.Errorf("upsert contact: %w", err)
	}
	return c, true, nil
}

// blockChanged tells, in SetContactBlock, whether the block given ($2 to
// $5) differs from the stored one. The SET expressions read the row as it
// was.
const blockChanged = `NOT (blocked_inbound = $2 AND blocked_outbound = $3 AND block_note = $4 AND block_by = $5)`

var qSetBlock = Q(`
	UPDATE contacts SET blocked_inbound = $2, blocked_outbound = $3, block_note = $4, block_by = $5,
		block_at   = CASE WHEN ` + blockChanged + ` THEN $6 ELSE block_at END,
		updated_at = CASE WHEN ` + blockChanged + ` THEN $7 ELSE updated_at END
	WHERE id = $1`)

// SetContactBlock sets the contact's local block. When the block changes
// (a direction, the note or who), Block.At and UpdatedAt become now; both
// directions lifted clear the note, who and when. Setting the block the
// contact has changes nothing (on PostgreSQL the row is locked anyway).
func (x *Tx) SetContactBlock(ctx context.Context, contactID int64, b store.Block, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("set contact %d block: the time is required", contactID)
	}
	note, by, blockAt := b.Note, b.By, now
	if !b.Inbound && !b.Outbound {
		note, by, blockAt = "", "", time.Time{}
	}
	return x.MustAffect(ctx, fmt.Sprintf("set contact %d block", contactID), qSetBlock,
		contactID, b.Inbound, b.Outbound, note, by, x.D.Time(blockAt), x.D.Time(now))
}

// qSetOptOut records an opt-out ($2, $3) unless one is in force, or lifts
// one in force ($2 empty, $3 the zero time): a row it does not change it
// does not write.
var qSetOptOut = Q(`
	UPDATE contacts SET opt_out_keyword = $2, opt_out_at = $3, updated_at = $4
	WHERE id = $1 AND (opt_out_keyword = '') <> ($2 = '')`)

// SetContactOptOut records or lifts the contact's opt-out (see
// store.ContactTx).
func (x *Tx) SetContactOptOut(ctx context.Context, contactID int64, o store.OptOut, now time.Time) (bool, error) {
	at := o.At
	switch {
	case o.Keyword != "" && at.IsZero():
		return false, fmt.Errorf("set contact %d opt-out: the time is required", contactID)
	case o.Keyword == "" && now.IsZero():
		return false, fmt.Errorf("lift contact %d opt-out: the time is required", contactID)
	case o.Keyword == "":
		at = time.Time{}
	default:
		now = at
	}
	n, err := x.Affected(ctx, qSetOptOut, contactID, o.Keyword, x.D.Time(at), x.D.Time(now))
	if err != nil {
		return false, fmt.Errorf("set contact %d opt-out: %w", contactID, err)
	}
	if n == 0 {
		var exists bool
		if err := x.Row(ctx, qContactExists, contactID).Scan(&exists); err != nil {
			return false, fmt.Errorf("set contact %d opt-out: %w", contactID, err)
		}
		if !exists {
			return false, fmt.Errorf("set contact %d opt-out: %w", contactID, store.ErrNotFound)
		}
	}
	return n > 0, nil
}

// qPlatformStatus records a platform status unless the contact holds one
// as of a later time; the same status and time change nothing. A contact
// with no status has none of either (0 on SQLite, where "before" alone
// would not do: the status is tested).
var qPlatformStatus = Q(`
	UPDATE contacts SET platform_status = $2, platform_status_at = $3
	WHERE id = $1
	  AND (platform_status = '' OR platform_status_at <= $3)
	  AND NOT (platform_status = $2 AND platform_status_at = $3)`)

var qContactExists = Q(`SELECT EXISTS (SELECT 1 FROM contacts WHERE id = $1)`)

// SetContactPlatformStatus records what the platform said about the
// contact, as of at, unless the contact holds a status as of a later time.
// On a tie the status given wins; the status and time already stored
// change nothing. It reports whether the contact changed.
func (x *Tx) SetContactPlatformStatus(ctx context.Context, contactID int64, status string, at time.Time) (bool, error) {
	if status == "" {
		return false, fmt.Errorf("set contact %d platform status: the status is required", contactID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("set contact %d platform status: the time is required", contactID)
	}
	n, err := x.Affected(ctx, qPlatformStatus, contactID, status, x.D.Time(at))
	if err != nil || n > 0 {
		if err != nil {
			return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
		}
		return true, nil
	}
	// Nothing changed: the stored status is newer or the same, or there is
	// no such contact.
	var exists bool
	if err := x.Row(ctx, qContactExists, contactID).Scan(&exists); err != nil {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, err)
	}
	if !exists {
		return false, fmt.Errorf("set contact %d platform status: %w", contactID, store.ErrNotFound)
	}
	return false, nil
}

var qSetNativeBlock = Q(`
	UPDATE contacts SET native_want = $2, native_status = $3, native_error = $4, native_attempts = $5,
		native_next_attempt_at = $6, native_updated_at = $7
	WHERE id = $1`)

// SetNativeBlock records where the platform's block of the contact stands.
func (x *Tx) SetNativeBlock(ctx context.Context, contactID int64, nb store.NativeBlock) error {
	if err := store.CheckNativeBlock(nb); err != nil {
		return fmt.Errorf("set contact %d native block: %w", contactID, err)
	}
	return x.MustAffect(ctx, fmt.Sprintf("set native block of contact %d", contactID), qSetNativeBlock,
		contactID, nb.Want, nb.Status, nb.Error, nb.Attempts, x.D.Time(nb.NextAttemptAt), x.D.Time(nb.UpdatedAt))
}

var qGetContactLocked = Q(`SELECT ` + contactColumns + ` FROM contacts WHERE id = $1{| FOR UPDATE}`)

// LockContact returns one contact, without its tags, and serialises the
// transaction with others touching it: PostgreSQL locks its row until the
// transaction ends (as UpsertContact does); SQLite's transaction holds the
// one write lock.
func (x *Tx) LockContact(ctx context.Context, id int64) (store.Contact, error) {
	c, err := One(ctx, x.Conn, scanContact, qGetContactLocked, id)
	if err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	return c, nil
}

var (
	qContactTenant = Q(`SELECT tenant FROM contacts WHERE id = $1{| FOR UPDATE}`)
	qDeleteTags    = Q(`DELETE FROM contact_tags WHERE contact_id = $1`)
	qInsertTag     = Q(`INSERT INTO contact_tags (contact_id, tenant, tag) VALUES ($1, $2, $3)`)
)

// SetTags replaces the contact's tags. A tag that is empty (or blank) is
// an error, and so is an unknown contact (ErrNotFound). The contact's row
// is locked first (PostgreSQL): two transactions setting its tags run one
// after the other.
func (x *Tx) SetTags(ctx context.Context, contactID int64, tags []string) error {
	norm, err := store.NormalizeTags(tags)
	if err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	tenants, err := Column[string](ctx, x.Conn, qContactTenant, contactID)
	if err == nil && len(tenants) == 0 {
		err = store.ErrNotFound
	}
	if err == nil {
		_, err = x.Exec(ctx, qDeleteTags, contactID)
	}
	for _, tag := range norm {
		if err != nil {
			break
		}
		_, err = x.Exec(ctx, qInsertTag, contactID, tenants[0], tag)
	}
	if err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	return nil
}

var qAddNote = Q(`
	INSERT INTO contact_notes (contact_id, text, author, created_at)
	SELECT id, $2, $3, $4 FROM contacts WHERE id = $1
	RETURNING id`)

// AddNote stores a note on the contact. Text and CreatedAt are required;
// an unknown contact is ErrNotFound (and the transaction stays usable).
func (x *Tx) AddNote(ctx context.Context, n store.Note) (store.Note, error) {
	if n.Text == "" {
		return store.Note{}, fmt.Errorf("add note to contact %d: the text is required", n.ContactID)
	}
	if n.CreatedAt.IsZero() {
		return store.Note{}, fmt.Errorf("add note to contact %d: CreatedAt is required", n.ContactID)
	}
	ids, err := Column[int64](ctx, x.Conn, qAddNote, n.ContactID, n.Text, n.Author, x.D.Time(n.CreatedAt))
	if err == nil && len(ids) == 0 {
		return store.Note{}, fmt.Errorf("add note to contact %d: contact %w", n.ContactID, store.ErrNotFound)
	}
	if err != nil {
		return store.Note{}, fmt.Errorf("add note to contact %d: %w", n.ContactID, err)
	}
	n.ID, n.CreatedAt = ids[0], AsTime(n.CreatedAt)
	return n, nil
}

// noteColumns are what a note reads; scanNote scans them.
const noteColumns = `id, contact_id, text, author, created_at, edited_by, edited_at`

func scanNote(sc Scanner) (store.Note, error) {
	var n store.Note
	return n, sc.Scan(&n.ID, &n.ContactID, &n.Text, &n.Author, T(&n.CreatedAt), &n.EditedBy, T(&n.EditedAt))
}

var qEditNote = Q(`UPDATE contact_notes SET text = $3, edited_by = $4, edited_at = $5
	WHERE id = $2 AND contact_id = $1 RETURNING ` + noteColumns)

// EditNote replaces the text of the contact's note (see store.ContactTx).
func (x *Tx) EditNote(ctx context.Context, contactID, noteID int64, text, by string, at time.Time) (store.Note, error) {
	if text == "" || at.IsZero() {
		return store.Note{}, fmt.Errorf("edit note %d of contact %d: the text and the time are required", noteID, contactID)
	}
	n, err := One(ctx, x.Conn, scanNote, qEditNote, contactID, noteID, text, by, x.D.Time(at))
	if err != nil {
		return store.Note{}, fmt.Errorf("edit note %d of contact %d: %w", noteID, contactID, err)
	}
	return n, nil
}

var qDeleteNote = Q(`DELETE FROM contact_notes WHERE id = $1 AND contact_id = $2`)

// DeleteNote removes the contact's note, or returns ErrNotFound.
func (x *Tx) DeleteNote(ctx context.Context, contactID, noteID int64) error {
	return x.MustAffect(ctx, fmt.Sprintf("delete note %d of contact %d", noteID, contactID), qDeleteNote, noteID, contactID)
}

var qGetContact = Q(`SELECT ` + contactColumns + ` FROM contacts WHERE id = $1`)

// GetContact returns one contact with its tags, or ErrNotFound.
func (s *Store) GetContact(ctx context.Context, id int64) (store.Contact, error) {
	var c store.Contact
	err := s.readTx(ctx, func(r Conn) error {
		var err error
		if c, err = One(ctx, r, scanContact, qGetContact, id); err != nil {
			return err
		}
		cs := []store.Contact{c}
		err = withTags(ctx, r, cs)
		c = cs[0]
		return err
	})
	if err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	return c, nil
}

var qTags = Q(`SELECT contact_id, tag FROM contact_tags WHERE contact_id {IN $1}`)

// withTags fills the tags of cs (sorted; empty, not nil, for none).
func withTags(ctx context.Context, r Conn, cs []store.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]int64, len(cs))
	at := make(map[int64]int, len(cs))
	for i := range cs {
		ids[i], at[cs[i].ID] = cs[i].ID, i
		cs[i].Tags = []string{}
	}
	type tag struct {
		id  int64
		tag string
	}
	tags, err := List(ctx, r, func(sc Scanner) (tag, error) {
		var t tag
		return t, sc.Scan(&t.id, &t.tag)
	}, qTags, r.D.List(ids))
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	for _, t := range tags {
		cs[at[t.id]].Tags = append(cs[at[t.id]].Tags, t.tag)
	}
	for i := range cs {
		sort.Strings(cs[i].Tags)
	}
	return nil
}

// ListContacts lists a tenant's contacts with their tags by ascending ID.
// The blocked filter repeats the predicate of the index contacts_blocked,
// which SQLite matches by its text.
func (s *Store) ListContacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error) {
	if f.Tenant == "" {
		return nil, errors.New("list contacts: the tenant is required")
	}
	var p Params
	tenant := p.Add(f.Tenant)
	where := []string{"tenant = " + tenant, "id > " + p.Add(f.AfterID)}
	if f.Channel != "" {
		where = append(where, "channel = "+p.Add(f.Channel))
	}
	if f.Blocked != nil {
		if *f.Blocked {
			where = append(where, "{(blocked_inbound = 1 OR blocked_outbound = 1 OR opt_out_keyword <> '')|(blocked_inbound OR blocked_outbound OR opt_out_keyword <> '')}")
		} else {
			where = append(where, "{blocked_inbound = 0 AND blocked_outbound = 0 AND opt_out_keyword = ''|NOT blocked_inbound AND NOT blocked_outbound AND opt_out_keyword = ''}")
		}
	}
	if f.Tag != "" {
		where = append(where, "id IN (SELECT contact_id FROM contact_tags WHERE tenant = "+tenant+" AND tag = "+p.Add(f.Tag)+")")
	}
	if f.Search != "" {
		// instr/strpos, not LIKE: the text is matched as it is, % and _ included.
		s := p.Add(f.Search)
		where = append(where, "({instr|strpos}(lower(display_name), lower("+s+")) > 0 OR {instr|strpos}(lower(external_id), lower("+s+")) > 0)")
	}
	q := Q(`SELECT ` + contactColumns + ` FROM contacts WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id LIMIT ` + p.Add(store.PageSize(f.Limit, DefaultLimit)))
	var cs []store.Contact
	err := s.readTx(ctx, func(r Conn) error {
		var err error
		if cs, err = List(ctx, r, scanContact, q, p.Args...); err != nil {
			return err
		}
		return withTags(ctx, r, cs)
	})
	if err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", f.Tenant, err)
	}
	return cs, nil
}

var qNotes = Q(`SELECT ` + noteColumns + ` FROM contact_notes WHERE contact_id = $1 ORDER BY id`)

// Notes lists the contact's notes, oldest first.
func (s *Store) Notes(ctx context.Context, contactID int64) ([]store.Note, error) {
	ns, err := List(ctx, s.r, scanNote, qNotes, contactID)
	if err != nil {
		return nil, fmt.Errorf("notes of contact %d: %w", contactID, err)
	}
	return ns, nil
}

// qDueNativeBlocks: a pending block with no NextAttemptAt (0, NULL) is due
// at once.
var qDueNativeBlocks = Q(`SELECT ` + contactColumns + ` FROM contacts
	WHERE native_status = 'pending' AND COALESCE(native_next_attempt_at, $1) <= $1
	ORDER BY native_next_attempt_at NULLS FIRST, id LIMIT $2`)

// DueNativeBlocks lists the contacts whose native block is pending with
// NextAttemptAt at or before now, the earliest first, at most limit
// (default 100).
func (s *Store) DueNativeBlocks(ctx context.Context, now time.Time, limit int) ([]store.Contact, error) {
	cs, err := List(ctx, s.r, scanContact, qDueNativeBlocks, s.d.Time(now), orDefault(limit))
	if err != nil {
		return nil, fmt.Errorf("due native blocks: %w", err)
	}
	return cs, nil
}
