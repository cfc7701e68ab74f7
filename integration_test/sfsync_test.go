package integration_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/connector/store"
	"github.com/chatsync/sfconnector/connector/store/postgres"
	"github.com/chatsync/sfconnector/sfclient/standin"
	"github.com/chatsync/sfconnector/statemachine"
)

// The agent of these tests, a Salesforce user.
const (
	agentID    = "005000000000042AAA"
	agentName  = "Ann Agent"
	agentActor = agentName + " (Salesforce user " + agentID + ")"
)

// startWithSalesforceChanges starts the env with the flow-back polling
// every second.
func (e *env) startWithSalesforceChanges() {
	e.t.Helper()
	m := e.configMap()
	m["timers"].(map[string]any)["salesforce_changes"] = "@every 1s"
	e.writeConfigMap(m)
	e.start()
}

// waitForPolls waits until the connector has queried the org n more times.
func waitForPolls(t *testing.T, sf *standin.Server, n int) {
	t.Helper()
	from := sf.Stats().QueryCalls
	waitFor(t, waitTimeout, fmt.Sprintf("%d more queries of the org", n), func() (bool, string) {
		got := sf.Stats().QueryCalls - from
		return got >= n, strconv.Itoa(got) + " queries"
	})
}

// agentEdit changes the conversation record as the agent.
func agentEdit(t *testing.T, sf *standin.Server, key string, fields map[string]any) {
	t.Helper()
	if _, err := sf.EditAsAgent(standin.AgentEdit{Object: convObject, ExternalID: key, Fields: fields, UserID: agentID, UserName: agentName}); err != nil {
		t.Fatal(err)
	}
}

// waitForState waits until the store has the conversation in state.
func waitForState(t *testing.T, st store.Store, id int64, want statemachine.State) store.Conversation {
	t.Helper()
	var c store.Conversation
	waitFor(t, waitTimeout, fmt.Sprintf("conversation %d %s", id, want), func() (bool, string) {
		var err error
		c, err = st.GetConversation(context.Background(), id)
		return err == nil && c.State == want, fmt.Sprintf("%s %v", c.State, err)
	})
	return c
}

