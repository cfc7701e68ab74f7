package demo

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// Summary is what a demo run did and found.
type Summary struct {
	OrgID string
	Store string

	Deliveries   int // signed webhook deliveries sent (the forged one aside)
	Acknowledged int // answered 2xx
	Refused      int // status of the forged delivery
	RefusedBody  string

	Stored                map[store.PushStatus]int
	Conversations         map[string]int
	ConversationRecords   int
	MessageRecords        int
	DuplicateRecords      int // message keys present more than once (must be 0)
	OutOfOrder            int // conversations whose records were created out of order (must be 0)
	Dead                  []store.Message
	ExcludedReasons       map[string]int
	SalesforceMissing     int // pushed messages without a record (must be 0)
	SalesforceCallsByKind map[string]int
}

// collect reads the store and the stand-in.
func (s *Summary) collect(ctx context.Context, st store.Store, sf *standin.Server) error {
	stats, err := st.Stats(ctx, tenantID)
	if err != nil {
		return err
	}
	s.Stored = stats.Messages
	s.Conversations = map[string]int{}
	for k, v := range stats.Conversations {
		s.Conversations[k.String()] = v
	}
	if s.Dead, err = st.ListDead(ctx, store.DeadFilter{Tenant: tenantID}); err != nil {
		return err
	}
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
	if d := s.Stored[store.Pushed] - len(seen); d > 0 {
		s.SalesforceMissing = d
	}
	return nil
}

// OK reports whether the run's checks hold: everything acknowledged is in
// Salesforce once and in order, or held back for a stated reason.
func (s *Summary) OK() bool {
	return s.Acknowledged == s.Deliveries && s.Refused == 401 && s.DuplicateRecords == 0 &&
		s.OutOfOrder == 0 && s.SalesforceMissing == 0 && s.Stored[store.Pending] == 0 &&
		s.MessageRecords == s.Stored[store.Pushed]
}

// Print writes the summary for a person.
func (s *Summary) Print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("Summary")
	p("  webhook deliveries sent      %d (%d acknowledged with 2xx)", s.Deliveries, s.Acknowledged)
	p("  forged delivery refused      HTTP %d %s", s.Refused, s.RefusedBody)
	total := 0
	for _, n := range s.Stored {
		total += n
	}
	p("  messages stored              %d (duplicates and receipts are acknowledged, not stored)", total)
	p("  → reached Salesforce         %d message records, %d conversation records (org %s)", s.Stored[store.Pushed], s.ConversationRecords, s.OrgID)
	p("  → held back, state excluded  %d (AUTO_BOT is excluded by default: the bot channel's messages stay in the connector)", s.Stored[store.Excluded])
	p("  → dead, for replay           %d", s.Stored[store.Dead])
	for _, m := range s.Dead {
		p("      message %d (%s): %s", m.ID, m.PlatformID, m.LastError)
	}
	p("  → still pending              %d", s.Stored[store.Pending])
	names := make([]string, 0, len(s.Conversations))
	for k := range s.Conversations {
		names = append(names, k)
	}
	sort.Strings(names)
	p("  conversations by state      ")
	for _, k := range names {
		p("      %-9s %d", k, s.Conversations[k])
	}
	check := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "FAILED"
	}
	p("Checks")
	p("  every pushed message is in Salesforce exactly once   %s", check(s.DuplicateRecords == 0 && s.SalesforceMissing == 0 && s.MessageRecords == s.Stored[store.Pushed]))
	p("  per conversation, records were created in order      %s", check(s.OutOfOrder == 0))
	p("  nothing acknowledged is left pending                 %s", check(s.Stored[store.Pending] == 0))
	p("  the forged delivery was refused with 401             %s", check(s.Refused == 401))
	p("")
	p("The store is kept at %s (emptied at the next demo run).", s.Store)
}
