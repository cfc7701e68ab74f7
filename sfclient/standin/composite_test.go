package standin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

const compositePath = "/services/data/v62.0/composite"

// sub is one subrequest of a Composite request body.
func sub(ref, method, url string, body any) map[string]any {
	return map[string]any{"referenceId": ref, "method": method, "url": url, "body": body}
}

type compositeAnswer struct {
	CompositeResponse []struct {
		Body           json.RawMessage `json:"body"`
		HTTPStatusCode int             `json:"httpStatusCode"`
		ReferenceID    string          `json:"referenceId"`
	} `json:"compositeResponse"`
}

// oneCall checks that r answers a Composite request of n subrequests, as
// one call toward the limit, and returns its answer.
func oneCall(t *testing.T, r response, n int) compositeAnswer {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	if got := r.header.Get("Sforce-Limit-Info"); got != "api-usage=1/15000" {
		t.Errorf("Sforce-Limit-Info = %q: a Composite request is one call", got)
	}
	var a compositeAnswer
	r.decode(t, &a)
	if len(a.CompositeResponse) != n {
		t.Fatalf("%d subresponses: %s", len(a.CompositeResponse), r.body)
	}
	return a
}

func TestCompositeRunsInOrderAsOneCall(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	r := f.do(http.MethodPost, compositePath, map[string]any{"allOrNone": false, "compositeRequest": []any{
		sub("conv", http.MethodPatch, convPath, collection("Chat_Conversation__c", false,
			map[string]any{"Conversation_Key__c": "c1", "State__c": "OPEN"})),
		sub("msgs", http.MethodPatch, msgPath, collection("Chat_Message__c", false,
			map[string]any{"Message_Key__c": "m1", "Chat_Conversation__r": map[string]any{"Conversation_Key__c": "c1"}},
			map[string]any{"Message_Key__c": "m2", "Chat_Conversation__r": map[string]any{"Conversation_Key__c": "nope"}})),
		sub("bad", http.MethodPatch, "/services/data/v62.0/composite/sobjects/Nope__c/Key__c", collection("Nope__c", false)),
		sub("one", http.MethodPatch, "/services/data/v62.0/sobjects/Chat_Conversation__c/Conversation_Key__c/c2", map[string]any{"State__c": "CLOSED"}),
	}})
	a := oneCall(t, r, 4)
	wantStatus := []int{200, 200, 404, 201}
	for i, sr := range a.CompositeResponse {
		if sr.HTTPStatusCode != wantStatus[i] || sr.ReferenceID == "" {
			t.Errorf("subresponse %d: %d %s, want %d", i, sr.HTTPStatusCode, sr.ReferenceID, wantStatus[i])
		}
	}
	var msgs []rawResult
	if err := json.Unmarshal(a.CompositeResponse[1].Body, &msgs); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !msgs[0].boolean("success") || msgs[1].boolean("success") || msgs[1].errors(t)[0]["statusCode"] != "INVALID_FIELD" {
		t.Errorf("message results = %s", a.CompositeResponse[1].Body)
	}
	var bad []map[string]any
	if err := json.Unmarshal(a.CompositeResponse[2].Body, &bad); err != nil || len(bad) != 1 || bad[0]["errorCode"] != "NOT_FOUND" {
		t.Errorf("failed subrequest body = %s", a.CompositeResponse[2].Body)
	}
	if n := len(f.s.Records("Chat_Conversation__c")); n != 2 {
		t.Errorf("%d conversation records, want 2", n)
	}
	if st := f.s.Stats(); st.APICalls != 1 || st.CompositeCalls != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCompositeAllOrNoneRollsBackEverything(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	r := f.do(http.MethodPost, compositePath, map[string]any{"allOrNone": true, "compositeRequest": []any{
		sub("conv", http.MethodPatch, convPath, collection("Chat_Conversation__c", false,
			map[string]any{"Conversation_Key__c": "c1", "State__c": "OPEN"})),
		sub("bad", http.MethodPatch, msgPath, collection("Chat_Message__c", false,
			map[string]any{"Message_Key__c": "m0", "Body__c": "fine"},
			map[string]any{"Message_Key__c": "m1", "Nope__c": "x"})),
		sub("after", http.MethodPatch, convPath, collection("Chat_Conversation__c", false,
			map[string]any{"Conversation_Key__c": "c2"})),
	}})
	var a compositeAnswer
	r.decode(t, &a)
	if r.status != http.StatusOK || len(a.CompositeResponse) != 3 {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	for _, i := range []int{0, 2} {
		var errs []map[string]any
		_ = json.Unmarshal(a.CompositeResponse[i].Body, &errs)
		if a.CompositeResponse[i].HTTPStatusCode != 400 || len(errs) != 1 || errs[0]["errorCode"] != "PROCESSING_HALTED" {
			t.Errorf("subresponse %d = %d %s, want PROCESSING_HALTED", i, a.CompositeResponse[i].HTTPStatusCode, a.CompositeResponse[i].Body)
		}
	}
	// The failing collection answers as an allOrNone one (the Composite
	// request's allOrNone overrides its own false): its valid record is
	// rolled back, and says so.
	var results []struct {
		Success bool `json:"success"`
		Errors  []struct {
			StatusCode string `json:"statusCode"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(a.CompositeResponse[1].Body, &results)
	if a.CompositeResponse[1].HTTPStatusCode != 200 || len(results) != 2 || results[0].Success || len(results[0].Errors) != 1 ||
		results[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || results[1].Success ||
		len(results[1].Errors) != 1 || results[1].Errors[0].StatusCode != "INVALID_FIELD" {
		t.Errorf("the failing collection = %d %s, want m0 rolled back and m1's own error", a.CompositeResponse[1].HTTPStatusCode, a.CompositeResponse[1].Body)
	}
	if n := len(f.s.Records("Chat_Conversation__c")) + len(f.s.Records("Chat_Message__c")); n != 0 {
		t.Errorf("%d records after the rollback", n)
	}
}

func TestCompositeLimits(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	var subs, colls []any
	for i := range MaxCompositeSubrequests + 1 {
		subs = append(subs, sub(fmt.Sprint("r", i), http.MethodPatch,
			fmt.Sprintf("/services/data/v62.0/sobjects/Chat_Conversation__c/Conversation_Key__c/c%d", i), map[string]any{}))
	}
	for i := range MaxCompositeCollections + 1 {
		colls = append(colls, sub(fmt.Sprint("r", i), http.MethodPatch, convPath, collection("Chat_Conversation__c", false,
			map[string]any{"Conversation_Key__c": fmt.Sprint("c", i)})))
	}
	dup := []any{sub("x", http.MethodPatch, convPath, collection("Chat_Conversation__c", false)),
		sub("x", http.MethodPatch, convPath, collection("Chat_Conversation__c", false))}
	for name, body := range map[string]any{
		"26 subrequests": map[string]any{"compositeRequest": subs},
		"6 collections":  map[string]any{"compositeRequest": colls},
		"duplicate ref":  map[string]any{"compositeRequest": dup},
		"malformed":      "{",
		"no subrequests": map[string]any{},
	} {
		r := f.do(http.MethodPost, compositePath, body)
		var errs []map[string]any
		r.decode(t, &errs)
		if r.status != http.StatusBadRequest || len(errs) != 1 || errs[0]["message"] == "" {
			t.Errorf("%s: HTTP %d %s", name, r.status, r.body)
		}
	}
	if n := len(f.s.Records("Chat_Conversation__c")); n != 0 {
		t.Errorf("%d records written by refused requests", n)
	}
}

// TestCompositeDescribes: a Composite request describes objects in GET
// subrequests, one call toward the limit: a missing object answers 404
// within the response, another method 405; a version the org does not
// serve answers 404 for the whole call.
func TestCompositeDescribes(t *testing.T) {
	f := newFixture(t, Options{})
	f.token()
	r := f.do(http.MethodPost, compositePath, map[string]any{"compositeRequest": []any{
		sub("a", http.MethodGet, "/services/data/v62.0/sobjects/Chat_Message__c/describe", nil),
		sub("b", http.MethodGet, "/services/data/v62.0/sobjects/Nope__c/describe", nil),
		sub("c", http.MethodPost, "/services/data/v62.0/sobjects/Chat_Message__c/describe", nil),
	}})
	a := oneCall(t, r, 3)
	for i, want := range []int{200, 404, 405} {
		if got := a.CompositeResponse[i].HTTPStatusCode; got != want {
			t.Errorf("subresponse %d: %d, want %d: %s", i, got, want, a.CompositeResponse[i].Body)
		}
	}
	var d struct {
		Name   string `json:"name"`
		Fields []struct {
			Name string `json:"name"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(a.CompositeResponse[0].Body, &d); err != nil || d.Name != "Chat_Message__c" || len(d.Fields) == 0 {
		t.Errorf("describe = %s (%v)", a.CompositeResponse[0].Body, err)
	}

	r = f.do(http.MethodPost, "/services/data/v99.0/composite", map[string]any{"compositeRequest": []any{
		sub("a", http.MethodGet, "/services/data/v99.0/sobjects/Chat_Message__c/describe", nil),
	}})
	if r.status != http.StatusNotFound || !json.Valid(r.body) {
		t.Errorf("an unserved version: HTTP %d %s", r.status, r.body)
	}
}
