package standin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkCompositeUpserts posts Composite requests shaped as the
// connector's under load: a collection of conversations, then collections
// of new message records.
func BenchmarkCompositeUpserts(b *testing.B) {
	s := New(Options{ClientID: testClientID, ClientSecret: testSecret})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/services/oauth2/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.ServeHTTP(rec, req)
	tok := rec.Body.String()
	tok = tok[strings.Index(tok, `"access_token":"`)+len(`"access_token":"`):]
	tok = tok[:strings.Index(tok, `"`)]

	const collections, records, conversations = 4, 200, 100
	body := func(n int) string {
		var w strings.Builder
		w.WriteString(`{"allOrNone":false,"compositeRequest":[`)
		fmt.Fprintf(&w, `{"method":"PATCH","url":%q,"referenceId":"conv","body":{"allOrNone":false,"records":[`, convPath)
		for i := range conversations {
			if i > 0 {
				w.WriteString(",")
			}
			fmt.Fprintf(&w, `{"attributes":{"type":"Chat_Conversation__c"},"Conversation_Key__c":"bench:whatsapp:%d","State__c":"OPEN"}`, i)
		}
		w.WriteString(`]}}`)
		for c := range collections {
			fmt.Fprintf(&w, `,{"method":"PATCH","url":%q,"referenceId":"c%d","body":{"allOrNone":false,"records":[`, msgPath, c)
			for i := range records {
				if i > 0 {
					w.WriteString(",")
				}
				m := (n*collections+c)*records + i
				fmt.Fprintf(&w, `{"Body__c":"bench message %d","Chat_Conversation__r":{"Conversation_Key__c":"bench:whatsapp:%d"},"Message_Key__c":"bench:whatsapp:wamid.%d","attributes":{"type":"Chat_Message__c"}}`, m, m%conversations, m)
			}
			w.WriteString(`]}}`)
		}
		w.WriteString(`]}`)
		return w.String()
	}
	bodies := make([]string, 64)
	for i := range bodies {
		bodies[i] = body(i)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n == len(bodies) {
			b.StopTimer()
			s.Reset()
			n = 0
			b.StartTimer()
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/services/data/v62.0/composite", strings.NewReader(bodies[n]))
		req.Header.Set("Authorization", "Bearer "+tok)
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"success":false`) {
			b.Fatalf("HTTP %d %.500s", rec.Code, rec.Body)
		}
		n++
	}
}