func history(t *testing.T, st store.Store, id int64) []store.Transition {
	t.Helper()
	h, err := st.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestAgentsChangesInSalesforceFlowBack runs the connector with BLOCKED
// excluded. The connector's own pushes are read back and ignored. An agent
// sets the conversation's record to BLOCKED: the conversation and the
// contact are blocked, the next inbound message is recorded, not pushed
// and does not reopen it. The agent sets CLOSED: the block is lifted and
// the next inbound message reopens the conversation to OPEN. Both changes
// are in the history with the Salesforce user. A value that is no state
// and a change to an EXPIRED conversation are refused, recorded and
// written back.
func TestAgentsChangesInSalesforceFlowBack(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme, Excluded: []string{"AUTO_BOT", "BLOCKED"},
		Channels: []channelSpec{
			{ID: "wa", Platform: "whatsapp"},
			{ID: "short", Platform: "whatsapp", PhoneNumberID: "1065550009", InactivityTimeout: 2 * time.Second},
		},
	}}})
	e.startWithSalesforceChanges()
	st := e.openStore()
	// The first poll (its watermark) before any record: the records
	// written from then on are read back.
	waitForPolls(t, acme.SF, 1)

	const ann = "31600000801"
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.S1", "hello", time.Now())); a.Pending != 1 {
		t.Fatalf("first message: %+v", a)
	}
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.S1"))
	conv := onlyConversation(t, st, "acme", "wa", ann)
	key := convKey("acme", "wa", conv.ID)

	// The connector's own writes are read back and are no change.
	waitForPolls(t, acme.SF, 3)
	if h := historyString(history(t, st, conv.ID)); h != "-->OPEN created by system" {
		t.Fatalf("after the connector's own pushes were polled, the history is %s", h)
	}
	metrics := string(e.call(operatorToken, "GET", "/metrics", nil).Body)
	if !regexp.MustCompile(`connector_salesforce_changes_total\{org="[0-9A-Za-z]+",result="own"\} [1-9]`).MatchString(metrics) {
		t.Errorf("no record counted as the connector's own:\n%s", grepLines(metrics, "connector_salesforce_changes_total"))
	}

	// BLOCKED in Salesforce blocks the contact.
	agentEdit(t, acme.SF, key, map[string]any{"State__c": "BLOCKED", "Blocked__c": true})
	waitForState(t, st, conv.ID, statemachine.Blocked)
	c, err := st.GetContact(context.Background(), conv.ContactID)
	if err != nil || !c.BlockedInbound || !c.BlockedOutbound || c.Block.By != agentActor {
		t.Errorf("the contact after the agent's BLOCKED: %+v, %v", c, err)
	}
	a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.S2", "are you there?", time.Now()))
	if a.Excluded != 1 || a.Pending != 0 {
		t.Errorf("message to the BLOCKED conversation: %+v, want 1 excluded", a)
	}
	if got := onlyConversation(t, st, "acme", "wa", ann); got.ID != conv.ID || got.State != statemachine.Blocked {
		t.Errorf("after the message: conversation %d %s, want %d BLOCKED", got.ID, got.State, conv.ID)
	}
	msgs := messagesOf(t, st, conv.ID)
	if last := msgs[len(msgs)-1]; last.PlatformID != "wamid.S2" || last.PushStatus != store.Excluded {
		t.Errorf("the message is %s %s, want wamid.S2 excluded", last.PlatformID, last.PushStatus)
	}

	// CLOSED in Salesforce: the block is lifted, the next message reopens.
	// (The connector first mirrors its BLOCKED onto the record: an agent's
	// edit before that write would be overwritten, as documented.)
	waitForConnectorWrite(t, acme.SF, key)
	agentEdit(t, acme.SF, key, map[string]any{"State__c": "CLOSED", "Blocked__c": false})
	waitForState(t, st, conv.ID, statemachine.Closed)
	if c, _ := st.GetContact(context.Background(), conv.ContactID); c.BlockedInbound || c.BlockedOutbound {
		t.Errorf("the contact is still blocked after the agent's CLOSED: %+v", c)
	}
	if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, ann, "Ann", "wamid.S3", "back again", time.Now())); a.Pending != 1 {
		t.Errorf("message to the CLOSED conversation: %+v, want 1 pending", a)
	}
	waitForState(t, st, conv.ID, statemachine.Open)
	rec := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.S3"))
	if got := field(rec, "Conversation_State__c"); got != "OPEN" {
		t.Errorf("the reopening message's state is %q", got)
	}
	if _, ok := findRecord(acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.S2")); ok {
		t.Errorf("the message received while BLOCKED reached Salesforce")
	}
	h := historyString(history(t, st, conv.ID))
	for _, want := range []string{
		"OPEN->BLOCKED block by " + agentActor,
		"BLOCKED->CLOSED set_state by " + agentActor,
		"CLOSED->OPEN inbound by system",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("the history lacks %q: %s", want, h)
		}
	}
	for _, tr := range history(t, st, conv.ID) {
		if tr.Actor == agentActor && tr.Reason != "changed in Salesforce" {
			t.Errorf("the agent's change has the reason %q", tr.Reason)
		}
	}
	waitForField(t, acme.SF, convObject, "Conversation_Key__c", key, "State__c", "OPEN")

	// A value that is no state is refused, recorded and written back.
	agentEdit(t, acme.SF, key, map[string]any{"State__c": "ESCALATED"})
	back := waitForField(t, acme.SF, convObject, "Conversation_Key__c", key, "State__c", "OPEN")
	if back.LastModifiedByID != standin.DefaultUserID {
		t.Errorf("the written-back record was last modified by %s", back.LastModifiedByID)
	}
	if got := onlyConversation(t, st, "acme", "wa", ann); got.State != statemachine.Open {
		t.Errorf("after a refused value the conversation is %s", got.State)
	}
	last := history(t, st, conv.ID)
	if tr := last[len(last)-1]; tr.Event != "refused" || tr.Actor != agentActor || !strings.Contains(tr.Reason, `"ESCALATED" is not a state`) {
		t.Errorf("the refusal is recorded as %+v", tr)
	}

	// A change to an EXPIRED conversation is refused and written back.
	const bo = "31600000802"
	e.postWhatsApp("acme", "short", whatsapp.TextDelivery("1065550009", bo, "Bo", "wamid.X1", "hi", time.Now()))
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "short", "wamid.X1"))
	expired := onlyConversation(t, st, "acme", "short", bo)
	xkey := convKey("acme", "short", expired.ID)
	waitForField(t, acme.SF, convObject, "Conversation_Key__c", xkey, "State__c", "EXPIRED")
	agentEdit(t, acme.SF, xkey, map[string]any{"State__c": "OPEN"})
	waitFor(t, waitTimeout, "the refused reopening in the history", func() (bool, string) {
		h := history(t, st, expired.ID)
		tr := h[len(h)-1]
		return tr.Event == "refused" && strings.Contains(tr.Reason, "EXPIRED"), historyString(h)
	})
	waitForField(t, acme.SF, convObject, "Conversation_Key__c", xkey, "State__c", "EXPIRED")
	if got, _ := st.GetConversation(context.Background(), expired.ID); got.State != statemachine.Expired {
		t.Errorf("the expired conversation is %s", got.State)
	}
}

