package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestNextCoversEveryPair checks every (state, event) pair against the
// contract's tables. SetState is checked for every target too.
func TestNextCoversEveryPair(t *testing.T) {
	type want struct {
		to        State
		changed   bool
		err       error
		block     bool
		unblock   bool
		skipEvent bool
	}
	// want[from][event] for the events other than SetState.
	table := map[State]map[EventKind]want{
		Open: {
			Inbound:          {to: Open},
			Block:            {to: Blocked, changed: true},
			Unblock:          {to: Open},
			InactivityExpiry: {to: Expired, changed: true},
			IdleClose:        {to: Closed, changed: true},
		},
		Expired: {
			Inbound:          {to: Expired, err: ErrTerminal},
			Block:            {to: Expired, err: ErrTerminal},
			Unblock:          {to: Expired, err: ErrTerminal},
			InactivityExpiry: {to: Expired, err: ErrTerminal},
			IdleClose:        {to: Expired, err: ErrTerminal},
		},
		AutoBot: {
			Inbound:          {to: AutoBot},
			Block:            {to: Blocked, changed: true},
			Unblock:          {to: AutoBot},
			InactivityExpiry: {to: Expired, changed: true},
			IdleClose:        {to: AutoBot},
		},
		Closed: {
			Inbound:          {to: Open, changed: true},
			Block:            {to: Blocked, changed: true},
			Unblock:          {to: Closed},
			InactivityExpiry: {to: Expired, changed: true},
			IdleClose:        {to: Closed},
		},
		Blocked: {
			Inbound:          {to: Blocked},
			Block:            {to: Blocked},
			Unblock:          {to: Open, changed: true},
			InactivityExpiry: {to: Blocked},
			IdleClose:        {to: Blocked},
		},
	}
	for _, from := range All {
		for _, ev := range Events {
			if ev == SetState {
				continue
			}
			w, ok := table[from][ev]
			if !ok {
				t.Fatalf("table misses (%v, %v)", from, ev)
			}
			t.Run(from.String()+"/"+ev.String(), func(t *testing.T) {
				got, err := Next(from, Event{Kind: ev})
				if !errors.Is(err, w.err) || (w.err == nil && err != nil) {
					t.Fatalf("err = %v, want %v", err, w.err)
				}
				if got.To != w.to || got.Changed != w.changed || got.From != from {
					t.Fatalf("got %+v, want to=%v changed=%v", got, w.to, w.changed)
				}
				if got.BlockContact || got.UnblockContact {
					t.Fatalf("only SetState asks for contact changes, got %+v", got)
				}
			})
		}
	}
}

