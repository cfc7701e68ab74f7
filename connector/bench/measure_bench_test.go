package bench

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// compositeSample returns a Composite request of collections of message
// records, shaped as the connector sends them, and its answer.
func compositeSample(collections, records int) (req, resp []byte) {
	var rq, rs strings.Builder
	rq.WriteString(`{"allOrNone":false,"compositeRequest":[`)
	rs.WriteString(`{"compositeResponse":[`)
	for c := range collections {
		if c > 0 {
			rq.WriteString(",")
			rs.WriteString(",")
		}
		fmt.Fprintf(&rq, `{"method":"PATCH","url":"/services/data/v62.0/composite/sobjects/Chat_Message__c/Message_Key__c","referenceId":"c%d","body":{"allOrNone":false,"records":[`, c)
		fmt.Fprintf(&rs, `{"body":[`)
		for i := range records {
			n := c*records + i
			if i > 0 {
				rq.WriteString(",")
				rs.WriteString(",")
			}
			fmt.Fprintf(&rq, `{"Body__c":"bench message %d","Chat_Conversation__r":{"Conversation_Key__c":"bench:whatsapp:%d"},"Conversation_State__c":"OPEN","Direction__c":"inbound","Kind__c":"text","Message_Key__c":"bench:whatsapp:wamid.bench.ea4e4ffd.%d","Sender__c":"31%010d","Sent_At__c":"2026-12-05T10:36:50Z","Sequence__c":%d,"attributes":{"type":"Chat_Message__c"}}`, n, n%100, n, n%100, n)
			fmt.Fprintf(&rs, `{"id":"a02%015d","success":true,"errors":[],"created":true}`, n)
		}
		rq.WriteString(`]}}`)
		fmt.Fprintf(&rs, `],"httpHeaders":{},"httpStatusCode":200,"referenceId":"c%d"}`, c)
	}
	rq.WriteString(`]}`)
	rs.WriteString(`]}`)
	return []byte(rq.String()), []byte(rs.String())
}

func BenchmarkParseComposite(b *testing.B) {
	req, resp := compositeSample(5, 200)
	b.SetBytes(int64(len(req) + len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		if got := parseCall(http.MethodPost, "/services/data/v62.0/composite", req, 200, resp); len(got) != 1000 {
			b.Fatalf("%d writes", len(got))
		}
	}
}