// waitForConnectorWrite waits until the connector was the last to write
// the conversation record.
func waitForConnectorWrite(t *testing.T, sf *standin.Server, key string) {
	t.Helper()
	waitFor(t, waitTimeout, "the connector's write of "+key, func() (bool, string) {
		r, ok := findRecord(sf, convObject, "Conversation_Key__c", key)
		return ok && r.LastModifiedByID == standin.DefaultUserID, r.LastModifiedByID
	})
}

// findRecord returns the record with the external id key, if any.
func findRecord(sf *standin.Server, object, externalID, key string) (standin.Record, bool) {
	byKey, _ := records(sf, object, externalID)
	r, ok := byKey[key]
	return r, ok
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAgentsChangesOnceAcrossReplicas runs two replicas on one PostgreSQL
// schema, both polling Salesforce every second. Each agent's change is
// applied once: a refused value is recorded once and written back, and a
// state change appears once in the history.
func TestAgentsChangesOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	acme := newOrg(t, "", nil)
	tenants := []tenantSpec{{ID: "acme", Org: acme, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}}}
	a := newEnv(t, envOptions{Tenants: tenants, PostgresDSN: dsn})
	b := newEnv(t, envOptions{Tenants: tenants, PostgresDSN: dsn})
	a.startWithSalesforceChanges()
	b.startWithSalesforceChanges()
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	const users = 3
	keys := make([]string, users)
	ids := make([]int64, users)
	for i := range users {
		wa := fmt.Sprintf("3160000090%d", i)
		a.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, wa, "U", fmt.Sprintf("wamid.R%d", i), "hi", time.Now()))
		waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", fmt.Sprintf("wamid.R%d", i)))
		c := onlyConversation(t, st, "acme", "wa", wa)
		ids[i], keys[i] = c.ID, convKey("acme", "wa", c.ID)
	}
	waitForPolls(t, acme.SF, 2)
	agentEdit(t, acme.SF, keys[0], map[string]any{"State__c": "ESCALATED"})
	agentEdit(t, acme.SF, keys[1], map[string]any{"State__c": "CLOSED"})
	agentEdit(t, acme.SF, keys[2], map[string]any{"State__c": "AUTO_BOT"})
	waitForState(t, st, ids[1], statemachine.Closed)
	waitForState(t, st, ids[2], statemachine.AutoBot)
	waitForConnectorWrite(t, acme.SF, keys[0])
	// More polls by both replicas read the same records again.
	waitForPolls(t, acme.SF, 4)
	for i, id := range ids {
		n := 0
		for _, tr := range history(t, st, id) {
			if tr.Actor == agentActor {
				n++
			}
		}
		if n != 1 {
			t.Errorf("conversation %d: %d entries by the agent, want 1: %s", i, n, historyString(history(t, st, id)))
		}
	}
	if r, _ := findRecord(acme.SF, convObject, "Conversation_Key__c", keys[0]); field(r, "State__c") != "OPEN" {
		t.Errorf("the refused value was not written back: %v", r.Fields)
	}
}
