package connector_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/demo"
	"github.com/chatsync/sfconnector/connector/platform/whatsapp"
)

// BenchmarkWebhookDelivery measures one signed WhatsApp delivery of one
// text message through the real HTTP endpoint: read, signature check,
// parse, the state machine and the durable commit to SQLite
// (synchronous=FULL), answered 200. The dispatcher pushes to the stand-in
// meanwhile, as it would in production.
func BenchmarkWebhookDelivery(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "sequential"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			_, _, base := start(b)
			var n atomic.Int64
			post := func(s *demo.Sender) {
				i := n.Add(1)
				body := whatsapp.TextDelivery("1065", fmt.Sprintf("3160%07d", i%500), "Ann", fmt.Sprintf("wamid.B%d", i), "hello", time.Now())
				resp, err := s.WhatsApp(context.Background(), "acme", "wa", "app-secret", body)
				if err != nil || resp.Status != http.StatusOK {
					b.Fatalf("delivery: %v %d %s", err, resp.Status, resp.Body)
				}
			}
			b.ResetTimer()
			if parallel {
				b.SetParallelism(32) // many platforms posting at once, as in production
				b.RunParallel(func(pb *testing.PB) {
					s := &demo.Sender{BaseURL: base}
					for pb.Next() {
						post(s)
					}
				})
			} else {
				s := &demo.Sender{BaseURL: base}
				for range b.N {
					post(s)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