func TestNextSetStateEveryTarget(t *testing.T) {
	for _, from := range All {
		for _, to := range All {
			t.Run(from.String()+"->"+to.String(), func(t *testing.T) {
				got, err := Next(from, Event{Kind: SetState, To: to})
				switch {
				case from == Expired && to == Expired:
					if err != nil || got.Changed {
						t.Fatalf("EXPIRED->EXPIRED must be an idempotent no-op, got %+v, %v", got, err)
					}
					return
				case from == Expired:
					if !errors.Is(err, ErrTerminal) || got.To != Expired {
						t.Fatalf("EXPIRED is terminal, got %+v, %v", got, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if got.To != to || got.Changed != (from != to) {
					t.Fatalf("got %+v", got)
				}
				wantBlock := to == Blocked && from != Blocked
				wantUnblock := from == Blocked && to != Blocked && to != Expired
				if got.BlockContact != wantBlock || got.UnblockContact != wantUnblock {
					t.Fatalf("contact effects: got block=%v unblock=%v, want %v %v", got.BlockContact, got.UnblockContact, wantBlock, wantUnblock)
				}
			})
		}
	}
}

func TestUnblockWithBotReturnsToAutoBot(t *testing.T) {
	got, err := Next(Blocked, Event{Kind: Unblock, HasBot: true})
	if err != nil || got.To != AutoBot || !got.Changed {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestNextRejectsBadInput(t *testing.T) {
	if _, err := Next(State(9), Event{Kind: Inbound}); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("bad from state: %v", err)
	}
	if _, err := Next(Open, Event{Kind: SetState, To: State(7)}); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("bad target: %v", err)
	}
	if _, err := Next(Expired, Event{Kind: SetState, To: State(-2)}); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("bad target on EXPIRED: %v", err)
	}
	if _, err := Next(Open, Event{Kind: EventKind(99)}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("unknown event: %v", err)
	}
	if _, err := Next(Expired, Event{}); !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("zero event on EXPIRED: %v", err)
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want State
		ok   bool
	}{
		{"0", Open, true}, {"1", Expired, true}, {"2", AutoBot, true}, {"3", Closed, true}, {"4", Blocked, true},
		{"OPEN", Open, true}, {"expired", Expired, true}, {"AUTO_BOT", AutoBot, true}, {"auto-bot", AutoBot, true},
		{"Auto Bot", AutoBot, true}, {" closed ", Closed, true}, {"Blocked", Blocked, true},
		{"5", 0, false}, {"-1", 0, false}, {"", 0, false}, {"ARCHIVED", 0, false}, {"4.5", 0, false},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if !c.ok {
			if !errors.Is(err, ErrInvalidState) {
				t.Errorf("Parse(%q) error = %v, want ErrInvalidState", c.in, err)
			} else if !strings.Contains(err.Error(), "4 BLOCKED") {
				t.Errorf("Parse(%q) error %q does not list the valid states", c.in, err)
			}
		}
	}
}

func TestStateJSON(t *testing.T) {
	var body struct {
		State State `json:"state"`
	}
	for in, want := range map[string]State{`{"state":4}`: Blocked, `{"state":"BLOCKED"}`: Blocked, `{"state":"0"}`: Open, `{"state":"auto_bot"}`: AutoBot} {
		if err := json.Unmarshal([]byte(in), &body); err != nil || body.State != want {
			t.Errorf("%s: got %v, %v", in, body.State, err)
		}
	}
	for _, in := range []string{`{"state":7}`, `{"state":1.5}`, `{"state":true}`, `{"state":"NOPE"}`, `{"state":null}`} {
		if err := json.Unmarshal([]byte(in), &body); !errors.Is(err, ErrInvalidState) {
			t.Errorf("%s: err = %v, want ErrInvalidState", in, err)
		}
	}
	out, _ := json.Marshal(Closed)
	if string(out) != "3" {
		t.Errorf("Marshal(CLOSED) = %s", out)
	}
	if State(12).String() != "State(12)" {
		t.Errorf("String of invalid state = %q", State(12).String())
	}
}

func TestSetAndPushDecision(t *testing.T) {
	def := DefaultExcluded()
	for _, s := range All {
		want := s != AutoBot
		if ShouldPush(s, def) != want {
			t.Errorf("default exclusions: ShouldPush(%v) = %v", s, !want)
		}
	}
	set := NewSet(Blocked, AutoBot)
	if got := set.String(); got != "AUTO_BOT,BLOCKED" {
		t.Errorf("String = %q", got)
	}
	if ShouldPush(Blocked, set) || !ShouldPush(Open, set) {
		t.Error("BLOCKED excluded must not push; OPEN must")
	}
	if ShouldPush(State(8), 0) {
		t.Error("an invalid state never pushes")
	}
	parsed, err := ParseSet([]string{"4", "auto_bot"})
	if err != nil || parsed != set {
		t.Errorf("ParseSet = %v, %v", parsed, err)
	}
	if _, err := ParseSet([]string{"OPEN", "9"}); !errors.Is(err, ErrInvalidState) {
		t.Errorf("ParseSet with a bad state: %v", err)
	}
	if NewSet(State(9)) != 0 {
		t.Error("an invalid state is not added")
	}
}

func TestLiveAndInitial(t *testing.T) {
	for _, s := range All {
		if s.Live() != (s != Expired) {
			t.Errorf("%v.Live() = %v", s, s.Live())
		}
	}
	if Initial(true) != AutoBot || Initial(false) != Open {
		t.Error("Initial")
	}
}

// A conversation on a channel with a bot starts in AUTO_BOT; by default
// AUTO_BOT messages are not pushed.
func ExampleInitial() {
	s := Initial(true)
	fmt.Println(s, ShouldPush(s, DefaultExcluded()))
	// Output: AUTO_BOT false
}

// A CLOSED conversation reopens on the contact's next inbound message.
func ExampleNext_reopen() {
	t, _ := Next(Closed, Event{Kind: Inbound})
	fmt.Println(t.From, "->", t.To)
	// Output: CLOSED -> OPEN
}

// A BLOCKED conversation never reopens; whether its messages reach
// Salesforce depends on the org's excluded states.
func ExampleNext_blocked() {
	t, _ := Next(Blocked, Event{Kind: Inbound})
	excluded := NewSet(AutoBot, Blocked)
	fmt.Println(t.To, ShouldPush(t.To, excluded), ShouldPush(t.To, DefaultExcluded()))
	// Output: BLOCKED false true
}

// An API caller may set any live state; EXPIRED is terminal.
func ExampleNext_setState() {
	t, _ := Next(Open, Event{Kind: SetState, To: Blocked})
	fmt.Println(t.To, t.BlockContact)
	_, err := Next(Expired, Event{Kind: SetState, To: Open})
	fmt.Println(err)
	// Output:
	// BLOCKED true
	// conversation is EXPIRED, which is terminal
}

// States are accepted by number or by name.
func ExampleParse() {
	a, _ := Parse("4")
	b, _ := Parse("blocked")
	_, err := Parse("9")
	fmt.Println(a == b, a)
	fmt.Println(err)
	// Output:
	// true BLOCKED
	// invalid state "9": valid states are 0 OPEN, 1 EXPIRED, 2 AUTO_BOT, 3 CLOSED, 4 BLOCKED
}
