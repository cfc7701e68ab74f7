package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// Summary is what a demo run did and found. Every number is read from the
// webhooks' answers, the store or the stand-in, not expected.
type Summary struct {
	OrgID string
	Store string

	Deliveries   int // signed webhook deliveries sent (the forged one aside)
	Acknowledged int // answered 2xx
	// Answers adds up the webhooks' answers: stored, duplicates, receipts,
	// refused (at the web chat's door).
	Answers     Answers
	Refused     int // status of the forged delivery
	RefusedBody string

	// Steps are the walk through the flows, in order.
	Steps []Step
	// Deleted is what delete-all removed from the store; Replayed how many
	// dead messages were replayed.
	Deleted  Deleted
	Replayed int
	// replayedKeys are the Message_Key__c of the replayed messages: they
	// reach Salesforce after the later messages of their conversation.
	replayedKeys map[string]bool

	// Stored counts the messages in the store by push status; Excluded
	// counts the excluded ones by the state they were received in.
	Stored   map[store.PushStatus]int
	Excluded map[string]int
	// Conversations counts conversations by state, then by channel.
	Conversations map[string]map[string]int
	// InSalesforce counts the stored conversations whose record exists;
	// NotInSalesforce the others, by channel.
	InSalesforce    int
	NotInSalesforce map[string]int

	// Media counts the media items by status, with the reason of each
	// failed or skipped one and how many share it.
	Media        map[store.MediaStatus]int
	MediaReasons map[string]int

	ConversationRecords int
	MessageRecords      int
	DuplicateRecords    int // message keys present more than once (must be 0)
	OutOfOrder          int // conversations whose records were created out of order (must be 0)
	Dead                []store.Message
	SalesforceMissing   int // pushed messages without a record (must be 0)
	// Calls are the stand-in's counters: calls, records created, updated.
	Calls standin.Stats
}

// Answers adds up webhook answers.
type Answers struct {
	Stored, Duplicates, Receipts, Other, Refused int
}

// Deleted is what delete-all removed: conversations and their messages,
// how many of those messages had been pushed, and how many of those
// conversations had a Salesforce record.
type Deleted struct {
	Conversations, Messages, Pushed, InSalesforce int
}

// count adds a webhook's answer.
func (s *Summary) count(resp Response) {
	s.Deliveries++
	if resp.Status/100 != 2 {
		return
	}
	s.Acknowledged++
	var a struct {
		Stored     int               `json:"stored"`
		Duplicates int               `json:"duplicates"`
		Receipts   int               `json:"receipts"`
		Other      int               `json:"other"`
		Refused    []json.RawMessage `json:"refused"`
	}
	if json.Unmarshal([]byte(resp.Body), &a) == nil {
		s.Answers.Stored += a.Stored
		s.Answers.Duplicates += a.Duplicates
		s.Answers.Receipts += a.Receipts
		s.Answers.Other += a.Other
		s.Answers.Refused += len(a.Refused)
	}
}

