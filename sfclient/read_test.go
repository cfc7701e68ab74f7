package sfclient_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/sfclient"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// TestQueryPagesThroughNextRecordsURL writes five conversations, edits two
// as an agent, and reads them back with a query answered in pages of two:
// every record once, in SystemModstamp then Id order, with who changed it
// last; the integration user's id is the one the token names.
func TestQueryPagesThroughNextRecordsURL(t *testing.T) {
	e := newEnv(t, standin.Options{QueryBatchSize: 2}, nil, nil)
	ctx := context.Background()
	for i := range 5 {
		e.upsertConversations(t, conv(fmt.Sprintf("t:wa:%d", i), "State__c", "OPEN"))
	}
	if _, err := e.sf.EditAsAgent(standin.AgentEdit{Object: convObject, ExternalID: "t:wa:3",
		Fields: map[string]any{"State__c": "CLOSED"}, UserName: "Ann Agent"}); err != nil {
		t.Fatal(err)
	}
	me, err := e.client.UserID(ctx)
	if err != nil || me != standin.DefaultUserID {
		t.Fatalf("UserID = %q, %v; want %s", me, err, standin.DefaultUserID)
	}
	before := e.sf.Stats().QueryCalls
	var pages, total int
	seen := map[string]sfclient.QueryRecord{}
	err = e.client.Query(ctx, "SELECT Id, Conversation_Key__c, State__c, SystemModstamp, LastModifiedById, LastModifiedBy.Name FROM Chat_Conversation__c WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp ASC, Id ASC", func(recs []sfclient.QueryRecord) error {
		pages++
		total += len(recs)
		for _, r := range recs {
			seen[r.String("Conversation_Key__c")] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 || total != 5 || len(seen) != 5 {
		t.Fatalf("%d pages, %d records, %d distinct; want 3, 5, 5", pages, total, len(seen))
	}
	if got := e.sf.Stats().QueryCalls - before; got != 3 {
		t.Errorf("%d query calls, want 3", got)
	}
	agent := seen["t:wa:3"]
	if agent.String("State__c") != "CLOSED" || agent.String("LastModifiedById") != standin.DefaultAgentID || agent.String("LastModifiedBy.Name") != "Ann Agent" {
		t.Errorf("the agent's record reads %v", agent)
	}
	if r := seen["t:wa:1"]; r.String("LastModifiedById") != me || r.String("SystemModstamp") == "" {
		t.Errorf("the connector's record reads %v", r)
	}

	stop := errors.New("stop")
	if err := e.client.Query(ctx, "SELECT Id FROM Chat_Conversation__c", func([]sfclient.QueryRecord) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("a page's error: %v, want it returned", err)
	}
	err = e.client.Query(ctx, "SELECT Nope__c FROM Chat_Conversation__c", func([]sfclient.QueryRecord) error { return nil })
	var ae *sfclient.APIError
	if !errors.As(err, &ae) || ae.Code != "INVALID_FIELD" || sfclient.Classify(err) != sfclient.Permanent {
		t.Errorf("unknown column: %v, want a permanent INVALID_FIELD", err)
	}
}

// TestQueryGetsANewTokenOnExpiredSession expires the session between two
// queries: the second succeeds with a new token.
func TestQueryGetsANewTokenOnExpiredSession(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	ctx := context.Background()
	q := "SELECT Id FROM Chat_Conversation__c LIMIT 1"
	if err := e.client.Query(ctx, q, func([]sfclient.QueryRecord) error { return nil }); err != nil {
		t.Fatal(err)
	}
	e.sf.ExpireTokens()
	if err := e.client.Query(ctx, q, func([]sfclient.QueryRecord) error { return nil }); err != nil {
		t.Fatalf("after the session expired: %v", err)
	}
	if n := e.sf.Stats().TokensIssued; n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
}

// TestDescribeLimitsAndVersions reads the stand-in's describe of the
// conversation object (built from the salesforce/ metadata), the org's
// daily limit and its API versions.
func TestDescribeLimitsAndVersions(t *testing.T) {
	e := newEnv(t, standin.Options{}, nil, nil)
	ctx := context.Background()
	d, err := e.client.Describe(ctx, convObject)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := d.Field(convKey)
	if !ok || key.Type != "string" || !key.ExternalID || !key.Unique || key.Length != 255 {
		t.Errorf("the external id is described %+v", key)
	}
	state, _ := d.Field("State__c")
	var values []string
	for _, v := range state.PicklistValues {
		values = append(values, v.Value)
	}
	if state.Type != "picklist" || strings.Join(values, ",") != "OPEN,EXPIRED,AUTO_BOT,CLOSED,BLOCKED" {
		t.Errorf("State__c is described %s with %v", state.Type, values)
	}
	if b, _ := d.Field("Blocked__c"); b.Type != "boolean" || !b.Updateable {
		t.Errorf("Blocked__c is described %+v", b)
	}
	md, err := e.client.Describe(ctx, msgObject)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := md.Field("Chat_Conversation__c"); p.Type != "reference" || p.RelationshipName != "Chat_Conversation__r" || len(p.ReferenceTo) != 1 || p.ReferenceTo[0] != convObject {
		t.Errorf("the parent is described %+v", p)
	}
	_, err = e.client.Describe(ctx, "Nope__c")
	var ae *sfclient.APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 {
		t.Errorf("an unknown object: %v, want 404", err)
	}
	l, err := e.client.Limits(ctx)
	if err != nil || l.DailyMax != standin.DefaultDailyLimit || l.DailyRemaining <= 0 || l.DailyRemaining >= l.DailyMax {
		t.Errorf("Limits = %+v, %v", l, err)
	}
	vs, err := e.client.Versions(ctx)
	if err != nil || len(vs) == 0 || vs[len(vs)-1] != sfclient.DefaultAPIVersion {
		t.Errorf("Versions = %v, %v; want a list ending with %s", vs, err, sfclient.DefaultAPIVersion)
	}
}
