package bench

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chatsync/sfconnector/sfclient/standin"
)

// The writes the stand-in reports to the meter are the writes parseCall
// reads from the same call.
func TestStandinReportsWhatParseCallReads(t *testing.T) {
	sf := standin.New(standin.Options{ClientID: clientID, ClientSecret: clientSecret})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/services/oauth2/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sf.ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %s", rec.Body)
	}

	const (
		convs     = "/services/data/v62.0/composite/sobjects/Chat_Conversation__c/Conversation_Key__c"
		msgs      = "/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c"
		composite = "/services/data/v62.0/composite"
	)
	conv := func(key string) string {
		return `{"attributes":{"type":"Chat_Conversation__c"},"Conversation_Key__c":"` + key + `","State__c":"OPEN"}`
	}
	msg := func(key, conv string) string {
		return `{"attributes":{"type":"Chat_Message__c"},"Message_Key__c":"` + key + `","Chat_Conversation__r":{"Conversation_Key__c":"` + conv + `"}}`
	}
	coll := func(allOrNone bool, recs ...string) string {
		a := "false"
		if allOrNone {
			a = "true"
		}
		return `{"allOrNone":` + a + `,"records":[` + strings.Join(recs, ",") + `]}`
	}
	sub := func(ref, method, url, body string) string {
		return `{"method":"` + method + `","url":"` + url + `","referenceId":"` + ref + `","body":` + body + `}`
	}
	comp := func(allOrNone bool, subs ...string) string {
		a := "false"
		if allOrNone {
			a = "true"
		}
		return `{"allOrNone":` + a + `,"compositeRequest":[` + strings.Join(subs, ",") + `]}`
	}
	for _, c := range []struct {
		name, method, path, body string
		writes                   int
	}{
		{"collection", http.MethodPatch, convs, coll(false, conv("c1"), conv("c2")), 2},
		{"collection, a record failing", http.MethodPatch, msgs, coll(false, msg("m1", "c1"), msg("m2", "nope"), msg("m3", "c2")), 2},
		{"collection, a key in lower case", http.MethodPatch, strings.ToLower(msgs),
			coll(false, `{"attributes":{"type":"Chat_Message__c"},"message_key__c":"m4","Chat_Conversation__r":{"Conversation_Key__c":"c1"}}`), 1},
		{"collection, the same key twice", http.MethodPatch, msgs, coll(false, msg("m5", "c1"), msg("m5", "c1"), msg("m6", "c1")), 1},
		{"collection, all or none, rolled back", http.MethodPatch, msgs, coll(true, msg("m7", "c1"), msg("m8", "nope")), 0},
		{"collection, an unknown object", http.MethodPatch, "/services/data/v62.0/composite/sobjects/Nope__c/Key__c", coll(false), 0},
		{"composite", http.MethodPost, composite, comp(false,
			sub("conv", "PATCH", convs, coll(false, conv("c3"))),
			sub("msgs", "PATCH", msgs, coll(false, msg("m1", "c3"), msg("m9", "nope"), msg("m10", "c3"))),
			sub("bad", "PATCH", "/services/data/v62.0/composite/sobjects/Nope__c/Key__c", coll(false)),
			sub("one", "PATCH", "/services/data/v62.0/sobjects/Chat_Conversation__c/Conversation_Key__c/c4", `{"State__c":"OPEN"}`),
			sub("rolled", "PATCH", msgs, coll(true, msg("m11", "c3"), msg("m12", "nope"))),
		), 3},
		{"composite, all or none, halted", http.MethodPost, composite, comp(true,
			sub("conv", "PATCH", convs, coll(false, conv("c5"))),
			sub("msgs", "PATCH", msgs, coll(false, msg("m13", "c5"), msg("m14", "nope"))),
		), 0}, // the request's allOrNone overrides the collection's: m13 is rolled back and says so
		{"composite, refused", http.MethodPost, composite, comp(false,
			sub("a", "PATCH", convs, coll(false, conv("c6"))),
			sub("a", "PATCH", convs, coll(false, conv("c7"))),
		), 0},
	} {
		var got []written
		told := false
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req = req.WithContext(standin.WithWriteObserver(req.Context(), func(ws []standin.Write) {
			told = true
			for _, w := range ws {
				got = append(got, written(w))
			}
		}))
		rec := httptest.NewRecorder()
		sf.ServeHTTP(rec, req)
		if !told && rec.Code/100 == 2 {
			t.Errorf("%s: answered %d without telling its writes", c.name, rec.Code)
		}
		want := parseCall(c.method, c.path, []byte(c.body), rec.Code, rec.Body.Bytes())
		if !slices.Equal(got, want) || len(got) != c.writes {
			t.Errorf("%s: the stand-in told %+v, parseCall reads %+v, want %d writes\nanswer %d %s", c.name, got, want, c.writes, rec.Code, rec.Body)
		}
	}
}