// collect reads the store and the stand-in.
func (s *Summary) collect(ctx context.Context, st store.Store, sf *standin.Server) error {
	stats, err := st.Stats(ctx, tenantID)
	if err != nil {
		return err
	}
	s.Stored = stats.Messages
	s.Conversations = map[string]map[string]int{}
	for _, state := range allStates {
		s.Conversations[state.String()] = map[string]int{}
	}
	s.Excluded = map[string]int{}
	s.NotInSalesforce = map[string]int{}
	for after := int64(0); ; {
		convs, err := st.ListConversations(ctx, store.ConversationFilter{Tenant: tenantID, AfterID: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, c := range convs {
			s.Conversations[c.State.String()][c.Channel]++
			if c.InSalesforce() {
				s.InSalesforce++
			} else {
				s.NotInSalesforce[c.Channel]++
			}
			msgs, err := st.ListMessages(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if m.PushStatus == store.Excluded {
					s.Excluded[m.StateAtReceipt.String()]++
				}
			}
			after = c.ID
		}
		if len(convs) < 1000 {
			break
		}
	}
	if s.Dead, err = st.ListDead(ctx, store.DeadFilter{Tenant: tenantID}); err != nil {
		return err
	}
	s.Media, s.MediaReasons = map[store.MediaStatus]int{}, map[string]int{}
	for after := int64(0); ; {
		items, err := st.ListMedia(ctx, store.MediaFilter{Tenant: tenantID, AfterID: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, it := range items {
			s.Media[it.Status]++
			if it.Reason != "" {
				s.MediaReasons[it.StatusText()]++
			}
			after = it.ID
		}
		if len(items) < 1000 {
			break
		}
	}
	s.Calls = sf.Stats()
	s.ConversationRecords = len(sf.Records("Chat_Conversation__c"))
	msgs := sf.Records("Chat_Message__c")
	s.MessageRecords = len(msgs)
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].CreatedSeq < msgs[j].CreatedSeq })
	seen := map[string]int{}
	lastSeq := map[string]float64{}
	bad := map[string]bool{}
	for _, r := range msgs {
		key, _ := r.Fields["Message_Key__c"].(string)
		seen[key]++
		if s.replayedKeys[key] {
			continue
		}
		parent, _ := r.Fields["Chat_Conversation__c"].(string)
		seq, err := strconv.ParseFloat(fmt.Sprint(r.Fields["Sequence__c"]), 64)
		if err != nil {
			bad[parent] = true
		}
		if last, ok := lastSeq[parent]; ok && seq <= last {
			bad[parent] = true
		}
		lastSeq[parent] = seq
	}
	for _, n := range seen {
		if n > 1 {
			s.DuplicateRecords++
		}
	}
	s.OutOfOrder = len(bad)
	if d := s.Stored[store.Pushed] + s.Deleted.Pushed - len(seen); d > 0 {
		s.SalesforceMissing = d
	}
	return nil
}

// Checks are the run's checks, each with whether it holds.
func (s *Summary) Checks() []Check {
	return []Check{
		{"every pushed message is in Salesforce exactly once", s.DuplicateRecords == 0 && s.SalesforceMissing == 0 &&
			s.MessageRecords == s.Stored[store.Pushed]+s.Deleted.Pushed},
		{"every conversation with a pushed message has one record", s.ConversationRecords == s.InSalesforce+s.Deleted.InSalesforce},
		{"per conversation, records were created in order (replays aside)", s.OutOfOrder == 0},
		{"nothing acknowledged is left pending or dead", s.Stored[store.Pending] == 0 && s.Stored[store.Dead] == 0},
		{"every webhook delivery was acknowledged", s.Acknowledged == s.Deliveries},
		{"the forged delivery was refused with 401", s.Refused == 401},
	}
}

// Check is one of the run's checks.
type Check struct {
	What string
	OK   bool
}

// OK reports whether the run's checks hold: everything acknowledged is in
// Salesforce once and in order, or held back for a stated reason.
func (s *Summary) OK() bool {
	for _, c := range s.Checks() {
		if !c.OK {
			return false
		}
	}
	return true
}

// byChannel writes counts by channel, "12 whatsapp, 3 webchat".
func byChannel(m map[string]int) string {
	var parts []string
	for _, ch := range slices.Sorted(maps.Keys(m)) {
		if m[ch] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[ch], ch))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func total[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// allStates are the states in their numbers' order.
var allStates = []statemachine.State{statemachine.Open, statemachine.Expired, statemachine.AutoBot, statemachine.Closed, statemachine.Blocked}

// stateWhy says how a conversation gets to a state, for the summary.
var stateWhy = map[string]string{
	"OPEN":     "customers and visitors writing; a CLOSED conversation reopens to OPEN with the next message; an unblocked one returns to OPEN",
	"AUTO_BOT": "the bot channel's (bot: true): a bot answers first",
	"CLOSED":   "closed by an agent (change_state) and not written to since",
	"BLOCKED":  "blocked by an agent and still blocked (a deleted one is no longer counted)",
	"EXPIRED":  "a conversation expires after its channel's inactivity_timeout (24h) without a message",
}

// excludedWhy says why messages received in a state were held back.
var excludedWhy = map[string]string{
	"AUTO_BOT": "the bot channel's: AUTO_BOT is excluded by default",
	"BLOCKED":  "the blocked spammer's, while the support team excluded BLOCKED",
}

// Print writes the summary for a person: every number with where it comes
// from.
func (s *Summary) Print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	stored := 0
	for _, n := range s.Stored {
		stored += n
	}
	a := s.Answers
	p("")
	p("Summary")
	p("  webhook deliveries      %d sent, %d acknowledged with 2xx", s.Deliveries, s.Acknowledged)
	p("                          %d messages stored; not stored: duplicates %d (platform retries), delivery receipts %d, refused at the web chat's door %d (a blocked visitor)",
		a.Stored, a.Duplicates, a.Receipts, a.Refused)
	p("  forged delivery         HTTP %d %s", s.Refused, s.RefusedBody)
	p("  messages in the store   %d (the %d stored, minus %d removed by delete-all)", stored, a.Stored, s.Deleted.Messages)
	p("    pushed                %d", s.Stored[store.Pushed])
	p("    held back (excluded)  %d", s.Stored[store.Excluded])
	for _, st := range slices.Sorted(maps.Keys(s.Excluded)) {
		why := excludedWhy[st]
		if why == "" {
			why = "the state was excluded when they arrived"
		}
		p("      %-8s %3d  %s", st, s.Excluded[st], why)
	}
	p("    dead                  %d (%d replayed after the validation rule was lifted)", s.Stored[store.Dead], s.Replayed)
	for _, m := range s.Dead {
		p("      message %d (%s): %s", m.ID, m.PlatformID, m.LastError)
	}
	p("    pending               %d", s.Stored[store.Pending])
	p("  media items             %d (photos the customers sent)%s", total(s.Media), mediaCounts(s.Media))
	for _, why := range slices.Sorted(maps.Keys(s.MediaReasons)) {
		p("    %3d  %s", s.MediaReasons[why], why)
	}
	if s.Media[store.MediaFailed] > 0 {
		p("                          a failed item leaves its message and record as they are: the text arrives, the platform's reference in Media_Url__c")
	}
	nConv := 0
	for _, byCh := range s.Conversations {
		nConv += total(byCh)
	}
	p("  conversations           %d", nConv)
	for _, st := range allStates {
		byCh := s.Conversations[st.String()]
		p("    %-8s %3d  %s: %s", st, total(byCh), byChannel(byCh), stateWhy[st.String()])
	}
	p("  Salesforce (org %s, the stand-in's records)", s.OrgID)
	p("    message records       %d = %d pushed + %d pushed before delete-all removed them from the store (Salesforce keeps them)",
		s.MessageRecords, s.Stored[store.Pushed], s.Deleted.Pushed)
	p("    conversation records  %d = %d conversations with a pushed message + %d deleted from the store", s.ConversationRecords, s.InSalesforce, s.Deleted.InSalesforce)
	p("                          %d conversations have no record (%s): none of their messages was pushed, and nothing reaches Salesforce before one is",
		total(s.NotInSalesforce), byChannel(s.NotInSalesforce))
	p("    calls                 %d API calls: %d records created, %d updated (a record is written again when a field it maps changes, such as a conversation's state), %d refused",
		s.Calls.APICalls, s.Calls.RecordsCreated, s.Calls.RecordsUpdated, s.Calls.RecordErrors)
	p("Checks")
	for _, c := range s.Checks() {
		result := "ok"
		if !c.OK {
			result = "FAILED"
		}
		p("  %-66s %s", c.What, result)
	}
	p("")
	p("The store is kept at %s (emptied at the next demo run).", s.Store)
}

// mediaCounts shows the media items by status, ": 3 uploaded, 2 failed".
func mediaCounts(by map[store.MediaStatus]int) string {
	var parts []string
	for _, st := range []store.MediaStatus{store.MediaUploaded, store.MediaFetched, store.MediaPending, store.MediaSkipped, store.MediaFailed} {
		if n := by[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}
