package ingest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chatsync/sfconnector/connector/ingest"
	"github.com/chatsync/sfconnector/connector/platform"
	"github.com/chatsync/sfconnector/statemachine"
)

// cpuNow is the process's user and system CPU time so far.
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestGroup stores one-message deliveries from 64 concurrent
// callers through group commit on SQLite, 1,000 contacts writing again
// and again: the store's part of a webhook delivery. Besides ns/op it
// reports cpu-µs/op, the CPU time per delivery, which compares two builds
// on a busy machine where the wall time does not.
//
//	go test -run '^$' -bench IngestGroup -benchtime 20000x ./connector/ingest
func BenchmarkIngestGroup(b *testing.B) {
	st := newStore(b)
	in := &ingest.Ingester{Store: st, Group: &ingest.GroupCommitter{Store: st}}
	ch := ingest.Channel{Tenant: "acme", ID: "wa", OrgID: "00D000000000001", Excluded: statemachine.DefaultExcluded()}
	var seq atomic.Int64
	// A request's context, cancellable as a webhook's is.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetParallelism(32) // 64 callers on 2 cores
	b.ReportAllocs()
	cpu0 := cpuNow(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			ev := platform.Event{Kind: platform.KindMessage, ID: fmt.Sprint("wamid.", n), Contact: fmt.Sprint(n % 1000),
				ContactName: "Ann", Timestamp: time.Now(), Message: &platform.Message{Kind: platform.Text, Text: "hello"}}
			if _, err := in.Ingest(ctx, ch, []platform.Event{ev}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuNow(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
