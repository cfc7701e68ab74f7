package standin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/salesforce"
	"github.com/chatsync/sfconnector/sfclient/standin"
)

// TestDefaultObjectsMatchTheMetadata: the schema the stand-in serves by
// default has the objects, external ids, fields and relationships of the
// salesforce/ folder.
func TestDefaultObjectsMatchTheMetadata(t *testing.T) {
	meta, err := salesforce.Objects()
	if err != nil {
		t.Fatal(err)
	}
	fromMeta := standin.ObjectsFromMetadata(meta)
	def := standin.DefaultObjects()
	slices.SortFunc(def, func(a, b standin.Object) int { return strings.Compare(a.Name, b.Name) })
	if len(def) != len(fromMeta) {
		t.Fatalf("%d default objects, %d in the metadata", len(def), len(fromMeta))
	}
	for i := range def {
		d, m := def[i], fromMeta[i]
		df, mf := slices.Sorted(slices.Values(d.Fields)), slices.Sorted(slices.Values(m.Fields))
		if d.Name != m.Name || d.ExternalID != m.ExternalID || !slices.Equal(df, mf) || !slices.Equal(d.Lookups, m.Lookups) {
			t.Errorf("default %+v\nmetadata %+v", d, m)
		}
	}
}

// TestAgentEditOverHTTP edits a record through POST /__standin/agent-edits:
// the value changes, LastModifiedById is the agent's; a field the object
// does not have is refused and changes nothing.
func TestAgentEditOverHTTP(t *testing.T) {
	sf := standin.New(standin.Options{})
	ts := httptest.NewServer(sf)
	defer ts.Close()
	tok := token(t, ts.URL)
	body := `{"allOrNone":false,"records":[{"attributes":{"type":"Chat_Conversation__c"},"Conversation_Key__c":"t:wa:1","State__c":"OPEN"}]}`
	req, _ := http.NewRequest(http.MethodPatch, ts.URL+"/services/data/v62.0/composite/sobjects/Chat_Conversation__c/Conversation_Key__c", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upsert: %v %v", resp, err)
	}
	resp.Body.Close()
	if r := sf.Records("Chat_Conversation__c")[0]; r.LastModifiedByID != standin.DefaultUserID || r.SystemModstamp.IsZero() {
		t.Fatalf("after the connector's upsert: %+v", r)
	}
	post := func(v any) int {
		b, _ := json.Marshal(v)
		resp, err := http.Post(ts.URL+"/__standin/agent-edits", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(map[string]any{"object": "Chat_Conversation__c", "externalId": "t:wa:1", "fields": map[string]any{"State__c": "BLOCKED", "Blocked__c": true},
		"userId": "005000000000009AAA", "userName": "Bo Agent"}); st != 200 {
		t.Fatalf("agent edit: HTTP %d", st)
	}
	r := sf.Records("Chat_Conversation__c")[0]
	if r.Fields["State__c"] != "BLOCKED" || r.Fields["Blocked__c"] != true || r.LastModifiedByID != "005000000000009AAA" {
		t.Errorf("after the agent's edit: %+v", r)
	}
	if st := post(map[string]any{"object": "Chat_Conversation__c", "externalId": "t:wa:1", "fields": map[string]any{"Nope__c": 1}}); st != 400 {
		t.Errorf("unknown field: HTTP %d, want 400", st)
	}
	if r2 := sf.Records("Chat_Conversation__c")[0]; r2.LastModifiedByID != "005000000000009AAA" || len(r2.Fields) != len(r.Fields) {
		t.Errorf("a refused edit changed the record: %+v", r2)
	}
}

func token(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/services/oauth2/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

// TestValuesAreCheckedAgainstTheMetadata: a value outside a restricted
// picklist, a checkbox that is not a boolean and a date/time that is not
// ISO 8601 are refused per record, as Salesforce refuses them; good values
// pass.
func TestValuesAreCheckedAgainstTheMetadata(t *testing.T) {
	sf := standin.New(standin.Options{})
	ts := httptest.NewServer(sf)
	defer ts.Close()
	tok := token(t, ts.URL)
	recs := []map[string]any{
		{"Conversation_Key__c": "ok", "State__c": "BLOCKED", "Blocked__c": true, "Last_Message_At__c": "2026-12-05T10:00:00Z"},
		{"Conversation_Key__c": "p", "State__c": "ESCALATED"},
		{"Conversation_Key__c": "b", "Blocked__c": "yes"},
		{"Conversation_Key__c": "d", "Last_Message_At__c": "yesterday"},
	}
	for _, r := range recs {
		r["attributes"] = map[string]string{"type": "Chat_Conversation__c"}
	}
	body, _ := json.Marshal(map[string]any{"allOrNone": false, "records": recs})
	req, _ := http.NewRequest(http.MethodPatch, ts.URL+"/services/data/v62.0/composite/sobjects/Chat_Conversation__c/Conversation_Key__c", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res []struct {
		Success bool `json:"success"`
		Errors  []struct {
			StatusCode string `json:"statusCode"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || len(res) != 4 {
		t.Fatalf("answer: %v %+v", err, res)
	}
	want := []string{"", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_TYPE_ON_FIELD_IN_RECORD", "INVALID_TYPE_ON_FIELD_IN_RECORD"}
	for i, w := range want {
		got := ""
		if len(res[i].Errors) > 0 {
			got = res[i].Errors[0].StatusCode
		}
		if got != w || res[i].Success != (w == "") {
			t.Errorf("record %d: success %v, error %q; want %q", i, res[i].Success, got, w)
		}
	}
	if n := len(sf.Records("Chat_Conversation__c")); n != 1 {
		t.Errorf("%d records stored, want the good one only", n)
	}
}
