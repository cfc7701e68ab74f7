package timers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/chatsync/sfconnector/connector/metrics"
)

// counter reads a counter's value from the metrics' registry (0 when the
// series does not exist).
func counter(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			if len(s.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return s.GetCounter().GetValue()
		}
	}
	return 0
}

func runs(t *testing.T, tm *Timers, timer, result string) float64 {
	return counter(t, tm.Metrics, "connector_timer_runs_total", map[string]string{"timer": timer, "result": result})
}

// nativeJob returns the scheduled native-blocks job, or false.
func nativeJob(tm *Timers) (job, bool) {
	for _, j := range tm.jobs() {
		if j.name == "native-blocks" {
			return j, true
		}
	}
	return job{}, false
}

func TestNativeBlocksJobIsScheduledOnlyWithAFunction(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: time.Hour})
	e.tm.Config.NativeBlocks = "@every 30s"
	if _, ok := nativeJob(e.tm); ok {
		t.Fatal("native-blocks scheduled without RetryNativeBlocks")
	}
	e.tm.RetryNativeBlocks = func(context.Context) (int, error) { return 0, nil }
	j, ok := nativeJob(e.tm)
	if !ok || !j.shared || j.spec != "@every 30s" {
		t.Fatalf("job %+v %v: want a shared job on timers.native_blocks", j, ok)
	}
	if err := e.tm.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.tm.cron.Entries()); n != 4 {
		t.Errorf("%d cron entries, want 4 (expiry, retry, rescue, native-blocks)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.tm.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// A bad schedule is refused at start.
	e.tm.Config.NativeBlocks = "whenever"
	if err := e.tm.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "native-blocks") {
		t.Fatalf("Start with a bad native_blocks schedule = %v", err)
	}
}

func TestNativeBlocksJobRunsCountsAndReportsErrors(t *testing.T) {
	e := newEnv(t, Channel{Tenant: "acme", ID: "wa", InactivityTimeout: time.Hour})
	e.tm.Config.NativeBlocks = "@every 30s"
	calls, n := 0, 3
	var fail error
	e.tm.RetryNativeBlocks = func(context.Context) (int, error) { calls++; return n, fail }
	j, _ := nativeJob(e.tm)
	sched, err := cron.ParseStandard(j.spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.tm.Owner = "replica-a"
	e.tm.tick(ctx, zerolog.Nop(), j, sched)
	if calls != 1 || runs(t, e.tm, "native-blocks", "ok") != 1 {
		t.Fatalf("calls %d, ok runs %v", calls, runs(t, e.tm, "native-blocks", "ok"))
	}
	if got := counter(t, e.tm.Metrics, "connector_native_blocks_retried_total", map[string]string{}); got != 3 {
		t.Fatalf("retried counter %v, want 3", got)
	}

	// Another replica in the same period finds the lease taken.
	other := *e.tm
	other.Owner = "replica-b"
	other.tick(ctx, zerolog.Nop(), j, sched)
	if calls != 1 || runs(t, &other, "native-blocks", "skipped") != 1 {
		t.Fatalf("calls %d, skipped %v: another owner holds the lease", calls, runs(t, &other, "native-blocks", "skipped"))
	}

	// The next period: the function fails; the run counts as an error.
	e.now = e.now.Add(30 * time.Second)
	fail, n = errors.New("graph api down"), 1
	e.tm.tick(ctx, zerolog.Nop(), j, sched)
	if calls != 2 || runs(t, e.tm, "native-blocks", "error") != 1 {
		t.Fatalf("calls %d, error runs %v", calls, runs(t, e.tm, "native-blocks", "error"))
	}
	if got := counter(t, e.tm.Metrics, "connector_native_blocks_retried_total", map[string]string{}); got != 4 {
		t.Fatalf("retried counter %v, want 4 (tries before the error count)", got)
	}
	if _, err := e.tm.NativeBlocks(ctx); err == nil || !strings.Contains(err.Error(), "graph api down") {
		t.Fatalf("NativeBlocks error = %v", err)
	}
}
