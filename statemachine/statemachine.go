// Package statemachine holds the conversation life cycle of the connector:
// the five states with their public numbers, the events that move a
// conversation between them, and the decision whether a message is pushed to
// Salesforce given the states an org excludes.
//
// The package is pure: it does no I/O, reads no clock and logs nothing, so
// every (state, event) pair can be checked by a table test.
package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// State is a conversation state. The numbers are part of the public API and
// never change.
type State int

// The conversation states.
const (
	// Open is the default state: messages are pushed to Salesforce.
	Open State = 0
	// Expired is terminal: the conversation can not be used any more.
	Expired State = 1
	// AutoBot means a bot is the first point of contact.
	AutoBot State = 2
	// Closed needs no agent action; the next inbound message reopens it.
	Closed State = 3
	// Blocked records messages but never reopens or triggers anything.
	Blocked State = 4
)

// All lists every state in numeric order.
var All = []State{Open, Expired, AutoBot, Closed, Blocked}

var names = [...]string{"OPEN", "EXPIRED", "AUTO_BOT", "CLOSED", "BLOCKED"}

// ErrInvalidState is returned when a value names no state.
var ErrInvalidState = errors.New("invalid state")

// ErrTerminal is returned for any change asked of an EXPIRED conversation.
var ErrTerminal = errors.New("conversation is EXPIRED, which is terminal")

// ErrUnknownEvent is returned for an event kind this package does not know.
var ErrUnknownEvent = errors.New("unknown event")

// Valid reports whether s is one of the five states.
func (s State) Valid() bool { return s >= Open && s <= Blocked }

// Live reports whether a conversation in state s can still be used.
func (s State) Live() bool { return s.Valid() && s != Expired }

// String returns the state's name, such as "AUTO_BOT".
func (s State) String() string {
	if !s.Valid() {
		return "State(" + strconv.Itoa(int(s)) + ")"
	}
	return names[s]
}

// ValidStates describes the accepted values, for error messages.
func ValidStates() string {
	parts := make([]string, len(All))
	for i, s := range All {
		parts[i] = fmt.Sprintf("%d %s", int(s), s)
	}
	return strings.Join(parts, ", ")
}

// Parse reads a state from its number ("4") or its name ("BLOCKED",
// case-insensitive, "AUTO-BOT" and "auto bot" accepted for AUTO_BOT).
func Parse(v string) (State, error) {
	t := strings.TrimSpace(v)
	if n, err := strconv.Atoi(t); err == nil {
		s := State(n)
		if !s.Valid() {
			return 0, fmt.Errorf("%w %q: valid states are %s", ErrInvalidState, v, ValidStates())
		}
		return s, nil
	}
	key := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToUpper(t))
	for i, n := range names {
		if n == key {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q: valid states are %s", ErrInvalidState, v, ValidStates())
}

// MarshalJSON writes the state as its number.
func (s State) MarshalJSON() ([]byte, error) { return []byte(strconv.Itoa(int(s))), nil }

// UnmarshalJSON accepts a number (4) or a name ("BLOCKED").
func (s *State) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidState, err)
	}
	var text string
	switch v := raw.(type) {
	case float64:
		if v != float64(int(v)) {
			return fmt.Errorf("%w %v: valid states are %s", ErrInvalidState, v, ValidStates())
		}
		text = strconv.Itoa(int(v))
	case string:
		text = v
	default:
		return fmt.Errorf("%w %s: valid states are %s", ErrInvalidState, string(b), ValidStates())
	}
	p, err := Parse(text)
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// UnmarshalText accepts a number or a name, for YAML and flags.
func (s *State) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Set is a set of states, such as the states an org excludes from pushing.
type Set uint8

// NewSet returns the set holding the given states.
func NewSet(states ...State) Set {
	var set Set
	for _, s := range states {
		set = set.With(s)
	}
	return set
}

// DefaultExcluded is what a new org excludes: AUTO_BOT only.
func DefaultExcluded() Set { return NewSet(AutoBot) }

// Has reports whether s is in the set.
func (set Set) Has(s State) bool { return s.Valid() && set&(1<<uint(s)) != 0 }

// With returns the set with s added.
func (set Set) With(s State) Set {
	if !s.Valid() {
		return set
	}
	return set | 1<<uint(s)
}

