// Package manage holds the connector's business operations on
// conversations, contacts and settings, independent of HTTP: the API and
// the connector command call them, so that a change is checked, stored and
// logged the same way whoever asks for it.
//
// Every operation runs its writes in one store transaction. State changes
// go through statemachine.Next and are recorded in the conversation's
// history with the caller's name and reason. Calls to a platform (a native
// block, a reply) never run inside a transaction: a block is committed
// locally first, so that it holds even when the platform does not answer.
package manage

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/config"
	"github.com/chatsync/sfconnector/connector/httpx"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/connector/registry"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/statemachine"
)

// Sentinel errors the callers branch on (the API maps them to statuses).
// Every error an operation returns for one of these reasons is an *Error
// whose message is written for the caller.
var (
	// ErrUnknownTenant: no tenant of that id is configured.
	ErrUnknownTenant = errors.New("unknown tenant")
	// ErrNotFound: no such conversation, contact or note in the tenant
	// (an object of another tenant is not found either).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a value of the request is not acceptable; the *Error
	// names the field.
	ErrInvalid = errors.New("invalid request")
	// ErrExpired: the conversation is EXPIRED, which is terminal.
	ErrExpired = errors.New("conversation expired")
	// ErrBlockingDisabled: an admin switched blocking off for the tenant.
	ErrBlockingDisabled = errors.New("blocking disabled")
	// ErrContactBlocked: the contact is blocked for outbound messages.
	ErrContactBlocked = errors.New("contact blocked for outbound messages")
	// ErrUnreachable: the platform said the user blocked the business or
	// stopped following it.
	ErrUnreachable = errors.New("contact unreachable on the platform")
	// ErrSendUnsupported: the channel can not send messages.
	ErrSendUnsupported = errors.New("sending unsupported")
	// ErrPlatform: the platform failed or refused a send.
	ErrPlatform = errors.New("platform error")
)

