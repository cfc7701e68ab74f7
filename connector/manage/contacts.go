package manage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/chatsync/sfconnector/connector/store"
)

// ContactDetail is one contact with its tags and notes.
type ContactDetail struct {
	Contact store.Contact
	Notes   []store.Note
}

// Contact returns one of the tenant's contacts with its tags and notes.
func (m *Manager) Contact(ctx context.Context, tenant string, id int64) (ContactDetail, error) {
	if _, err := m.tenant(tenant); err != nil {
		return ContactDetail{}, err
	}
	c, err := m.cfg.Store.GetContact(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Tenant != tenant {
		return ContactDetail{}, fail(ErrNotFound, "tenant %s has no contact %d", tenant, id)
	}
	if err != nil {
		return ContactDetail{}, fmt.Errorf("read contact %d: %w", id, err)
	}
	notes, err := m.cfg.Store.Notes(ctx, id)
	if err != nil {
		return ContactDetail{}, fmt.Errorf("read the notes of contact %d: %w", id, err)
	}
	return ContactDetail{Contact: c, Notes: notes}, nil
}

// Contacts lists the tenant's contacts (f.Tenant is set to tenant).
func (m *Manager) Contacts(ctx context.Context, tenant string, f store.ContactFilter) ([]store.Contact, error) {
	if _, err := m.tenant(tenant); err != nil {
		return nil, err
	}
	f.Tenant = tenant
	cs, err := m.cfg.Store.ListContacts(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return cs, nil
}

// NormalizeTags trims the tags, drops duplicates and sorts them; an empty
// tag, one longer than MaxTagLen or more than MaxTags are ErrInvalid.
func NormalizeTags(tags []string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for i, t := range tags {
		t = strings.TrimSpace(t)
		field := fmt.Sprintf("tags[%d]", i)
		if t == "" {
			return nil, invalid(field, CodeInvalidField, "%s is empty: a tag needs at least one character", field)
		}
		if n := utf8.RuneCountInString(t); n > MaxTagLen {
			return nil, invalid(field, CodeInvalidField, "%s has %d characters; the most is %d", field, n, MaxTagLen)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return nil, invalid("tags", CodeInvalidField, "tags has %d tags; the most is %d", len(out), MaxTags)
	}
	sort.Strings(out)
	return out, nil
}

// SetTags replaces the contact's tags and returns the contact.
func (m *Manager) SetTags(ctx context.Context, actor, tenant string, contactID int64, tags []string) (ContactDetail, error) {
	if _, err := m.tenant(tenant); err != nil {
		return ContactDetail{}, err
	}
	norm, err := NormalizeTags(tags)
	if err != nil {
		return ContactDetail{}, err
	}
	err = m.withTx(ctx, func(tx store.Tx) error {
		if _, err := contact(ctx, tx, tenant, contactID); err != nil {
			return err
		}
		if err := tx.SetTags(ctx, contactID, norm); err != nil {
			return fmt.Errorf("set the tags of contact %d: %w", contactID, err)
		}
		return nil
	})
	if err != nil {
		return ContactDetail{}, err
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Str("by", actor).Strs("tags", norm).Msg("contact tags set")
	return m.Contact(ctx, tenant, contactID)
}

// AddNote adds actor's note to the contact.
func (m *Manager) AddNote(ctx context.Context, actor, tenant string, contactID int64, text string) (store.Note, error) {
	n, err := m.writeNote(ctx, tenant, contactID, text, func(tx store.Tx, text string) (store.Note, error) {
		n, err := tx.AddNote(ctx, store.Note{ContactID: contactID, Text: text, Author: actor, CreatedAt: m.now()})
		if err != nil {
			return n, fmt.Errorf("add a note to contact %d: %w", contactID, err)
		}
		return n, nil
	})
	if err != nil {
		return store.Note{}, err
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Int64("note", n.ID).Str("by", actor).Msg("note added")
	return n, nil
}

// EditNote replaces the text of one of the contact's notes, recording
// actor as its last editor; the author and creation time stay.
func (m *Manager) EditNote(ctx context.Context, actor, tenant string, contactID, noteID int64, text string) (store.Note, error) {
	n, err := m.writeNote(ctx, tenant, contactID, text, func(tx store.Tx, text string) (store.Note, error) {
		n, err := tx.EditNote(ctx, contactID, noteID, text, actor, m.now())
		if errors.Is(err, store.ErrNotFound) {
			return n, fail(ErrNotFound, "contact %d has no note %d", contactID, noteID)
		}
		if err != nil {
			return n, fmt.Errorf("edit note %d of contact %d: %w", noteID, contactID, err)
		}
		return n, nil
	})
	if err != nil {
		return store.Note{}, err
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Int64("note", noteID).Str("by", actor).Msg("note edited")
	return n, nil
}

// writeNote checks a note's text (trimmed) and runs write with it in a
// transaction, once the tenant's contact is found.
func (m *Manager) writeNote(ctx context.Context, tenant string, contactID int64, text string, write func(tx store.Tx, text string) (store.Note, error)) (store.Note, error) {
	if _, err := m.tenant(tenant); err != nil {
		return store.Note{}, err
	}
	text = strings.TrimSpace(text)
	if err := checkText("text", text, MaxTextLen); err != nil {
		return store.Note{}, err
	}
	var n store.Note
	err := m.withTx(ctx, func(tx store.Tx) error {
		if _, err := contact(ctx, tx, tenant, contactID); err != nil {
			return err
		}
		var err error
		n, err = write(tx, text)
		return err
	})
	return n, err
}

// DeleteNote removes one of the contact's notes.
func (m *Manager) DeleteNote(ctx context.Context, actor, tenant string, contactID, noteID int64) error {
	if _, err := m.tenant(tenant); err != nil {
		return err
	}
	err := m.withTx(ctx, func(tx store.Tx) error {
		if _, err := contact(ctx, tx, tenant, contactID); err != nil {
			return err
		}
		err := tx.DeleteNote(ctx, contactID, noteID)
		if errors.Is(err, store.ErrNotFound) {
			return fail(ErrNotFound, "contact %d has no note %d", contactID, noteID)
		}
		if err != nil {
			return fmt.Errorf("delete note %d of contact %d: %w", noteID, contactID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.logger(ctx).Info().Str("tenant", tenant).Int64("contact", contactID).Int64("note", noteID).Str("by", actor).Msg("note deleted")
	return nil
}
