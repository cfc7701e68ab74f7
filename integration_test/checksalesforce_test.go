package integration_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/salesforce"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// newOrgWithOptions starts a stand-in with opts (the test credentials
// filled in).
func newOrgWithOptions(t *testing.T, opts standin.Options) *org {
	t.Helper()
	opts.ClientID, opts.ClientSecret = clientID, clientSecret
	sf := standin.New(opts)
	srv := httptest.NewServer(sf)
	t.Cleanup(srv.Close)
	return &org{SF: sf, URL: srv.URL}
}

// brokenMetadata returns the salesforce/ folder's metadata with fn applied
// to one field; fn returning false removes it.
func brokenMetadata(t *testing.T, object, field string, fn func(*salesforce.Field) bool) []salesforce.Object {
	t.Helper()
	objs, err := salesforce.Objects()
	if err != nil {
		t.Fatal(err)
	}
	for i := range objs {
		for j := range objs[i].Fields {
			if objs[i].Name == object && objs[i].Fields[j].Name == field {
				if !fn(&objs[i].Fields[j]) {
					objs[i].Fields = slices.Delete(objs[i].Fields, j, j+1)
				}
				return objs
			}
		}
	}
	t.Fatalf("no field %s.%s", object, field)
	return nil
}

// TestCheckSalesforce runs `connector check-salesforce` against orgs
// serving the salesforce/ metadata (exit 0, no problems) and against orgs
// with a field removed, a field of the wrong type and an external id that
// is not unique: exit 1, and the table names each problem and its fix.
// `serve` runs the same check at start-up and shows it in /readyz while
// it keeps serving.
func TestCheckSalesforce(t *testing.T) {
	t.Parallel()
	good := newOrg(t, "", nil)
	e := newEnv(t, envOptions{Tenants: []tenantSpec{{ID: "acme", Org: good, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}}}})
	out, errOut, code := runConnector(t, "check-salesforce", "-config", e.cfgPath)
	if code != 0 || !strings.Contains(out, "no problems") || !strings.Contains(out, "Chat_Conversation__c.State__c") {
		t.Fatalf("a good org: exit %d\n%s\n%s", code, out, errOut)
	}

	removed := newOrgWithOptions(t, standin.Options{OrgID: "00D000000000002AAA",
		Metadata: brokenMetadata(t, "Chat_Conversation__c", "Blocked__c", func(*salesforce.Field) bool { return false })})
	wrongType := newOrgWithOptions(t, standin.Options{OrgID: "00D000000000003AAA",
		Metadata: brokenMetadata(t, "Chat_Message__c", "Sequence__c", func(f *salesforce.Field) bool { f.Type = "Checkbox"; return true })})
	notUnique := newOrgWithOptions(t, standin.Options{OrgID: "00D000000000004AAA",
		Metadata: brokenMetadata(t, "Chat_Conversation__c", "Conversation_Key__c", func(f *salesforce.Field) bool { f.Unique = false; return true })})
	bad := newEnv(t, envOptions{Tenants: []tenantSpec{
		{ID: "good", Org: good, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp"}}},
		{ID: "removed", Org: removed, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", PhoneNumberID: "1065550002"}}},
		{ID: "wrongtype", Org: wrongType, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", PhoneNumberID: "1065550003"}}},
		{ID: "notunique", Org: notUnique, Channels: []channelSpec{{ID: "wa", Platform: "whatsapp", PhoneNumberID: "1065550004"}}},
	}})
	out, errOut, code = runConnector(t, "check-salesforce", "-config", bad.cfgPath)
	if code != 1 {
		t.Fatalf("broken orgs: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"Chat_Conversation__c.Blocked__c", "missing", "sf project deploy start",
		"Chat_Message__c.Sequence__c", "type boolean", "make it a Number field",
		"Chat_Conversation__c.Conversation_Key__c", "not marked External ID and Unique", "tick External ID and Unique",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "BLOCKING"); n != 3 {
		t.Errorf("%d blocking lines, want 3:\n%s", n, out)
	}
	out, _, code = runConnector(t, "check-salesforce", "-config", bad.cfgPath, "-tenant", "good")
	if code != 0 || strings.Contains(out, "BLOCKING") {
		t.Errorf("-tenant good: exit %d\n%s", code, out)
	}
	if _, _, code := runConnector(t, "check-salesforce", "-config", bad.cfgPath, "-tenant", "nobody"); code != 1 {
		t.Errorf("-tenant nobody: exit %d, want 1", code)
	}

	// serve checks at start-up, shows it in /readyz and keeps running.
	bad.start()
	var ready struct {
		Status     string `json:"status"`
		Salesforce map[string]struct {
			State    string `json:"state"`
			Problems []struct {
				Item, Status, Fix string
			} `json:"problems"`
		} `json:"salesforce"`
	}
	waitFor(t, waitTimeout, "every org's check in /readyz", func() (bool, string) {
		r := bad.call("", "GET", "/readyz", nil)
		if r.Status != 200 || json.Unmarshal(r.Body, &ready) != nil {
			return false, r.String()
		}
		for _, st := range ready.Salesforce {
			if st.State == "pending" {
				return false, r.String()
			}
		}
		return len(ready.Salesforce) == 4, r.String()
	})
	want := map[string]string{good.SF.OrgID()[:15]: "ok", removed.SF.OrgID()[:15]: "blocking",
		wrongType.SF.OrgID()[:15]: "blocking", notUnique.SF.OrgID()[:15]: "blocking"}
	for org, state := range want {
		if got := ready.Salesforce[org]; got.State != state || (state == "blocking" && (len(got.Problems) != 1 || got.Problems[0].Fix == "")) {
			t.Errorf("/readyz org %s: %+v, want %s", org, got, state)
		}
	}
	metrics := bad.call(operatorToken, "GET", "/metrics", nil)
	if !strings.Contains(string(metrics.Body), `connector_salesforce_preflight_problems{org="`+removed.SF.OrgID()[:15]+`",status="blocking"} 1`) {
		t.Errorf("the metric is missing:\n%s", metrics.Body)
	}
}
