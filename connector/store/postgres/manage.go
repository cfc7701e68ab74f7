package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/chatsync/sfconnector/connector/store"
)

// SetNativeBlock records where the platform's block of the contact stands.
func (x *tx) SetNativeBlock(ctx context.Context, contactID int64, nb store.NativeBlock) error {
	if err := store.CheckNativeBlock(nb); err != nil {
		return fmt.Errorf("set contact %d native block: %w", contactID, err)
	}
	tag, err := x.t.Exec(ctx, `
		UPDATE contacts SET native_want = $2, native_status = $3, native_error = $4, native_attempts = $5,
			native_next_attempt_at = $6, native_updated_at = $7
		WHERE id = $1`,
		contactID, nb.Want, nb.Status, nb.Error, nb.Attempts, nullTS(nb.NextAttemptAt), nullTS(nb.UpdatedAt))
	if err != nil {
		return fmt.Errorf("set contact %d native block: %w", contactID, err)
	}
	return mustAffect(tag, fmt.Sprintf("set native block of contact %d", contactID))
}

// GetContact returns one contact, without its tags, and locks its row
// until the transaction ends (as UpsertContact does): another transaction
// reading it here, upserting it or changing it waits for this one.
func (x *tx) GetContact(ctx context.Context, id int64) (store.Contact, error) {
	c, err := scanContact(x.t.QueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	return c, nil
}

// ContactConversations lists the contact's conversations, oldest first.
func (x *tx) ContactConversations(ctx context.Context, contactID int64) ([]store.Conversation, error) {
	cs, err := listConversations(ctx, x.t, conversationSelect+`WHERE c.contact_id = $1 ORDER BY c.id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("conversations of contact %d: %w", contactID, err)
	}
	return cs, nil
}

// listConversations runs a conversation query returning many rows.
func listConversations(ctx context.Context, q querier, query string, args ...any) ([]store.Conversation, error) {
	rows, err := q.Query(ctx, query, args...)
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
// finds it lost when it settles. The conversations' rows are locked
// first, in id order, as a settlement locks its conversation before its
// messages.
func (x *tx) DeleteConversations(ctx context.Context, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := x.t.Exec(ctx, `
		SELECT id FROM conversations WHERE id = ANY ($1) ORDER BY id FOR UPDATE`, ids); err != nil {
		return 0, fmt.Errorf("delete conversations: lock them: %w", err)
	}
	tag, err := x.t.Exec(ctx, `DELETE FROM messages WHERE conversation_id = ANY ($1)`, ids)
	if err != nil {
		return 0, fmt.Errorf("delete conversations: messages: %w", err)
	}
	// The history goes by ON DELETE CASCADE.
	if _, err := x.t.Exec(ctx, `DELETE FROM conversations WHERE id = ANY ($1)`, ids); err != nil {
		return 0, fmt.Errorf("delete conversations: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// SetTags replaces the contact's tags. A tag that is empty (or blank) is
// an error, and so is an unknown contact (ErrNotFound). The contact's row
// is locked first: two transactions setting its tags run one after the
// other.
func (x *tx) SetTags(ctx context.Context, contactID int64, tags []string) error {
	norm, err := store.NormalizeTags(tags)
	if err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	var tenant string
	err = x.t.QueryRow(ctx, `SELECT tenant FROM contacts WHERE id = $1 FOR UPDATE`, contactID).Scan(&tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	if _, err := x.t.Exec(ctx, `DELETE FROM contact_tags WHERE contact_id = $1`, contactID); err != nil {
		return fmt.Errorf("set tags of contact %d: %w", contactID, err)
	}
	if len(norm) > 0 {
		_, err := x.t.Exec(ctx, `
			INSERT INTO contact_tags (contact_id, tenant, tag) SELECT $1, $2, unnest($3::text[])`,
			contactID, tenant, norm)
		if err != nil {
			return fmt.Errorf("set tags of contact %d: %w", contactID, err)
		}
	}
	return nil
}

// AddNote stores a note on the contact. Text and CreatedAt are required;
// an unknown contact is ErrNotFound (and the transaction stays usable).
func (x *tx) AddNote(ctx context.Context, n store.Note) (store.Note, error) {
	if n.Text == "" {
		return store.Note{}, fmt.Errorf("add note to contact %d: the text is required", n.ContactID)
	}
	if n.CreatedAt.IsZero() {
		return store.Note{}, fmt.Errorf("add note to contact %d: CreatedAt is required", n.ContactID)
	}
	var created pgtype.Timestamptz
	err := x.t.QueryRow(ctx, `
		INSERT INTO contact_notes (contact_id, text, author, created_at)
		SELECT id, $2, $3, $4 FROM contacts WHERE id = $1
		RETURNING id, created_at`, n.ContactID, n.Text, n.Author, ts(n.CreatedAt)).Scan(&n.ID, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Note{}, fmt.Errorf("add note to contact %d: contact %w", n.ContactID, store.ErrNotFound)
	}
	if err != nil {
		return store.Note{}, fmt.Errorf("add note to contact %d: %w", n.ContactID, err)
	}
	n.CreatedAt = fromTS(created)
	return n, nil
}

// DeleteNote removes the contact's note, or returns ErrNotFound.
func (x *tx) DeleteNote(ctx context.Context, contactID, noteID int64) error {
	tag, err := x.t.Exec(ctx, `DELETE FROM contact_notes WHERE id = $1 AND contact_id = $2`, noteID, contactID)
	if err != nil {
		return fmt.Errorf("delete note %d of contact %d: %w", noteID, contactID, err)
	}
	return mustAffect(tag, fmt.Sprintf("delete note %d of contact %d", noteID, contactID))
}

// SetDeliveryStatus records a receipt on an outbound message, as of at,
// unless the message holds one as of a later time. On a tie the status
// given wins; the status and time already stored change nothing. An empty
// status or a zero at is an error. The UPDATE locks the message's row: of
// two receipts for one message, the second waits and then compares with
// what the first committed.
func (x *tx) SetDeliveryStatus(ctx context.Context, tenant, channel, platformID, status string, at time.Time) (bool, error) {
	if status == "" {
		return false, fmt.Errorf("set delivery status of message %s: the status is required", platformID)
	}
	if at.IsZero() {
		return false, fmt.Errorf("set delivery status of message %s: the time is required", platformID)
	}
	changed, err := x.repush(ctx, `
		UPDATE messages SET delivery_status = $4, delivery_status_at = $5, `+repushColumn+`
		WHERE tenant = $1 AND channel = $2 AND (platform_id = $3 OR sent_id = $3) AND direction = 'outbound'
		  AND (delivery_status_at IS NULL OR delivery_status_at <= $5)
		  AND (delivery_status, delivery_status_at) IS DISTINCT FROM ($4::text, $5::timestamptz)`,
		tenant, channel, platformID, status, ts(at))
	if err != nil {
		return false, fmt.Errorf("set delivery status of message %s: %w", platformID, err)
	}
	return changed, nil
}

// repushColumn, in an UPDATE changing an outbound message's status, puts
// a message already pushed back in the outbox: its record is written
// again with the new status. Pending, excluded and dead messages keep
// their push status.
const repushColumn = `push_status = CASE WHEN push_status = 'pushed' THEN 'pending' ELSE push_status END`

// repush runs update, an UPDATE of messages' statuses setting
// repushColumn, and lowers the pending_since of the conversations of the
// messages it made pending (making the transaction notify the listeners
// at commit). It reports whether update changed a message.
func (x *tx) repush(ctx context.Context, update string, args ...any) (bool, error) {
	var changed, pending int
	err := x.t.QueryRow(ctx, `
		WITH m AS (`+update+`
			RETURNING conversation_id, received_at, push_status
		), outbox AS (
			UPDATE conversations c SET pending_since = LEAST(c.pending_since, p.since)
			FROM (SELECT conversation_id, MIN(received_at) AS since FROM m WHERE push_status = 'pending'
				GROUP BY conversation_id) p
			WHERE c.id = p.conversation_id
		)
		SELECT COUNT(*), COUNT(*) FILTER (WHERE push_status = 'pending') FROM m`, args...).Scan(&changed, &pending)
	if err != nil {
		return false, err
	}
	if pending > 0 {
		x.outboxWork = true
	}
	return changed > 0, nil
}

// ClaimSends leases the outbound messages due to be sent (store.Tx); rows
// another replica's claim holds are skipped.
func (x *tx) ClaimSends(ctx context.Context, now, until time.Time, limit int) ([]store.Message, error) {
	out, err := listMessages(ctx, x.t, `
		UPDATE messages SET send_after = $2
		WHERE id IN (SELECT id FROM messages WHERE delivery_status = 'sending' AND send_after <= $1
			ORDER BY send_after, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+messageColumns, ts(now), ts(until), limit)
	if err != nil {
		return nil, fmt.Errorf("claim messages to send: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// SettleSend records the outcome of one send (store.Tx).
func (x *tx) SettleSend(ctx context.Context, id int64, o store.SendOutcome) (bool, error) {
	var q string
	var args []any
	switch {
	case o.Error == "":
		q, args = `UPDATE messages SET delivery_status = 'sent', delivery_status_at = $2, sent_id = $3, `+repushColumn+`,
			send_attempts = send_attempts + 1, send_error = '', send_after = NULL
			WHERE id = $1 AND delivery_status = 'sending'`, []any{id, ts(o.At), o.SentID}
	case !o.RetryAt.IsZero():
		q, args = `UPDATE messages SET send_attempts = send_attempts + 1, send_error = $2, send_after = $3
			WHERE id = $1 AND delivery_status = 'sending'`, []any{id, o.Error, ts(o.RetryAt)}
	default:
		q, args = `UPDATE messages SET delivery_status = 'failed', delivery_status_at = $2, `+repushColumn+`,
			send_attempts = send_attempts + 1, send_error = $3, send_after = NULL
			WHERE id = $1 AND delivery_status = 'sending'`, []any{id, ts(o.At), o.Error}
	}
	changed, err := x.repush(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("settle the send of message %d: %w", id, err)
	}
	return changed, nil
}

const settingColumns = `scope, key, value, updated_by, updated_at`

func scanSetting(row pgx.Row) (store.Setting, error) {
	var s store.Setting
	var updated pgtype.Timestamptz
	err := row.Scan(&s.Scope, &s.Key, &s.Value, &s.UpdatedBy, &updated)
	s.UpdatedAt = fromTS(updated)
	return s, err
}

// GetSetting returns a setting, or ErrNotFound.
func (x *tx) GetSetting(ctx context.Context, scope, key string) (store.Setting, error) {
	s, err := scanSetting(x.t.QueryRow(ctx, `SELECT `+settingColumns+` FROM settings
		WHERE scope = $1 AND key = $2`, scope, key))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Setting{}, fmt.Errorf("get setting %s %s: %w", scope, key, err)
	}
	return s, nil
}

// PutSetting writes a setting and appends it to its history. Scope, Key
// and UpdatedAt are required. The upsert locks the setting's row first, so
// that the history of concurrent writes is in the order they committed.
func (x *tx) PutSetting(ctx context.Context, s store.Setting) error {
	if s.Scope == "" || s.Key == "" {
		return errors.New("put setting: scope and key are required")
	}
	if s.UpdatedAt.IsZero() {
		return fmt.Errorf("put setting %s %s: UpdatedAt is required", s.Scope, s.Key)
	}
	_, err := x.t.Exec(ctx, `
		INSERT INTO settings (scope, key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, key) DO UPDATE SET
			value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
		s.Scope, s.Key, s.Value, s.UpdatedBy, ts(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put setting %s %s: %w", s.Scope, s.Key, err)
	}
	_, err = x.t.Exec(ctx, `
		INSERT INTO setting_history (scope, key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)`,
		s.Scope, s.Key, s.Value, s.UpdatedBy, ts(s.UpdatedAt))
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
	var w where
	w.add("c.tenant = ", f.Tenant)
	w.add("c.id > ", f.AfterID)
	if states := f.States.States(); len(states) > 0 {
		list := make([]int16, len(states))
		for i, st := range states {
			list[i] = int16(st)
		}
		w.addf("c.state = ANY (%s::smallint[])", list)
	}
	if f.Channel != "" {
		w.add("c.channel = ", f.Channel)
	}
	if f.ContactID != 0 {
		w.add("c.contact_id = ", f.ContactID)
	}
	if !f.UpdatedSince.IsZero() {
		w.add("c.updated_at >= ", ts(f.UpdatedSince))
	}
	limit := w.param(store.PageSize(f.Limit, defaultLimit))
	cs, err := listConversations(ctx, s.pool, conversationSelect+`WHERE `+w.String()+`
		ORDER BY c.id LIMIT `+limit, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations of tenant %s: %w", f.Tenant, err)
	}
	return cs, nil
}

// where builds a WHERE clause of ANDed conditions with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// param adds an argument and returns its placeholder.
func (w *where) param(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds the condition prefix followed by v's placeholder.
func (w *where) add(prefix string, v any) { w.conds = append(w.conds, prefix+w.param(v)) }

// addf adds a condition whose one %s is v's placeholder.
func (w *where) addf(format string, v any) {
	w.conds = append(w.conds, fmt.Sprintf(format, w.param(v)))
}

// cond adds a condition with no parameter.
func (w *where) cond(c string) { w.conds = append(w.conds, c) }

func (w *where) String() string { return strings.Join(w.conds, " AND ") }

// contactWithTags reads a contact's columns and then its tags (a text[]).
const contactWithTags = contactColumns + `,
	ARRAY (SELECT t.tag FROM contact_tags t WHERE t.contact_id = contacts.id)`

// tagsRow scans a row of contactWithTags: the contact's columns into the
// destinations given, then the tags.
type tagsRow struct {
	pgx.Row
	tags *[]string
}

func (r tagsRow) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.tags)...) }

// scanContactWithTags scans a row of contactWithTags; the tags come
// sorted, empty (not nil) when there are none.
func scanContactWithTags(row pgx.Row) (store.Contact, error) {
	var tags []string
	c, err := scanContact(tagsRow{Row: row, tags: &tags})
	if err != nil {
		return store.Contact{}, err
	}
	if tags == nil {
		tags = []string{}
	}
	sort.Strings(tags)
	c.Tags = tags
	return c, nil
}

// GetContact returns one contact with its tags, or ErrNotFound.
func (s *Store) GetContact(ctx context.Context, id int64) (store.Contact, error) {
	c, err := scanContactWithTags(s.pool.QueryRow(ctx, `SELECT `+contactWithTags+` FROM contacts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("get contact %d: %w", id, err)
	}
	return c, nil
}

// ListContacts lists a tenant's contacts with their tags by ascending ID.
func (s *Store) ListContacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error) {
	if f.Tenant == "" {
		return nil, errors.New("list contacts: the tenant is required")
	}
	var w where
	tenant := w.param(f.Tenant)
	w.cond("tenant = " + tenant)
	w.add("id > ", f.AfterID)
	if f.Channel != "" {
		w.add("channel = ", f.Channel)
	}
	if f.Blocked != nil {
		if *f.Blocked {
			w.cond("(blocked_inbound OR blocked_outbound)")
		} else {
			w.cond("NOT blocked_inbound AND NOT blocked_outbound")
		}
	}
	if f.Tag != "" {
		w.cond("id IN (SELECT contact_id FROM contact_tags WHERE tenant = " + tenant + " AND tag = " + w.param(f.Tag) + ")")
	}
	if f.Search != "" {
		// strpos, not LIKE: the text is matched as it is, % and _ included.
		p := w.param(f.Search)
		w.cond("(strpos(lower(display_name), lower(" + p + ")) > 0 OR strpos(lower(external_id), lower(" + p + ")) > 0)")
	}
	limit := w.param(store.PageSize(f.Limit, defaultLimit))
	rows, err := s.pool.Query(ctx, `SELECT `+contactWithTags+` FROM contacts
		WHERE `+w.String()+` ORDER BY id LIMIT `+limit, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", f.Tenant, err)
	}
	defer rows.Close()
	out := []store.Contact{}
	for rows.Next() {
		c, err := scanContactWithTags(rows)
		if err != nil {
			return nil, fmt.Errorf("list contacts of tenant %s: %w", f.Tenant, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contacts of tenant %s: %w", f.Tenant, err)
	}
	return out, nil
}

// Notes lists the contact's notes, oldest first.
func (s *Store) Notes(ctx context.Context, contactID int64) ([]store.Note, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, contact_id, text, author, created_at FROM contact_notes
		WHERE contact_id = $1 ORDER BY id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("notes of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	out := []store.Note{}
	for rows.Next() {
		var n store.Note
		var created pgtype.Timestamptz
		if err := rows.Scan(&n.ID, &n.ContactID, &n.Text, &n.Author, &created); err != nil {
			return nil, fmt.Errorf("notes of contact %d: %w", contactID, err)
		}
		n.CreatedAt = fromTS(created)
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
	rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE native_status = 'pending'
		  AND (native_next_attempt_at IS NULL OR native_next_attempt_at <= $1)
		ORDER BY native_next_attempt_at NULLS FIRST, id LIMIT $2`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due native blocks: %w", err)
	}
	defer rows.Close()
	out := []store.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("due native blocks: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due native blocks: %w", err)
	}
	return out, nil
}

// SettingHistory lists the values a setting was given, oldest first.
func (s *Store) SettingHistory(ctx context.Context, scope, key string) ([]store.Setting, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+settingColumns+` FROM setting_history
		WHERE scope = $1 AND key = $2 ORDER BY id`, scope, key)
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

func scanToken(row pgx.Row) (store.APIToken, error) {
	var t store.APIToken
	var role string
	var created, revoked pgtype.Timestamptz
	err := row.Scan(&t.ID, &t.Tenant, &t.Name, &role, &t.Hash, &created, &revoked)
	t.Role = store.Role(role)
	t.CreatedAt, t.RevokedAt = fromTS(created), fromTS(revoked)
	return t, err
}

// CreateToken stores a new, valid token. A name taken by a valid token of
// the same tenant, or a hash stored already, is ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t store.APIToken) (store.APIToken, error) {
	if err := store.CheckNewToken(t); err != nil {
		return store.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	out, err := scanToken(s.pool.QueryRow(ctx, `
		INSERT INTO api_tokens (tenant, name, role, hash, created_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+tokenColumns, t.Tenant, t.Name, string(t.Role), t.Hash, ts(t.CreatedAt)))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == codeUniqueViolation {
		switch pe.ConstraintName {
		case "api_tokens_valid_name":
			err = fmt.Errorf("a valid token of tenant %q has that name: %w", t.Tenant, store.ErrConflict)
		case "api_tokens_hash":
			err = fmt.Errorf("a token with that hash is stored: %w", store.ErrConflict)
		}
	}
	if err != nil {
		return store.APIToken{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return out, nil
}

// TokenByHash returns the valid token with that hash, or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.APIToken{}, fmt.Errorf("token by hash: %w", err)
	}
	return t, nil
}

// ListTokens lists the tenant's tokens, revoked ones included, by ID.
func (s *Store) ListTokens(ctx context.Context, tenant string) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE tenant = $1 ORDER BY id`, tenant)
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
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, ts(now))
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return mustAffect(tag, fmt.Sprintf("revoke token %d: valid token", id))
}
