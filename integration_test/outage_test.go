package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// runConnector runs a connector command to its end (bounded) and returns
// its standard output, standard error and exit code.
func runConnector(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, connectorBin, args...)
	cmd.Env = cleanEnviron()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
	default:
		t.Fatalf("connector %s: %v (stderr: %s)", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestSalesforceOutageThenDeadLettersAndReplay keeps Salesforce down while
// messages arrive (they are acknowledged), then brings it back with every
// token expired and a validation rule refusing some messages: the
// connector gets a new token, everything else arrives, and the refused
// messages are dead letters with Salesforce's error, listed by the API and
// by `connector dead list`. Once the rule is lifted, a replay delivers
// them.
func TestSalesforceOutageThenDeadLettersAndReplay(t *testing.T) {
	t.Parallel()
	acme := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{
		ID: "acme", Org: acme,
		Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}},
	}}})
	e.start()

	acme.SF.FailAll(standin.Fault{}) // 503 SERVER_UNAVAILABLE on every data call
	const (
		marker    = "FORBIDDEN-WORD"
		ruleCode  = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
		ruleMsg   = "Messages may not contain the forbidden word"
		ann, bob  = "31600000401", "31600000402"
		rejectedA = "wamid.ANN2"
		rejectedB = "wamid.BOB3"
	)
	sends := []struct{ from, id, text string }{
		{ann, "wamid.ANN1", "hello"},
		{bob, "wamid.BOB1", "good morning"},
		{ann, rejectedA, "this says " + marker},
		{bob, "wamid.BOB2", "my order is late"},
		{ann, "wamid.ANN3", "sorry, I meant something else"},
		{bob, rejectedB, marker + " again"},
		{ann, "wamid.ANN4", "thanks"},
	}
	for _, s := range sends {
		if a := e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, s.from, "", s.id, s.text, time.Now())); a.Pending != 1 {
			t.Fatalf("%s during the outage: answer %+v, want 1 pending", s.id, a)
		}
	}
	waitFor(t, waitTimeout, "the connector to meet the outage", func() (bool, string) {
		st := acme.SF.Stats()
		return st.Faults > 0, fmt.Sprintf("stand-in stats %+v", st)
	})
	if s := e.stats("acme"); s.Messages["pending"] != len(sends) {
		t.Errorf("during the outage: messages %v, want %d pending", s.Messages, len(sends))
	}
	if n := len(acme.SF.Records(msgObject)); n != 0 {
		t.Fatalf("%d message records during the outage", n)
	}

	rule := acme.SF.AddRejectRule(standin.RejectRule{Object: msgObject, Field: "Body__c", Contains: marker, StatusCode: ruleCode, Message: ruleMsg})
	tokensBefore := acme.SF.Stats().TokensIssued
	acme.SF.ExpireTokens()
	acme.SF.ClearFaults()

	for _, s := range sends {
		if s.id != rejectedA && s.id != rejectedB {
			waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", s.id))
		}
	}
	var dead []deadLetter
	waitFor(t, waitTimeout, "two dead letters", func() (bool, string) {
		dead = e.deadLetters("acme")
		return len(dead) == 2, fmt.Sprintf("%+v", dead)
	})
	if st := acme.SF.Stats(); st.TokensIssued <= tokensBefore || st.InvalidSession == 0 {
		t.Errorf("tokens issued %d before the expiry and %d after, %d calls refused as INVALID_SESSION_ID; want a new token after a refusal",
			tokensBefore, st.TokensIssued, st.InvalidSession)
	}
	var deadIDs []int64
	for _, d := range dead {
		deadIDs = append(deadIDs, d.ID)
		if d.PlatformID != rejectedA && d.PlatformID != rejectedB {
			t.Errorf("dead letter %+v is not one of the refused messages", d)
		}
		if !strings.Contains(d.Error, ruleCode) || !strings.Contains(d.Error, ruleMsg) {
			t.Errorf("dead letter %s: error %q, want Salesforce's %s and its message", d.PlatformID, d.Error, ruleCode)
		}
	}
	msgs := messageRecords(t, acme.SF)
	if len(msgs) != len(sends)-2 {
		t.Errorf("%d message records, want %d", len(msgs), len(sends)-2)
	}
	// A refused message does not hold its conversation back.
	if a, b := msgs[msgKey("acme", "wa", "wamid.ANN1")], msgs[msgKey("acme", "wa", "wamid.ANN3")]; a.CreatedSeq >= b.CreatedSeq {
		t.Errorf("ANN1 created %d, ANN3 created %d: want the send order", a.CreatedSeq, b.CreatedSeq)
	}

	out, errOut, code := runConnector(t, "dead", "list", "-config", e.cfgPath)
	if code != 0 {
		t.Fatalf("connector dead list: exit code %d: %s", code, errOut)
	}
	for _, want := range []string{rejectedA, rejectedB, ruleCode, ruleMsg} {
		if !strings.Contains(out, want) {
			t.Errorf("connector dead list does not show %q:\n%s", want, out)
		}
	}

	if !acme.SF.RemoveRejectRule(rule) {
		t.Fatal("the reject rule was not installed")
	}
	status, body := e.api(http.MethodPost, "/api/v1/tenants/acme/dead-letters/replay", map[string]bool{"all": true})
	if status != http.StatusOK {
		t.Fatalf("replay: %d %s", status, body)
	}
	var replayed struct {
		Replayed []int64 `json:"replayed"`
	}
	if err := json.Unmarshal(body, &replayed); err != nil {
		t.Fatalf("replay answer %q: %v", body, err)
	}
	slices.Sort(replayed.Replayed)
	slices.Sort(deadIDs)
	if !slices.Equal(replayed.Replayed, deadIDs) {
		t.Errorf("replayed %v, want the dead letters %v", replayed.Replayed, deadIDs)
	}
	for _, id := range []string{rejectedA, rejectedB} {
		rec := waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", id))
		if !strings.Contains(field(rec, "Body__c"), marker) {
			t.Errorf("replayed %s: Body__c %q", id, field(rec, "Body__c"))
		}
	}
	waitFor(t, waitTimeout, "every message pushed", func() (bool, string) {
		s := e.stats("acme")
		return s.Messages["pushed"] == len(sends) && s.Messages["dead"] == 0, fmt.Sprintf("messages %v", s.Messages)
	})
	if dead := e.deadLetters("acme"); len(dead) != 0 {
		t.Errorf("dead letters after the replay: %+v", dead)
	}
	if out, errOut, code := runConnector(t, "dead", "list", "-config", e.cfgPath); code != 0 || !strings.Contains(out, "no dead messages") {
		t.Errorf("connector dead list after the replay: exit code %d, output %q, errors %q", code, out, errOut)
	}
	if n := len(messageRecords(t, acme.SF)); n != len(sends) {
		t.Errorf("%d message records after the replay, want %d", n, len(sends))
	}
}

