package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chatsync/sfconnector/connector/store"
)

// SetNativeBlock records where the platform's block of the contact stands.
func (x *tx) SetNativeBlock(ctx context.Context, contactID int64, nb store.NativeBlock) error {
	if err := store.CheckNativeBlock(nb); err != nil {
		return fmt.Errorf("set contact %d native block: %w", contactID, err)
	}
	res, err := x.t.ExecContext(ctx, `
		UPDATE contacts SET native_want = ?, native_status = ?, native_error = ?, native_attempts = ?,
			native_next_attempt_at = ?, native_updated_at = ?
		WHERE id = ?`,
		nb.Want, nb.Status, nb.Error, nb.Attempts, micros(nb.NextAttemptAt), micros(nb.UpdatedAt), contactID)
	if err != nil {
		return fmt.Errorf("set contact %d native block: %w", contactID, err)
	}
	return mustAffect(res, fmt.Sprintf("set native block of contact %d", contactID))
}

// getContact reads one contact, without its tags.
func getContact(ctx context.Context, q querier, id int64) (store.Contact, error) {
	c, err := scanContact(q.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	return c, nil
}

// GetContact returns one contact, without its tags. The transaction holds
// the database's one write lock, which serialises it with any other.
func (x *tx) GetContact(ctx context.Context, id int64) (store.Contact, error) {
	return getContact(ctx, x.t, id)
}

// ContactConversations lists the contact's conversations, oldest first.
func (x *tx) ContactConversations(ctx context.Context, contactID int64) ([]store.Conversation, error) {
	cs, err := listConversations(ctx, x.t, conversationSelect+`WHERE c.contact_id = ? ORDER BY c.id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("conversations of contact %d: %w", contactID, err)
	}
	return cs, nil
}

// listConversations runs a conversation query returning many rows.
func listConversations(ctx context.Context, q querier, query string, args ...any) ([]store.Conversation, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteConversations removes the conversations and, with them, their
// messages and history. Their outbox is on their rows (pending_since and
// the lease): it goes too, and a worker holding a lease on one of them
// finds it lost when it settles.
func (x *tx) DeleteConversations(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, fmt.Errorf("delete conversations: %w", err)
	}
	res, err := x.t.ExecContext(ctx, `
		DELETE FROM messages WHERE conversation_id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return 0, fmt.Errorf("delete conversations: messages: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete conversations: messages: %w", err)
	}
	// The history goes by ON DELETE CASCADE.
	if _, err := x.t.ExecContext(ctx, `
		DELETE FROM conversations WHERE id IN (SELECT value FROM json_each(?))`, string(list)); err != nil {
		return 0, fmt.Errorf("delete conversations: %w", err)
	}
	return int(n), nil
}

// SetTags replaces the contact's tags. A tag that is empty (or blank) is
// an error, and so is an unknown contact (ErrNotFound).
func (x *tx) SetTags(ctx context.Context, contactID int64, tags []string) error {
	norm, err := store.NormalizeTags(tags)
	if err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	var tenant string
	err = x.t.QueryRowContext(ctx, `SELECT tenant FROM contacts WHERE id = ?`, contactID).Scan(&tenant)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	if _, err := x.t.ExecContext(ctx, `DELETE FROM contact_tags WHERE contact_id = ?`, contactID); err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	for _, tag := range norm {
		_, err := x.t.ExecContext(ctx, `INSERT INTO contact_tags (contact_id, tenant, tag) VALUES (?, ?, ?)`,
			contactID, tenant, tag)
		if err != nil {
			return fmt.Errorf("set tags of contact %d: %w", contactID, err)
		}
	}
	return nil
}

// AddNote stores a note on the contact. Text and CreatedAt are required;
// an unknown contact is ErrNotFound.
func (x *tx) AddNote(ctx context.Context, n store.Note) (store.Note, error) {
	if n.Text == "" {
		return store.Note{}, fmt.Errorf("add note to contact %d: the text is required", n.ContactID)
	}
	if n.CreatedAt.IsZero() {
		return store.Note{}, fmt.Errorf("add note to contact %d: CreatedAt is required", n.ContactID)
	}
	err := x.t.QueryRowContext(ctx, `
		INSERT INTO contact_notes (contact_id, text, author, created_at)
		SELECT id, ?, ?, ? FROM contacts WHERE id = ?
		RETURNING id`, n.Text, n.Author, micros(n.CreatedAt), n.ContactID).Scan(&n.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Note{}, fmt.Errorf("add note to contact %d: contact %w", n.ContactID, store.ErrNotFound)
	}
	if err != nil {
		return store.Note{}, fmt.Errorf("add note to contact %d: %w", n.ContactID, err)
	}
	n.CreatedAt = fromMicros(micros(n.CreatedAt))
	return n, nil
}

// DeleteNote removes the contact's note, or returns ErrNotFound.
func (x *tx) DeleteNote(ctx context.Context, contactID, noteID int64) error {
	res, err := x.t.ExecContext(ctx, `DELETE FROM contact_notes WHERE id = ? AND contact_id = ?`, noteID, contactID)
	if err != nil {
		return fmt.Errorf("delete note %d of contact %d: %w", noteID, contactID, err)
	}
	return mustAffect(res, fmt.Sprintf("delete note %d of contact %d", noteID, contactID))
}

// SetDeliveryStatus records a receipt on an outbound message, as of at,
// unless the message holds one as of a later time. On a tie the status
// given wins; the status and time already stored change nothing. An empty
// status or a zero at is an error.
func (x *tx) SetDeliveryStatus(ctx context.Context, tenant, channel, platformID, status string, at time.Time) (bool, error) {
	if status == "" {
		return false, fmt.Errorf("set delivery status of message %s: the status is required", platformID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("set delivery status of message %s: the time is required", platformID)
	}
	// A message with no status has delivery_status_at 0: test the status.
	res, err := x.t.QueryContext(ctx, `
		UPDATE messages SET delivery_status = ?4, delivery_status_at = ?5, `+repushColumn+`
		WHERE tenant = ?1 AND channel = ?2 AND (platform_id = ?3 OR sent_id = ?3) AND direction = 'outbound'
		  AND (delivery_status = '' OR delivery_status_at <= ?5)
		  AND NOT (delivery_status = ?4 AND delivery_status_at = ?5)
		RETURNING id`,
		tenant, channel, platformID, status, micros(at))
	if err != nil {
		return false, fmt.Errorf("set delivery status of message %s: %w", platformID, err)
	}
	ids, err := collect[int64](res)
	if err != nil {
		return false, fmt.Errorf("set delivery status of message %s: %w", platformID, err)
	}
	for _, id := range ids {
		if err := repushed(ctx, x.t, id); err != nil {
			return false, fmt.Errorf("set delivery status of message %s: %w", platformID, err)
		}
	}
	return len(ids) > 0, nil
}

// repushColumn, in an UPDATE changing an outbound message's status, puts
// a message already pushed back in the outbox: its record is written
// again with the new status. Pending, excluded and dead messages keep
// their push status.
const repushColumn = `push_status = CASE WHEN push_status = 'pushed' THEN 'pending' ELSE push_status END`

// repushed lowers the conversation's pending_since to message id's
// received_at when the message is pending.
func repushed(ctx context.Context, t cachedTx, id int64) error {
	_, err := t.ExecContext(ctx, `
		UPDATE conversations SET pending_since = (SELECT received_at FROM messages WHERE id = ?1)
		WHERE id = (SELECT conversation_id FROM messages WHERE id = ?1 AND push_status = 'pending')
		  AND (pending_since IS NULL OR pending_since > (SELECT received_at FROM messages WHERE id = ?1))`, id)
	if err != nil {
		return fmt.Errorf("record the outbox's oldest message: %w", err)
	}
	return nil
}

// ClaimSends leases the outbound messages due to be sent (store.Tx).
// SQLite has one writer: the transaction holding the write lock claims
// alone.
func (x *tx) ClaimSends(ctx context.Context, now, until time.Time, limit int) ([]store.Message, error) {
	out, err := listMessages(ctx, x.t, `
		UPDATE messages SET send_after = ?2
		WHERE id IN (SELECT id FROM messages WHERE delivery_status = 'sending' AND send_after <= ?1
			ORDER BY send_after, id LIMIT ?3)
		RETURNING `+messageColumns, micros(now), micros(until), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages to send: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Message) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// SettleSend records the outcome of one send (store.Tx).
func (x *tx) SettleSend(ctx context.Context, id int64, o store.SendOutcome) (bool, error) {
	var q string
	var args []any
	switch {
	case o.Error == "":
		q, args = `UPDATE messages SET delivery_status = 'sent', delivery_status_at = ?2, sent_id = ?3, `+repushColumn+`,
			send_attempts = send_attempts + 1, send_error = '', send_after = 0
			WHERE id = ?1 AND delivery_status = 'sending'`, []any{id, micros(o.At), o.SentID}
	case !o.RetryAt.IsZero():
		q, args = `UPDATE messages SET send_attempts = send_attempts + 1, send_error = ?2, send_after = ?3
			WHERE id = ?1 AND delivery_status = 'sending'`, []any{id, o.Error, micros(o.RetryAt)}
	default:
		q, args = `UPDATE messages SET delivery_status = 'failed', delivery_status_at = ?2, `+repushColumn+`,
			send_attempts = send_attempts + 1, send_error = ?3, send_after = 0
			WHERE id = ?1 AND delivery_status = 'sending'`, []any{id, micros(o.At), o.Error}
	}
	res, err := x.t.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("settle the send of message %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("settle the send of message %d: %w", id, err)
	}
	if n > 0 && (o.Error == "" || o.RetryAt.IsZero()) {
		if err := repushed(ctx, x.t, id); err != nil {
			return false, fmt.Errorf("settle the send of message %d: %w", id, err)
		}
	}
	return n > 0, nil
}

func scanSetting(sc scanner) (store.Setting, error) {
	var s store.Setting
	var updated int64
	err := sc.Scan(&s.Scope, &s.Key, &s.Value, &s.UpdatedBy, &updated)
	s.UpdatedAt = fromMicros(updated)
	return s, err
}

// GetSetting returns a setting, or ErrNotFound.
func (x *tx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	s, err := scanSetting(x.t.QueryRowContext(ctx, `
		SELECT scope, key, value, updated_by, updated_at FROM settings WHERE scope = ? AND key = ?`, scope, key))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Setting{}, fmt.Errorf("get setting %s %s: %w", scope, key, err)
	}
	return s, nil
}

// PutSetting writes a setting and appends it to its history. Scope, Key
// and UpdatedAt are required.
func (x *tx) PutSetting(ctx context.Context, s store.Setting) error {
	if s.Scope == "" || s.Key == "" {
		return errors.New("put setting: scope and key are required")
	}
	if s.UpdatedAt.IsZero() {
		return fmt.Errorf("put setting %s %s: UpdatedAt is required", s.Scope, s.Key)
	}
	_, err := x.t.ExecContext(ctx, `
		INSERT INTO settings (scope, key, value, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (scope, key) DO UPDATE SET value = ?3, updated_by = ?4, updated_at = ?5`,
		s.Scope, s.Key, s.Value, s.UpdatedBy, micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put setting %s %s: %w", s.Scope, s.Key, err)
	}
	_, err = x.t.ExecContext(ctx, `
		INSERT INTO setting_history (scope, key, value, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)`,
		s.Scope, s.Key, s.Value, s.UpdatedBy, micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put setting %s %s: history: %w", s.Scope, s.Key, err)
	}
	return nil
}

// ListConversations lists a tenant's conversations by ascending ID.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, error) {
	if f.Tenant == "" {
		return nil, errors.New("list conversations: the tenant is required")
	}
	where := []string{"c.tenant = ?", "c.id > ?"}
	args := []any{f.Tenant, f.AfterID}
	if states := f.States.States(); len(states) > 0 {
		list, err := json.Marshal(states)
		if err != nil {
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		where = append(where, "c.state IN (SELECT value FROM json_each(?))")
		args = append(args, string(list))
	}
	if f.Channel != "" {
		where = append(where, "c.channel = ?")
		args = append(args, f.Channel)
	}
	if f.ContactID != 0 {
		where = append(where, "c.contact_id = ?")
		args = append(args, f.ContactID)
	}
	if !f.UpdatedSince.IsZero() {
		where = append(where, "c.updated_at >= ?")
		args = append(args, micros(f.UpdatedSince))
	}
	args = append(args, store.PageSize(f.Limit, defaultLimit))
	cs, err := listConversations(ctx, s.r, conversationSelect+`WHERE `+strings.Join(where, " AND ")+`
		ORDER BY c.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations of tenant %s: %w", f.Tenant, err)
	}
	return cs, nil
}

// GetContact returns one contact with its tags, or ErrNotFound.
func (s *Store) GetContact(ctx context.Context, id int64) (store.Contact, error) {
	t, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	defer func() { _ = t.Rollback() }() // read only: nothing to commit
	c, err := getContact(ctx, t, id)
	if err != nil {
		return store.Contact{}, err
	}
	cs := []store.Contact{c}
	if err := withTags(ctx, t, cs); err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	return cs[0], nil
}

// withTags fills the tags of cs (sorted; empty, not nil, for none).
func withTags(ctx context.Context, q querier, cs []store.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]int64, len(cs))
	at := make(map[int64]int, len(cs))
	for i := range cs {
		ids[i], at[cs[i].ID] = cs[i].ID, i
		cs[i].Tags = []string{}
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	rows, err := q.QueryContext(ctx, `
		SELECT contact_id, tag FROM contact_tags WHERE contact_id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return fmt.Errorf("tags: %w", err)
		}
		cs[at[id]].Tags = append(cs[at[id]].Tags, tag)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	for i := range cs {
		sort.Strings(cs[i].Tags)
	}
	return nil
}

// listContacts runs a contact query returning many rows.
func listContacts(ctx context.Context, q querier, query string, args ...any) ([]store.Contact, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListContacts lists a tenant's contacts with their tags by ascending ID.
// The blocked filter repeats the expression of the index contacts_blocked,
// which SQLite matches by its text.
func (s *Store) ListContacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error) {
	if f.Tenant == "" {
		return nil, errors.New("list contacts: the tenant is required")
	}
	where := []string{"tenant = ?", "id > ?"}
	args := []any{f.Tenant, f.AfterID}
	if f.Channel != "" {
		where = append(where, "channel = ?")
		args = append(args, f.Channel)
	}
	if f.Blocked != nil {
		if *f.Blocked {
			where = append(where, "(blocked_inbound = 1 OR blocked_outbound = 1)")
		} else {
			where = append(where, "blocked_inbound = 0 AND blocked_outbound = 0")
		}
	}
	if f.Tag != "" {
		where = append(where, "id IN (SELECT contact_id FROM contact_tags WHERE tenant = ? AND tag = ?)")
		args = append(args, f.Tenant, f.Tag)
	}
	if f.Search != "" {
		// instr, not LIKE: the text is matched as it is, % and _ included.
		where = append(where, "(instr(lower(display_name), lower(?)) > 0 OR instr(lower(external_id), lower(?)) > 0)")
		args = append(args, f.Search, f.Search)
	}
	args = append(args, store.PageSize(f.Limit, defaultLimit))

	t, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", f.Tenant, err)
	}
	defer func() { _ = t.Rollback() }() // read only: nothing to commit
	cs, err := listContacts(ctx, t, `SELECT `+contactColumns+` FROM contacts
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err == nil {
		err = withTags(ctx, t, cs)
	}
	if err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", f.Tenant, err)
	}
	return cs, nil
}

// Notes lists the contact's notes, oldest first.
func (s *Store) Notes(ctx context.Context, contactID int64) ([]store.Note, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT id, contact_id, text, author, created_at FROM contact_notes
		WHERE contact_id = ? ORDER BY id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("notes of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	out := []store.Note{}
	for rows.Next() {
		var n store.Note
		var created int64
		if err := rows.Scan(&n.ID, &n.ContactID, &n.Text, &n.Author, &created); err != nil {
			return nil, fmt.Errorf("notes of contact %d: %w", contactID, err)
		}
		n.CreatedAt = fromMicros(created)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notes of contact %d: %w", contactID, err)
	}
	return out, nil
}

// DueNativeBlocks lists the contacts whose native block is pending with
// NextAttemptAt at or before now (a pending block with no NextAttemptAt
// is due at once), the earliest first, at most limit (default 100).
func (s *Store) DueNativeBlocks(ctx context.Context, now time.Time, limit int) ([]store.Contact, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	cs, err := listContacts(ctx, s.r, `SELECT `+contactColumns+` FROM contacts
		WHERE native_status = 'pending' AND native_next_attempt_at <= ?
		ORDER BY native_next_attempt_at, id LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due native blocks: %w", err)
	}
	return cs, nil
}

// SettingHistory lists the values a setting was given, oldest first.
func (s *Store) SettingHistory(ctx context.Context, scope, key string) ([]store.Setting, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT scope, key, value, updated_by, updated_at FROM setting_history
		WHERE scope = ? AND key = ? ORDER BY id`, scope, key)
	if err != nil {
		return nil, fmt.Errorf("history of setting %s %s: %w", scope, key, err)
	}
	defer rows.Close()
	out := []store.Setting{}
	for rows.Next() {
		st, err := scanSetting(rows)
		if err != nil {
			return nil, fmt.Errorf("history of setting %s %s: %w", scope, key, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of setting %s %s: %w", scope, key, err)
	}
	return out, nil
}

const tokenColumns = `id, tenant, name, role, hash, created_at, revoked_at`

func scanToken(sc scanner) (store.APIToken, error) {
	var t store.APIToken
	var role string
	var created, revoked int64
	err := sc.Scan(&t.ID, &t.Tenant, &t.Name, &role, &t.Hash, &created, &revoked)
	t.Role = store.Role(role)
	t.CreatedAt, t.RevokedAt = fromMicros(created), fromMicros(revoked)
	return t, err
}

// CreateToken stores a new, valid token. A name taken by a valid token of
// the same tenant, or a hash stored already, is ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if err := store.CheckNewToken(t); err != nil {
		return store.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	var out store.APIToken
	err := s.write(ctx, func(tx cachedTx) error {
		var nameTaken, hashTaken bool
		err := tx.QueryRowContext(ctx, `
			SELECT EXISTS (SELECT 1 FROM api_tokens WHERE tenant = ?1 AND name = ?2 AND revoked_at = 0),
			       EXISTS (SELECT 1 FROM api_tokens WHERE hash = ?3)`,
			t.Tenant, t.Name, t.Hash).Scan(&nameTaken, &hashTaken)
		switch {
		case err != nil:
			return err
		case nameTaken:
			return fmt.Errorf("a valid token of tenant %q has that name: %w", t.Tenant, store.ErrConflict)
		case hashTaken:
			return fmt.Errorf("a token with that hash is stored: %w", store.ErrConflict)
		}
		out, err = scanToken(tx.QueryRowContext(ctx, `
			INSERT INTO api_tokens (tenant, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)
			RETURNING `+tokenColumns, t.Tenant, t.Name, string(t.Role), t.Hash, micros(t.CreatedAt)))
		return err
	})
	if err != nil {
		return store.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return out, nil
}

// TokenByHash returns the valid token with that hash, or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE hash = ? AND revoked_at = 0`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// ListTokens lists the tenant's tokens, revoked ones included, by ID.
func (s *Store) ListTokens(ctx context.Context, tenant string) ([]store.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE tenant = ? ORDER BY id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("tokens of tenant %q: %w", tenant, err)
	}
	defer rows.Close()
	out := []store.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens of tenant %q: %w", tenant, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens of tenant %q: %w", tenant, err)
	}
	return out, nil
}

// RevokeToken revokes a valid token as of now; ErrNotFound when no valid
// token has id.
func (s *Store) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	if now.IsZero() {
		return fmt.Errorf("revoke token %d: the time is required", id)
	}
	return s.write(ctx, func(tx cachedTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`,
			micros(now), id)
		if err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		return mustAffect(res, fmt.Sprintf("revoke token %d: valid token", id))
	})
}