// Error is an operation's refusal: Kind is one of the sentinel errors,
// Msg says what was wrong for the caller, Field and Code (for ErrInvalid)
// name the bad value, and Cause is the underlying error, if any.
type Error struct {
	Kind  error
	Code  string
	Field string
	Msg   string
	Cause error
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns Kind and Cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Codes of ErrInvalid errors.
const (
	CodeInvalidState = "invalid_state"
	CodeInvalidOrgID = "invalid_org_id"
	CodeInvalidField = "invalid_field"
)

func invalid(field, code, format string, args ...any) error {
	return &Error{Kind: ErrInvalid, Field: field, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Limits of the values callers give.
const (
	// MaxTextLen is the most characters of a reply or a note.
	MaxTextLen = 4096
	// MaxTagLen is the most characters of a tag; MaxTags the most tags.
	MaxTagLen = 64
	MaxTags   = 100
	// MaxReasonLen is the most characters of a reason or a block note.
	MaxReasonLen = 1024
)

// Native block wishes (store.NativeBlock.Want).
const (
	WantBlock   = "block"
	WantUnblock = "unblock"
)

// Defaults of Config.
const (
	DefaultNativeTimeout     = 10 * time.Second
	DefaultRetryMin          = 30 * time.Second
	DefaultRetryMax          = time.Hour
	DefaultMaxNativeAttempts = 10
	// nativeBatch is how many due native blocks one RetryNativeBlocks run
	// takes.
	nativeBatch = 100
	// conflictRetries is how often an operation is retried when a
	// concurrent change moved a conversation under it.
	conflictRetries = 3
)

// Tenant is what the operations need of a configured tenant.
type Tenant struct {
	ID    string
	OrgID string
	// Excluded are the excluded states of the configuration file;
	// ExcludedConfigured tells whether the file set them.
	Excluded           statemachine.Set
	ExcludedConfigured bool
	// Blocking is the default of the tenant's blocking switch.
	Blocking bool
	// OptOutKeywords are the configuration's opt-out keywords.
	OptOutKeywords []string
	Channels       map[string]Channel
}

// Channel is what the operations need of a channel.
type Channel struct {
	ID      string
	HasBot  bool
	Adapter platform.Adapter
}

// FromRegistry describes the registry's tenants.
func FromRegistry(reg *registry.Registry) []Tenant {
	var out []Tenant
	for _, id := range reg.Tenants() {
		rt, _ := reg.Tenant(id)
		t := Tenant{ID: id, OrgID: rt.Config.Salesforce.OrgID, Excluded: rt.Config.Excluded(),
			ExcludedConfigured: rt.Config.ExcludedConfigured(), Blocking: rt.Config.Blocking(),
			OptOutKeywords: rt.Config.OptOut.Keywords, Channels: map[string]Channel{}}
		for cid, ch := range rt.Channels {
			t.Channels[cid] = Channel{ID: cid, HasBot: ch.Config.Bot, Adapter: ch.Adapter}
		}
		out = append(out, t)
	}
	return out
}

// Store is what the management operations use of the store: transactions
// and the reads of conversations and contacts.
type Store interface {
	store.Transactor
	store.Conversations
	store.Contacts
}

// Config builds a Manager.
type Config struct {
	Store   Store
	Tenants []Tenant
	// Log receives what operations log when the context carries no logger.
	Log zerolog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Wake wakes the dispatcher: it is called after a commit that gives
	// it work (a state change to mirror, a reply to push). Optional.
	Wake func()
	// Deleted is called after a delete-all removed messages (the media
	// worker then drops their spooled bytes). Optional; see OnDeleted.
	Deleted func()
	// NativeTimeout bounds one native block or unblock call, and a send.
	NativeTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff of native block
	// retries.
	RetryMin, RetryMax time.Duration
	// MaxNativeAttempts is how many calls a native block gets before it is
	// failed.
	MaxNativeAttempts int
}

// Manager runs the operations. It is safe for concurrent use.
type Manager struct {
	cfg     Config
	tenants map[string]*Tenant
}

// New returns a Manager; zero durations and counts take their defaults.
func New(c Config) *Manager {
	if c.NativeTimeout <= 0 {
		c.NativeTimeout = DefaultNativeTimeout
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(DefaultRetryMax, c.RetryMin)
	}
	if c.MaxNativeAttempts <= 0 {
		c.MaxNativeAttempts = DefaultMaxNativeAttempts
	}
	m := &Manager{cfg: c, tenants: map[string]*Tenant{}}
	for i := range c.Tenants {
		t := c.Tenants[i]
		m.tenants[t.ID] = &t
	}
	return m
}

func (m *Manager) now() time.Time {
	if m.cfg.Now != nil {
		return m.cfg.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Manager) wake() {
	if m.cfg.Wake != nil {
		m.cfg.Wake()
	}
}

// logger is the Manager's logger, with the request's id when ctx is an
// API request's (the operations name the tenant, conversation or contact
// themselves).
func (m *Manager) logger(ctx context.Context) *zerolog.Logger {
	l := m.cfg.Log
	if id := httpx.RequestID(ctx); id != "" {
		l = l.With().Str("request_id", id).Logger()
	}
	return &l
}

// Tenant returns a configured tenant.
func (m *Manager) Tenant(id string) (Tenant, bool) {
	t, ok := m.tenants[id]
	if !ok {
		return Tenant{}, false
	}
	return *t, true
}

// Tenants lists the configured tenants by id.
func (m *Manager) Tenants() []Tenant {
	out := make([]Tenant, 0, len(m.tenants))
	for _, t := range m.tenants {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (m *Manager) tenant(id string) (*Tenant, error) {
	t, ok := m.tenants[id]
	if !ok {
		return nil, fail(ErrUnknownTenant, "no tenant %q is configured", id)
	}
	return t, nil
}

// channel returns a tenant's channel; a channel no longer configured has
// no adapter and no bot.
func (t *Tenant) channel(id string) Channel {
	if c, ok := t.Channels[id]; ok {
		return c
	}
	return Channel{ID: id}
}

// conversation reads a conversation of the tenant inside tx.
func conversation(ctx context.Context, tx store.Tx, tenant string, id int64) (store.Conversation, error) {
	c, err := tx.Conversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Tenant != tenant {
		return store.Conversation{}, fail(ErrNotFound, "tenant %s has no conversation %d", tenant, id)
	}
	if err != nil {
		return store.Conversation{}, fmt.Errorf("read conversation %d: %w", id, err)
	}
	return c, nil
}

// contact reads (and locks) a contact of the tenant inside tx.
func contact(ctx context.Context, tx store.Tx, tenant string, id int64) (store.Contact, error) {
	c, err := tx.LockContact(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Tenant != tenant {
		return store.Contact{}, fail(ErrNotFound, "tenant %s has no contact %d", tenant, id)
	}
	if err != nil {
		return store.Contact{}, fmt.Errorf("read contact %d: %w", id, err)
	}
	return c, nil
}

// withTx runs fn in a transaction, again when a concurrent change made it
// conflict (store.ErrConflict).
func (m *Manager) withTx(ctx context.Context, fn func(store.Tx) error) error {
	var err error
	for range conflictRetries {
		err = m.cfg.Store.WithTx(ctx, fn)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return err
}

func checkText(field, text string, maxLen int) error {
	if strings.TrimSpace(text) == "" {
		return invalid(field, CodeInvalidField, "%s is required and must not be empty or blank", field)
	}
	if n := utf8.RuneCountInString(text); n > maxLen {
		return invalid(field, CodeInvalidField, "%s has %d characters; the most is %d", field, n, maxLen)
	}
	return nil
}

func checkReason(field, text string) error {
	if n := utf8.RuneCountInString(text); n > MaxReasonLen {
		return invalid(field, CodeInvalidField, "%s has %d characters; the most is %d", field, n, MaxReasonLen)
	}
	return nil
}

var orgIDPattern = regexp.MustCompile(`^00D[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$`)

// CheckOrgID accepts a Salesforce org id of 15 or 18 characters starting
// 00D and returns its 15-character key.
func CheckOrgID(orgID string) (string, error) {
	if !orgIDPattern.MatchString(orgID) {
		return "", invalid("org_id", CodeInvalidOrgID, "%q is not a Salesforce org id (15 or 18 letters and digits starting with 00D)", orgID)
	}
	return config.OrgKey(orgID), nil
}

// OnDeleted sets Config.Deleted; call it before the manager is used.
func (m *Manager) OnDeleted(fn func()) { m.cfg.Deleted = fn }

// deleted reports a delete-all that removed messages.
func (m *Manager) deleted() {
	if m.cfg.Deleted != nil {
		m.cfg.Deleted()
	}
}