// abandonWatch wraps a stand-in and counts the /services/data calls whose
// client went away before the stand-in answered.
type abandonWatch struct {
	next      http.Handler
	abandoned atomic.Int64
}

func (w *abandonWatch) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.next.ServeHTTP(rw, r)
	// The answer is flushed only after the handler returns, so a request
	// context already cancelled here means the client gave up waiting.
	if strings.HasPrefix(r.URL.Path, "/services/data/") && r.Context().Err() != nil {
		w.abandoned.Add(1)
	}
}

// TestSlowSalesforceCallIsAbandonedAfterRequestTimeout makes every
// Salesforce call take 4 s while dispatcher.request_timeout is 1 s: the
// connector gives up on the calls (the message stays pending, nothing is
// lost), and once Salesforce answers quickly again the message arrives.
func TestSlowSalesforceCallIsAbandonedAfterRequestTimeout(t *testing.T) {
	t.Parallel()
	watch := &abandonWatch{}
	acme := newOrg(t, "", func(h http.Handler) http.Handler { watch.next = h; return watch })
	e := newEnv(t, envOptions{
		RequestTimeout: time.Second,
		Tenants: []tenantSpec{{
			ID: "acme", Org: acme,
			Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}},
		}},
	})
	e.start()
	acme.SF.SetLatency(4 * time.Second)

	e.postWhatsApp("acme", "wa", whatsapp.TextDelivery(defaultPhoneNumberID, "31600000601", "", "wamid.SLOW1", "anyone there?", time.Now()))
	waitFor(t, 20*time.Second, "a Salesforce call abandoned after dispatcher.request_timeout (1s) while the stand-in takes 4s", func() (bool, string) {
		return watch.abandoned.Load() > 0, fmt.Sprintf("%d calls abandoned, %d message records, stand-in stats %+v",
			watch.abandoned.Load(), len(acme.SF.Records(msgObject)), acme.SF.Stats())
	})
	if s := e.stats("acme"); s.Messages["pending"] != 1 {
		t.Errorf("after an abandoned call: messages %v, want the message pending", s.Messages)
	}

	acme.SF.SetLatency(0)
	waitForRecord(t, acme.SF, msgObject, "Message_Key__c", msgKey("acme", "wa", "wamid.SLOW1"))
}