// States lists the set's members in numeric order.
func (set Set) States() []State {
	out := []State{}
	for _, s := range All {
		if set.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// String lists the names, such as "AUTO_BOT,BLOCKED".
func (set Set) String() string {
	ss := set.States()
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = s.String()
	}
	return strings.Join(parts, ",")
}

// ParseSet reads a list of states given by number or name.
func ParseSet(values []string) (Set, error) {
	var set Set
	for _, v := range values {
		s, err := Parse(v)
		if err != nil {
			return 0, err
		}
		set = set.With(s)
	}
	return set, nil
}

// ShouldPush is the push decision: a message is pushed to Salesforce unless
// the conversation's state (after the transition the message caused) is
// excluded for the org.
func ShouldPush(state State, excluded Set) bool { return state.Valid() && !excluded.Has(state) }

// Initial is the state of a new conversation: AUTO_BOT when the channel has a
// bot, else OPEN.
func Initial(hasBot bool) State {
	if hasBot {
		return AutoBot
	}
	return Open
}

// EventKind names what happened to a conversation.
type EventKind int

// The events.
const (
	// Inbound is a message from the contact.
	Inbound EventKind = iota + 1
	// SetState is a state change asked by an API caller (Event.To).
	SetState
	// Block is a block of the contact for inbound messages.
	Block
	// Unblock lifts the contact's inbound block.
	Unblock
	// InactivityExpiry fires when the channel's inactivity limit passed.
	InactivityExpiry
	// IdleClose fires when the channel's optional idle limit passed.
	IdleClose
)

// Events lists every event kind.
var Events = []EventKind{Inbound, SetState, Block, Unblock, InactivityExpiry, IdleClose}

func (k EventKind) String() string {
	switch k {
	case Inbound:
		return "inbound"
	case SetState:
		return "set_state"
	case Block:
		return "block"
	case Unblock:
		return "unblock"
	case InactivityExpiry:
		return "inactivity_expiry"
	case IdleClose:
		return "idle_close"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is something that happened to a conversation.
type Event struct {
	Kind EventKind
	// To is the state asked for, for SetState.
	To State
	// HasBot tells whether the channel has a bot; an unblocked conversation
	// returns to AUTO_BOT when it does, else to OPEN.
	HasBot bool
}

// Transition is the outcome of an event.
type Transition struct {
	From, To State
	// Changed is false when the event leaves the state as it is.
	Changed bool
	// BlockContact tells the caller to block the contact for inbound and
	// outbound messages (an API caller set BLOCKED).
	BlockContact bool
	// UnblockContact tells the caller to lift the contact's inbound block (an
	// API caller moved a BLOCKED conversation to another live state).
	UnblockContact bool
}

// Next applies ev to a conversation in state from.
//
// An EXPIRED conversation is terminal: every event but a SetState to EXPIRED
// itself returns ErrTerminal (for Inbound, the caller starts a new
// conversation in Initial state instead).
func Next(from State, ev Event) (Transition, error) {
	if !from.Valid() {
		return Transition{}, fmt.Errorf("%w %d: valid states are %s", ErrInvalidState, int(from), ValidStates())
	}
	stay := Transition{From: from, To: from}
	if from == Expired {
		if ev.Kind == SetState && ev.To == Expired {
			return stay, nil
		}
		if ev.Kind < Inbound || ev.Kind > IdleClose {
			return Transition{}, fmt.Errorf("%w: %v", ErrUnknownEvent, ev.Kind)
		}
		if ev.Kind == SetState && !ev.To.Valid() {
			return Transition{}, fmt.Errorf("%w %d: valid states are %s", ErrInvalidState, int(ev.To), ValidStates())
		}
		return stay, ErrTerminal
	}
	move := func(to State) Transition {
		return Transition{From: from, To: to, Changed: to != from}
	}
	switch ev.Kind {
	case Inbound:
		if from == Closed {
			return move(Open), nil
		}
		return stay, nil
	case SetState:
		if !ev.To.Valid() {
			return Transition{}, fmt.Errorf("%w %d: valid states are %s", ErrInvalidState, int(ev.To), ValidStates())
		}
		t := move(ev.To)
		if ev.To == Blocked && from != Blocked {
			t.BlockContact = true
		}
		if from == Blocked && ev.To.Live() && ev.To != Blocked {
			t.UnblockContact = true
		}
		return t, nil
	case Block:
		return move(Blocked), nil
	case Unblock:
		if from == Blocked {
			return move(Initial(ev.HasBot)), nil
		}
		return stay, nil
	case InactivityExpiry:
		if from == Blocked {
			return stay, nil
		}
		return move(Expired), nil
	case IdleClose:
		if from == Open {
			return move(Closed), nil
		}
		return stay, nil
	}
	return Transition{}, fmt.Errorf("%w: %v", ErrUnknownEvent, ev.Kind)
}
